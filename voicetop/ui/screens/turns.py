"""Turns of one session: stage timings per turn, breaching values marked.

Enter on a turn opens its waterfall; Esc goes back to the sessions list.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from voicetop.domain.model import Session, Severity, Turn
from voicetop.domain.text import safe_text
from voicetop.domain.turns import trace_stage_stats
from voicetop.ui.format import fmt_number
from voicetop.ui.widgets.drill_table import (
    TRACE_DERIVED_LEGEND,
    TRACE_WINDOW_SECONDS,
    DrillTable,
    Fetched,
    FetchWorkerMixin,
    clock_seconds,
    fetch,
    ms_cell,
    right,
    stat_text,
    trace_window_end,
)
from voicetop.ui.widgets.keyed_table import Column, SortCell
from voicetop.ui.widgets.steady_footer import SteadyFooter

REFRESH_SECONDS = 3.0
#: Stage columns in pipeline order: (stage, header).
STAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("stt", "STT"),
    ("eou", "EOU"),
    ("ttft", "TTFT"),
    ("llm", "LLM"),
    ("tts", "TTS"),
    ("e2e", "E2E"),
)
COLUMNS: tuple[Column, ...] = (
    Column("index", "#"),
    Column("start", "Start", numeric=False),
    *(Column(stage, label) for stage, label in STAGE_COLUMNS),
    Column("tools", "Tools"),
    Column("tokens", "Tok"),
    Column("intr", "Int", numeric=False),
)
LABELS = {c.key: c.label for c in COLUMNS}


def turn_key(turn: Turn) -> str:
    """A stable row key: trace id plus the turn's root span (or index)."""
    return f"{turn.trace_id}/{turn.root_span_id or turn.index}"


def turn_cells(turn: Turn, app) -> list[SortCell]:
    """One turn row: index, start, stage ms (marked past limits), tools, tokens, interrupted."""
    thresholds, palette = app.thresholds, app.palette
    cells = [
        right(str(turn.index), "bold", turn.index),
        SortCell(clock_seconds(turn.start).rstrip("Z"), "dim", turn.start),
    ]
    for stage, _ in STAGE_COLUMNS:
        cells.append(ms_cell(stage, turn.stages.get(stage), thresholds, turn.agent_id, palette))
    tool_style = palette.style(Severity.CRITICAL) if turn.tool_errors else ""
    tools = f"{turn.tool_calls}/{turn.tool_errors}" if turn.tool_calls else "·"
    cells.append(right(tools, tool_style, (turn.tool_errors, turn.tool_calls)))
    cells.append(right(fmt_number(turn.tokens, "count") if turn.tokens else "·", "", turn.tokens))
    interrupted = "✂" if not palette.ascii else "x"
    cells.append(SortCell(interrupted if turn.interrupted else "", "bold" if turn.interrupted else "", turn.interrupted))
    return cells


def session_summary(turns: list[Turn], ascii_glyphs: bool = False) -> Text:
    """``p50/p90 of this session: STT 120/146ᵗ …`` from the turns' own spans."""
    stats = trace_stage_stats(turns)
    text = Text(" p50/p90 ", style="bold", no_wrap=True, overflow="ellipsis")
    for stage, label in STAGE_COLUMNS:
        found = stats.get(stage)
        if found is None:
            continue
        text.append(f" {label} ", style="dim")
        text.append(f"{stat_text(found, 'p50', ascii_glyphs)}/{stat_text(found, 'p90', ascii_glyphs)}")
    mark = "~" if ascii_glyphs else "ᵗ"
    text.append(f"   {mark} {TRACE_DERIVED_LEGEND}", style="dim")
    return text


