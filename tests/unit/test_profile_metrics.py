"""Metric profiles: seed PromQL, TOML user profiles, errors naming the key, query planning."""

from __future__ import annotations

from dataclasses import replace

import pytest

from voicetop.domain.model import all_stat_keys
from voicetop.profiles.metrics import BUILTIN_PROFILES, SCALAR_TEMPLATES, SEED, ProfileError, load_profile, parse_profile
from voicetop.sources.prometheus.queries import SCALAR_PANELS, parse_matrix, plan_queries
from voicetop.domain.model import Window


def test_seed_defines_every_stat_key():
    assert SEED.stat_keys() == all_stat_keys()


def test_seed_percentiles_follow_the_design_contract():
    expr = SEED.stat_expr("e2e_p99")
    assert expr.agent == "histogram_quantile(0.99, sum by (le, agent_id) (rate(livekit_e2e_latency_ms_bucket[5m])))"
    assert expr.fleet == "histogram_quantile(0.99, sum by (le) (rate(livekit_e2e_latency_ms_bucket[5m])))"
    assert "livekit_llm_ttft_ms_bucket" in SEED.stat_expr("ttft_p90").agent


def test_seed_ratios():
    interruption = SEED.stat_expr("interruption_rate")
    assert "livekit_interruptions_total" in interruption.agent
    assert interruption.agent.endswith("/ sum by (agent_id) (rate(livekit_conversation_turns_total[5m]))")
    assert 'livekit_tool_calls_total{outcome="success"}' in SEED.stat_expr("tool_success_rate").agent
    assert SEED.stat_expr("capacity").fleet == "sum  (livekit_active_sessions) / sum  (livekit_max_sessions)"
    baseline = SEED.stat_expr("tokens_per_session_baseline").agent
    assert baseline.startswith("avg_over_time((") and baseline.endswith(")[7d:1h])")
    component = SEED.component_error_expr()
    assert component.split_label == "component" and "by (agent_id, component)" in component.agent


def test_user_profile_renames_relabels_and_scales():
    profile = parse_profile(
        """
        [profile]
        name = "mine"
        extends = "seed"
        agent_label = "service"
        rate_window = "2m"
        [labels]
        outcome = "result"
        [metrics]
        ttft = { name = "llm_ttft_seconds_bucket", scale = 1000 }
        tool_calls = "tools_total"
        [promql]
        wer = 'avg by (service) (asr_wer_percent) / 100'
        e2e = 'histogram_quantile($q, sum by (le, service) (rate(turn_seconds_bucket[1m]))) * 1000'
        mos = ''
        """,
        "mine.toml",
    )
    assert profile.name == "mine" and profile.source == "mine.toml"
    assert profile.stat_expr("ttft_p99").agent == (
        "(histogram_quantile(0.99, sum by (le, service) (rate(llm_ttft_seconds_bucket[2m])))) * 1000.0"
    )
    assert 'tools_total{result="success"}' in profile.stat_expr("tool_success_rate").agent
    assert profile.stat_expr("wer").agent == "avg by (service) (asr_wer_percent) / 100"
    assert profile.stat_expr("wer").fleet is None
    assert profile.stat_expr("e2e_p50").agent.startswith("histogram_quantile(0.5, sum by (le, service)")
    assert profile.stat_expr("mos") is None
    assert "mos" not in profile.stat_keys()
    assert SEED.agent_label == "agent_id"  # builtins untouched


