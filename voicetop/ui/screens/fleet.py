"""The main screen: header, agent table, stage sparklines and breaches."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import DataTable, Input

from voicetop.domain.model import Frame
from voicetop.ui.widgets.agent_table import AgentTable, any_trace_derived, tier_for_width
from voicetop.ui.widgets.breaches import BreachPanel
from voicetop.ui.widgets.drill_table import TRACE_DERIVED_ASCII, TRACE_DERIVED_MARK
from voicetop.ui.widgets.header import FleetHeader
from voicetop.ui.widgets.sparks import StageSparks
from voicetop.ui.widgets.steady_footer import SteadyFooter
from voicetop.ui.widgets.telephony import TelephonyPanel


def size_classes(width: int, height: int) -> set[str]:
    """Layout classes: ``-narrow`` (< 120 columns), ``-short`` (fewer breach rows, no p50
    sparklines) and ``-tiny`` (table only)."""
    classes = set()
    if width < 120:
        classes.add("-narrow")
    if height < 36 or width < 100:
        classes.add("-short")
    if width < 60 or height < 18:
        classes.add("-tiny")
    return classes


class FleetScreen(Screen):
    """Fleet overview; Enter on an agent opens its detail screen."""

    BINDINGS = [
        Binding("s", "cycle_sort", "Sort"),
        Binding("S", "reverse_sort", "Reverse", show=False),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("f", "toggle_fleet", "Fleet/agent"),
        Binding("m", "app.silence", "Silence"),
        Binding("escape", "escape", "Clear", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="fleet")
        self.fleet_sparks = False

    def compose(self) -> ComposeResult:
        self._header = FleetHeader(id="header")
        self._telephony = TelephonyPanel(id="telephony")
        self._table = AgentTable(id="agents")
        self._sparks = StageSparks(id="sparks")
        self._breaches = BreachPanel(id="breaches")
        yield self._header
        yield Input(placeholder="filter agents by id — Enter applies, Esc clears", id="filter")
        yield self._telephony
        yield self._table
        with Container(id="lower"):
            yield self._sparks
            yield self._breaches
        yield SteadyFooter()  # it was rebuilt on every screen pushed over it

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one(AgentTable).focus()
        self._apply_size(self.size.width, self.size.height)
        if self.app.frame is not None:
            self.show_frame(self.app.frame)
        else:
            self._show_header()

    # -- rendering -----------------------------------------------------
    @property
    def table(self) -> AgentTable:
        return self._table

    def show_frame(self, frame: Frame) -> None:
        app = self.app
        self._show_header()
        self._table.show(frame, app.thresholds, app.palette)
        self._breaches.show(frame, app.thresholds, app.palette)
        self._telephony.show(frame, app.thresholds, app.palette)
        self._show_sparks()

    def _show_header(self) -> None:
        note = self.table.sort_note(self.app.palette.ascii)
        frame = self.app.frame
        if frame is not None and any_trace_derived(frame):
            mark = TRACE_DERIVED_ASCII if self.app.palette.ascii else TRACE_DERIVED_MARK
            note += f" · {mark} from traces"
        self._header.show(self.app.frame, self.app.palette, self.app.paused, note)

    def selected_agent(self) -> str | None:
        return self.table.cursor_key()

    def agents_in_view(self) -> set[str]:
        """The agents whose rows are on screen, and the selected one: read first at fleet scale."""
        shown = self.table.keys_on_screen()
        selected = self.table.cursor_key()
        return shown | {selected} if selected is not None else shown

    def _show_sparks(self) -> None:
        frame = self.app.frame
        if frame is None:
            return
        subject = None if self.fleet_sparks else self.selected_agent()
        agent = frame.agent(subject) or frame.fleet
        baseline = frame.baselines[0] if frame.baselines else None
        self._sparks.show(agent, self.app.thresholds, self.app.palette, baseline, frame.markers)

    def on_resize(self, event: Resize) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        wanted = size_classes(width, height)
        for name in ("-narrow", "-short", "-tiny"):
            self.set_class(name in wanted, name)
        self.table.set_tier(tier_for_width(width))
        self._breaches.compact = width < 100
        self._sparks.set_base_room("-narrow" not in wanted)
        self._telephony.set_size(width, height)
        if self.app.frame is not None:
            self.show_frame(self.app.frame)

    # -- table events --------------------------------------------------
    @on(DataTable.RowHighlighted, "#agents")
    def _agent_highlighted(self) -> None:
        self._show_sparks()

    @on(DataTable.RowSelected, "#agents")
    def _agent_selected(self, event: DataTable.RowSelected) -> None:
        self.open_agent(str(event.row_key.value))

    @on(DataTable.HeaderSelected, "#agents")
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        self.table.sort_by_header(str(event.column_key.value))
        self._show_header()

    def open_agent(self, agent_id: str) -> None:
        from voicetop.ui.screens.agent import AgentScreen

        self.app.push_screen(AgentScreen(agent_id))

    # -- actions -------------------------------------------------------
    def action_cycle_sort(self) -> None:
        self.table.cycle_sort()
        self._show_header()

    def action_reverse_sort(self) -> None:
        self.table.reverse_sort()
        self._show_header()

    def action_toggle_fleet(self) -> None:
        self.fleet_sparks = not self.fleet_sparks
        self._show_sparks()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_escape(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display or self.table.filter_text:
            box.value = ""
            box.display = False
            self._set_filter("")
            self.table.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._set_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self._set_filter(event.value)
        if not event.value:
            event.input.display = False
        self.table.focus()

    def _set_filter(self, text: str) -> None:
        self.table.filter_text = text.strip()
        if self.app.frame is not None:
            self.table.show(self.app.frame, self.app.thresholds, self.app.palette)
            self._show_sparks()
        self._show_header()
