"""``e`` in the console: snapshot JSON, Markdown report and SVG of the screen,
written from a worker thread while the UI keeps answering keys (issue #5)."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import replace

import pytest
from ui_helpers import wait_for

import voicetop.ui.exporting as exporting
from voicetop.commands.open_snapshot import replay_app
from voicetop.config import Config
from voicetop.export import load_snapshot
from voicetop.ui.app import VoicetopApp
from voicetop.ui.widgets.agent_table import AgentTable

demo = pytest.importorskip("voicetop.sources.demo")

FROZEN_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
NAME = re.compile(r"^voicetop-default-\d{8}T\d{6}Z\.json$")


@pytest.fixture
def fleet():
    fleet = demo.DemoFleet(seed=7, speed=0, start=FROZEN_START)
    yield fleet
    fleet.metrics.close()
    fleet.traces.close()


def messages(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def breach_set(breaches) -> set[tuple]:
    return {(b.key, b.agent_id, int(b.severity), round(b.since), b.until is None) for b in breaches}


async def first_frame(pilot) -> VoicetopApp:
    app = pilot.app
    await wait_for(
        pilot, lambda: app.frame is not None and app.screen.query_one(AgentTable).row_count > 0,
        timeout=15, what="first frame",
    )
    return app


class GatedExport:
    """The real ``export_frame``, held at a gate until the test opens it."""

    def __init__(self, real) -> None:
        self.real = real
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.thread: str | None = None

    def __call__(self, *args, **kwargs):
        self.thread = threading.current_thread().name
        self.entered.set()
        assert self.gate.wait(20), "test never opened the gate"
        return self.real(*args, **kwargs)


async def test_e_writes_json_markdown_and_svg_without_blocking_the_ui(fleet, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gated = GatedExport(exporting.export_frame)
    monkeypatch.setattr(exporting, "export_frame", gated)
    app = VoicetopApp(metrics=fleet.metrics, traces=fleet.traces, config=Config(refresh=0.2))
    async with app.run_test(size=(120, 40)) as pilot:
        await first_frame(pilot)
        await pilot.press("space")  # pause: the frame on screen stays the one exported
        on_screen = app.frame
        assert on_screen.breaches, "the frozen demo has breaches to export"

        await pilot.press("e")
        await wait_for(pilot, gated.entered.is_set, timeout=10, what="export worker started")
        assert gated.thread != threading.main_thread().name

        # the worker is held: the UI must still process keys
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen", what="help opened")
        help_text = app.screen.query_one("#help-text").render().plain
        assert "e " in help_text and "export" in help_text and "m " in help_text and "silence" in help_text
        assert "◌ pending" in help_text
        await pilot.press("escape")
        await pilot.press("e")  # a second export while one runs is refused, not queued
        await wait_for(pilot, lambda: "an export is already running" in messages(app), what="refusal")
        assert app.last_export is None and not list(tmp_path.glob("*.json"))

        gated.gate.set()
        await wait_for(pilot, lambda: app.last_export is not None, timeout=30, what="export finished")
        result = app.last_export
        await wait_for(pilot, lambda: result.describe() in messages(app), what="notification")

    files = sorted(p.name for p in tmp_path.iterdir())
    (json_name,) = [n for n in files if n.endswith(".json")]
    assert NAME.match(json_name), json_name
    stem = json_name[: -len(".json")]
    assert files == [f"{stem}.json", f"{stem}.md", f"{stem}.svg"]
    assert result.json_path == tmp_path / json_name
    assert f"wrote {tmp_path / json_name}" in result.describe()

    snapshot = load_snapshot(tmp_path / json_name)
    assert snapshot.context == "default"
    assert breach_set(snapshot.breaches) == breach_set(on_screen.breaches)
    assert snapshot.window.end == on_screen.window.end
    assert {a.agent_id for a in snapshot.agents} == {a.agent_id for a in on_screen.agents}
    assert json.loads((tmp_path / json_name).read_text())["source"]["metrics"]["kind"] == "demo"

    svg = (tmp_path / f"{stem}.svg").read_text()
    assert svg.lstrip().startswith("<svg") and "billing" in svg  # the screen as it was
    report = (tmp_path / f"{stem}.md").read_text()
    assert "billing-agent" in report


async def test_e_in_replay_exports_the_replayed_frame(fleet, tmp_path, monkeypatch):
    first = tmp_path / "live"
    first.mkdir()
    monkeypatch.chdir(first)
    app = VoicetopApp(metrics=fleet.metrics, traces=fleet.traces, config=Config(refresh=60))
    async with app.run_test(size=(120, 40)) as pilot:
        await first_frame(pilot)
        await pilot.press("e")
        await wait_for(pilot, lambda: app.last_export is not None, timeout=30, what="live export")
    original = load_snapshot(app.last_export.json_path)

    second = tmp_path / "replay"
    second.mkdir()
    monkeypatch.chdir(second)
    replay = replay_app(original)
    async with replay.run_test(size=(120, 40)) as pilot:
        await first_frame(pilot)
        assert replay.frame.mode == "replay"
        await pilot.press("e")
        await wait_for(pilot, lambda: replay.last_export is not None, timeout=30, what="replay export")
        assert replay.last_export.describe() in messages(replay)
    again = load_snapshot(replay.last_export.json_path)
    assert replay.last_export.json_path.parent == second
    assert replay.last_export.svg_path.exists() and replay.last_export.markdown_path.exists()
    assert breach_set(again.breaches) == breach_set(original.breaches)
    assert again.window == original.window
    for before, after in zip(original.agents, again.agents):
        assert before.agent_id == after.agent_id
        assert before.stage_value("e2e", "p99") == pytest.approx(after.stage_value("e2e", "p99"))


async def test_failed_export_is_one_error_line_and_leaves_no_files(fleet, tmp_path, monkeypatch):
    target = tmp_path / "out"
    target.mkdir()
    (target / "blocker").mkdir()
    monkeypatch.chdir(target / "blocker")
    app = VoicetopApp(metrics=fleet.metrics, traces=fleet.traces, config=Config(refresh=60))
    async with app.run_test(size=(120, 40)) as pilot:
        await first_frame(pilot)
        (target / "blocker").rmdir()  # the working directory vanished: nowhere to write
        await pilot.press("e")
        await wait_for(
            pilot, lambda: any(m.startswith("export failed: ") for m in messages(app)), timeout=30,
            what="error notification",
        )
        assert app.last_export is None
        (error,) = [m for m in messages(app) if m.startswith("export failed: ")]
        assert "\n" not in error
        await pilot.press("space")  # still responsive
        assert app.paused
    assert list(target.iterdir()) == []


async def test_e_on_a_partial_frame_exports_the_whole_fleets_frame_that_follows(fleet, tmp_path, monkeypatch):
    """At fleet scale the agents on screen are read first (a partial frame, the others a step
    older); ``e`` then waits for the whole fleet's frame of that window and exports it."""
    monkeypatch.chdir(tmp_path)
    app = VoicetopApp(metrics=fleet.metrics, traces=fleet.traces, config=Config(refresh=3600))
    async with app.run_test(size=(120, 40)) as pilot:
        await first_frame(pilot)
        whole = app.frame
        assert len(whole.agents) > 1
        app.apply_frame(replace(whole, agents=whole.agents[:1], partial=True))
        await pilot.press("e")
        await wait_for(pilot, lambda: "export: reading the rest of the fleet first" in messages(app), what="note")
        await pilot.press("e")  # asked again while waiting: still one export
        await pilot.pause(0.3)
        assert app.last_export is None and not exporting.export_running(app) and not list(tmp_path.iterdir())
        app.apply_frame(whole)
        await wait_for(pilot, lambda: app.last_export is not None, timeout=30, what="export of the whole frame")
        assert not app.export_waiting
    (json_path,) = tmp_path.glob("*.json")
    snapshot = load_snapshot(json_path)
    assert {a.agent_id for a in snapshot.agents} == {a.agent_id for a in whole.agents}


async def test_paused_on_a_partial_frame_the_same_windows_whole_frame_still_lands(fleet):
    app = VoicetopApp(metrics=fleet.metrics, traces=fleet.traces, config=Config(refresh=3600))
    async with app.run_test(size=(120, 40)) as pilot:
        await first_frame(pilot)
        whole = app.frame
        partial = replace(whole, agents=whole.agents[:1], partial=True)
        app.apply_frame(partial)
        await pilot.press("space")
        assert app.paused
        later = replace(whole, window=whole.window.shifted(whole.window.step))
        app.apply_frame(later)  # another window: paused means frozen
        assert app.frame is partial
        app.apply_frame(whole)  # the rest of the fleet over the window on screen completes it
        assert app.frame is whole
        app.apply_frame(later)
        assert app.frame is whole
