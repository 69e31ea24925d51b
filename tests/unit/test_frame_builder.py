"""FrameBuilder: the frames of build_frame, re-evaluating only agents whose series changed."""

import math

from voicetop.domain.frame_builder import FrameBuilder, build_frame, same_series
from voicetop.domain.model import MetricsResult, Series, Severity, StageStats, Window
from voicetop.domain.thresholds import ThresholdSet

WINDOW = Window(0.0, 900.0, 15.0)
STAMPS = WINDOW.timestamps()


def flat(value: float) -> Series:
    return Series(STAMPS, tuple(value for _ in STAMPS))


def result(ttft_b: float = 500.0, gap: bool = False) -> MetricsResult:
    """Agent a breaches TTFT p99 (critical) over the whole window; b at ``ttft_b``."""
    series_b = flat(ttft_b)
    if gap:  # a missing step, as NaN parsed afresh on every poll
        series_b = Series(STAMPS, (float("nan"),) + series_b.values[1:])
    return MetricsResult(
        window=WINDOW,
        series={
            "ttft_p99": {"a": flat(1500.0), "b": series_b, None: flat(900.0)},
            "wer": {"a": flat(0.01), "b": flat(0.01), None: flat(0.01)},
        },
    )


def build(builder: FrameBuilder, found: MetricsResult, thresholds: ThresholdSet, at: float = 900.0):
    return builder.build(found, thresholds, (), created_at=at)


def test_same_series_again_keeps_the_agent_objects_and_equals_a_fresh_build():
    builder, thresholds = FrameBuilder(), ThresholdSet()
    first = build(builder, result(), thresholds)
    second = build(builder, result(), thresholds, at=901.0)
    assert [a.agent_id for a in second.agents] == ["a", "b"]
    assert all(new is old for new, old in zip(second.agents, first.agents))
    assert second.fleet is first.fleet
    fresh = build_frame(result(), thresholds, (), created_at=901.0)
    assert second == fresh
    assert {(b.key, b.agent_id, b.severity) for b in second.breaches} == {
        ("ttft_p99", "a", Severity.WARNING), ("ttft_p99", "a", Severity.CRITICAL),
        ("ttft_p99", None, Severity.WARNING),
    }


def test_a_changed_agent_is_re_evaluated_and_the_others_are_kept():
    builder, thresholds = FrameBuilder(), ThresholdSet()
    first = build(builder, result(), thresholds)
    second = build(builder, result(ttft_b=1300.0), thresholds)
    assert second.agents[0] is first.agents[0]
    assert second.agents[1] is not first.agents[1]
    assert second.agents[1].severity is Severity.CRITICAL
    assert ("ttft_p99", "b", Severity.CRITICAL) in {(b.key, b.agent_id, b.severity) for b in second.breaches}
    assert second == build_frame(result(ttft_b=1300.0), thresholds, (), created_at=900.0)


def test_nan_steps_count_as_unchanged():
    builder, thresholds = FrameBuilder(), ThresholdSet()
    first = build(builder, result(gap=True), thresholds)
    second = build(builder, result(gap=True), thresholds)
    assert second.agents[1] is first.agents[1]
    assert same_series(Series((1.0,), (math.nan,)), Series((1.0,), (float("nan"),)))
    assert not same_series(Series((1.0,), (math.nan,)), Series((1.0,), (1.0,)))
    assert not same_series(Series((1.0,), (2.0,)), Series((2.0,), (2.0,)))


def test_other_thresholds_re_evaluate_everything():
    builder = FrameBuilder()
    build(builder, result(), ThresholdSet())
    relaxed = ThresholdSet().with_overrides({"ttft_p99": {"warning": 5000.0, "critical": 6000.0}})
    again = build(builder, result(), relaxed)
    assert not again.breaches
    assert again.agents[0].severity is Severity.OK


def test_by_agent_is_for_agent_of_every_agent_and_the_fleet():
    found = result()
    found.series["error_rate"] = {"b": flat(0.1)}
    grouped = found.by_agent()
    assert set(grouped) == {"a", "b", None}
    for agent_id, series in grouped.items():
        assert series == found.for_agent(agent_id)
        assert list(series) == list(found.for_agent(agent_id))  # same stat order


def test_nothing_changed_keeps_the_whole_fleet_and_the_sorted_breaches():
    """The same series objects (a kept read) or equal ones: the agents and the sorted breaches of the
    last build are kept whole; any change, a trace-derived stage included, builds again."""
    builder, thresholds = FrameBuilder(), ThresholdSet()
    found = result()
    first = build(builder, found, thresholds)
    kept = build(builder, MetricsResult(window=WINDOW, series=dict(found.series)), thresholds, at=901.0)
    assert kept.agents is first.agents and kept.breaches is first.breaches and kept.fleet is first.fleet
    equal = build(builder, result(), thresholds, at=902.0)  # equal series, new objects
    assert equal.agents is first.agents and equal.breaches is first.breaches
    assert equal == build_frame(result(), thresholds, (), created_at=902.0)
    changed = build(builder, result(ttft_b=1300.0), thresholds)
    assert changed.agents is not first.agents and len(changed.breaches) > len(first.breaches)
    derived = {"c": {"stt": StageStats("stt", p50=100.0, p90=500.0)}}
    with_traces = builder.build(result(ttft_b=1300.0), thresholds, (), created_at=903.0, derived_stages=derived)
    assert [a.agent_id for a in with_traces.agents] == ["a", "b", "c"]


def test_a_focused_result_reuses_the_full_ones_grouping_and_equals_a_fresh_build():
    """A result laid over the last full one (the agents on screen first) groups only its changed agents again."""
    from dataclasses import replace

    builder, thresholds = FrameBuilder(), ThresholdSet()
    full = result()
    first = build(builder, full, thresholds)
    series = {key: dict(per_agent) for key, per_agent in full.series.items()}
    series["ttft_p99"]["b"] = flat(1300.0)
    del series["wer"]["b"]
    focused = replace(full, series=series, overlaid_on=full, overlaid=frozenset({"b"}))
    grouped = builder._grouped(focused)
    assert grouped == focused.by_agent()
    assert grouped["a"] is builder._grouping[1]["a"]  # an unchanged agent: the full result's own grouping
    second = build(builder, focused, thresholds)
    assert second.agents[0] is first.agents[0] and second.agents[1].severity is Severity.CRITICAL
    assert second == build_frame(replace(focused, overlaid_on=None), thresholds, (), created_at=900.0)
    # laid over a result this builder did not build last: grouped whole
    other = replace(focused, overlaid_on=result(ttft_b=1.0))
    assert build(builder, other, thresholds) == second
