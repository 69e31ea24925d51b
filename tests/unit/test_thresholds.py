"""Threshold engine: defaults, severity, `for` semantics and run boundaries."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voicetop.domain.model import Series, Severity
from voicetop.domain.thresholds import (
    DEFAULT_RULES,
    THRESHOLD_KEYS,
    ThresholdRule,
    ThresholdSet,
    evaluate,
    evaluate_rule,
    instant_severity,
)

NAN = math.nan


def series(values, step=60.0, start=0.0):
    return Series(tuple(start + i * step for i in range(len(values))), tuple(values))


def test_every_default_from_the_developers_guide():
    rules = ThresholdSet().rules
    expected = {
        "ttft_p99": (800, 1200, "above"),
        "e2e_p90": (3000, 3500, "above"),
        "e2e_p99": (4000, 5000, "above"),
        "stt_p90": (200, 400, "above"),
        "tts_p90": (150, 300, "above"),
        "eou_p90": (500, 800, "above"),
        "wer": (0.05, 0.08, "above"),
        "mos": (4.3, 3.8, "below"),
        "rtf": (0.5, 1.0, "above"),
        "interruption_rate": (0.15, 0.25, "above"),
        "tool_success_rate": (0.99, 0.95, "below"),
        "capacity": (0.80, 0.90, "above"),
        "turns_per_session": (8, 15, "above"),
        "tokens_per_session": (1.5, 2.0, "above"),
        "cost_per_session": (1.5, 2.0, "above"),
        # drift against the baseline (issue #9)
        "tts_chars_per_turn": (1.5, 2.0, "above"),
        "turns_per_session_drift": (1.5, 2.0, "above"),
        "tool_call_rate": (1.5, 2.0, "above"),
    }
    assert set(THRESHOLD_KEYS) == set(expected)
    for key, (warning, critical, direction) in expected.items():
        rule = rules[key]
        assert (rule.warning, rule.critical, rule.direction) == (warning, critical, direction), key
        assert rule.for_seconds == 300
        assert rule.hint is not None and rule.hint.checks
    assert rules["tokens_per_session"].baseline and rules["cost_per_session"].baseline


def test_breach_reported_only_after_for_duration():
    rule = ThresholdSet().rules["ttft_p99"]
    # 900 ms (warning) for 4 minutes then back to normal: run lasts 240 s < 300 s
    short = series([500, 900, 900, 900, 900, 500])
    assert evaluate_rule(rule, short, "a") == []
    # 900 ms for 5 minutes (6 steps: 0..300 s) is reported
    long = series([500, 900, 900, 900, 900, 900, 900, 500])
    (breach,) = evaluate_rule(rule, long, "a")
    assert breach.severity is Severity.WARNING
    assert breach.since == 60 and breach.until == 360
    assert breach.value == 900 and breach.threshold == 800
    assert not breach.active


def test_active_breach_has_no_until_and_warning_and_critical_are_separate():
    rule = ThresholdSet().rules["ttft_p99"]
    values = [500] + [900] * 3 + [1500] * 7
    found = evaluate_rule(rule, series(values), "llm-agent")
    by_severity = {b.severity: b for b in found}
    assert set(by_severity) == {Severity.WARNING, Severity.CRITICAL}
    warning, critical = by_severity[Severity.WARNING], by_severity[Severity.CRITICAL]
    assert warning.since == 60 and warning.until is None and warning.active
    assert critical.since == 240 and critical.until is None
    assert critical.peak == 1500 and critical.value == 1500 and critical.threshold == 1200
    assert "LLM provider status" in critical.hint


def test_nan_gaps_split_runs():
    rule = ThresholdSet().rules["e2e_p90"]
    values = [3200] * 4 + [NAN] + [3200] * 4
    assert evaluate_rule(rule, series(values), None) == []
    values = [3200] * 6 + [NAN] + [3200] * 6
    found = evaluate_rule(rule, series(values), None)
    assert [(b.since, b.until) for b in found] == [(0, 300), (420, None)]


def test_maximal_runs_with_two_separate_incidents():
    rule = ThresholdSet().rules["stt_p90"]
    values = [250] * 6 + [100] * 2 + [260] * 7 + [100]
    found = evaluate_rule(rule, series(values), "stt")
    assert [(b.since, b.until) for b in found] == [(0, 300), (480, 840)]


def test_below_direction_for_mos_and_tool_success():
    rules = ThresholdSet().rules
    mos = evaluate_rule(rules["mos"], series([4.0] * 6), "a")
    assert [b.severity for b in mos] == [Severity.WARNING]
    tools = evaluate_rule(rules["tool_success_rate"], series([0.9] * 6), "a")
    assert {b.severity for b in tools} == {Severity.WARNING, Severity.CRITICAL}
    assert tools[-1].peak == 0.9


def test_baseline_relative_rule():
    rule = ThresholdSet().rules["cost_per_session"]
    value = series([0.10, 0.16, 0.16, 0.16, 0.16, 0.16, 0.16, 0.21])
    baseline = series([0.10] * 8)
    found = evaluate_rule(rule, value, "a", baseline)
    assert [(b.severity, b.since, b.until) for b in found] == [(Severity.WARNING, 60, None)]
    assert found[0].threshold == pytest.approx(0.15)
    assert evaluate_rule(rule, value, "a", None) == []


def test_zero_for_reports_single_step():
    ts = ThresholdSet().with_overrides({"wer": {"for_seconds": 0}})
    found = evaluate(ts, {"wer": series([0.01, 0.09, 0.01])}, "a")
    assert {(b.severity, b.since, b.until) for b in found} == {
        (Severity.WARNING, 60, 60),
        (Severity.CRITICAL, 60, 60),
    }


def test_per_agent_override_leaves_fleet_rules_alone():
    ts = ThresholdSet().with_overrides({"ttft_p99": {"warning": 2000, "critical": 3000}}, "slow-agent")
    assert ts.rule("ttft_p99", "slow-agent").warning == 2000
    assert ts.rule("ttft_p99", "other").warning == 800
    assert ts.rule("ttft_p99").warning == 800
    data = {"ttft_p99": series([1500] * 7)}
    assert evaluate(ts, data, "slow-agent") == []
    assert len(evaluate(ts, data, "other")) == 2


def test_instant_severity_for_table_cells():
    sev = instant_severity(ThresholdSet(), "a", {"ttft_p99": 900, "mos": 3.5, "wer": None, "e2e_p99": 100})
    assert sev["ttft_p99"] is Severity.WARNING
    assert sev["mos"] is Severity.CRITICAL
    assert sev["wer"] is Severity.OK
    assert sev["e2e_p99"] is Severity.OK


def test_default_rules_are_frozen():
    with pytest.raises(Exception):
        DEFAULT_RULES[0].warning = 1  # type: ignore[misc]


_values = st.lists(st.one_of(st.floats(allow_nan=True), st.sampled_from([1.0, 5.0, 9.0])), min_size=1, max_size=12)


@given(values=_values, direction=st.sampled_from(["above", "below"]),
       limits=st.tuples(st.floats(allow_nan=True), st.floats(allow_nan=True)))
def test_breach_runs_are_the_steps_where_holds_is_true(values, direction, limits):
    """Fast comparisons in evaluate_rule agree with ThresholdRule.holds, NaN and ±inf included."""
    rule = ThresholdRule("x", limits[0], limits[1], direction=direction, for_seconds=0)
    series = Series(tuple(float(i) for i in range(len(values))), tuple(values))
    found = {(b.severity, b.since, b.until) for b in evaluate_rule(rule, series, "a")}
    expected = set()
    for severity in (Severity.WARNING, Severity.CRITICAL):
        flags = [rule.holds(v, rule.limit(severity)) for v in values]
        for i, flag in enumerate(flags):
            starts = flag and (i == 0 or not flags[i - 1])
            if starts:
                end = i
                while end + 1 < len(flags) and flags[end + 1]:
                    end += 1
                expected.add((severity, float(i), None if end == len(values) - 1 else float(end)))
    assert found == expected


def test_the_no_breach_shortcut_agrees_with_the_step_by_step_evaluation(monkeypatch):
    """``_never_past`` (one max/min) must only skip series the full evaluation finds nothing in:
    random series with NaNs anywhere (first place included), both directions, crossed and NaN limits."""
    import random

    from voicetop.domain import thresholds as module

    rnd = random.Random(7)
    stamps = tuple(15.0 * i for i in range(30))
    checked = skipped = 0
    for _ in range(3000):
        values = tuple(math.nan if rnd.random() < 0.15 else rnd.uniform(0, 10) for _ in stamps)
        warning, critical = rnd.choice([(5.0, 8.0), (8.0, 5.0), (math.nan, 8.0), (5.0, math.nan), (9.9, 9.95)])
        rule = ThresholdRule("x", warning, critical, direction=rnd.choice(["above", "below"]),
                             for_seconds=rnd.choice([0.0, 60.0]))
        series = Series(stamps, values)
        fast = evaluate_rule(rule, series, "a")
        with monkeypatch.context() as patch:
            patch.setattr(module, "_never_past", lambda rule, values: False)
            full = evaluate_rule(rule, series, "a")
        assert fast == full
        checked += 1
        skipped += module._never_past(rule, values)
    assert skipped > 100 and checked - skipped > 100  # both paths were exercised
