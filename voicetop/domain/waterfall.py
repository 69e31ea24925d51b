"""Waterfall layout of a span tree on a time axis (pure; screens render it).

:func:`build_waterfall` turns a :class:`Trace` into depth-first rows with
offsets, durations, self time, critical-path marks, stage colours and
threshold marks.  Orphans (parent not in the trace, e.g. a live session whose
root is not exported yet) hang under the real root, or under a synthetic root
when there is none.  Duplicate span ids are kept once.  Folding is a set of
collapsed span ids → :meth:`Waterfall.visible`.  Layout is O(n log n).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Collection, Mapping, Sequence

from voicetop.domain.model import Severity, Span, Trace
from voicetop.domain.text import safe_text
from voicetop.domain.thresholds import ThresholdSet
from voicetop.profiles.spans import SpanProfile, detect_profile

SYNTHETIC_ROOT_ID = "synthetic-root"
SYNTHETIC_ROOT_NAME = "(root span not exported yet)"
#: Longest span name shown (in cells); longer names are cut.
LABEL_MAX = 120

#: Short stage names for the dominant-stage sentence.
STAGE_WORDS: Mapping[str, str] = {
    "stt": "STT",
    "eou": "EOU",
    "ttft": "LLM TTFT",
    "llm": "LLM",
    "tts": "TTS",
    "tool": "Tools",
    "e2e": "End-to-end",
}
#: Stages that add up to a turn (TTFT is inside LLM, e2e is the whole).
_ADDITIVE_STAGES = ("stt", "eou", "llm", "tool", "tts")


@dataclass(frozen=True, slots=True)
class WaterfallRow:
    """One span laid out: times in ms relative to the waterfall start."""

    span: Span
    depth: int
    offset_ms: float
    duration_ms: float
    self_ms: float
    on_critical_path: bool
    stage: str | None
    child_count: int
    #: Index one past this row's last descendant in ``Waterfall.rows``.
    subtree_end: int
    #: The span name made safe for a terminal (see :func:`span_label`).
    label: str
    severity: Severity = Severity.OK
    over_threshold: str = ""
    synthetic: bool = False

    @property
    def span_id(self) -> str:
        return self.span.span_id

    @property
    def has_children(self) -> bool:
        return self.child_count > 0


@dataclass(frozen=True)
class Waterfall:
    """All rows of a trace, depth-first, children by start time."""

    trace_id: str
    rows: tuple[WaterfallRow, ...]
    start_ns: int
    total_ms: float

    def visible(self, collapsed: Collection[str] = ()) -> tuple[WaterfallRow, ...]:
        """Rows not hidden under a collapsed span id."""
        if not collapsed:
            return self.rows
        folded = set(collapsed)
        shown: list[WaterfallRow] = []
        index = 0
        rows = self.rows
        while index < len(rows):
            row = rows[index]
            shown.append(row)
            index = row.subtree_end if row.span_id in folded else index + 1
        return tuple(shown)

    def bar(self, row: WaterfallRow, width: int) -> tuple[int, int]:
        return bar(row, self.total_ms, width)

    def ticks(self, width: int) -> list[tuple[int, str]]:
        return axis_ticks(self.total_ms, width)

    def row(self, span_id: str) -> WaterfallRow | None:
        return next((r for r in self.rows if r.span_id == span_id), None)

    def critical_path(self) -> tuple[WaterfallRow, ...]:
        return tuple(r for r in self.rows if r.on_critical_path)


def toggle(collapsed: Collection[str], span_id: str) -> frozenset[str]:
    """Fold or unfold one span."""
    folded = set(collapsed)
    folded.symmetric_difference_update({span_id})
    return frozenset(folded)


def collapse_below(waterfall: Waterfall, depth: int) -> frozenset[str]:
    """Collapsed set that shows rows down to ``depth`` only."""
    return frozenset(r.span_id for r in waterfall.rows if r.depth >= depth and r.has_children)


# --- tree ----------------------------------------------------------------------


def _tree(trace: Trace) -> tuple[list[Span], dict[str, list[Span]], bool]:
    """Top-level spans, children by parent id (sorted by start), synthetic flag."""
    by_id: dict[str, Span] = {}
    for span in trace.spans:
        by_id.setdefault(span.span_id, span)
    children: dict[str, list[Span]] = {}
    tops: list[Span] = []
    for span in by_id.values():
        parent = span.parent_id
        if parent and parent in by_id and parent != span.span_id:
            children.setdefault(parent, []).append(span)
        else:
            tops.append(span)
    for items in children.values():
        items.sort(key=lambda s: (s.start_ns, -s.end_ns))
    tops.sort(key=lambda s: (s.start_ns, -s.end_ns))
    real_roots = [s for s in tops if not s.parent_id]
    synthetic = False
    if len(tops) > 1:
        if len(real_roots) == 1:
            root = real_roots[0]
            orphans = [s for s in tops if s is not root]
            children[root.span_id] = sorted(
                children.get(root.span_id, []) + orphans, key=lambda s: (s.start_ns, -s.end_ns)
            )
            tops = [root]
        else:
            synthetic = True
    elif len(tops) == 1 and tops[0].parent_id:
        synthetic = True  # the only top span is an orphan: show its missing root
    _break_cycles(by_id, children, tops)
    return tops, children, synthetic


def _break_cycles(by_id: dict[str, Span], children: dict[str, list[Span]], tops: list[Span]) -> None:
    """Spans only reachable through a parent cycle become top-level."""
    reached: set[str] = set()
    stack = [s.span_id for s in tops]
    while stack:
        current = stack.pop()
        if current in reached:
            continue
        reached.add(current)
        stack.extend(c.span_id for c in children.get(current, ()))
    for span_id, span in by_id.items():
        if span_id not in reached:
            for items in children.values():
                if span in items:
                    items.remove(span)
            tops.append(span)
            stack = [span_id]
            while stack:
                current = stack.pop()
                if current not in reached:
                    reached.add(current)
                    stack.extend(c.span_id for c in children.get(current, ()))


def _self_time(span: Span, kids: Sequence[Span]) -> float:
    """Duration minus the union of children's intervals clipped to the span."""
    covered = 0
    cursor = span.start_ns
    for kid in kids:  # sorted by start
        start = max(kid.start_ns, cursor)
        end = min(kid.end_ns, span.end_ns)
        if end > start:
            covered += end - start
            cursor = end
    return max(0, span.end_ns - span.start_ns - covered) / 1e6


