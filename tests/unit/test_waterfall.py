"""Waterfall layout: tree, self time, critical path, folding, axis, dominant stage."""

from __future__ import annotations

import random

import pytest

from tests.support.otel_traces import livekit_sessions, seed_sessions, to_otlp
from voicetop.domain.model import Severity, Span, Trace
from voicetop.domain.thresholds import ThresholdSet
from voicetop.domain.waterfall import (
    SYNTHETIC_ROOT_NAME,
    axis_ticks,
    bar,
    build_waterfall,
    collapse_below,
    dominant_stage,
    dominant_text,
    format_ms,
    nice_step,
    toggle,
)
from voicetop.profiles.spans import LIVEKIT, SEED
from voicetop.sources.otlp import parse_otlp_traces

MS = 1_000_000
TID = "ab" * 16


def span(sid, parent, name, start_ms, end_ms, **attrs):
    return Span(TID, sid.rjust(16, "0"), parent.rjust(16, "0") if parent else None, name, "bot",
                start_ms * MS, end_ms * MS, attrs)


def voice_turn():
    """root 0–1000: stt 0–100, llm 150–750 (tool 400–500 inside), tts 700–1000."""
    return Trace(TID, (
        span("1", None, "voice_turn", 0, 1000, **{"llm.ttft_ms": 300.0, "eou.delay_ms": 50.0}),
        span("4", "1", "tts_synthesis", 700, 1000),
        span("2", "1", "stt_processing", 0, 100),
        span("3", "1", "llm_inference", 150, 750),
        span("5", "3", "tool_invocation", 400, 500),
    ))


def test_rows_depth_first_children_by_start():
    wf = build_waterfall(voice_turn(), SEED)
    assert [(r.span.name, r.depth) for r in wf.rows] == [
        ("voice_turn", 0), ("stt_processing", 1), ("llm_inference", 1), ("tool_invocation", 2), ("tts_synthesis", 1),
    ]
    assert wf.total_ms == 1000
    assert [r.offset_ms for r in wf.rows] == [0, 0, 150, 400, 700]
    assert [r.duration_ms for r in wf.rows] == [1000, 100, 600, 100, 300]
    assert [r.stage for r in wf.rows] == [None, "stt", "llm", "tool", "tts"]
    assert [r.child_count for r in wf.rows] == [3, 0, 1, 0, 0]
    assert [r.subtree_end for r in wf.rows] == [5, 2, 4, 4, 5]


def test_self_time_subtracts_the_union_of_children():
    rows = {r.span.name: r for r in build_waterfall(voice_turn(), SEED).rows}
    # children cover 0–100, 150–750, 700–1000 → union 0–100 + 150–1000 = 950
    assert rows["voice_turn"].self_ms == pytest.approx(50)
    assert rows["llm_inference"].self_ms == pytest.approx(500)
    assert rows["tts_synthesis"].self_ms == pytest.approx(300)


def test_critical_path_walks_back_from_the_end():
    rows = {r.span.name: r for r in build_waterfall(voice_turn(), SEED).rows}
    # tts ends last (1000) and starts at 700; llm ends at 750 > 700 so it is not
    # blocking; stt ends at 100 ≤ 700 and is.
    assert {n for n, r in rows.items() if r.on_critical_path} == {"voice_turn", "tts_synthesis", "stt_processing"}


def test_orphans_hang_under_the_real_root_and_duplicates_show_once():
    trace = Trace(TID, voice_turn().spans + (
        span("9", "77", "late_orphan", 200, 300),
        span("2", "1", "stt_processing", 0, 100),  # duplicate id
    ))
    wf = build_waterfall(trace, SEED)
    assert [r.span.name for r in wf.rows].count("stt_processing") == 1
    orphan = next(r for r in wf.rows if r.span.name == "late_orphan")
    assert orphan.depth == 1
    assert len(wf.rows) == 6


def test_missing_root_gets_a_synthetic_root():
    generated = livekit_sessions(sessions=1, turns=2, live_last=True)
    (trace,) = parse_otlp_traces(to_otlp(generated.spans))
    wf = build_waterfall(trace, LIVEKIT)
    top = wf.rows[0]
    assert top.synthetic and top.span.name == SYNTHETIC_ROOT_NAME and top.depth == 0
    assert top.span.span_id == trace.spans[0].parent_id  # the missing agent_session's id
    assert all(r.depth >= 1 for r in wf.rows[1:])
    assert {r.span.name for r in wf.rows if r.depth == 1} == {"user_turn", "agent_turn"}
    assert len(wf.rows) == len(trace.spans) + 1
    assert wf.total_ms == pytest.approx((max(s.end_ns for s in trace.spans) - min(s.start_ns for s in trace.spans)) / MS)


def test_parent_cycles_do_not_hang_or_drop_spans():
    trace = Trace(TID, (span("1", "2", "a", 0, 10), span("2", "1", "b", 0, 10), span("3", None, "root", 0, 20)))
    wf = build_waterfall(trace, SEED)
    assert sorted(r.span.name for r in wf.rows if not r.synthetic) == ["a", "b", "root"]


