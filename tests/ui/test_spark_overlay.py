"""Stage sparklines show the baseline with ``b`` on and mark model / prompt changes
(issue #9), on the fleet and agent screens of the demo fleet; hidden at 80×24."""

from __future__ import annotations

import pytest
from ui_helpers import wait_for

from voicetop.config import Config, Context
from voicetop.domain.model import ChangeMarker, Series
from voicetop.ui.app import VoicetopApp
from voicetop.ui.screens.agent import AgentScreen
from voicetop.ui.screens.compare import CompareScreen
from voicetop.ui.screens.fleet import FleetScreen
from voicetop.ui.widgets.agent_table import AgentTable
from voicetop.ui.widgets.spark_cell import SparkCell
from voicetop.ui.widgets.spark_overlay import MarkerCell, MarkerRow, marker_columns
from voicetop.ui.widgets.sparks import StageSparks

demo = pytest.importorskip("voicetop.sources.demo")
ROLLOUT = "outbound-sales"


@pytest.fixture
def fleet():
    fleet = demo.DemoFleet(seed=7, speed=0, start=1_767_225_600.0)  # frozen
    yield fleet
    fleet.metrics.close()


def make_app(fleet, monkeypatch, **context):
    monkeypatch.delenv("VOICETOP_BASELINE_OFFSETS", raising=False)
    config = Config(refresh=0.1, context=Context("default", **context))
    return VoicetopApp(metrics=fleet.metrics, traces=None, config=config)


async def started(pilot):
    app = pilot.app
    await wait_for(pilot, lambda: app.frame is not None and app.screen.query_one(AgentTable).row_count > 0,
                   timeout=10, what="demo frame")
    return app


def statics_text(widget) -> str:
    from textual.widgets import Static

    return "\n".join(str(s.render()) for s in widget.query(Static) if s.display)


def test_marker_columns_follow_the_sparkline_buckets():
    stamps = tuple(float(t) for t in range(60))
    series = Series(stamps, tuple(1.0 for _ in stamps))
    at = lambda t: ChangeMarker("a", "prompt_version", "v1", "v2", t)  # noqa: E731
    assert marker_columns(series, [at(20.0)], 30) == [10]  # two samples per column
    assert marker_columns(series, [at(19.5)], 30) == [10]  # the first sample at or after the change
    assert marker_columns(series, [at(0.0), at(59.0)], 60) == [0, 59]
    assert marker_columns(series, [at(-1.0), at(60.5)], 30) == []  # outside the drawn span
    short = Series(stamps[:10], tuple(1.0 for _ in range(10)))
    assert marker_columns(short, [at(3.0)], 20) == [6]  # one sample stretched over two columns
    gappy = Series(stamps[:6], (1.0, float("nan"), float("nan"), 1.0, 1.0, 1.0))  # NaNs are not drawn
    assert marker_columns(gappy, [at(3.0)], 4) == [1]


async def test_b_on_the_fleet_screen_shows_baseline_values_after_the_current_ones(fleet, monkeypatch):
    app = make_app(fleet, monkeypatch, baseline_offsets=(600.0,))
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare screen")
        await pilot.press("escape")  # back to the fleet: the baseline stays on the sparklines
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen), what="fleet screen")
        assert app.poller.compare.baseline
        sparks = app.screen.query_one(StageSparks)
        await wait_for(pilot, lambda: sparks.has_class("-baseline") and bool(app.frame.baselines), what="baseline")
        assert [b.offset for b in app.frame.baselines] == [600.0]  # from the config
        title = str(app.screen.query_one("#sparks-title").render())
        assert "vs 10m ago" in title
        agent = app.frame.agent(app.screen.selected_agent()) or app.frame.fleet
        then = app.frame.baselines[0].for_agent(agent.agent_id)["e2e_p99"].last()
        cell = app.screen.query_one("#cell-e2e-p99", SparkCell)
        assert cell.widths()[2] == 12
        shown = cell.base.plain
        assert shown.startswith(f"10m {then:.0f}ms") and shown[-1] in "↑↓="
        assert cell.render_line(0).text.rstrip().endswith(shown)  # drawn at the cell's right end
        await pilot.press("b")  # off: the suffix goes away
        await wait_for(pilot, lambda: not sparks.has_class("-baseline"), what="baseline off")
        assert cell.widths()[2] == 0
        await pilot.pause()
        assert shown not in cell.render_line(0).text


async def test_agent_screen_marks_the_prompt_rollout_at_its_column(fleet, monkeypatch):
    app = make_app(fleet, monkeypatch)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        app.push_screen(AgentScreen(ROLLOUT))
        await wait_for(pilot, lambda: isinstance(app.screen, AgentScreen), what="agent screen")
        sparks = app.screen.query_one(StageSparks)
        await wait_for(pilot, lambda: sparks.has_class("-markers"), what="marker row")
        (marker,) = [m for m in app.frame.markers if m.agent_id == ROLLOUT]
        assert (marker.old, marker.new) == ("v2.3.1", "v2.4.0")
        strip = app.screen.query_one("#marks-p99", MarkerCell)
        await wait_for(pilot, lambda: strip.widths()[0] > 10, what="strip laid out")
        width = strip.widths()[0]
        line = strip.render_line(0).text
        assert line[:width].count("▲") == 1
        column = line.index("▲")
        # the column of the change's time in the sparkline's span (±1 for bucketing)
        series = app.frame.agent(ROLLOUT).series["e2e_p99"]
        finite = [t for t, v in zip(series.timestamps, series.values) if v == v]
        expected = (marker.at - finite[0]) / (finite[-1] - finite[0]) * width
        assert abs(column - expected) <= 1.5
        # the strip sits right under the p99 sparkline, same x and width
        assert strip.spark_span() == app.screen.query_one("#cell-e2e-p99", SparkCell).spark_span()
        row = app.screen.query_one(MarkerRow)
        assert "→ v2.4.0" in strip.note.plain and "→ v2.4.0" in line[width:]
        assert "prompt v2.3.1 → v2.4.0" in str(row.tooltip)


async def test_overlays_are_hidden_at_80x24(fleet, monkeypatch):
    app = make_app(fleet, monkeypatch, baseline_offsets=(600.0,))
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare screen")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen), what="fleet screen")
        sparks = app.screen.query_one(StageSparks)
        await wait_for(pilot, lambda: sparks.has_class("-baseline"), what="baseline")
        await pilot.pause()
        cell = app.screen.query_one("#cell-e2e-p99", SparkCell)
        assert cell.widths()[2] == 0
        assert app.screen.query_one(MarkerRow).region.height == 0
        assert sparks.region.height == 7
        # the value text keeps its room: the threshold is still readable
        assert cell.widths()[1] == 19


def test_markers_before_the_row_is_composed_wait_for_the_next_frame():
    """A frame can arrive before the screen's widgets exist: no error, nothing placed yet."""
    from voicetop.domain.model import AgentStats
    from voicetop.ui.format import Palette

    row = MarkerRow(("p50", "p99"))  # never mounted
    agent = AgentStats(None, {}, {}, {"ttft_p50": Series((0.0, 15.0), (1.0, 2.0))})
    marker = ChangeMarker("a", "model", "old", "new", 15.0)
    assert row.show(agent, "ttft", [marker], Palette()) is False
