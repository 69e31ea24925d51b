"""Compare screen (issue #9): the table regrouped by a label, baseline deltas, changes.

Opened by ``g``/``b`` from the fleet or an agent screen; ``g`` cycles the
label, ``b`` toggles the baseline columns, Esc closes (and stops grouping; the
baseline stays on the stage sparklines until ``b`` turns it off).
The scope is one agent (its groups) or the fleet (fleet-wide groups); the
baseline table and drift sparklines describe ``subject`` (the scope, or the
agent highlighted on the fleet screen, or the fleet).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from voicetop.domain.compare import offset_label
from voicetop.domain.model import Frame
from voicetop.domain.text import safe_text
from voicetop.ui.widgets.drill_table import TRACE_DERIVED_ASCII, TRACE_DERIVED_LEGEND, TRACE_DERIVED_MARK
from voicetop.ui.widgets.compare_tables import BaselineTable, ChangesPanel, GroupTable, changes_text, drift_sparks
from voicetop.ui.widgets.steady_footer import SteadyFooter


class CompareScreen(Screen):
    """What changed: groups, baselines and change markers for one scope."""

    DEFAULT_CSS = """
    CompareScreen #compare-title { height: 1; }
    CompareScreen .compare-section { height: auto; margin-top: 1; }
    CompareScreen #compare-body { height: 1fr; }
    """
    BINDINGS = [Binding("escape", "close", "Back")]

    def __init__(self, agent_id: str | None = None, subject: str | None = None) -> None:
        super().__init__(classes="compare-screen")
        self.agent_id = agent_id
        self.subject = agent_id if agent_id is not None else subject

    def compose(self) -> ComposeResult:
        yield Static("", id="compare-title")
        with VerticalScroll(id="compare-body"):
            yield Static("", id="group-heading", classes="compare-section")
            yield GroupTable(id="group-table", cursor_type="row")
            yield Static("", id="baseline-heading", classes="compare-section")
            yield BaselineTable(id="baseline-table", cursor_type="none")
            yield Static("", id="drift-sparks", classes="compare-section")
            yield ChangesPanel("", id="changes", classes="compare-section")
        yield SteadyFooter()

    def on_mount(self) -> None:
        if self.app.frame is not None:
            self.show_frame(self.app.frame)

    def show_frame(self, frame: Frame) -> None:
        app = self.app
        view = getattr(app, "compare_view", None)
        group_by = view.group_by if view is not None else None
        baseline_on = bool(view is not None and view.baseline)
        scope = "fleet" if self.agent_id is None else safe_text(self.agent_id, 40)
        title = Text(f" Compare · {scope} ", style="bold reverse")
        if group_by:
            title.append(f"  group by {safe_text(group_by, 30)}", style="bold")
        if baseline_on and view is not None:
            title.append("  baseline " + " / ".join(offset_label(o) for o in view.offsets), style="bold")
        title.append("   g: next label  b: baseline  Esc: back", style="dim")
        self.query_one("#compare-title", Static).update(title)
        self._show_groups(frame, group_by)
        self._show_baselines(frame, baseline_on)
        self.query_one(ChangesPanel).update(changes_text(frame, self.agent_id, app.palette))

    def _show_groups(self, frame: Frame, group_by: str | None) -> None:
        table = self.query_one(GroupTable)
        heading = self.query_one("#group-heading", Static)
        table.display = heading.display = group_by is not None
        if group_by is None:
            return
        if frame.grouping is None or frame.grouping.label != group_by:
            heading.update(Text(f"Grouping by {safe_text(group_by, 30)}…", style="dim"))
            table.show((), self.app.thresholds, self.app.palette, False)
            return
        groups = frame.grouping.for_agent(self.agent_id)
        heading_text = Text(
            f"By {safe_text(group_by, 30)}: {len(groups)} group(s)" if groups
            else f"No series of this scope carries the label {safe_text(group_by, 30)}",
            style="bold" if groups else "dim",
        )
        if any(s.derived_from == "traces" for g in groups for s in g.stats.stages.values()):
            mark = TRACE_DERIVED_ASCII if self.app.palette.ascii else TRACE_DERIVED_MARK
            heading_text.append(f"  {mark} {TRACE_DERIVED_LEGEND}", style="dim")
        heading.update(heading_text)
        table.show(groups, self.app.thresholds, self.app.palette, with_agent=False)

    def _show_baselines(self, frame: Frame, on: bool) -> None:
        table = self.query_one(BaselineTable)
        heading = self.query_one("#baseline-heading", Static)
        sparks = self.query_one("#drift-sparks", Static)
        agent = frame.agent(self.subject) or frame.fleet
        name = "fleet" if agent.agent_id is None else safe_text(agent.agent_id, 40)
        baseline = frame.baselines[0] if frame.baselines else None
        sparks.update(drift_sparks(agent, baseline if on else None, frame.markers, self.app.palette))
        table.display = heading.display = on
        if not on:
            return
        if not frame.baselines:
            heading.update(Text(f"Baseline · {name}: fetching…", style="dim"))
            return
        heading.update(Text(f"Baseline · {name}: now vs the same window earlier", style="bold"))
        table.show(agent, frame.baselines, self.app.palette)

    def action_close(self) -> None:
        """Back: stop grouping; a baseline stays on (the stage sparklines show it) until ``b``."""
        from dataclasses import replace

        from voicetop.ui.comparing import current_view

        view = replace(current_view(self.app), group_by=None)
        self.app.compare_view = view
        self.app.poller.set_compare(view)
        self.app.pop_screen()
