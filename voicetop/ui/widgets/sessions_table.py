"""Live sessions of one agent: a sortable, filterable table refreshed in place.

Used embedded in the agent detail screen and full-screen in SessionsScreen.
All trace-source calls, and the sorting and filtering of what they return, run
in worker threads; the table renders only the rows on screen, so 10,000
sessions refreshed every second keep key presses fast.  Enter opens the turns
screen.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from rich.text import Text
from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.events import Resize
from textual.widgets import Input, Static

from voicetop.domain.model import Session, Severity
from voicetop.domain.text import safe_text
from voicetop.domain.timeparse import format_duration
from voicetop.ui.format import fmt_number
from voicetop.ui.widgets.drill_table import (
    TRACE_WINDOW_SECONDS,
    FetchWorkerMixin,
    Fetched,
    age_text,
    fetch,
    ms_cell,
    right,
    trace_window_end,
)
from voicetop.ui.widgets.keyed_table import Column, SortCell
from voicetop.ui.widgets.quiet import update_static
from voicetop.ui.widgets.session_rows import Ordering, SessionRows, session_rows
from voicetop.ui.widgets.sessions_view import SessionsView

REFRESH_SECONDS = 3.0
SESSION_LIMIT = 500

COLUMNS: tuple[Column, ...] = (
    Column("session", "Session", numeric=False),
    Column("room", "Room", numeric=False),
    Column("turns", "Turns"),
    Column("last", "Last E2E"),
    Column("worst", "Worst E2E"),
    Column("intr", "Intr"),
    Column("tokens", "Tokens"),
    Column("age", "Age"),
)
LABELS = {c.key: c.label for c in COLUMNS}
#: Columns dropped below this panel width (so 80 columns need no side scrolling).
NARROW_WIDTH = 100
NARROW_HIDDEN = ("room",)


def columns_for(width: int) -> tuple[Column, ...]:
    if 0 < width < NARROW_WIDTH:
        return tuple(c for c in COLUMNS if c.key not in NARROW_HIDDEN)
    return COLUMNS


def session_cells(session: Session, now: float, app, columns: tuple[Column, ...] = COLUMNS) -> list[SortCell]:
    """One session row; end-to-end values marked against the e2e limits."""
    thresholds, palette, agent = app.thresholds, app.palette, session.agent_id
    cells = {
        "session": SortCell(safe_text(session.session_id, 28), "", session.session_id),
        "room": SortCell(safe_text(session.room, 24), "dim", session.room),
        "turns": right(str(session.turns), "", session.turns),
        "last": ms_cell("e2e", session.last_e2e_ms, thresholds, agent, palette),
        "worst": ms_cell("e2e", session.worst_e2e_ms, thresholds, agent, palette),
        "intr": right(str(session.interruptions) if session.interruptions else "·", "", session.interruptions),
        "tokens": right(fmt_number(session.tokens, "count"), "", session.tokens),
        "age": right(age_text(now - session.started), "dim", now - session.started),
    }
    return [cells[c.key] for c in columns]


class SessionsPanel(FetchWorkerMixin, Vertical):
    """Sessions of ``agent_id`` with a finished turn in the last 15 minutes."""

    WORKER_GROUP = "sessions"
    WORKER_FAILED = "could not load the sessions"
    SCOPED_CSS = False
    DEFAULT_CSS = """
    SessionsPanel { height: 1fr; min-height: 5; }
    AgentScreen > SessionsPanel { height: 40%; min-height: 7; }
    SessionsPanel > .sessions-status { height: 1; width: 100%; background: $panel; }
    SessionsPanel > Input.sessions-filter, SessionsPanel > Input.sessions-filter:focus {
        height: 1; border: none; padding: 0 1; background: $boost;
    }
    SessionsPanel > SessionsView { height: 1fr; }
    """
    BINDINGS = [
        Binding("s", "cycle_sort", "Sort"),
        Binding("S", "reverse_sort", "Reverse", show=False),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "clear_filter", "Clear filter"),
    ]

    def __init__(self, agent_id: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.agent_id = agent_id
        self.filter_text = ""
        self.error = ""
        self.loaded = False
        self.window_end: float | None = None
        self._loading = False

    def compose(self) -> ComposeResult:
        yield Static("", classes="sessions-status")
        yield Input(placeholder="filter sessions by id or room — Enter applies, Esc clears", classes="sessions-filter")
        yield SessionsView(LABELS, self._cells, "worst", True)

    @property
    def table(self) -> SessionsView:
        return self.query_one(SessionsView)

    @property
    def sessions(self) -> Mapping[str, Session]:
        """All sessions of the last load (key → session), filtered or not."""
        return self.table.rows.sessions

    def _cells(self, session: Session, now: float, columns: Sequence[Column]) -> list[SortCell]:
        return session_cells(session, now, self.app, tuple(columns))

    def on_mount(self) -> None:
        self.query_one(Input).display = False
        self.table.set_columns(columns_for(self.size.width))
        if self.app.traces is None:
            self._status()
            return
        # No loading overlay: a loading widget cannot take focus, and the screen focuses
        # the table as it mounts (the status line says "loading…" meanwhile).
        self.reload()
        self.set_interval(REFRESH_SECONDS, self._tick)

    def on_resize(self, event: Resize) -> None:
        columns = columns_for(event.size.width)
        if columns != self.table.columns_spec:
            self.table.set_columns(columns)

    def focus_table(self) -> None:
        self.table.focus()

    # -- loading -----------------------------------------------------------
    def _tick(self) -> None:
        if self.app.paused or not self.screen.is_current:
            return
        self.reload()

    def reload(self) -> None:
        """Query the trace source in a worker thread (skipped while one runs)."""
        if self.app.traces is None or self._loading:
            return
        self._loading = True
        self._status()
        ordering = self.table.ordering
        self.run_worker(lambda: self._query(ordering), thread=True, group="sessions", exclusive=True)

    def _query(self, ordering: Ordering) -> Fetched[SessionRows]:
        """(Worker thread) the agent's sessions, already filtered and sorted."""
        app, agent_id = self.app, self.agent_id

        def call() -> SessionRows:
            until = trace_window_end(app)
            since = until - TRACE_WINDOW_SECONDS
            found = app.traces.sessions(agent_id, since, until, SESSION_LIMIT)
            sessions = {s.session_id: s for s in found if s.agent_id == agent_id or not s.agent_id}
            return session_rows(sessions, ordering, until)

        return fetch(call)

    def _apply(self, result: Fetched[SessionRows]) -> None:
        self.loaded = True
        if not result.ok:
            self.error = result.error
        else:
            self.error = ""
            self.window_end = result.value.now
            self.table.show(result.value)
        self._status()

    # -- rendering ---------------------------------------------------------
    def _status(self) -> None:
        text = Text(" Sessions ", style="bold reverse", no_wrap=True, overflow="ellipsis")
        if self.app.traces is None:
            text.append("  no trace backend configured (pass --traces URL)", style="dim")
        else:
            shown = self.table.row_count
            count = f"{shown}" if shown == len(self.sessions) else f"{shown}/{len(self.sessions)}"
            text.append(f" {count} with a turn in the last {format_duration(TRACE_WINDOW_SECONDS)}")
            text.append(f" · {self.table.sort_note(self.app.palette.ascii)}", style="dim")
            if self.filter_text:
                text.append(" · filter ", style="dim")
                text.append(f'"{safe_text(self.filter_text, 20)}"')
            if self._loading and (not self.loaded or self.error):  # not on every routine refresh: no flicker
                text.append(" · loading…", style="dim")
            if self.error:
                text.append("  traces: ", style=self.app.palette.style(Severity.CRITICAL))
                text.append(self.error, style=self.app.palette.style(Severity.CRITICAL))
            elif self.loaded and not self.sessions:
                text.append("  (no finished turns yet)", style="dim")
            else:
                text.append("  Enter: turns", style="dim")
        update_static(self.query_one(".sessions-status", Static), text)  # no layout pass: fixed size

    # -- events and actions ------------------------------------------------
    @on(SessionsView.Selected)
    def _selected(self, event: SessionsView.Selected) -> None:
        event.stop()
        session = self.sessions.get(event.key)
        if session is not None:
            from voicetop.ui.screens.turns import TurnsScreen

            self.app.push_screen(TurnsScreen(session))

    def action_cycle_sort(self) -> None:
        self.table.cycle_sort()
        self._status()

    def action_reverse_sort(self) -> None:
        self.table.reverse_sort()
        self._status()

    def action_filter(self) -> None:
        box = self.query_one(Input)
        box.display = True
        box.focus()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Esc clears a filter; with none it is the screen's "back"."""
        if action == "clear_filter":
            return self.filtering
        return True

    @property
    def filtering(self) -> bool:
        return bool(self.filter_text) or self.query_one(Input).display

    def action_clear_filter(self) -> None:
        box = self.query_one(Input)
        if not self.filtering:
            raise SkipAction()  # nothing to clear: Esc goes back
        box.value = ""
        box.display = False
        self._set_filter("")
        self.table.focus()

    @on(Input.Changed)
    def _filter_changed(self, event: Input.Changed) -> None:
        self._set_filter(event.value)

    @on(Input.Submitted)
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self._set_filter(event.value)
        if not event.value:
            event.input.display = False
        self.table.focus()

    def _set_filter(self, text: str) -> None:
        self.filter_text = text.strip()
        self.table.set_filter(self.filter_text)
        self._status()
        self.refresh_bindings()
