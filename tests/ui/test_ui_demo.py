"""Acceptance Pilot tests of the console on the real embedded demo fleet."""

from __future__ import annotations

import pytest
from ui_helpers import wait_for

from voicetop.config import Config
from voicetop.domain.model import Severity
from voicetop.ui.app import VoicetopApp
from voicetop.ui.screens.agent import AgentScreen
from voicetop.ui.screens.help import HelpScreen
from voicetop.ui.widgets.agent_table import AgentTable
from voicetop.ui.widgets.breaches import BreachTable
from voicetop.ui.widgets.header import FleetHeader

demo = pytest.importorskip("voicetop.sources.demo")


@pytest.fixture
def fleet():
    fleet = demo.DemoFleet(seed=7, speed=0, start=1_767_225_600.0)  # 2026-01-01T00:00Z, frozen
    yield fleet
    fleet.metrics.close()
    if fleet.traces is not None:
        fleet.traces.close()


@pytest.fixture
def app(fleet):
    return VoicetopApp(metrics=fleet.metrics, traces=fleet.traces, config=Config(refresh=0.1))


def table(app) -> AgentTable:
    return app.screen.query_one(AgentTable)


def header(app) -> str:
    return app.screen.query_one(FleetHeader).render().plain


async def started(pilot):
    app = pilot.app
    await wait_for(pilot, lambda: app.frame is not None and table(app).row_count > 0, timeout=10, what="demo frame")
    return app


def severities_within(app, fleet, minutes: int) -> set[Severity]:
    return {b.severity for b in app.frame.active_breaches()}


async def test_demo_shows_warning_and_critical_breaches(app, fleet):
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        seen: set[Severity] = set()
        for _ in range(10):  # the first simulated minutes
            seen |= {b.severity for b in app.frame.active_breaches()}
            if {Severity.WARNING, Severity.CRITICAL} <= seen:
                break
            fleet.advance(60)
            applied = app.frames_applied
            await wait_for(pilot, lambda: app.frames_applied > applied, timeout=10)
        assert {Severity.WARNING, Severity.CRITICAL} <= seen
        breaches = app.screen.query_one(BreachTable)
        words = " ".join(breaches.get_cell(k, "severity").plain for k in breaches.rows)
        assert "CRITICAL" in words or "WARNING" in words
        assert any(word in header(app) for word in ("CRITICAL", "WARNING"))
        assert table(app).row_count >= 5


async def test_demo_sort_filter_and_header_click(app):
    async with app.run_test(size=(160, 40)) as pilot:
        await started(pilot)
        agents = table(app)
        before = agents.row_keys()
        await pilot.press("s")
        by_agent = agents.row_keys()
        assert by_agent == sorted(by_agent, reverse=True) and by_agent != before
        await pilot.press("S")
        assert agents.row_keys() == sorted(by_agent)
        x = sum(c.get_render_width(agents) for c in list(agents.columns.values())[:3]) + 2
        await pilot.click(AgentTable, offset=(x, 0))
        assert agents.sort_column == "ttft_p99"
        values = [agents.get_cell(k, "ttft_p99").sort_key for k in agents.row_keys()]
        known = [v for v in values if v is not None]
        assert known == sorted(known) and agents.row_keys() != sorted(by_agent)
        target = sorted(by_agent)[0]
        await pilot.press("slash", *target[:6])
        assert all(target[:6] in k for k in agents.row_keys()) and len(agents.row_keys()) < len(by_agent)
        await pilot.press("enter")
        await pilot.press("escape")
        assert len(agents.row_keys()) == len(by_agent)


async def test_demo_pause_resume_detail_and_cursor(app, fleet):
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await pilot.press("space")
        assert "PAUSED" in header(app)
        await pilot.pause(0.2)
        applied = app.frames_applied
        fleet.advance(120)
        await pilot.pause(0.5)
        assert app.frames_applied == applied
        await pilot.press("space")
        await wait_for(pilot, lambda: app.frames_applied > applied, what="frames after resume")
        assert "PAUSED" not in header(app)
        await pilot.press("down", "down", "down")
        chosen, row = table(app).cursor_key(), table(app).cursor_row
        await pilot.press("enter")
        assert isinstance(app.screen, AgentScreen) and app.screen.agent_id == chosen
        assert app.screen.query_one("#stage-table").row_count == 6
        await pilot.press("escape")
        assert table(app).cursor_key() == chosen and table(app).cursor_row == row


async def test_demo_time_travel_help_and_quit(app):
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: app.frame.mode == "at", what="AT frame")
        assert "AT " in header(app)
        await pilot.press("0")
        await wait_for(pilot, lambda: app.frame.mode == "live", what="LIVE frame")
        assert "LIVE" in header(app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="exit")
    assert app.return_code == 0


async def test_demo_rows_update_in_place(app, fleet):
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        agents = table(app)
        await pilot.press("s")  # sort by agent id: a stable order while values move
        await pilot.press("down", "down")
        keys = {k.value: k for k in agents.rows}
        cursor, cursor_key = agents.cursor_row, agents.cursor_key()
        for _ in range(3):
            fleet.advance(30)
            applied = app.frames_applied
            await wait_for(pilot, lambda: app.frames_applied > applied)
        assert all(keys[k.value] is k for k in agents.rows) and len(keys) == agents.row_count
        assert agents.cursor_row == cursor and agents.cursor_key() == cursor_key
        # values did move, and only changed cells were written
        total_cells = agents.row_count * len(agents.columns)
        assert agents.last_sync.added == 0 and agents.last_sync.updated_cells < total_cells
