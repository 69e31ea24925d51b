"""The livekit-server telephony profile: PromQL, query planning, enabling it."""

from __future__ import annotations

import pytest

from voicetop.config import Config, Context
from voicetop.profiles.metrics import BUILTIN_PROFILES, SEED, ProfileError, parse_profile
from voicetop.profiles.telephony import LIVEKIT_SERVER, QUERY_GROUPS, TEMPLATES
from voicetop.sources.factory import trace_profile_name
from voicetop.sources.prometheus.queries import FLEET, SCOPE_LABEL, STAT_LABEL, PanelQuery, parse_matrix
from voicetop.sources.prometheus.telephony import TelephonyQueries, plan_telephony, telephony_profile
from voicetop.domain.model import Window


def test_exact_server_names_without_added_total_suffix():
    sip = LIVEKIT_SERVER.stat_expr("sip_invite_error_rate")
    assert "rate(livekit_sip_invite_error[5m])" in sip.fleet and "rate(livekit_sip_invite_requests[5m])" in sip.fleet
    assert "livekit_sip_invite_requests_total" not in sip.fleet
    jitter = LIVEKIT_SERVER.stat_expr("jitter_p95")
    assert jitter.fleet == "histogram_quantile(0.95, sum by (le) (rate(livekit_jitter_us_bucket[5m]))) / 1000"
    assert jitter.agent == "histogram_quantile(0.95, sum by (le, node_id) (rate(livekit_jitter_us_bucket[5m]))) / 1000"
    loss = LIVEKIT_SERVER.stat_expr("packet_loss_in")
    assert 'livekit_packet_loss_percent_sum{direction="incoming"}' in loss.fleet and loss.fleet.endswith("/ 100")
    poor = LIVEKIT_SERVER.stat_expr("quality_poor")
    assert r'livekit_quality_rating_bucket{le=~"0(\\.0+)?"}' in poor.fleet  # matches le="0" and le="0.0"
    joins = LIVEKIT_SERVER.stat_expr("join_success_rate")
    assert 'state="rtc_connected"' in joins.agent and "by (node_id)" in joins.agent
    assert "livekit_room_total" in LIVEKIT_SERVER.stat_expr("rooms").fleet


def test_five_queries_whatever_the_fleet_each_with_fleet_and_node_rows():
    queries = plan_telephony(LIVEKIT_SERVER)
    assert [q.name for q in queries] == [f"telephony:{g}" for g in QUERY_GROUPS]
    assert {s for q in queries for s in q.stats} == set(TEMPLATES)
    media = next(q for q in queries if q.name == "telephony:media")
    assert media.promql.count(f'"{SCOPE_LABEL}", "{FLEET}"') == len(QUERY_GROUPS["media"])
    assert "topk(200, " in media.promql
    assert 'label_replace(' in media.promql and '"agent_id", "$1", "node_id", "(.+)"' in media.promql


def test_node_rows_parse_like_agent_rows():
    query = PanelQuery("telephony:rooms", "x", ("rooms",))
    window = Window(0, 30, 15)
    rows = [
        {"metric": {STAT_LABEL: "rooms", "agent_id": "nd-a", "node_id": "nd-a"}, "values": [[0, "4"], [15, "5"], [30, "6"]]},
        {"metric": {STAT_LABEL: "rooms", SCOPE_LABEL: FLEET}, "values": [[30, "9"]]},
    ]
    found = parse_matrix(rows, query, window, "agent_id")
    assert found["rooms"]["nd-a"].values == (4.0, 5.0, 6.0)
    assert found["rooms"][None].last() == 9.0


def test_enabled_by_the_livekit_server_profile_only():
    assert telephony_profile(SEED) is None
    assert TelephonyQueries(SEED, str, 5.0).queries == ()
    profile = BUILTIN_PROFILES["livekit-server"]
    assert profile.telephony == "livekit-server" and profile.traces == "livekit"
    assert profile.stat_expr("ttft_p99") == SEED.stat_expr("ttft_p99")  # agent naming is the seed contract
    assert len(TelephonyQueries(profile, str, 5.0).queries) == len(QUERY_GROUPS)
    config = Config(context=Context("x", profile="livekit-server"))
    assert trace_profile_name(config) == "livekit"


def test_a_toml_profile_can_enable_or_disable_it():
    mine = parse_profile('[profile]\nname = "mine"\ntelephony = "livekit-server"\n')
    assert telephony_profile(mine) is LIVEKIT_SERVER
    off = parse_profile('[profile]\nextends = "livekit-server"\ntelephony = ""\n')
    assert telephony_profile(off) is None and off.traces == "livekit"
    with pytest.raises(ProfileError, match="profile.telephony"):
        parse_profile('[profile]\ntelephony = "asterisk"\n')