class TurnsScreen(FetchWorkerMixin, Screen):
    """One row per turn of ``session``; refreshed while the session is live."""

    SCOPED_CSS = False
    DEFAULT_CSS = """
    TurnsScreen > .turns-title { height: 1; background: $panel; }
    TurnsScreen > .turns-summary { height: 1; }
    TurnsScreen > .turns-status { height: 1; }
    TurnsScreen > DrillTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("s", "cycle_sort", "Sort"),
        Binding("S", "reverse_sort", "Reverse", show=False),
    ]
    WORKER_GROUP = "turns"
    WORKER_FAILED = "could not load the turns"

    def __init__(self, session: Session) -> None:
        super().__init__(classes="turns-screen")
        self.session = session
        self.turns: dict[str, Turn] = {}
        self.error = ""
        self.loaded = False
        self._loading = False

    def compose(self) -> ComposeResult:
        yield Static(self._title(), classes="turns-title")
        yield Static("", classes="turns-summary")
        yield Static("", classes="turns-status")
        yield DrillTable(LABELS, "index", False, cursor_type="row")
        yield SteadyFooter()

    @property
    def table(self) -> DrillTable:
        return self.query_one(DrillTable)

    def on_mount(self) -> None:
        self.table.set_columns(COLUMNS)
        self.table.focus()
        self.table.loading = True
        self.reload()
        self.set_interval(REFRESH_SECONDS, self._tick)

    def _title(self) -> Text:
        session = self.session
        text = Text(" Turns ", style="bold reverse", no_wrap=True, overflow="ellipsis")
        text.append(" session ")
        text.append(safe_text(session.session_id, 40), style="bold")
        if session.room:
            text.append("  room ")
            text.append(safe_text(session.room, 32))
        text.append("  agent ")
        text.append(safe_text(session.agent_id, 32))
        return text

    # -- loading -----------------------------------------------------------
    def _tick(self) -> None:
        if not self.app.paused and self.is_current:
            self.reload()

    def reload(self) -> None:
        if self._loading or self.app.traces is None:
            return
        self._loading = True
        self.run_worker(self._query, thread=True, group=self.WORKER_GROUP, exclusive=True)

    def _query(self) -> Fetched[list[Turn]]:
        app, session = self.app, self.session

        def call() -> list[Turn]:
            until = trace_window_end(app)
            since = min(session.started - 60.0, until - TRACE_WINDOW_SECONDS)
            return app.traces.turns(session.session_id, since, until)

        return fetch(call)

    def _apply(self, result: Fetched[list[Turn]]) -> None:
        self.table.loading = False
        self.loaded = True
        self.error = result.error
        if result.ok:
            self.turns = {turn_key(t): t for t in result.value}
            self.table.sync({key: turn_cells(turn, self.app) for key, turn in self.turns.items()})
            self.query_one(".turns-summary", Static).update(
                session_summary(list(self.turns.values()), self.app.palette.ascii)
            )
        self._status()

    def _status(self) -> None:
        palette = self.app.palette
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {len(self.turns)} turns · {self.table.sort_note(palette.ascii)}", style="dim")
        text.append(f" · {palette.glyph(Severity.WARNING)}/{palette.glyph(Severity.CRITICAL)} past the stage's p90/p99 limit", style="dim")
        text.append(f" · Tools n/err · {'x' if palette.ascii else '✂'} interrupted · UTC", style="dim")
        if self.error:
            text.append("  traces: ", style=palette.style(Severity.CRITICAL))
            text.append(self.error, style=palette.style(Severity.CRITICAL))
        elif self.loaded and not self.turns:
            text.append("  (no turns in the trace window)", style="dim")
        else:
            text.append("  Enter: waterfall", style="dim")
        self.query_one(".turns-status", Static).update(text)

    # -- events and actions ------------------------------------------------
    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        turn = self.turns.get(str(event.row_key.value))
        if turn is not None:
            from voicetop.ui.screens.waterfall import WaterfallScreen

            self.app.push_screen(WaterfallScreen(turn))

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_cycle_sort(self) -> None:
        self.table.cycle_sort()
        self._status()

    def action_reverse_sort(self) -> None:
        self.table.reverse_sort()
        self._status()