@pytest.mark.parametrize(
    "text, key",
    [
        ("[profile]\nagent_lable = 'x'\n", "profile.agent_lable"),
        ("[metrics]\nttfx = 'a'\n", "metrics.ttfx"),
        ("[metrics]\nttft = { name = 'bad name' }\n", "metrics.ttft.name"),
        ("[metrics]\nttft = { name = 'a', scale = 0 }\n", "metrics.ttft.scale"),
        ("[metrics]\nttft = { name = 'a', scale = 'x' }\n", "metrics.ttft.scale"),
        ("[metrics]\nturns = { name = 'a', scale = 2 }\n", "metrics.turns.scale"),
        ("[metrics]\nttft = { scale = 2 }\n", "metrics.ttft"),
        ("[promql]\nwer_p99 = 'x'\n", "promql.wer_p99"),
        ("[promql]\nwer = { agent = 'x', fleat = 'y' }\n", "promql.wer.fleat"),
        ("[profile]\nextends = 'nope'\n", "profile.extends"),
        ("[profile]\nrate_window = 'soon'\n", "profile.rate_window"),
        ("[profile]\nmax_agents = 0\n", "profile.max_agents"),
        ("[profile]\ntraces = 'zipkin'\n", "profile.traces"),
        ("[labels]\nagent = 'x'\n", "labels.agent"),
        ("[labels]\ncomponent = '1bad'\n", "labels.component"),
        ("[queries]\n", "queries"),
        ("profile = 3\n", "profile"),
    ],
)
def test_errors_name_the_key(text, key):
    with pytest.raises(ProfileError) as info:
        parse_profile(text, "p.toml")
    assert f"profile p.toml: key '{key}'" in str(info.value)


def test_invalid_toml():
    with pytest.raises(ProfileError, match="invalid TOML"):
        parse_profile("[profile\n", "p.toml")


def test_load_profile_builtin_file_and_errors(tmp_path):
    assert load_profile("seed") is SEED
    assert load_profile("livekit").traces == "livekit"
    path = tmp_path / "ops.toml"
    path.write_text("[profile]\nagent_label = 'service'\ntraces = 'pipecat'\n")
    loaded = load_profile(str(path))
    assert loaded.agent_label == "service" and loaded.name == "ops" and loaded.traces == "pipecat"
    with pytest.raises(ProfileError, match="no builtin profile 'sed'"):
        load_profile("sed")
    with pytest.raises(ProfileError, match="file not found"):
        load_profile(str(tmp_path / "missing.toml"))
    assert set(BUILTIN_PROFILES) >= {"seed", "livekit", "pipecat"}


def test_plan_is_one_query_per_panel_and_tags_every_stat():
    queries = plan_queries(SEED)
    assert [q.name for q in queries] == [
        "stage:stt", "stage:eou", "stage:ttft", "stage:llm", "stage:tts", "stage:e2e", *SCALAR_PANELS
    ]
    covered = {stat for q in queries for stat in q.stats}
    assert covered == set(all_stat_keys())
    ttft = queries[2]
    assert ttft.stats == ("ttft_p50", "ttft_p90", "ttft_p95", "ttft_p99")
    # one bucket-rate read per histogram; quantiles, fleet and topk are computed client-side
    assert ttft.promql == "sum by (le, agent_id) (rate(livekit_llm_ttft_ms_bucket[5m]))"
    assert ttft.histogram.quantiles == (("ttft_p50", 0.5), ("ttft_p90", 0.9), ("ttft_p95", 0.95), ("ttft_p99", 0.99))
    assert ttft.histogram.max_agents == 500
    errors = next(q for q in queries if q.name == "errors")
    # ratios are computed client-side from one read of each counter, by agent and component
    assert errors.split_prefix == "error_rate_" and errors.terms.split_label == "component"
    assert errors.promql == (
        'label_replace(sum by (agent_id, component) (rate(livekit_errors_total[5m])), "vt_term", "0", "", "") or '
        'label_replace(sum by (agent_id, component) (rate(livekit_requests_total[5m])), "vt_term", "1", "", "")'
    )
    quality = next(q for q in queries if q.name == "quality")  # averages stay server-side
    assert quality.terms is None and "topk(500, avg by (agent_id) (livekit_asr_wer))" in quality.promql


def test_success_outcome_is_one_promql_string_literal():
    odd = replace(SEED, success_outcome='ok "done"\\\n')
    assert 'livekit_tool_calls_total{outcome="ok \\"done\\"\\\\\\n"}' in odd.stat_expr("tool_success_rate").agent


