"""Fleet-screen polish: whole-cell scrollbars (no stray "sparkline" glyphs), an honest
``◌ pending`` status, a badge for every source's health, ``e``/``m`` in footer and help."""

from __future__ import annotations

import pytest
from rich.text import Text
from ui_helpers import screen_text, wait_for

from voicetop.config import Config
from voicetop.domain.model import Frame, HealthState, Severity, SourceHealth
from voicetop.domain.thresholds import ThresholdSet
from voicetop.ui.app import VoicetopApp
from voicetop.ui.format import Palette
from voicetop.ui.screens.help import help_text
from voicetop.ui.widgets.agent_table import AgentTable, over_threshold, status_cell
from voicetop.ui.widgets.breaches import BreachTable
from voicetop.ui.widgets.header import header_text
from voicetop.ui.widgets.scrollbars import CellScrollBarRender

demo = pytest.importorskip("voicetop.sources.demo")

FROZEN_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
EIGHTHS = set("▁▂▃▄▅▆▇")


@pytest.fixture
def app():
    fleet = demo.DemoFleet(seed=7, speed=0, start=FROZEN_START)
    yield VoicetopApp(metrics=fleet.metrics, traces=fleet.traces, config=Config(refresh=60))
    fleet.metrics.close()
    fleet.traces.close()


def screen_lines(app) -> list[str]:
    return ["".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips()]


async def started(pilot) -> VoicetopApp:
    app = pilot.app
    await wait_for(pilot, lambda: app.frame is not None and app.screen.query_one(AgentTable).row_count > 0,
                   timeout=15, what="demo frame")
    await pilot.pause(0.2)
    return app


def test_cell_scrollbar_thumb_has_no_partial_block_glyphs():
    for position in (0, 1.3, 2.6, 5.5, 11.9):
        segments = CellScrollBarRender.render_bar(size=8, virtual_size=20, window_size=8, position=position,
                                                  thickness=1, vertical=True)
        text = "".join(seg.text for seg in segments.segments)
        assert not EIGHTHS & set(text), (position, text)
        assert any(seg.style and seg.style.reverse for seg in segments.segments)  # a thumb is drawn


async def test_no_stray_glyphs_at_the_right_edge_of_breaches_and_agent_detail(app):
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        table = app.screen.query_one(BreachTable)
        assert table.virtual_size.height > table.size.height  # it does scroll: a scrollbar is there
        top = table.region.y
        for line in screen_lines(app)[top: top + table.region.height]:
            assert not EIGHTHS & set(line[-3:]), line
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "AgentScreen", what="agent detail")
        await pilot.pause(0.5)
        for line in screen_lines(app)[:20]:  # the scrolling body above the sessions table
            assert not EIGHTHS & set(line[-3:]), line


async def test_status_says_pending_when_over_threshold_without_a_breach(app):
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        frame, table = app.frame, app.screen.query_one(AgentTable)
        pending = {a.agent_id for a in frame.agents
                   if a.severity is Severity.OK and over_threshold(a, app.thresholds)}
        assert "booking" in pending  # the frozen demo: Tool% past its limit, not yet for 5m
        assert not [b for b in frame.active_breaches() if b.agent_id == "booking"]
        assert table.get_cell("booking", "tool_success_rate").plain.endswith("✖")
        for agent in frame.agents:
            status = table.get_cell(agent.agent_id, "status").plain
            if agent.agent_id in pending:
                assert status == "◌ pending"
            else:
                assert status in ("● OK", "▲ WARN", "✖ CRIT") and (status == "● OK") == (not agent.severity)
        order = table.row_keys()  # sorted by status, worst first: CRIT, WARN, pending, OK
        ranks = [table.get_cell(k, "status").sort_key for k in order]
        assert ranks == sorted(ranks, reverse=True) and 0.5 in ranks


