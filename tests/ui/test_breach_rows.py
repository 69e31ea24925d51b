"""The breach panel keeps a row whose breach did not change when rows before it come or go:
only its place moves (at fleet scale a frame can hold thousands of breaches)."""

from __future__ import annotations

from textual.app import App, ComposeResult

from voicetop.config import Config
from voicetop.domain.model import AgentStats, Breach, Frame, Severity, Window
from voicetop.ui.format import Palette
from voicetop.ui.widgets.breaches import BreachPanel, breach_id

WINDOW = Window(0.0, 900.0, 15.0)
THRESHOLDS = Config().context.thresholds


def breach(agent: str, severity: Severity, since: float, until: float | None = None) -> Breach:
    return Breach("ttft_p99", agent, severity, 1500.0, 1200.0, since, until, 1600.0)


def frame(*breaches: Breach) -> Frame:
    fleet = AgentStats(None, {}, {}, {})
    return Frame(900.0, WINDOW, "live", fleet, (), tuple(breaches), ())


class PanelApp(App):
    def compose(self) -> ComposeResult:
        yield BreachPanel(id="panel")


async def test_a_breach_coming_first_moves_the_other_rows_without_building_them_again():
    older = [breach(f"agent-{n}", Severity.WARNING, 100.0 + n) for n in range(5)]
    resolved = breach("agent-9", Severity.CRITICAL, 50.0, until=200.0)
    app = PanelApp()
    async with app.run_test(size=(120, 30)) as pilot:
        panel = app.query_one(BreachPanel)
        table = panel._table
        panel.show(frame(*older, resolved), THRESHOLDS, Palette())
        await pilot.pause()
        rows = dict(panel._rows)
        table.move_cursor(row=2)
        selected = table.cursor_key()
        new = breach("agent-new", Severity.CRITICAL, 300.0)
        panel.show(frame(*older, resolved, new), THRESHOLDS, Palette())
        await pilot.pause()
        keys = [breach_id(b, WINDOW.start) for b in (new, *older, resolved)]
        assert table.row_keys() == keys  # the critical active breach first, the resolved one last
        assert all(panel._rows[key] is rows[key] for key in keys[1:])  # kept, not built again
        assert [panel._rows[key].order for key in keys] == list(range(len(keys)))
        assert table.cursor_key() == selected  # the cursor stays on its breach
        panel.show(frame(*older, resolved), THRESHOLDS, Palette())  # and back
        await pilot.pause()
        assert table.row_keys() == keys[1:] and all(panel._rows[key] is rows[key] for key in keys[1:])


async def test_rows_that_only_change_places_are_sorted_again():
    first, second = breach("agent-a", Severity.WARNING, 100.0), breach("agent-b", Severity.WARNING, 200.0)
    app = PanelApp()
    async with app.run_test(size=(120, 30)) as pilot:
        panel = app.query_one(BreachPanel)
        panel.show(frame(first, second), THRESHOLDS, Palette())
        await pilot.pause()
        rows = dict(panel._rows)
        panel.show(frame(second, first), THRESHOLDS, Palette())  # the same breaches, the other order
        await pilot.pause()
        assert panel._table.row_keys() == [breach_id(b, WINDOW.start) for b in (second, first)]
        assert all(panel._rows[key] is row for key, row in rows.items())
