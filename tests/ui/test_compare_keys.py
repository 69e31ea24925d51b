"""Pilot tests of `g` (group by) and `b` (baseline) on the embedded demo fleet (issue #9)."""

from __future__ import annotations

import pytest
from ui_helpers import screen_text, wait_for

from voicetop.config import Config
from voicetop.domain.model import Severity
from voicetop.ui.app import VoicetopApp
from voicetop.ui.screens.agent import AgentScreen
from voicetop.ui.screens.compare import CompareScreen
from voicetop.ui.screens.fleet import FleetScreen
from voicetop.ui.widgets.agent_table import AgentTable
from voicetop.ui.widgets.compare_tables import BaselineTable, GroupTable

demo = pytest.importorskip("voicetop.sources.demo")
ROLLOUT = "outbound-sales"


@pytest.fixture
def fleet():
    fleet = demo.DemoFleet(seed=7, speed=0, start=1_767_225_600.0)  # frozen
    yield fleet
    fleet.metrics.close()


@pytest.fixture
def app(fleet, monkeypatch):
    monkeypatch.delenv("VOICETOP_BASELINE_OFFSETS", raising=False)
    return VoicetopApp(metrics=fleet.metrics, traces=None, config=Config(refresh=0.1))


async def started(pilot):
    app = pilot.app
    await wait_for(pilot, lambda: app.frame is not None and app.screen.query_one(AgentTable).row_count > 0,
                   timeout=10, what="demo frame")
    return app


def group_rows(app) -> dict[str, str]:
    table = app.screen.query_one(GroupTable)
    return {key: " ".join(c.plain for c in table.get_row(key)) for key in table.row_keys()}


async def test_g_cycles_labels_and_groups_the_fleet_by_prompt_version(app):
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare screen")
        await wait_for(pilot, lambda: app.frame.grouping is not None and app.frame.grouping.label == "model",
                       what="model grouping")
        await wait_for(pilot, lambda: any("model=gpt-4o-mini" in r for r in group_rows(app).values()), what="rows")
        assert "group by model" in screen_text(app)
        await pilot.press("g", "g")  # provider, then prompt_version
        await wait_for(pilot, lambda: app.frame.grouping is not None and app.frame.grouping.label == "prompt_version",
                       what="prompt grouping")
        await wait_for(pilot, lambda: len(group_rows(app)) == 3, what="three prompt versions")
        rows = group_rows(app)
        names = sorted(row.split()[0] for row in rows.values())
        assert names == ["prompt_version=v1.8.0", "prompt_version=v2.3.1", "prompt_version=v2.4.0"]
        new = next(row for row in rows.values() if row.startswith("prompt_version=v2.4.0"))
        assert "CRIT" in new.upper()
        # the changes panel names the rollout and the breaches it explains
        text = screen_text(app)
        assert f"{ROLLOUT}  prompt v2.3.1 → v2.4.0 at " in text
        assert "cost_per_session" in text
        await pilot.press("g")  # past the last label: back to per-agent rows
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen), what="fleet screen")
        assert app.poller.compare.group_by is None


async def test_g_on_an_agent_groups_that_agent_and_isolates_the_new_prompt(app):
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        app.push_screen(AgentScreen(ROLLOUT))
        await pilot.pause()
        for _ in range(3):
            await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare screen")
        await wait_for(pilot, lambda: app.frame.grouping is not None and app.frame.grouping.label == "prompt_version"
                       and len(group_rows(app)) == 2, what="agent groups")
        groups = {g.value: g for g in app.frame.grouping.for_agent(ROLLOUT)}
        assert groups["v2.4.0"].stats.severity is Severity.CRITICAL
        assert groups["v2.3.1"].stats.severity is Severity.OK
        assert groups["v2.4.0"].stats.scalar("cost_per_session") > 2 * groups["v2.3.1"].stats.scalar("cost_per_session")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, AgentScreen), what="agent screen again")
        assert app.poller.compare.group_by is None and not app.poller.compare.baseline


async def test_b_shows_value_delta_and_glyph_against_the_baseline(app):
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        app.push_screen(AgentScreen(ROLLOUT))
        await pilot.pause()
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare screen")
        await wait_for(pilot, lambda: bool(app.frame.baselines), what="baselines")
        assert [b.offset for b in app.frame.baselines] == [1200.0]  # the demo's own default: 20 m
        table = app.screen.query_one(BaselineTable)
        await wait_for(pilot, lambda: table.row_count > 0, what="baseline rows")
        assert [c.label.plain for c in table.columns.values()] == ["Stat", "Now", "20m ago", "Δ 20m"]
        cost = " ".join(c.plain for c in table.get_row("cost_per_session"))
        assert "↑" in cost and "%" in cost
        # drift sparklines: now, the baseline underneath, and the change marked
        sparks = str(app.screen.query_one("#drift-sparks").render())
        assert "20m ago" in sparks and "▲" in sparks and "prompt v2.3.1 → v2.4.0" in sparks
        await pilot.press("b")
        await wait_for(pilot, lambda: not isinstance(app.screen, CompareScreen), what="closed")


async def test_baseline_offsets_are_configurable(app, monkeypatch):
    monkeypatch.setenv("VOICETOP_BASELINE_OFFSETS", "10m,25m")
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: len(app.frame.baselines) == 2, what="two baselines")
        assert [b.offset for b in app.frame.baselines] == [600.0, 1500.0]
        table = app.screen.query_one(BaselineTable)
        await wait_for(pilot, lambda: "Δ 25m" in [c.label.plain for c in table.columns.values()], what="columns")
