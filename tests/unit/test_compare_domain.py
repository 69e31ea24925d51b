"""Compare and drift, pure parts: change markers, breach links, deltas, grouping, PromQL."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voicetop.domain.compare import (
    StatDelta,
    build_grouping,
    change_markers,
    label_changes,
    link_changes,
    marker_text,
    offset_label,
    parse_offsets,
)
from voicetop.domain.model import Breach, ChangeMarker, MetricsResult, Series, Severity, Window
from voicetop.domain.thresholds import ThresholdSet, evaluate
from voicetop.profiles.metrics import SEED, parse_profile
from voicetop.sources.prometheus.compare import grouped_queries, label_values_query, offset_queries

NAN = math.nan
T0 = 1_700_000_000.0


def series(values, step=60.0):
    return Series(tuple(T0 + i * step for i in range(len(values))), tuple(float(v) for v in values))


def test_a_rollout_is_one_marker_at_the_first_step_of_the_new_version():
    values = {
        "v2.3.1": series([1, 1, 1, 1, NAN, NAN]),
        "v2.4.0": series([NAN, NAN, 1, 1, 1, 1]),
    }
    (marker,) = label_changes("billing", "prompt_version", values)
    assert marker == ChangeMarker("billing", "prompt_version", "v2.3.1", "v2.4.0", T0 + 120)


def test_a_switch_without_overlap_names_the_value_that_went_away():
    values = {"a": series([1, 1, 0, NAN]), "b": series([NAN, NAN, 2, 2]), "c": series([1, 1, 1, 1])}
    (marker,) = label_changes("x", "model", values)
    assert (marker.old, marker.new, marker.at) == ("a", "b", T0 + 120)


def test_first_values_and_gaps_without_news_are_not_changes():
    assert label_changes("x", "model", {"a": series([NAN, 1, 1, NAN, 1])}) == []
    assert label_changes("x", "model", {}) == []


def test_change_markers_split_keys_and_skip_fleet_rows():
    found = change_markers({
        "model": {"billing\x1fgpt-4o": series([1, 1, NAN]), "billing\x1fgpt-4o-mini": series([NAN, 1, 1]),
                  "\x1fgpt-4o": series([1, 1, 1]), "support\x1fgpt-4o": series([1, 1, 1])},
    })
    assert [(m.agent_id, m.old, m.new) for m in found] == [("billing", "gpt-4o", "gpt-4o-mini")]


def breach(key="cost_per_session", agent="billing", since=T0 + 600, group=""):
    return Breach(key, agent, Severity.CRITICAL, 0.1, 0.08, since, None, 0.1, group=group)


def test_breaches_link_to_the_latest_preceding_change_of_their_agent():
    markers = [
        ChangeMarker("billing", "model", "a", "b", T0 - 7200),  # too long before
        ChangeMarker("billing", "prompt_version", "v1", "v2", T0 + 300),
        ChangeMarker("support", "prompt_version", "v1", "v3", T0 + 500),
    ]
    linked, other, fleet = link_changes([breach(), breach(agent="sales"), breach(agent=None)], markers)
    assert linked.change == markers[1]
    assert other.change is None and fleet.change is None
    # a group breach prefers the change that introduced its value
    markers.append(ChangeMarker("billing", "model", "a", "c", T0 + 400))
    (group,) = link_changes([breach(group="prompt_version=v2")], markers)
    assert group.change == markers[1]


def test_marker_text_uses_local_time():
    marker = ChangeMarker("billing", "prompt_version", "v2.3.1", "v2.4.0", T0)
    expected = time.strftime("%H:%M", time.localtime(T0))
    assert marker_text(marker) == f"prompt v2.3.1 → v2.4.0 at {expected}"
    assert marker_text(ChangeMarker("a", "region", "eu", "us", T0), with_time=False) == "region eu → us"


def test_stat_delta_value_delta_ratio_and_glyph():
    up = StatDelta("cost_per_session", 0.10, 0.04)
    assert up.delta == pytest.approx(0.06) and up.ratio == pytest.approx(2.5)
    assert (up.glyph(), up.glyph(ascii_only=True)) == ("↑", "^")
    assert StatDelta("ttft_p99", 500, 600).glyph() == "↓"
    assert StatDelta("ttft_p99", 600, 601).glyph() == "="  # within 2 %
    unknown = StatDelta("wer", None, 0.03)
    assert unknown.delta is None and unknown.ratio is None and unknown.glyph() == "="
    assert StatDelta("x", 1.0, 0.0).ratio is None


def test_offsets_parse_and_label():
    assert parse_offsets("1d, 7d") == (86400.0, 604800.0)
    assert parse_offsets("90m") == (5400.0,)
    for bad in ("", "0s", "soon"):
        with pytest.raises(ValueError):
            parse_offsets(bad)
    assert [offset_label(s) for s in (86400, 604800, 7200, 1800, 90)] == ["1d", "7d", "2h", "30m", "90s"]


def test_grouping_evaluates_each_group_against_its_agents_baseline():
    window = Window(T0, T0 + 600, 60)
    stamps = window.timestamps()
    flat = lambda v: Series(stamps, (float(v),) * len(stamps))  # noqa: E731
    grouped = MetricsResult(window, {
        "cost_per_session": {"billing\x1fv2": flat(0.10), "billing\x1fv1": flat(0.04), "\x1fv2": flat(0.10),
                             "billing\x1f": flat(0.05)},
    })
    base = MetricsResult(window, {"cost_per_session_baseline": {"billing": flat(0.04), None: flat(0.05)}})
    grouping = build_grouping("prompt_version", grouped, base, ThresholdSet())
    assert [(g.agent_id, g.value) for g in grouping.groups] == [(None, "v2"), ("billing", "v1"), ("billing", "v2")]
    crit = {(b.agent_id, b.group) for b in grouping.breaches if b.severity is Severity.CRITICAL}
    assert crit == {("billing", "prompt_version=v2")}  # 0.10 > 2 × 0.04; the fleet's 0.10 = 2 × 0.05
    assert grouping.for_agent("billing")[1].stats.scalar("cost_per_session") == pytest.approx(0.10)


def test_drift_rules_read_their_stat_and_its_baseline():
    window = Window(T0, T0 + 600, 60)
    stamps = window.timestamps()
    data = {
        "turns_per_session": Series(stamps, (10.0,) * len(stamps)),
        "turns_per_session_baseline": Series(stamps, (4.0,) * len(stamps)),
        "tool_call_rate": Series(stamps, (0.7,) * len(stamps)),
        "tool_call_rate_baseline": Series(stamps, (0.4,) * len(stamps)),
    }
    found = {(b.key, b.severity) for b in evaluate(ThresholdSet(), data, "a")}
    assert ("turns_per_session_drift", Severity.CRITICAL) in found  # 10 > 2 × 4
    assert ("turns_per_session", Severity.WARNING) in found  # the absolute rule: 10 > 8
    assert ("tool_call_rate", Severity.WARNING) in found and ("tool_call_rate", Severity.CRITICAL) not in found


def test_profile_builds_grouped_offset_and_label_value_promql():
    assert SEED.stat_expr("ttft_p99", group="model").agent == (
        "histogram_quantile(0.99, sum by (le, agent_id, model) (rate(livekit_llm_ttft_ms_bucket[5m])))"
    )
    assert SEED.stat_expr("cost_per_session", group="prompt_version").fleet == (
        "sum by (prompt_version) (rate(livekit_session_cost_usd_total[15m]))"
        " / sum by (prompt_version) (rate(livekit_sessions_completed_total[15m]))"
    )
    assert SEED.stat_expr("wer", offset=86400).agent == "avg by (agent_id) (livekit_asr_wer offset 1d)"
    assert "[5m] offset 7d" in SEED.stat_expr("e2e_p90", offset=7 * 86400).fleet
    assert SEED.stat_expr("cost_per_session_baseline", offset=86400) is None
    assert SEED.label_values_expr("prompt_version") == (
        'sum by (agent_id, prompt_version) (rate(livekit_tokens_consumed_total{prompt_version!=""}[5m])) > 0'
    )
    raw = parse_profile("[profile]\ngroup_labels = ['tier']\n[promql]\nwer = 'avg by (agent_id) (w)'\n", "p.toml")
    assert raw.group_labels == ("tier",)
    assert raw.stat_expr("wer", group="tier") is None and raw.stat_expr("wer", offset=60) is None


def test_compare_queries_are_one_per_panel_never_per_agent():
    grouped = grouped_queries(SEED, "prompt_version")
    assert len(grouped) == 12
    assert all('label_join(' in q.promql and '"vt_key", "\\x1f", "agent_id", "prompt_version"' in q.promql
               for q in grouped)
    assert len(offset_queries(SEED, 86400)) == 12
    assert all(" offset 1d" in q.promql for q in offset_queries(SEED, 86400))
    labels = label_values_query(SEED, ("model", "prompt_version"))
    assert labels.stats == ("model", "prompt_version") and labels.promql.count("label_join(") == 2


def test_snapshot_carries_drift_rules_group_and_change_of_breaches():
    from voicetop.export.decode import _breach, _rule
    from voicetop.export.encode import breach_doc, marker_doc, rule_doc

    marker = ChangeMarker("billing", "prompt_version", "v2.3.1", "v2.4.0", T0)
    found = breach(group="prompt_version=v2.4.0")
    found = Breach(**{**found.__dict__, "change": marker})
    again = _breach(breach_doc(found), "b")
    assert again.group == "prompt_version=v2.4.0" and again.change == marker
    assert marker_doc(marker)["new"] == "v2.4.0"
    assert _breach(breach_doc(breach()), "b").change is None
    rule = ThresholdSet().rules["turns_per_session_drift"]
    assert _rule(rule.key, rule_doc(rule), "r").series_key == "turns_per_session"


def _markers_step_by_step(agent_id, label, values):
    """The rule spelled out: the set of live values at each step, compared with the last non-empty one."""
    stamps = next(iter(values.values())).timestamps
    markers, previous, seen_any = [], frozenset(), False
    for index, at in enumerate(stamps):
        live = frozenset(
            name for name, s in values.items()
            if index < len(s.values) and not math.isnan(s.values[index]) and s.values[index] > 0
        )
        added = live - previous
        if added and seen_any and previous:
            old = ", ".join(sorted((previous - live) or previous))
            markers.extend(ChangeMarker(agent_id, label, old, new, at) for new in sorted(added))
        if live:
            seen_any, previous = True, live
    return markers



@given(st.dictionaries(
    st.sampled_from(["v1", "v2", "v3"]),
    st.lists(st.sampled_from([NAN, 0.0, 1.0, 2.5, math.inf]), min_size=6, max_size=6),
    min_size=1, max_size=3,
))
def test_markers_follow_the_live_values_step_by_step(columns):
    values = {name: series(column) for name, column in columns.items()}
    assert label_changes("a", "model", values) == _markers_step_by_step("a", "model", values)
