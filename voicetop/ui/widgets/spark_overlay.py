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
from textual.widgets import Label

from voicetop.domain.compare import StatDelta, marker_text, offset_label
from voicetop.domain.model import AgentStats, Baseline, ChangeMarker, Series, stage_stat_key
from voicetop.domain.text import safe_text
from voicetop.ui.format import Palette, fmt_number
from voicetop.ui.widgets.quiet import text_signature
from voicetop.ui.widgets.spark_cell import SPARK_GAP, CellWidget, Columns

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


class MarkerCell(CellWidget):
    """Under a stage cell: the change glyph at each marked sparkline column, then a note."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.series: Series | None = None
        self.markers: tuple[ChangeMarker, ...] = ()
        self.glyph = MARKER_GLYPH
        self.style_name = ""
        self.note = Text("")
        self._signature: tuple = (None, (), MARKER_GLYPH, "", text_signature(self.note))

    def show(self, series: Series | None, markers: Sequence[ChangeMarker], glyph: str, style: str,
             note: Text) -> None:
        signature = (series, tuple(markers), glyph, style, text_signature(note))
        if signature != self._signature:
            self._signature = signature
            self.series, self.markers, self.glyph, self.style_name, self.note = (
                series, tuple(markers), glyph, style, note)
            self.refresh()

    def columns(self) -> list[int]:
        """Strip columns (0-based) that get the glyph."""
        return marker_columns(self.series, self.markers, self.widths()[0])

    def strip(self) -> Text:
        line = [" "] * self.widths()[0]
        for column in self.columns():
            line[column] = self.glyph
        return Text("".join(line), style=self.style_name, no_wrap=True)

    def render(self) -> Columns:
        spark, value, base = self.widths()
        return Columns(((self.strip(), spark), (None, SPARK_GAP), (self.note, value), (None, base)))


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
        self.cells = {q: MarkerCell(id=f"marks-{q}", classes=f"spark-cell q-{q}") for q in self.quantiles}

    def compose(self) -> ComposeResult:
        yield Label("changes", classes="stage-name")
        yield from self.cells.values()

    def set_baseline(self, on: bool, room: bool) -> None:
        """Keep the strips as wide as the sparklines above them."""
        for cell in self.cells.values():
            cell.set_baseline(on, room)

    def show(self, agent: AgentStats, stage: str, markers: Sequence[ChangeMarker], palette: Palette) -> bool:
        """Place the markers (of ``stage``'s series); False when none falls in the window."""
        if not self.children:  # not composed yet: the next frame places them
            return False
        glyph = MARKER_ASCII if palette.ascii else MARKER_GLYPH
        note = Text(safe_text(_note(markers), 40) if markers else "", style=palette.warning, no_wrap=True,
                    overflow="ellipsis")
        visible = False
        for quantile, cell in self.cells.items():
            series = agent.series.get(stage_stat_key(stage, quantile))
            cell.show(series, markers, glyph, palette.warning, note if quantile == self.quantiles[-1] else Text(""))
            visible = visible or _in_span(series, markers)
        self.tooltip = "\n".join(safe_text(marker_text(m), 120) for m in markers) or None
        return visible