def _critical(span: Span, children: Mapping[str, list[Span]], marked: set[str]) -> None:
    """Mark the critical path under ``span``: walk back from its end through
    the child that finished last, then the child finishing last before that
    child started, and so on; recurse into each."""
    stack = [span]
    while stack:
        current = stack.pop()
        marked.add(current.span_id)
        kids = children.get(current.span_id, [])
        if not kids:
            continue
        horizon: int | None = None
        for kid in sorted(kids, key=lambda s: s.end_ns, reverse=True):
            if horizon is None or kid.end_ns <= horizon:
                stack.append(kid)
                horizon = kid.start_ns
                if horizon <= current.start_ns:
                    break


def build_waterfall(
    trace: Trace,
    profile: SpanProfile | None = None,
    *,
    thresholds: ThresholdSet | None = None,
    agent_id: str | None = None,
) -> Waterfall:
    """Lay out ``trace``; mark stage values over a warning/critical threshold."""
    profile = profile or detect_profile(trace.spans)
    tops, children, synthetic = _tree(trace)
    spans_start = min((s.start_ns for s in trace.spans), default=0)
    spans_end = max((s.end_ns for s in trace.spans), default=0)
    if synthetic:
        missing = next((s.parent_id for s in tops if s.parent_id), None)
        fake = Span(
            trace_id=trace.trace_id,
            span_id=missing or SYNTHETIC_ROOT_ID,
            parent_id=None,
            name=SYNTHETIC_ROOT_NAME,
            service=tops[0].service if tops else "",
            start_ns=spans_start,
            end_ns=spans_end,
        )
        children[fake.span_id] = tops
        tops = [fake]
    marks = _threshold_marks(trace, profile, thresholds, agent_id)
    critical: set[str] = set()
    for top in tops:
        _critical(top, children, critical)
    origin = min((s.start_ns for s in tops), default=spans_start)
    end = max([spans_end, *(s.end_ns for s in tops)], default=origin)
    order: list[tuple[Span, int, bool]] = []  # depth-first: (span, depth, synthetic)
    stack: list[tuple[Span, int, bool]] = [(t, 0, synthetic) for t in reversed(tops)]
    while stack:
        span, depth, fake_row = stack.pop()
        order.append((span, depth, fake_row))
        stack.extend((kid, depth + 1, False) for kid in reversed(children.get(span.span_id, ())))
    ends = _subtree_ends([depth for _, depth, _ in order])
    ok = (Severity.OK, "")
    built = tuple(
        WaterfallRow(
            span=span,
            depth=depth,
            offset_ms=(span.start_ns - origin) / 1e6,
            duration_ms=span.duration_ms,
            self_ms=_self_time(span, children.get(span.span_id, ())),
            on_critical_path=span.span_id in critical,
            stage=None if fake_row else profile.stage_of_span(span.name),
            child_count=len(children.get(span.span_id, ())),
            subtree_end=end,
            severity=marks.get(span.span_id, ok)[0],
            over_threshold=marks.get(span.span_id, ok)[1],
            synthetic=fake_row,
            label=span_label(span.name),
        )
        for (span, depth, fake_row), end in zip(order, ends)
    )
    return Waterfall(trace.trace_id, built, origin, max(0, end - origin) / 1e6)


