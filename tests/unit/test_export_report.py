"""The Markdown report: golden file plus behaviour checks.

Regenerate the golden file after an intended change with
``VOICETOP_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_export_report.py``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from test_export_data import END, frame, source_info, turns_with_traces
from voicetop.domain.model import Series, Span, Trace
from voicetop.export import load_snapshot, parse_document, render_report, write_snapshot
from voicetop.export.charts import line_chart, text_waterfall
from voicetop.export.writer import build_snapshot_document

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "snapshot_report.md"


def _report() -> str:
    doc = build_snapshot_document(
        frame(), turns_with_traces(), source_info=source_info(), created_at=END + 5
    )
    return render_report(parse_document(doc))


def test_report_matches_golden_file():
    report = _report()
    if os.environ.get("VOICETOP_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(report, encoding="utf-8")
    expected = GOLDEN.read_text(encoding="utf-8")
    assert report == expected, "report changed; rerun with VOICETOP_UPDATE_GOLDEN=1 if intended"


def test_report_is_deterministic():
    assert _report() == _report()


def test_report_sections_and_breach_rows():
    report = _report()
    for heading in (
        "## Fleet summary", "## Breaches", "## Diagnostic hints",
        "## Stage latency per agent (ms, p50 / p90 / p99)", "## Charts of breaching stats", "## Slowest turns",
    ):
        assert heading in report
    assert "- **Window:** 2025-01-01T02:45:00Z → 2025-01-01T03:00:00Z (15m, step 15s" in report
    assert "- **Metrics:** prometheus https://prom.example:9090/api" in report
    assert (
        "| `e2e_p99` | billing-agent | ✖ critical | 8580 ms > 5000 ms | 2025-01-01T02:50:00Z | ongoing | 10m |"
        in report
    )
    assert "| `wer` | support-agent | ✖ critical | 11.0 % > 8.0 % | 2025-01-01T02:47:30Z | 2025-01-01T02:53:30Z | 6m |" in report
    assert "| billing-agent ✖ | 100 / 150 / 220 |" in report


def test_hints_follow_the_guide_for_each_breaching_symptom():
    report = _report()
    assert (
        "**high latency** → check first: LLM provider status; second: token rate limits; third: network path"
        in report
    )
    assert (
        "**poor transcription** → check first: audio quality (MOS); second: background noise; third: ASR provider"
        in report
    )


def test_charts_and_waterfalls_are_text_in_code_fences():
    report = _report()
    chart_start = report.index("### billing-agent — `e2e_p99`")
    fence = report[chart_start:].split("```text\n", 1)[1].split("\n```", 1)[0]
    assert "critical 5000" in fence and "minutes before window end" in fence
    assert "\x1b" not in report, "no ANSI colour codes in Markdown"
    assert "voice_turn" in report and "✖ error" in report
    assert report.count("```") % 2 == 0


def test_untrusted_names_cannot_inject_markdown(tmp_path):
    evil = "agent|<script>`x`</script>\x1b[31m"
    original = frame()
    agents = tuple(replace(a, agent_id=evil) if a.agent_id == "support-agent" else a for a in original.agents)
    breaches = tuple(replace(b, agent_id=evil) if b.agent_id == "support-agent" else b for b in original.breaches)
    turn, trace = turns_with_traces()[0]
    bad_span = replace(trace.spans[0], name="```\n# pwned")
    trace = Trace(trace.trace_id, (bad_span,) + trace.spans[1:])
    result = write_snapshot(
        replace(original, agents=agents, breaches=breaches), [(turn, trace)], tmp_path, created_at=END
    )
    report = result.markdown_path.read_text()
    outside_fences = report.split("```")[::2]
    assert not any("<script>" in part for part in outside_fences), "raw HTML only ever inside code fences"
    assert "\x1b" not in report
    assert "agent\\|\\<script\\>\\`x\\`\\</script\\>" in report
    assert "\n# pwned" not in report
    assert report.count("```") % 2 == 0


def test_report_without_breaches_or_turns(tmp_path):
    quiet = replace(frame(), breaches=())
    result = write_snapshot(quiet, (), tmp_path, created_at=END)
    report = result.markdown_path.read_text()
    assert "No threshold held past its limit" in report
    assert "No breaching stat to chart." in report
    assert "No turns were captured" in report
    assert load_snapshot(result.json_path).breaches == ()


def test_line_chart_skips_gaps_and_empty_series():
    assert line_chart(Series.empty(), end=END, title="x") == ""
    nan = float("nan")
    chart = line_chart(Series((END - 30, END - 15, END), (1.0, nan, 3.0)), end=END, title="t", width=40, height=8)
    assert chart and "t" in chart.splitlines()[0]


def test_waterfall_orders_children_under_parents_and_scales_bars():
    t0 = 1_000_000_000_000
    spans = (
        Span("t", "c2", "root", "tts_synthesis", "s", t0 + 800_000_000, t0 + 1_000_000_000),
        Span("t", "root", None, "voice_turn", "s", t0, t0 + 1_000_000_000),
        Span("t", "c1", "root", "llm_inference", "s", t0 + 100_000_000, t0 + 700_000_000),
        Span("t", "g1", "c1", "tool_invocation", "s", t0 + 200_000_000, t0 + 300_000_000, status_error=True),
    )
    lines = text_waterfall(Trace("t", spans), bar_width=10).splitlines()
    rows = lines[1:-1]
    assert [line[2:].split()[0] for line in rows] == ["voice_turn", "llm_inference", "tool_invocation", "tts_synthesis"]
    assert rows[0].startswith("* voice_turn") and rows[0].endswith("█" * 10)
    assert rows[2][2:].startswith("    tool_invocation") and rows[2].endswith("✖ error")
    assert "+800 ms" in rows[3] and rows[3].rstrip().endswith("██")
    assert lines[-1] == "(* critical path)"


def test_waterfall_marks_stage_values_over_thresholds():
    from voicetop.domain.thresholds import ThresholdSet

    _, trace = turns_with_traces()[0]
    text = text_waterfall(trace, thresholds=ThresholdSet(), agent_id="billing-agent")
    assert "✖ End-to-end 7.4 s > 3.5 s (e2e_p90)" in text
