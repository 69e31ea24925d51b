"""Pilot tests of the fleet screen against a deterministic fake source."""

from __future__ import annotations

from ui_helpers import screen_text, wait_for
from textual.widgets import Input

from voicetop.ui.screens.agent import AgentScreen
from voicetop.ui.screens.help import HelpScreen
from voicetop.ui.widgets.agent_table import AgentTable
from voicetop.ui.widgets.breaches import BreachTable
from voicetop.ui.widgets.spark_cell import SparkCell
from voicetop.ui.widgets.header import FleetHeader


def table(app) -> AgentTable:
    return app.screen.query_one(AgentTable)


def header(app) -> str:
    return app.screen.query_one(FleetHeader).render().plain


async def started(pilot, frames: int = 1):
    app = pilot.app
    await wait_for(pilot, lambda: app.frames_applied >= frames and table(app).row_count > 0, what="first frame")
    return app


async def test_breaches_and_header(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        text = header(app)
        assert "✖ CRITICAL" in text and "LIVE" in text and "metrics OK" in text
        assert "sess 30/100" in text
        breaches = app.screen.query_one(BreachTable)
        rows = [" ".join(c.plain for c in breaches.get_row(k)) for k in breaches.rows]
        assert any("CRITICAL" in r and "support-de" in r and "1200ms" in r for r in rows)
        assert any("WARNING" in r and "sales-fr" in r and "End-to-end p90" in r for r in rows)
        # status never by colour alone: the glyph and word are in the row itself
        status = {k: table(app).get_cell(k, "status").plain for k in table(app).row_keys()}
        assert status["support-de"] == "✖ CRIT" and status["sales-fr"] == "▲ WARN"
        assert status["billing-en"] == "● OK"
        assert table(app).get_cell("support-de", "ttft_p99").plain.endswith("✖")
        hint = app.screen.query_one("#breach-hint").render().plain
        assert "LLM provider status" in hint


async def test_sort_keys_and_header_click(make_app):
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await started(pilot)
        agents = table(app)
        assert agents.row_keys()[:2] == ["support-de", "sales-fr"]  # default: worst first
        await pilot.press("s")  # status → agent (wraps to first column)
        assert agents.sort_column == "agent" and "sort Agent▼" in header(app)
        first = agents.row_keys()
        assert first == sorted(first, reverse=True)  # the direction carries over
        await pilot.press("S")
        assert agents.row_keys() == sorted(first)
        await pilot.press("S")
        assert agents.row_keys() == first
        # click the TTFT99 header: sort by it (ascending), click again: descending
        x = sum(c.get_render_width(agents) for c in list(agents.columns.values())[:3]) + 2
        await pilot.click(AgentTable, offset=(x, 0))
        assert agents.sort_column == "ttft_p99"
        ttft = [agents.get_cell(k, "ttft_p99").sort_key for k in agents.row_keys()]
        assert ttft == sorted(ttft)
        await pilot.click(AgentTable, offset=(x, 0))
        assert agents.row_keys()[0] == "support-de"


async def test_filter_hides_rows_and_escape_restores(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await pilot.press("slash")
        assert app.screen.query_one("#filter", Input).has_focus
        await pilot.press(*"sales")
        assert table(app).row_keys() == ["sales-fr"]
        await pilot.press("enter")
        assert table(app).has_focus and table(app).row_keys() == ["sales-fr"]
        await wait_for(pilot, lambda: app.frames_applied >= 3)  # stays filtered across frames
        assert table(app).row_keys() == ["sales-fr"]
        await pilot.press("escape")
        assert len(table(app).row_keys()) == 5
        assert not app.screen.query_one("#filter", Input).display


async def test_pause_stops_frames_and_resume(make_app, fake_metrics):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await pilot.press("space")
        assert app.paused and app.poller.paused
        assert "PAUSED" in header(app)
        await pilot.pause(0.15)
        applied = app.frames_applied
        fake_metrics.advance(600)
        await pilot.pause(0.5)
        assert app.frames_applied == applied
        await pilot.press("space")
        assert not app.paused and "PAUSED" not in header(app)
        await wait_for(pilot, lambda: app.frames_applied > applied, what="frames after resume")


async def test_enter_opens_detail_and_escape_keeps_cursor(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await pilot.press("down", "down")
        agents = table(app)
        chosen = agents.cursor_key()
        row = agents.cursor_row
        await pilot.press("enter")
        assert isinstance(app.screen, AgentScreen) and app.screen.agent_id == chosen
        stage_table = app.screen.query_one("#stage-table")
        assert stage_table.row_count == 6
        assert chosen in screen_text(app)
        await wait_for(pilot, lambda: app.frames_applied >= 4)
        await pilot.press("escape")
        assert not isinstance(app.screen, AgentScreen)
        assert table(app).cursor_key() == chosen and table(app).cursor_row == row


async def test_time_travel_badges(make_app, fake_metrics):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        end = app.frame.window.end
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: app.frame.mode == "at", what="AT frame")
        assert app.poller.view.at == end - app.poller.view.length
        assert app.frame.window.end == end - 900
        assert "AT " in header(app) and "LIVE" not in header(app)
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: app.frame.mode == "live", what="live again after ]")
        await pilot.press("left_square_bracket", "left_square_bracket")
        await wait_for(pilot, lambda: app.frame.window.end == end - 1800, what="two windows back")
        await pilot.press("0")
        await wait_for(pilot, lambda: app.frame.mode == "live", what="LIVE")
        assert app.poller.view.at is None and "LIVE" in header(app)


async def test_time_travel_while_paused_still_fetches(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await pilot.press("space", "left_square_bracket")
        await wait_for(pilot, lambda: app.frame.mode == "at", what="AT frame while paused")
        assert "PAUSED" in header(app)


async def test_help_and_quit(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.query_one("#help-text").render().plain
        for key in ("space", "[ / ]", "s / S", "Enter", "t"):
            assert key in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="exit")
    assert app.return_code == 0
    assert app.poller._stop.is_set()


async def test_rows_update_in_place(make_app, fake_metrics):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, frames=2)
        agents = table(app)
        await pilot.press("down")
        keys = {k.value: k for k in agents.rows}
        cursor = agents.cursor_row
        applied = app.frames_applied
        await wait_for(pilot, lambda: app.frames_applied >= applied + 2)
        # frozen clock: identical data, so nothing is rewritten
        assert agents.last_sync.updated_cells == 0 and agents.last_sync.added == 0
        fake_metrics.advance(60)
        applied = app.frames_applied
        await wait_for(pilot, lambda: app.frames_applied >= applied + 2)
        assert {k.value: k for k in agents.rows} == keys
        assert all(keys[v] is k for v, k in ((k.value, k) for k in agents.rows))
        assert agents.cursor_row == cursor
        assert agents.last_sync.added == agents.last_sync.removed == 0


async def test_agent_set_change_adds_and_removes_rows(make_app, fake_metrics):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        before = {k.value: k for k in table(app).rows}
        fake_metrics.agents = ["billing-en", "support-de", "new-agent"]
        wanted = {"billing-en", "support-de", "new-agent"}
        await wait_for(pilot, lambda: set(table(app).row_keys()) == wanted, what="rows of the new fleet")
        after = {k.value: k for k in table(app).rows}
        assert set(after) == wanted
        assert after["billing-en"] is before["billing-en"]


async def test_sparklines_follow_cursor_and_fleet_toggle(make_app):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        title = lambda: app.screen.query_one("#sparks-title").render().plain
        assert "support-de" in title()
        value = app.screen.query_one("#cell-ttft-p99", SparkCell).value.plain
        assert "✖>1200" in value
        await pilot.press("down")
        assert "sales-fr" in title()
        await pilot.press("f")
        assert "fleet" in title()
        cell = app.screen.query_one("#cell-e2e-p90", SparkCell)
        assert len(cell.data) == len(app.frame.window.timestamps())


async def test_agent_detail_contents(make_app):
    app = make_app()
    async with app.run_test(size=(140, 48)) as pilot:
        await started(pilot)
        await pilot.press("enter")  # cursor starts on the worst agent
        screen = app.screen
        assert isinstance(screen, AgentScreen) and screen.agent_id == "support-de"
        stages = screen.query_one("#stage-table")
        ttft = [c.plain for c in stages.get_row("ttft")]
        assert ttft[0] == "LLM TTFT" and ttft[4].endswith("✖") and ttft[5] == "p99 >800/1200"
        scalars = screen.query_one("#scalar-table")
        wer = [c.plain for c in scalars.get_row("wer")]
        assert wer[1] == "3.0%" and wer[2] == ">5.0/8.0%" and wer[3] == "● OK"
        breaches = screen.query_one("#breach-table")
        assert breaches.row_count == 2  # warning and critical TTFT p99 of this agent only
        assert all(breaches.get_cell(k, "agent").plain == "support-de" for k in breaches.rows)
        await pilot.press("v")  # sessions need a trace backend; this app has none
        assert any("--traces" in str(n.message) for n in app._notifications)
        await pilot.press("escape")
        assert not isinstance(app.screen, AgentScreen)


async def test_mouse_click_row_selects_and_second_click_opens(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        agents = table(app)
        third = agents.row_keys()[2]
        await pilot.click(AgentTable, offset=(3, 3))  # header is line 0, rows from line 1
        assert agents.cursor_key() == third
        assert third in app.screen.query_one("#sparks-title").render().plain
        await pilot.click(AgentTable, offset=(3, 3))
        assert isinstance(app.screen, AgentScreen) and app.screen.agent_id == third


async def test_q_quits_from_help_and_detail_screens(make_app):
    for path in (("question_mark",), ("enter",)):
        app = make_app()
        async with app.run_test(size=(100, 30)) as pilot:
            await started(pilot)
            await pilot.press(*path)
            assert app.screen is not app.screen_stack[0]
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running, what="exit")
        assert app.return_code == 0


async def test_collection_held_through_the_poll_resumes_once_the_frame_is_shown(make_app):
    import gc

    from voicetop.gc_pause import holding

    enabled = gc.isenabled()
    gc.enable()
    try:
        app = make_app()
        assert app.poller.hold_collection
        async with app.run_test(size=(120, 40)) as pilot:
            await started(pilot)
            frame = app.poller.poll_once()
            assert holding() and not gc.isenabled()  # held past the poll
            app.apply_frame(frame, force=True)
            # the app's own 1 s poll may pause collection again right after the release: wait for both
            await wait_for(pilot, lambda: not holding() and gc.isenabled(), what="the hold's release after the repaint")
    finally:
        (gc.enable if enabled else gc.disable)()


async def test_the_poller_is_told_which_agents_are_on_screen(fake_metrics, make_app):
    """At fleet scale the agents in view are read first when a new evaluation lands (poller.focus)."""
    fake_metrics.agents = [f"agent-{n:03d}" for n in range(200)]
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None and len(app.frame.agents) == 200, what="200 agents")
        agents = table(app)
        await wait_for(pilot, lambda: app.poller.focus == agents.keys_on_screen() and app.poller.focus,
                       what="the rows in view as the poller's focus")
        assert 5 < len(app.poller.focus) < 40 and agents.cursor_key() in app.poller.focus
        top = set(app.poller.focus)
        agents.move_cursor(row=agents.row_count - 1)  # the last row: other agents in view
        await wait_for(pilot, lambda: app.poller.focus and not app.poller.focus & top
                       and agents.cursor_key() in app.poller.focus, what="the focus to follow the scroll")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await wait_for(pilot, lambda: app.poller.focus == frozenset(), what="no agents in view under help")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), what="the fleet again")
        chosen = agents.cursor_key()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AgentScreen), what="the agent screen")
        await wait_for(pilot, lambda: app.poller.focus == {chosen}, what="the agent shown as the focus")