def span_label(name: str) -> str:
    """A span name as shown: :func:`safe_text` (cut to ``LABEL_MAX``), ``(unnamed)`` when empty.

    Plain ASCII names that ``safe_text`` would return unchanged skip it (most names).
    """
    if name.isascii() and name.isprintable() and 0 < len(name) <= LABEL_MAX and "  " not in name \
            and name[0] != " " and name[-1] != " ":
        return name
    return safe_text(name, LABEL_MAX) or "(unnamed)"


def _subtree_ends(depths: list[int]) -> list[int]:
    """For rows in depth-first order, the index one past each row's last descendant."""
    ends = [len(depths)] * len(depths)
    open_rows: list[int] = []
    for index, depth in enumerate(depths):
        while open_rows and depths[open_rows[-1]] >= depth:
            ends[open_rows.pop()] = index
        open_rows.append(index)
    return ends


def _threshold_marks(
    trace: Trace, profile: SpanProfile, thresholds: ThresholdSet | None, agent_id: str | None
) -> dict[str, tuple[Severity, str]]:
    """Span id → (worst severity, "TTS TTFB 412 ms > 300 ms") for stage values over a limit.

    A single turn's stage value is compared with that stage's percentile
    limits (e.g. ``tts_p90``): a turn slower than the p90 limit is marked.
    """
    if thresholds is None:
        return {}
    from voicetop.domain.turns import stage_sources

    rules = thresholds.for_agent(agent_id)
    marks: dict[str, tuple[Severity, str]] = {}
    for span_id, stages in stage_sources(trace, profile).items():
        for stage, value in stages.items():
            for key, rule in rules.items():
                if not key.startswith(f"{stage}_p") or rule.baseline:
                    continue
                severity = rule.severity_of(value)
                if severity is Severity.OK:
                    continue
                limit = rule.limit(severity)
                text = f"{STAGE_WORDS.get(stage, stage)} {format_ms(value)} > {format_ms(limit)} ({key})"
                if severity > marks.get(span_id, (Severity.OK, ""))[0]:
                    marks[span_id] = (severity, text)
    return marks