def test_pending_status_in_ascii_and_not_when_a_breach_is_active():
    fleet = demo.DemoFleet(seed=7, speed=0, start=FROZEN_START)
    try:
        frame = _frame(fleet)
    finally:
        fleet.metrics.close()
        fleet.traces.close()
    thresholds = ThresholdSet()
    booking = frame.agent("booking")
    assert status_cell(booking, thresholds, Palette(ascii=True)).plain == "~ pending"
    billing = frame.agent("billing-agent")
    assert billing.severity is Severity.CRITICAL
    assert status_cell(billing, thresholds, Palette()).plain == "✖ CRIT"


def _frame(fleet) -> Frame:
    from voicetop.poller import Poller, ViewWindow

    frames = []
    poller = Poller(fleet.metrics, ThresholdSet(), frames.append, view=ViewWindow())
    return poller.poll_once()


def test_every_health_entry_gets_a_whole_badge_even_at_80_columns():
    fleet = demo.DemoFleet(seed=7, speed=0, start=FROZEN_START)
    try:
        frame = _frame(fleet)
    finally:
        fleet.metrics.close()
        fleet.traces.close()
    now = frame.created_at
    from dataclasses import replace

    frame = replace(frame, health=(
        SourceHealth("demo", HealthState.OK, "", now, now),
        SourceHealth("demo-traces", HealthState.ERROR, "jaeger http://127.0.0.1:16686: cannot connect", None, now),
        SourceHealth("alertmanager", HealthState.STALE, "alertmanager: timed out after 5s", now - 42, now),
    ))
    for width in (80, 120, 160):
        second = header_text(frame, Palette(), paused=False, width=width, view_note="sort Status▼").plain.split("\n")[1]
        assert Text(second).cell_len <= width, (width, second)
        assert "[demo OK]" in second
        assert "[demo-traces ERROR" in second and "[alertmanager STALE 42s" in second
        assert second.count("[") == 3 and second.count("]") == 3
    wide = header_text(frame, Palette(), paused=False, width=400).plain
    assert "demo-traces ERROR: jaeger http://127.0.0.1:16686: cannot connect" in wide


async def test_e_in_footer_and_help_m_hidden_without_alerts(app):
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        footer = " ".join(screen_lines(app)[-1:])
        assert "e Export" in footer
        assert not app.frame.alerts and app.alertmanager is None  # nothing to silence here
        assert "Silence" not in footer
        await pilot.press("m")  # hidden: no dialog, no error
        assert type(app.screen).__name__ == "FleetScreen"
    text = help_text().plain
    for expected in ("e ", "export", "m ", "silence", "◌ pending", "⚑ FIRING", "… PENDING"):
        assert expected in text


def test_header_says_no_data_not_ok_when_the_source_failed_before_any_data():
    from voicetop.domain.frame_builder import build_frame
    from voicetop.domain.model import MetricsResult, Window

    window = Window(0, 900, 15)
    failed = build_frame(
        MetricsResult(window=window, series={}), ThresholdSet(),
        (SourceHealth("prometheus", HealthState.ERROR, "cannot reach prometheus", None, 900),),
        created_at=900,
    )
    line = header_text(failed, Palette(), paused=False, width=160).plain.split("\n")[0]
    assert "? NO DATA" in line and "● OK" not in line
    healthy = build_frame(
        MetricsResult(window=window, series={}), ThresholdSet(),
        (SourceHealth("prometheus", HealthState.OK, "", 900, 900),), created_at=900,
    )
    assert "● OK" in header_text(healthy, Palette(), paused=False, width=160).plain


async def test_breach_columns_grow_when_a_resize_leaves_compact_mode():
    fleet = demo.DemoFleet(seed=7, speed=0, start=FROZEN_START)
    app = VoicetopApp(metrics=fleet.metrics, traces=None, config=Config(refresh=60))
    async with app.run_test(size=(90, 30)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None and "CRIT" in screen_text(app))
        assert "CRITICAL" not in screen_text(app).split("Breaches")[1]  # compact cells first
        await pilot.resize_terminal(160, 48)
        await wait_for(pilot, lambda: "✖ CRITICAL" in screen_text(app).split("Breaches")[1])
        panel = screen_text(app).split("Breaches")[1]
        assert "CRITI…" not in panel and "1200ms" in panel
