"""Stage sparkline extras (issue #9): the baseline value after the current one,
and a row marking model / prompt-version changes under the sparklines.

The marker row mirrors the stage rows' cells, so a ``▲`` sits in the column
where Textual's :class:`~textual.widgets.Sparkline` draws the sample of the
change (:func:`marker_columns` reproduces its bucketing).  Render only.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Iterable, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Label, Static

from voicetop.domain.compare import StatDelta, marker_text, offset_label
from voicetop.domain.model import AgentStats, Baseline, ChangeMarker, Series, stage_stat_key
from voicetop.domain.text import safe_text
from voicetop.ui.format import Palette, fmt_number
from voicetop.ui.widgets.quiet import update_static

MARKER_GLYPH = "▲"
MARKER_ASCII = "^"


def baseline_suffix(agent: AgentStats, baseline: Baseline | None, stage: str, quantile: str, palette: Palette) -> Text:
    """`` 1d 600ms↑``: the stage quantile in the baseline window and the direction since."""
    if baseline is None:
        return Text("")
    key = stage_stat_key(stage, quantile)
    then_series = baseline.for_agent(agent.agent_id).get(key)
    then = then_series.last() if then_series is not None else None
    delta = StatDelta(key, agent.stage_value(stage, quantile), then)
    text = Text(f"{offset_label(baseline.offset)} {fmt_number(then, 'ms')}", style="dim", no_wrap=True)
    if delta.delta is not None:
        text.append(delta.glyph(palette.ascii), style="bold" if delta.direction else "dim")
    return text


def subject_markers(markers: Iterable[ChangeMarker], agent_id: str | None) -> tuple[ChangeMarker, ...]:
    """The changes a subject's sparklines mark: its own, or every agent's for the fleet."""
    return tuple(m for m in markers if agent_id is None or m.agent_id == agent_id)


def _columns_of_samples(count: int, width: int) -> list[tuple[int, int]]:
    """Per drawn column, the sample range ``[start, end)`` Textual's Sparkline summarises there."""
    step = Fraction(count, width)
    buckets = [
        (int(step * b), int(step * (b + 1))) for b in range(width) if int(step * (b + 1)) > int(step * b)
    ]
    columns, index, advance = [], 0.0, len(buckets) / width
    for _ in range(width):
        columns.append(buckets[int(index)])
        index += advance
    return columns


def marker_columns(series: Series | None, markers: Sequence[ChangeMarker], width: int) -> list[int]:
    """Columns (0-based, of a sparkline ``width`` wide over the series' finite
    samples) where each change in the series' time span is drawn."""
    if series is None or width <= 0:
        return []
    stamps = [t for t, v in zip(series.timestamps, series.values) if v == v]  # finite samples only
    if len(stamps) < 2:
        return []
    columns = _columns_of_samples(len(stamps), width)
    found = []
    for marker in markers:
        if not stamps[0] <= marker.at <= stamps[-1]:
            continue
        sample = next(i for i, t in enumerate(stamps) if t >= marker.at)
        found.append(next(c for c, (start, end) in enumerate(columns) if start <= sample < end))
    return sorted(set(found))


def _in_span(series: Series | None, markers: Sequence[ChangeMarker]) -> bool:
    finite = [t for t, v in zip(series.timestamps, series.values) if v == v] if series is not None else []
    return len(finite) >= 2 and any(finite[0] <= m.at <= finite[-1] for m in markers)


class MarkerStrip(Widget):
    """One sparkline's width of blanks with a glyph at each change's column."""

    DEFAULT_CSS = "MarkerStrip { width: 1fr; height: 1; margin: 0 1 0 0; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.series: Series | None = None
        self.markers: tuple[ChangeMarker, ...] = ()
        self.glyph = MARKER_GLYPH
        self.style_name = ""

    def set_markers(self, series: Series | None, markers: Sequence[ChangeMarker], glyph: str, style: str) -> None:
        if (self.series, self.markers, self.glyph, self.style_name) != (series, tuple(markers), glyph, style):
            self.series, self.markers, self.glyph, self.style_name = series, tuple(markers), glyph, style
            self.refresh()

    def columns(self) -> list[int]:
        return marker_columns(self.series, self.markers, self.size.width)

    def render(self) -> Text:
        line = [" "] * max(0, self.size.width)
        for column in self.columns():
            line[column] = self.glyph
        return Text("".join(line), style=self.style_name, no_wrap=True)


def _note(markers: Sequence[ChangeMarker]) -> str:
    """``→ v2.4.0 14:02`` for the latest change (``+N`` more)."""
    latest = max(markers, key=lambda m: m.at)
    note = f"→ {latest.new} {time.strftime('%H:%M', time.localtime(latest.at))}"
    return note + (f" +{len(markers) - 1}" if len(markers) > 1 else "")


class MarkerRow(Horizontal):
    """Under the stage rows: ``▲`` where the subject's model or prompt version changed."""

    def __init__(self, quantiles: Sequence[str]) -> None:
        super().__init__(classes="marker-row")
        self.quantiles = tuple(quantiles)

    def compose(self) -> ComposeResult:
        yield Label("changes", classes="stage-name")
        for quantile in self.quantiles:
            with Horizontal(classes=f"spark-cell q-{quantile}"):
                yield MarkerStrip(id=f"marks-{quantile}")
                yield Static("", id=f"mark-note-{quantile}", classes="spark-value")
                yield Static("", classes="spark-base")

    def show(self, agent: AgentStats, stage: str, markers: Sequence[ChangeMarker], palette: Palette) -> bool:
        """Place the markers (of ``stage``'s series); False when none falls in the window."""
        if not self.children:  # not composed yet: the next frame places them
            return False
        glyph = MARKER_ASCII if palette.ascii else MARKER_GLYPH
        visible = False
        for quantile in self.quantiles:
            strip = self.query_one(f"#marks-{quantile}", MarkerStrip)
            series = agent.series.get(stage_stat_key(stage, quantile))
            strip.set_markers(series, markers, glyph, palette.warning)
            visible = visible or _in_span(series, markers)
        note = Text(safe_text(_note(markers), 40) if markers else "", style=palette.warning, no_wrap=True,
                    overflow="ellipsis")
        update_static(self.query_one(f"#mark-note-{self.quantiles[-1]}", Static), note)
        self.tooltip = "\n".join(safe_text(marker_text(m), 120) for m in markers) or None
        return visible