# --- axis ------------------------------------------------------------------------


def bar(row: WaterfallRow, total_ms: float, width: int) -> tuple[int, int]:
    """Half-open column range ``[start, end)`` of a row's bar in ``width`` columns.

    Every span gets at least one column, and bars never leave the axis.
    """
    if width <= 0:
        return (0, 0)
    if total_ms <= 0:
        return (0, 1)
    scale = width / total_ms
    start = min(width - 1, max(0, int(math.floor(row.offset_ms * scale))))
    end = int(math.ceil((row.offset_ms + row.duration_ms) * scale - 1e-9))
    return (start, min(width, max(start + 1, end)))


def nice_step(total_ms: float, max_ticks: int) -> float:
    """The smallest 1/2/5×10ⁿ step giving at most ``max_ticks`` intervals."""
    if total_ms <= 0 or max_ticks <= 0:
        return 0.0
    raw = total_ms / max_ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw - 1e-12:
            return factor * power
    return 10 * power


def format_ms(value: float) -> str:
    """``850 ms``, ``3.4 s``, ``12 s``."""
    if value < 1000:
        return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms".replace(".0 ms", " ms")
    seconds = value / 1000
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


def _tick_label(value: float, step: float) -> str:
    if step >= 1000:
        return f"{value / 1000:g}s"
    if step >= 1:
        return f"{value:g}ms"
    return f"{value:.3g}ms"


def axis_ticks(total_ms: float, width: int, min_spacing: int = 8) -> list[tuple[int, str]]:
    """Tick columns and labels at a nice step; denser when wider.

    Ticks are at least ``min_spacing`` columns apart and the last label
    fits inside ``width``.
    """
    if width <= 0 or total_ms <= 0:
        return [(0, "0")] if width > 0 else []
    step = nice_step(total_ms, max(1, width // min_spacing))
    ticks: list[tuple[int, str]] = []
    count = int(math.floor(total_ms / step + 1e-9))
    for i in range(count + 1):
        value = i * step
        column = int(round(value / total_ms * (width - 1)))
        label = "0" if i == 0 else _tick_label(value, step)
        if column + len(label) > width and i > 0:
            label = label[: max(0, width - column)]
            if not label:
                continue
        ticks.append((column, label))
    return ticks


# --- dominant stage ---------------------------------------------------------------------


def dominant_stage(trace: Trace, profile: SpanProfile | None = None) -> tuple[str, float, float] | None:
    """``(stage, share of the turn, turn total ms)`` for the stage taking most time.

    The total is the turn's end-to-end value (or its root's duration);
    stages are STT, EOU, LLM total, tools and TTS.
    """
    from voicetop.domain.turns import derive_turn

    profile = profile or detect_profile(trace.spans)
    turn = derive_turn(trace, profile)
    if turn is None:
        return None
    total = turn.stages.get("e2e") or turn.duration_ms
    if not total or total <= 0:
        return None
    parts = {s: turn.stages[s] for s in _ADDITIVE_STAGES if s in turn.stages}
    tools = sum(t.duration_ms for t in turn.tools)
    if tools:
        parts["tool"] = tools
    if not parts:
        return None
    stage = max(parts, key=lambda s: parts[s])
    return stage, min(1.0, parts[stage] / total), total


def dominant_text(trace: Trace, profile: SpanProfile | None = None) -> str:
    """E.g. ``"LLM 71% of 3.4 s"`` (empty when the turn has no stage data)."""
    found = dominant_stage(trace, profile)
    if found is None:
        return ""
    stage, share, total = found
    return f"{STAGE_WORDS.get(stage, stage)} {share * 100:.0f}% of {format_ms(total)}"
