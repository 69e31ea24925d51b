"""Plain-text charts for the Markdown report: plotext line charts and span waterfalls
(laid out by :mod:`voicetop.domain.waterfall`)."""

from __future__ import annotations

import math
import threading

from voicetop.domain.model import Series, Trace
from voicetop.domain.text import safe_text
from voicetop.domain.thresholds import ThresholdSet
from voicetop.domain.waterfall import build_waterfall, format_ms

# plotext keeps its figure in module globals: one chart at a time.
_PLOTEXT_LOCK = threading.Lock()


def _clean(text: str) -> str:
    """Chart text safe inside a Markdown code fence."""
    return text.replace("```", "'''")


def line_chart(
    series: Series,
    *,
    end: float,
    title: str,
    limits: tuple[tuple[str, float], ...] = (),
    width: int = 76,
    height: int = 14,
) -> str:
    """A text line chart of ``series`` against minutes before ``end``.

    ``limits`` draws horizontal threshold lines (their names go in the title).
    Returns "" when the series has no finite values.
    """
    points = [
        ((t - end) / 60.0, v)
        for t, v in zip(series.timestamps, series.values)
        if not math.isnan(v) and math.isfinite(v)
    ]
    if not points:
        return ""
    import plotext as plt

    xs, ys = zip(*points)
    legend = ", ".join(f"{name} {value:g}" for name, value in limits)
    with _PLOTEXT_LOCK:
        plt.clf()
        plt.plotsize(width, height)
        plt.theme("clear")
        plt.plot(list(xs), list(ys))
        for _, value in limits:
            plt.hline(value)
        plt.title(safe_text(f"{title} ({legend})" if legend else title, 120))
        plt.xlabel("minutes before window end")
        chart = plt.uncolorize(plt.build())
        plt.clf()
    lines = [line.rstrip() for line in chart.splitlines()]
    return _clean("\n".join(lines).strip("\n"))


def text_waterfall(
    trace: Trace,
    *,
    thresholds: ThresholdSet | None = None,
    agent_id: str | None = None,
    name_width: int = 30,
    bar_width: int = 40,
) -> str:
    """The span tree as text: indented names, offset, duration, a bar on a
    shared time axis, ``*`` on the critical path, error and threshold marks."""
    if not trace.spans:
        return "(no spans)"
    waterfall = build_waterfall(trace, thresholds=thresholds, agent_id=agent_id)
    lines = [f"  {'span':<{name_width}} {'offset':>9} {'duration':>9}  timeline"]
    for row in waterfall.rows:
        label = ("  " * min(row.depth, 8)) + safe_text(row.span.name, name_width)
        if len(label) > name_width:
            label = label[: name_width - 1] + "…"
        first, end = waterfall.bar(row, bar_width)
        bar = " " * first + "█" * (end - first)
        marks = []
        if row.span.status_error:
            marks.append("✖ error")
        if row.over_threshold:
            marks.append(f"{row.severity.glyph} {safe_text(row.over_threshold, 60)}")
        path = "*" if row.on_critical_path else " "
        lines.append(
            f"{path} {label:<{name_width}} {'+' + format_ms(row.offset_ms):>9} {format_ms(row.duration_ms):>9}"
            f"  {bar:<{bar_width}} {'  '.join(marks)}".rstrip()
        )
    lines.append("(* critical path)")
    return _clean("\n".join(lines))
