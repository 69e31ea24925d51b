"""Recording rules: their names and rules, the query plan that reads them, and the recorded-quantile decoder.

Equality with the panels computed from raw series is held by
tests/integration/test_prometheus_recording.py; these cover naming, planning
and the rows the server never sends.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from voicetop.cli import main
from voicetop.profiles.metrics import SEED, ProfileError, parse_profile
from voicetop.sources.prometheus.queries import plan_queries, profile_recording_rules
from voicetop.sources.prometheus.recorded import RecordedPlan, decode_recorded
from voicetop.sources.prometheus.recording import stage_recording, term_names, term_record_name
from tests.support.user_config import no_user_config  # noqa: F401 (autouse)

RECORDING = replace(SEED, recording_rules=True)
STEPS = (100.0, 115.0, 130.0)
AGENT = "agent_id:livekit_stt_duration_ms:quantile_rate5m"
FLEET = ":livekit_stt_duration_ms:quantile_rate5m"


def test_stage_names_follow_level_metric_operations():
    stt = stage_recording(SEED, "stt")
    assert stt.bucket_rate == "agent_id_le:livekit_stt_duration_ms_bucket:rate5m"
    assert stt.agent_quantile == AGENT and stt.fleet_quantile == FLEET
    assert stt.selector(500) == f"topk by (quantile) (500, {AGENT}) or {FLEET}"
    service = parse_profile('[profile]\nagent_label = "service"\nrate_window = "2m"\n', "p.toml")
    assert stage_recording(service, "stt").agent_quantile == "service:livekit_stt_duration_ms:quantile_rate2m"
    raw = parse_profile("[promql]\nstt = 'histogram_quantile($q, sum by (le, agent_id) (rate(x_bucket[5m])))'\n", "r.toml")
    assert stage_recording(raw, "stt") is None


@pytest.mark.parametrize("term, name", [
    ("sum by (agent_id) (rate(turns_total[5m]))", "agent_id:turns_total:rate5m"),
    ("sum by (agent_id, component) (rate(errors_total[5m]))", "agent_id_component:errors_total:rate5m"),
    ('sum by (agent_id) (rate(calls_total{outcome="ok-1"}[15m]))', "agent_id:calls_total_outcome_ok_1:rate15m"),
    ("sum by (agent_id) (active_sessions)", "agent_id:active_sessions:sum"),
    ("avg by (agent_id) (active_sessions)", None),  # only sums are recorded
    ('sum by (agent_id) (rate(calls_total{outcome=~"ok"}[5m]))', None),  # regex matcher
    ('sum by (agent_id) (rate(calls_total{outcome!="ok"}[5m]))', None),
    ("sum by (agent_id) (rate(turns_total[5m] offset 1d))", None),
])
def test_term_record_names(term, name):
    assert term_record_name(term) == name


def test_terms_sharing_a_name_are_not_recorded():
    same = ('sum by (agent_id) (rate(x{a="b-c"}[5m]))', 'sum by (agent_id) (rate(x{a="b_c"}[5m]))')
    assert term_names(same) is None
    assert term_names(same[:1]) == ("agent_id:x_a_b_c:rate5m",)


def test_rules_record_each_series_once_and_levels_come_first():
    rules = profile_recording_rules(SEED)
    records = [rule["record"] for rule in rules]
    quantiles = [r for r in rules if r["record"] == AGENT]
    assert [r["labels"]["quantile"] for r in quantiles] == ["0.5", "0.9", "0.95", "0.99"]
    assert records.index("agent_id_le:livekit_stt_duration_ms_bucket:rate5m") < records.index(AGENT)
    assert len([r for r in records if r.startswith("agent_id_le:")]) == 6
    terms = [r for r in rules if "labels" not in r and not r["record"].startswith("agent_id_le:") and ":" not in r["expr"]]
    assert len({r["record"] for r in terms}) == len(terms) == 14  # turns rate is read by two panels: once
    assert {"agent_id_component:livekit_errors_total:rate5m", "agent_id:livekit_max_sessions:sum"} <= set(records)
    stats = rules[records.index(terms[-1]["record"]) + 1:]
    assert len({r["record"] for r in stats}) == len(stats) > 0 and all(":" in r["expr"] for r in stats)  # read the terms
    assert {r["record"] for r in stats} >= {
        "agent_id:livekit_errors_total_per_livekit_requests_total:ratio_rate5m",
        "agent_id_component:livekit_errors_total_per_livekit_requests_total:ratio_rate5m",
        "component:livekit_errors_total_per_livekit_requests_total:ratio_rate5m",
        ":livekit_conversation_turns_total:rate5m",  # a single term: the fleet's sum; per agent the term itself
    }
    assert "agent_id:livekit_conversation_turns_total:rate5m" not in {r["record"] for r in stats}


def _stat_rule(record: str) -> str:
    return next(r["expr"] for r in profile_recording_rules(SEED) if r["record"] == record)


def test_stat_rules_follow_the_term_formulas():
    errors = "livekit_errors_total_per_livekit_requests_total:ratio_rate5m"

    def ratio(top: str, bottom: str) -> str:  # x/0 is NaN, as on the computed panels
        return f"{top} / ({bottom} != 0) or {top} / {bottom} * NaN"

    # a missing numerator is 0 (error rate), agents sum their components, the fleet sums every row
    requests = "sum by (agent_id) (agent_id_component:livekit_requests_total:rate5m)"
    assert _stat_rule(f"agent_id:{errors}") == ratio(
        f"(sum by (agent_id) (agent_id_component:livekit_errors_total:rate5m) or {requests} * 0)", requests
    )
    assert _stat_rule(f"component:{errors}").startswith("(sum by (component) (agent_id_component:livekit_errors")
    pair = "agent_id_component:livekit_requests_total:rate5m"
    assert _stat_rule(f"agent_id_component:{errors}") == ratio(
        f"(agent_id_component:livekit_errors_total:rate5m or {pair} * 0)", pair
    )
    # no zero numerator for a plain ratio; windows of both terms in the name
    assert _stat_rule(":livekit_session_cost_usd_total_per_livekit_sessions_completed_total:ratio_rate15m") == ratio(
        "sum(agent_id:livekit_session_cost_usd_total:rate15m)", "sum(agent_id:livekit_sessions_completed_total:rate15m)"
    )
    assert _stat_rule("agent_id:livekit_active_sessions_per_livekit_max_sessions:ratio_sum") == ratio(
        "agent_id:livekit_active_sessions:sum", "agent_id:livekit_max_sessions:sum"
    )


def test_plan_reads_recordings_for_stages_and_terms_only():
    plain, recorded = plan_queries(SEED), plan_queries(RECORDING)
    assert [q.name for q in plain] == [q.name for q in recorded]
    for before, after in zip(plain, recorded):
        assert before.stats == after.stats
        if before.histogram is not None:
            assert after.recorded is not None and after.reads_recordings and after.histogram is None
        elif before.terms is not None:
            assert after.terms is None and after.recorded_stats is not None and after.reads_recordings
            assert after.promql.startswith('topk by (__name__) (500, {__name__=~"') and "rate(" not in after.promql
            assert after.split_prefix == before.split_prefix
        else:  # quality (averages) and the held baselines stay as written
            assert after.promql == before.promql and not after.reads_recordings


def test_profile_key_is_a_boolean():
    assert parse_profile("[profile]\nrecording_rules = true\n", "p.toml").recording_rules is True
    assert SEED.recording_rules is False
    with pytest.raises(ProfileError, match="recording_rules"):
        parse_profile('[profile]\nrecording_rules = "yes"\n', "p.toml")


def qrow(name, q, values, **labels):
    return {"metric": {"__name__": name, "quantile": q, **labels}, "values": [[t, v] for t, v in values]}


PLAN = RecordedPlan(stage_recording(SEED, "stt"), (("stt_p50", 0.5), ("stt_p99", 0.99)), max_agents=10, scale=2.0)


def test_decode_recorded_rows_per_agent_and_fleet_scaled():
    rows = [
        qrow(AGENT, "0.5", [(100, "1"), (115, "2")], agent_id="a"),
        qrow(AGENT, "0.99", [(100, "3"), (130, "+Inf")], agent_id="a"),
        qrow(FLEET, "0.99", [(100, "NaN"), (115, "5")]),
        qrow(AGENT, "0.95", [(100, "9")], agent_id="a"),  # not asked for
        qrow("other:name", "0.5", [(100, "9")], agent_id="b"),
        qrow(AGENT, "0.5", [(100, "9")]),  # per-agent name without the agent label
        qrow(AGENT, "0.5", [(100, "7")], agent_id="a"),  # duplicate: the first wins
        qrow(AGENT, "0.5", [(999, "7")], agent_id="c"),  # off the grid only: no column
        qrow(AGENT, "0.5", [(100, "1")], agent_id=["x"]),  # agent label not a string
        "garbage",
    ]
    found = decode_recorded(rows, PLAN, STEPS, "agent_id")
    assert found["stt_p50"] == {"a": [2.0, 4.0, None]}
    p99 = found["stt_p99"]
    assert p99["a"][0] == 6.0 and p99["a"][1] is None and math.isnan(p99["a"][2])
    assert math.isnan(p99[None][0]) and p99[None][1] == 10.0 and p99[None][2] is None


def test_decode_recorded_keeps_the_top_agents_per_step():
    plan = replace(PLAN, max_agents=1)
    rows = [
        qrow(AGENT, "0.5", [(100, "1"), (115, "5")], agent_id="a"),
        qrow(AGENT, "0.5", [(100, "2"), (115, "NaN")], agent_id="b"),
        qrow(FLEET, "0.5", [(100, "3")]),
    ]
    found = decode_recorded(rows, plan, STEPS, "agent_id")["stt_p50"]
    assert found["a"] == [None, 10.0, None]
    assert found["b"] == [4.0, None, None]
    assert found[None] == [6.0, None, None]  # the fleet takes no place


def test_rules_command_writes_the_recording_group(capsys):
    assert main(["rules", "--recording", "--interval", "15s"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Prometheus recording rules generated by voicetop")
    assert 'name: "voicetop-recording"' in out and 'interval: "15s"' in out
    assert out.count("- record: ") == len(profile_recording_rules(SEED))
    assert "- alert: " not in out


def test_rules_command_recording_refuses_alerting_flags(capsys):
    assert main(["rules", "--recording", "--for", "2m"]) == 2
    assert "--recording" in capsys.readouterr().err


def test_panels_whose_terms_have_no_recorded_form_are_computed_from_raw_series():
    """Tokens and cost per session on one metric would record one term twice: that panel reads
    raw series (and the rules keep nothing for it); the other panels still read their stats."""
    shared = parse_profile(
        '[profile]\nrecording_rules = true\n[metrics]\nsession_cost = "livekit_tokens_consumed_total"\n', "p.toml"
    )
    cost = next(query for query in plan_queries(shared) if query.name == "cost")
    assert cost.recorded_stats is None and cost.terms is not None and not cost.reads_recordings
    assert "rate(livekit_tokens_consumed_total[15m])" in cost.promql
    records = {rule["record"] for rule in profile_recording_rules(shared)}
    assert not any("tokens_consumed_total" in record or "sessions_completed" in record for record in records)
    errors = next(query for query in plan_queries(shared) if query.name == "errors")
    assert errors.recorded_stats is not None and "agent_id:livekit_errors_total_per_livekit_requests_total:ratio_rate5m" in records
