"""Per-stage sparklines (p50/p90/p99) with thresholds and breach glyphs.

With a baseline (``b``) each value is followed by the baseline's (``1d 600ms↑``);
with a model / prompt-version change in the window a marker row points at it
(:mod:`voicetop.ui.widgets.spark_overlay`).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from typing import Sequence

from voicetop.domain.compare import offset_label
from voicetop.domain.model import STAGE_LABELS, STAGES, AgentStats, Baseline, ChangeMarker, Severity, stage_stat_key
from voicetop.domain.text import safe_text
from voicetop.domain.thresholds import ThresholdSet
from voicetop.ui.format import Palette, fmt_number
from voicetop.ui.widgets.quiet import update_static
from voicetop.ui.widgets.spark_cell import SparkCell
from voicetop.ui.widgets.spark_overlay import MarkerRow, baseline_suffix, subject_markers

SPARK_QUANTILES: tuple[str, ...] = ("p50", "p90", "p99")


def value_label(
    agent: AgentStats, stage: str, quantile: str, thresholds: ThresholdSet, palette: Palette
) -> tuple[Text, Severity]:
    """``p99 1340ms ✖>1200``: current value, and the threshold if the key has one."""
    key = stage_stat_key(stage, quantile)
    value = agent.stage_value(stage, quantile)
    rule = thresholds.rule(key, agent.agent_id)
    text = Text(f"{quantile} {fmt_number(value, 'ms')}", no_wrap=True, overflow="ellipsis")
    severity = Severity.OK
    if rule is not None:
        severity = rule.severity_of(value)
        limit = rule.limit(max(severity, Severity.WARNING))
        mark = palette.glyph(severity) if severity else " "
        sign = ">" if rule.direction == "above" else "<"
        text.append(f" {mark}{sign}{fmt_number(limit, 'ms', False)}", style=palette.style(severity) or "dim")
        if severity:
            text.stylize(palette.style(severity), 0, len(quantile) + 1 + len(fmt_number(value, "ms")))
    return text, severity


class StageRow(Horizontal):
    """One stage: its name, then a cell (sparkline, value, baseline value) per quantile."""

    def __init__(self, stage: str, spark_height: int = 1) -> None:
        super().__init__(classes="stage-row")
        self.stage = stage
        self.spark_height = spark_height
        self.cells = {q: SparkCell(id=f"cell-{stage}-{q}", classes=f"spark-cell q-{q}") for q in SPARK_QUANTILES}

    def compose(self) -> ComposeResult:
        yield Label(STAGE_LABELS[self.stage], classes="stage-name")
        yield from self.cells.values()

    def show(
        self, agent: AgentStats, thresholds: ThresholdSet, palette: Palette, baseline: Baseline | None = None
    ) -> None:
        for quantile, cell in self.cells.items():
            series = agent.series.get(stage_stat_key(self.stage, quantile))
            data = series.finite_values() if series is not None else ()
            text, severity = value_label(agent, self.stage, quantile, thresholds, palette)
            cell.set_class(severity is Severity.WARNING, "-warning")
            cell.set_class(severity is Severity.CRITICAL, "-critical")
            cell.show(tuple(data), text, baseline_suffix(agent, baseline, self.stage, quantile, palette))


class StageSparks(Vertical):
    """Sparklines of every stage for one agent or the fleet."""

    def __init__(self, spark_height: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.spark_height = spark_height
        self.subject: str | None = None
        self._title = Static("", classes="panel-title", id="sparks-title")
        self._rows = [StageRow(stage, spark_height) for stage in STAGES]
        self._markers = MarkerRow(SPARK_QUANTILES)
        self._shown: tuple | None = None  # what the last show() rendered
        self.base_room = True

    def compose(self) -> ComposeResult:
        yield self._title
        yield from self._rows
        yield self._markers

    def show(
        self,
        agent: AgentStats | None,
        thresholds: ThresholdSet,
        palette: Palette,
        baseline: Baseline | None = None,
        markers: Sequence[ChangeMarker] = (),
    ) -> None:
        """Render ``agent``; ``baseline`` adds its values, ``markers`` the change row.

        Nothing is done when every input equals the last call's (the frame
        builder hands over the same AgentStats while its series do not change)."""
        shown = (agent, thresholds, palette, baseline, tuple(markers))
        if shown == self._shown:
            return
        self._shown = shown
        title = self._title
        if agent is None:
            update_static(title, Text("Stages: no data", style="dim"))
            return
        name = "fleet" if agent.agent_id is None else safe_text(agent.agent_id, 40)
        heading = Text(f"Stages · {name}", style="bold")
        if baseline is not None:
            heading.append(f"  vs {offset_label(baseline.offset)} ago", style="bold")
        heading.append("  p50 / p90 / p99 latency over the window, thresholds after the value", style="dim")
        update_static(title, heading)
        self.set_class(baseline is not None, "-baseline")  # the baseline is on: each cell draws its column
        self._place_base()
        for row in self._rows:
            row.show(agent, thresholds, palette, baseline)
        own = subject_markers(markers, agent.agent_id)
        self.set_class(self._markers.show(agent, STAGES[-1], own, palette), "-markers")

    def set_base_room(self, room: bool) -> None:
        """Whether the screen is wide enough for the baseline values (narrow screens are not)."""
        self.base_room = room
        self._place_base()

    def _place_base(self) -> None:
        on = self.has_class("-baseline")
        for row in self._rows:
            for cell in row.cells.values():
                cell.set_baseline(on, self.base_room)
        self._markers.set_baseline(on, self.base_room)
