"""Themes, NO_COLOR, low-bandwidth mode, untrusted text and small terminals."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_helpers import screen_text, wait_for
from rich.text import Text
from textual.filter import Monochrome

from voicetop.domain.text import safe_text
from voicetop.sources.base import SourceError
from voicetop.ui.themes import load_themes, parse_theme, theme_dirs
from voicetop.ui.widgets.agent_table import AgentTable
from voicetop.ui.widgets.header import FleetHeader

REPO_THEMES = Path(__file__).resolve().parents[2] / "themes"


def test_shipped_themes_load_with_severity_colours():
    themes, problems = load_themes([REPO_THEMES])
    assert problems == []
    assert {"dark", "light", "high-contrast"} <= set(themes)
    assert themes["light"].theme.dark is False and themes["dark"].theme.dark is True
    for loaded in themes.values():
        variables = loaded.theme.variables
        assert {"sev-ok", "sev-warning", "sev-critical"} <= set(variables)
        assert len({variables["sev-ok"], variables["sev-warning"], variables["sev-critical"]}) == 3


def test_high_contrast_avoids_red_green_pairing():
    from textual.color import Color

    themes, _ = load_themes([REPO_THEMES])
    variables = themes["high-contrast"].theme.variables
    ok, critical = Color.parse(variables["sev-ok"]), Color.parse(variables["sev-critical"])
    # OK is blue-dominant (not green); critical is orange (red and green both high, little blue)
    assert ok.b > ok.g and ok.b > ok.r
    assert critical.r > 200 and critical.g > 100 and critical.b < 60


def test_search_path_order_and_override(tmp_path, monkeypatch):
    custom = tmp_path / "mine"
    custom.mkdir()
    (custom / "dark.toml").write_text('name = "dark"\nprimary = "#123456"\n[severity]\ncritical = "#abcdef"\n')
    (custom / "broken.toml").write_text("name = [\n")
    monkeypatch.setenv("VOICETOP_THEMES", str(custom))
    dirs = theme_dirs()
    assert dirs[0] == custom
    assert REPO_THEMES in dirs
    assert dirs[-1].parts[-3:] == ("share", "voicetop", "themes")
    themes, problems = load_themes(dirs)
    assert themes["dark"].path == custom / "dark.toml"
    assert themes["dark"].theme.variables["sev-critical"] == "#abcdef"
    assert "light" in themes  # still found further down the path
    assert len(problems) == 1 and "broken.toml" in problems[0]


def test_parse_theme_rejects_bad_values(tmp_path):
    from voicetop.ui.themes import ThemeError

    with pytest.raises(ThemeError, match="primary"):
        parse_theme('name = "x"\n', tmp_path / "x.toml")
    with pytest.raises(ThemeError, match="dark"):
        parse_theme('primary = "#fff"\ndark = "yes"\n', tmp_path / "x.toml")


def test_safe_text_strips_controls_and_truncates():
    assert safe_text("a\x1b[31mb\x07c\u202eevil\x1b]0;title\x07!", 50) == "abcevil!"
    assert safe_text("line1\nline2\ttab", 50) == "line1 line2 tab"
    assert safe_text("x" * 30, 10) == "x" * 9 + "…"
    assert safe_text(None) == "" and safe_text(42) == "42"


async def test_theme_key_cycles_and_recolours(make_app):
    app = make_app(theme="dark")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None)
        assert app.theme == "dark"
        critical_dark = app.palette.critical
        await pilot.press("t")
        assert app.theme == "high-contrast"
        await wait_for(pilot, lambda: app.palette.critical != critical_dark, what="palette change")
        await wait_for(pilot, lambda: app.palette.critical in str(
            app.screen.query_one(AgentTable).get_cell("support-de", "status").style), what="recoloured cell")
        await pilot.press("t")
        assert app.theme == "light"
        await pilot.press("t")
        assert app.theme == "dark"


async def test_unknown_theme_falls_back_with_notice(make_app):
    app = make_app(theme="no-such-theme")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.theme == "dark"
        assert any("no-such-theme" in p for p in app.theme_problems)
        assert any("no-such-theme" in str(n.message) for n in app._notifications)


async def test_no_color_is_honoured(make_app, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None)
        assert app.no_color and any(isinstance(f, Monochrome) for f in app._filters)
        # severity still readable without colour: glyph + word
        assert "✖ CRITICAL" in app.screen.query_one(FleetHeader).render().plain


async def test_low_bandwidth_uses_ascii_and_slower_refresh(make_app):
    app = make_app(low_bandwidth=True)
    assert app.poller.refresh >= 5.0 and app.animation_level == "none"
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None and app.screen.query_one(AgentTable).row_count)
        table = app.screen.query_one(AgentTable)
        assert table.get_cell("support-de", "status").plain == "X CRIT"
        assert table.get_cell("support-de", "ttft_p99").plain.endswith("X")
        assert "X CRITICAL" in app.screen.query_one(FleetHeader).render().plain
        assert "✖" not in screen_text(app) and "▲" not in screen_text(app)


class HostileMetrics:
    """Agent ids and error text full of markup and control characters."""

    name = "metrics"

    def __init__(self, base) -> None:
        self.base = base
        self.fail = False

    def now(self):
        return self.base.now()

    def fetch(self, window):
        if self.fail:
            raise SourceError("connection refused [bold]\x1b[2J")
        result = self.base.fetch(window)
        evil = "[red]evil[/red]\x1b[2J\nid"
        series = {k: {(evil if a == "sales-fr" else a): s for a, s in v.items()} for k, v in result.series.items()}
        return type(result)(window=result.window, series=series)

    def alerts(self):
        return []

    def close(self):
        pass


async def test_untrusted_agent_ids_and_errors_render_literally(make_app, fake_metrics):
    metrics = HostileMetrics(fake_metrics)
    app = make_app(metrics=metrics)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(AgentTable).row_count == 5)
        text = screen_text(app)
        assert "[red]evil[/red] id" in text and "\x1b" not in text
        cell = app.screen.query_one(AgentTable).get_cell("[red]evil[/red]\x1b[2J\nid", "agent")
        assert isinstance(cell, Text) and cell.plain == "[red]evil[/red] id"
        metrics.fail = True
        await wait_for(pilot, lambda: "STALE" in app.screen.query_one(FleetHeader).render().plain, what="stale")
        header = app.screen.query_one(FleetHeader).render().plain
        assert "connection refused [bold]" in header and "\x1b" not in header


async def test_error_badge_when_first_poll_fails(make_app, fake_metrics):
    fake_metrics.fail_with = SourceError("prometheus: timed out after 10s")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None)
        assert "metrics ERROR: prometheus: timed out after 10s" in app.screen.query_one(FleetHeader).render().plain


@pytest.mark.parametrize("size", [(20, 6), (40, 12), (80, 24), (100, 30), (200, 60)])
async def test_any_terminal_size_renders(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.frame is not None)
        await pilot.pause(0.05)
        await pilot.press("enter")
        await pilot.pause(0.05)
        await pilot.press("escape", "question_mark")
        await pilot.pause(0.05)
        assert app.is_running


async def test_narrow_terminal_keeps_key_columns(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None)
        columns = [c.key for c in app.screen.query_one(AgentTable).columns_spec]
        assert columns[0] == "agent" and columns[-1] == "status"
        assert {"ttft_p99", "e2e_p90", "e2e_p99"} <= set(columns) and "llm_p90" not in columns
        assert app.screen.has_class("-short")
        assert not app.screen.query_one("#cell-stt-p50").display
        await pilot.resize_terminal(160, 48)
        await wait_for(pilot, lambda: len(app.screen.query_one(AgentTable).columns_spec) == 14, what="full columns")
