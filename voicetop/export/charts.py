"""Plain-text charts for the Markdown report: plotext line charts and span waterfalls."""

from __future__ import annotations

import math
import threading

from voicetop.domain.model import Series, Span, Trace
from voicetop.domain.text import safe_text

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


def _depths(trace: Trace) -> list[tuple[Span, int]]:
    """Spans in tree order (children by start time) with their depth."""
    ids = {s.span_id for s in trace.spans}
    children: dict[str | None, list[Span]] = {}
    for span in trace.spans:
        parent = span.parent_id if span.parent_id in ids else None
        children.setdefault(parent, []).append(span)
    for group in children.values():
        group.sort(key=lambda s: (s.start_ns, s.span_id))
    ordered: list[tuple[Span, int]] = []
    stack = [(s, 0) for s in reversed(children.get(None, []))]
    seen: set[str] = set()
    while stack:
        span, depth = stack.pop()
        if span.span_id in seen:  # a cycle in bad data
            continue
        seen.add(span.span_id)
        ordered.append((span, depth))
        stack.extend((c, depth + 1) for c in reversed(children.get(span.span_id, [])))
    return ordered


def text_waterfall(trace: Trace, *, name_width: int = 30, bar_width: int = 40) -> str:
    """An indented span list with offset, duration and a proportional bar."""
    rows = _depths(trace)
    if not rows:
        return "(no spans)"
    start = min(s.start_ns for s, _ in rows)
    end = max(max(s.end_ns, s.start_ns) for s, _ in rows)
    total = max(end - start, 1)
    header = f"{'span':<{name_width}} {'offset':>9} {'duration':>9}  timeline"
    lines = [header]
    for span, depth in rows:
        label = ("  " * min(depth, 8)) + safe_text(span.name, name_width)
        if len(label) > name_width:
            label = label[: name_width - 1] + "…"
        first = int((span.start_ns - start) / total * bar_width)
        length = max(1, round((max(span.end_ns, span.start_ns) - span.start_ns) / total * bar_width))
        first = min(first, bar_width - 1)
        length = min(length, bar_width - first)
        bar = " " * first + "█" * length
        offset = f"+{(span.start_ns - start) / 1e6:.0f}ms"
        mark = " ✖ error" if span.status_error else ""
        lines.append(
            f"{label:<{name_width}} {offset:>9} {span.duration_ms:>7.0f}ms  {bar:<{bar_width}}{mark}".rstrip()
        )
    return _clean("\n".join(lines))
