"""Agent detail: stage percentiles, scalar stats, sparklines and breaches."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Static

from voicetop.domain.model import QUANTILES, STAGE_LABELS, STAGES, AgentStats, Frame, Severity, stage_stat_key
from voicetop.domain.text import safe_text
from voicetop.domain.thresholds import ThresholdRule, ThresholdSet
from voicetop.ui.format import Palette, fmt_number, unit_of
from voicetop.ui.widgets.breaches import BreachPanel
from voicetop.ui.widgets.drill_table import stat_text
from voicetop.ui.widgets.keyed_table import Column, KeyedTable, SortCell
from voicetop.ui.widgets.sessions_table import SessionsPanel
from voicetop.ui.widgets.sparks import StageSparks
from voicetop.ui.widgets.steady_footer import SteadyFooter

SCALAR_ROWS: tuple[tuple[str, str], ...] = (
    ("wer", "WER"),
    ("mos", "TTS MOS"),
    ("rtf", "STT RTF"),
    ("interruption_rate", "Interruptions"),
    ("tool_success_rate", "Tool success"),
    ("capacity", "Capacity"),
    ("active_sessions", "Active sessions"),
    ("turns_per_session", "Turns/session"),
    ("tokens_per_session", "Tokens/session"),
    ("cost_per_session", "Cost/session"),
)
STAGE_COLUMNS = (
    Column("stage", "Stage", numeric=False),
    *(Column(q, q) for q, _ in QUANTILES),
    Column("thresholds", "Thresholds", numeric=False),
)
SCALAR_COLUMNS = (
    Column("stat", "Stat", numeric=False),
    Column("value", "Value"),
    Column("threshold", "Warn / crit", numeric=False),
    Column("status", "Status", numeric=False),
)


def limit_pair(rule: ThresholdRule) -> str:
    """``>800/1200`` (warning/critical) in the rule's unit, direction first."""
    sign = ">" if rule.direction == "above" else "<"
    unit = "count" if rule.unit == "x" else rule.unit
    warning = fmt_number(rule.warning, unit, with_unit=False)
    critical = fmt_number(rule.critical, unit, with_unit=unit not in ("ms", "score"))
    return f"{sign}{warning}/{critical}" + ("×" if rule.unit == "x" else "")


def stage_rows(agent: AgentStats, thresholds: ThresholdSet, palette: Palette) -> dict[str, list[SortCell]]:
    rows: dict[str, list[SortCell]] = {}
    for order, stage in enumerate(STAGES):
        cells = [SortCell(STAGE_LABELS[stage], "bold", order)]
        limits = []
        for quantile, _ in QUANTILES:
            key = stage_stat_key(stage, quantile)
            value = agent.stage_value(stage, quantile)
            rule = thresholds.rule(key, agent.agent_id)
            severity = rule.severity_of(value) if rule is not None else Severity.OK
            mark = f" {palette.glyph(severity)}" if severity else "  "
            text = stat_text(agent.stages.get(stage), quantile, palette.ascii)
            cell = SortCell(text + mark, palette.style(severity), value)
            cell.justify = "right"
            cells.append(cell)
            if rule is not None:
                limits.append(f"{quantile} {limit_pair(rule)}")
        cells.append(SortCell("  ".join(limits) or "–", "dim"))
        rows[stage] = cells
    return rows


def scalar_rows(agent: AgentStats, thresholds: ThresholdSet, palette: Palette) -> dict[str, list[SortCell]]:
    rows: dict[str, list[SortCell]] = {}
    for order, (key, label) in enumerate(SCALAR_ROWS):
        value = agent.scalar(key)
        rule = thresholds.rule(key, agent.agent_id)
        severity, limits = Severity.OK, "–"
        if rule is not None:
            baseline = agent.scalar(f"{key}_baseline") if rule.baseline else None
            severity = rule.severity_of(value, baseline)
            limits = limit_pair(rule)
        badge = palette.badge(severity, short=True)
        value_cell = SortCell(fmt_number(value, unit_of(key)), palette.style(severity), value)
        value_cell.justify = "right"
        rows[key] = [
            SortCell(label, "bold", order),
            value_cell,
            SortCell(limits, "dim"),
            SortCell(badge.plain, str(badge.style)),
        ]
    return rows


class AgentScreen(Screen):
    """One agent in depth.  Esc returns to the fleet screen."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("v", "sessions", "Sessions"),
    ]

    def __init__(self, agent_id: str) -> None:
        super().__init__(classes="agent-screen")
        self.agent_id = agent_id

    def compose(self) -> ComposeResult:
        yield Static("", id="agent-title")
        with VerticalScroll(id="agent-body"):
            with Horizontal(id="agent-tables"):
                yield KeyedTable(id="stage-table", cursor_type="none")
                yield KeyedTable(id="scalar-table", cursor_type="none")
            yield StageSparks(spark_height=2, id="agent-sparks")
            yield BreachPanel(agent_id=self.agent_id, all_agents=False, id="agent-breaches")
        yield SessionsPanel(self.agent_id, id="agent-sessions")
        yield SteadyFooter()

    def on_resize(self, event: Resize) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        """Below 130 columns the two tables stack; short screens get 1-line sparklines."""
        self.set_class(width < 130, "-narrow")
        self.set_class(height < 40 or width < 100, "-short")
        self.query_one(StageSparks).set_base_room(width >= 130)

    def on_mount(self) -> None:
        self.query_one("#stage-table", KeyedTable).set_columns(STAGE_COLUMNS)
        scalars = self.query_one("#scalar-table", KeyedTable)
        scalars.set_columns(SCALAR_COLUMNS)
        for table in (self.query_one("#stage-table", KeyedTable), scalars):
            table.sort_column = table.columns_spec[0].key
        self.query_one(SessionsPanel).focus_table()
        self._apply_size(self.size.width, self.size.height)
        if self.app.frame is not None:
            self.show_frame(self.app.frame)

    def agents_in_view(self) -> set[str]:
        """The agent this screen shows: read first at fleet scale."""
        return {self.agent_id}

    def show_frame(self, frame: Frame) -> None:
        app = self.app
        agent = frame.agent(self.agent_id)
        title = Text(f" {safe_text(self.agent_id, 48)} ", style="bold reverse")
        if agent is None:
            title.append("  not in this window", style="dim")
            self.query_one("#agent-title", Static).update(title)
            return
        title.append("  ")
        title.append_text(app.palette.badge(agent.severity))
        if app.paused:
            title.append("  PAUSED", style=f"bold {app.palette.warning}")
        self.query_one("#agent-title", Static).update(title)
        self.query_one("#stage-table", KeyedTable).sync(stage_rows(agent, app.thresholds, app.palette))
        self.query_one("#scalar-table", KeyedTable).sync(scalar_rows(agent, app.thresholds, app.palette))
        baseline = frame.baselines[0] if frame.baselines else None
        self.query_one(StageSparks).show(agent, app.thresholds, app.palette, baseline, frame.markers)
        self.query_one(BreachPanel).show(frame, app.thresholds, app.palette)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_sessions(self) -> None:
        if self.app.traces is None:
            self.notify("no trace backend: sessions need --traces URL", severity="warning")
        else:
            from voicetop.ui.screens.sessions import SessionsScreen

            self.app.push_screen(SessionsScreen(self.agent_id))