def test_scalar_templates_follow_their_formulas():
    assert SCALAR_TEMPLATES["error_rate"] == (
        "(sum {by} (rate({errors}[{rw}]{off})) or sum {by} (rate({requests}[{rw}]{off})) * 0)"
        " / sum {by} (rate({requests}[{rw}]{off}))"
    )
    assert SCALAR_TEMPLATES["capacity"] == "sum {by} ({active_sessions}{off}) / sum {by} ({max_sessions}{off})"
    assert SCALAR_TEMPLATES["wer"] == "avg {by} ({wer}{off})"
    offset = SEED.stat_expr("error_rate", offset=86400)
    assert offset.fleet.count(" offset 1d") == 3


def test_raw_stage_promql_still_goes_to_the_server_and_scale_reaches_the_client():
    profile = parse_profile(
        "[metrics]\nttft = { name = 'llm_ttft_seconds', scale = 1000 }\n"
        "[promql]\ne2e = 'histogram_quantile($q, sum by (le, agent_id) (rate(t_bucket[1m])))'\n",
        "p.toml",
    )
    queries = {q.name: q for q in plan_queries(profile)}
    e2e = queries["stage:e2e"]
    assert e2e.histogram is None and e2e.promql.count("histogram_quantile(0.99,") == 1
    ttft = queries["stage:ttft"]
    assert ttft.promql == "sum by (le, agent_id) (rate(llm_ttft_seconds_bucket[5m]))"
    assert ttft.histogram.scale == 1000.0


def test_raw_stats_get_their_own_query():
    profile = parse_profile("[promql]\nwer = 'avg by (agent_id) (x)'\nttft_p99 = 'y'\n", "p.toml")
    names = [q.name for q in plan_queries(profile)]
    assert "stat:wer" in names and "stat:ttft_p99" in names
    quality = next(q for q in plan_queries(profile) if q.name == "quality")
    assert quality.stats == ("mos", "rtf")


def test_parse_matrix_routes_rows_to_stats_and_agents():
    window = Window(100, 130, 15)
    query = next(q for q in plan_queries(SEED) if q.name == "quality")
    rows = [
        {"metric": {"vt_stat": "wer", "agent_id": "a"}, "values": [[100, "0.1"], [130, "0.3"]]},
        {"metric": {"vt_stat": "wer", "vt_scope": "fleet"}, "values": [[115, "0.2"]]},
        {"metric": {"vt_stat": "mos", "agent_id": "a"}, "values": [[100, "1"]]},
        {"metric": {"vt_stat": "wer", "agent_id": "a"}, "values": [[100, "9"]]},  # duplicate: ignored
        {"metric": {"vt_stat": "wer"}, "values": [[100, "9"]]},  # no agent label: ignored
        {"metric": {"vt_stat": "error_rate", "agent_id": "a"}, "values": [[100, "9"]]},  # not this query's stat
        {"metric": {"agent_id": "a"}, "values": [[100, "9"]]},  # untagged
        {"metric": {"vt_stat": "wer", "agent_id": "b"}, "values": [[107, "5"], ["x", "1"], [999, "1"]]},
    ]
    found = parse_matrix(rows, query, window, "agent_id")
    assert set(found) == {"wer", "mos"}
    assert found["wer"]["a"].values[0] == 0.1 and found["wer"]["a"].values[2] == 0.3
    assert found["wer"][None].values[1] == 0.2
    assert found["mos"]["a"].values[0] == 1.0
    b = found["wer"]["b"].values  # a point snaps to the nearest step; garbage and out-of-range dropped
    assert b[0] == 5.0 and all(v != v for v in b[1:])


def test_docs_example_profile_parses():
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "profiles.md").read_text()
    blocks = [part.split("```", 1)[0] for part in text.split("```toml\n")[1:]]
    block = next(b for b in blocks if 'name = "mine"' in b)  # the full user profile example
    profile = parse_profile(block, "docs.toml")
    for other in blocks:  # every metric profile snippet of the page parses
        if other.startswith("[profile]"):
            parse_profile(other, "snippet.toml")
    assert profile.agent_label == "service" and profile.traces == "livekit"
    assert "rtf" not in profile.stat_keys()
    assert profile.stat_expr("mos").fleet == "avg(tts_mos)"