def test_fold_and_unfold():
    wf = build_waterfall(voice_turn(), SEED)
    llm = wf.rows[2].span_id
    folded = toggle(frozenset(), llm)
    assert [r.span.name for r in wf.visible(folded)] == [
        "voice_turn", "stt_processing", "llm_inference", "tts_synthesis"
    ]
    assert [r.span.name for r in wf.visible(toggle(folded, wf.rows[0].span_id))] == ["voice_turn"]
    assert wf.visible(toggle(folded, llm)) == wf.rows
    assert [r.span.name for r in wf.visible(collapse_below(wf, 1))] == [
        "voice_turn", "stt_processing", "llm_inference", "tts_synthesis"
    ]


def test_bar_maps_rows_onto_the_width():
    wf = build_waterfall(voice_turn(), SEED)
    assert [wf.bar(r, 100) for r in wf.rows] == [(0, 100), (0, 10), (15, 75), (40, 50), (70, 100)]
    assert [wf.bar(r, 10) for r in wf.rows] == [(0, 10), (0, 1), (1, 8), (4, 5), (7, 10)]
    tiny = build_waterfall(Trace(TID, (span("1", None, "voice_turn", 0, 10_000), span("2", "1", "x", 5000, 5000))))
    assert tiny.bar(tiny.rows[1], 40) == (20, 21)  # zero-length spans still get a column
    assert bar(wf.rows[0], 0, 40) == (0, 1)
    assert bar(wf.rows[0], 1000, 0) == (0, 0)


def test_axis_ticks_adapt_to_width():
    assert nice_step(3400, 4) == 1000
    assert nice_step(3400, 8) == 500
    assert nice_step(3400, 20) == 200
    narrow = axis_ticks(3400, 40)
    wide = axis_ticks(3400, 160)
    assert [label for _, label in narrow] == ["0", "1s", "2s", "3s"]
    assert len(wide) > len(narrow)
    assert [label for _, label in wide][:3] == ["0", "200ms", "400ms"]
    for ticks, width in ((narrow, 40), (wide, 160)):
        columns = [c for c, _ in ticks]
        assert columns == sorted(columns) and columns[0] == 0
        assert all(b - a >= 8 for a, b in zip(columns, columns[1:]))
        assert all(c + len(label) <= width for c, label in ticks)
    assert axis_ticks(0.8, 50)[1][1].endswith("ms")
    assert axis_ticks(0, 10) == [(0, "0")]


def test_dominant_stage_in_words():
    stage, share, total = dominant_stage(voice_turn(), SEED)
    assert (stage, total) == ("llm", 1000)
    assert share == pytest.approx(0.6)
    assert dominant_text(voice_turn(), SEED) == "LLM 60% of 1.0 s"
    generated = seed_sessions(sessions=1, turns=1)
    (trace,) = parse_otlp_traces(to_otlp(generated.spans))
    want = generated.turns[0].stages
    parts = {k: want[k] for k in ("stt", "eou", "llm", "tts")}
    top = max(parts, key=parts.get)
    assert dominant_stage(trace)[0] == top
    assert dominant_text(Trace(TID, ())) == ""
    assert format_ms(3400) == "3.4 s" and format_ms(850) == "850 ms" and format_ms(12_500) == "12 s"


def test_stage_values_over_thresholds_are_marked():
    trace = Trace(TID, (
        span("1", None, "voice_turn", 0, 4500, **{"llm.ttft_ms": 1300.0}),
        span("2", "1", "stt_processing", 0, 250),
        span("3", "1", "tts_synthesis", 4000, 4100),
    ))
    wf = build_waterfall(trace, SEED, thresholds=ThresholdSet())
    rows = {r.span.name: r for r in wf.rows}
    # root holds e2e 4500 (> e2e_p99 warning 4000, > e2e_p90 critical 3500) and ttft 1300 (> 1200 critical)
    assert rows["voice_turn"].severity is Severity.CRITICAL
    assert "ms" in rows["voice_turn"].over_threshold or " s" in rows["voice_turn"].over_threshold
    assert rows["stt_processing"].severity is Severity.WARNING  # 250 > stt_p90 warning 200
    assert rows["stt_processing"].over_threshold == "STT 250 ms > 200 ms (stt_p90)"
    assert rows["tts_synthesis"].severity is Severity.OK  # 100 ms
    assert build_waterfall(trace, SEED).rows[0].severity is Severity.OK  # no thresholds, no marks


def big_trace(count: int, seed: int = 7) -> Trace:
    rng = random.Random(seed)
    spans = [span("1", None, "voice_turn", 0, 60_000)]
    for i in range(2, count + 1):
        parent = spans[rng.randrange(len(spans))]
        start = parent.start_ns // MS + rng.randint(0, 50)
        end = min(parent.end_ns // MS, start + rng.randint(1, 5000))
        name = rng.choice(["stt_processing", "llm_inference", "tool_invocation", "tts_synthesis", "db"])
        spans.append(span(f"{i:x}", parent.span_id, name, start, max(start, end)))
    rng.shuffle(spans)
    return Trace(TID, tuple(spans))


def test_two_thousand_spans_lay_out_whole():
    trace = big_trace(2000)
    wf = build_waterfall(trace, SEED, thresholds=ThresholdSet())
    visible = wf.visible(collapse_below(wf, 3))
    bars = [wf.bar(r, 120) for r in wf.rows]
    ticks = wf.ticks(120)
    assert len(wf.rows) == 2000 and len(bars) == 2000 and ticks
    assert 0 < len(visible) < 2000
    assert sum(r.on_critical_path for r in wf.rows) >= 2
