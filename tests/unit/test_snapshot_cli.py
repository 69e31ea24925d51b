"""``voicetop snapshot`` / ``voicetop open`` at the command line, and replay in the real App."""

from __future__ import annotations

import json
import socket

import pytest

from test_export_data import END, WINDOW, frame, source_info, turns_with_traces
from voicetop.cli import _join_dash_values, main
from voicetop.commands.open_snapshot import replay_app, replay_config
from voicetop.export import load_snapshot, write_snapshot
from tests.support.user_config import no_user_config  # noqa: F401 (autouse)


@pytest.fixture
def snapshot_file(tmp_path):
    return write_snapshot(
        frame(), turns_with_traces(), tmp_path / "incident.json", source_info=source_info(), created_at=END
    ).json_path


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "content, fragment",
    [
        ('{"schema": "voicetop.snapshot/1", "window": {', "truncated"),
        ("<html>oops</html>", "not JSON"),
        ('{"schema": "voicetop.snapshot/9"}', "newer"),
        ('{"schema": "something/1"}', "unknown schema"),
    ],
)
def test_open_bad_file_is_one_line_and_exit_2(tmp_path, capsys, content, fragment):
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert main(["open", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("voicetop: ") and str(path) in err and fragment in err


def test_open_missing_file(tmp_path, capsys):
    assert main(["open", str(tmp_path / "nope.json")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_snapshot_source_error_exits_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out.json"
    code = main(["snapshot", "--prometheus", f"http://127.0.0.1:{_closed_port()}", "-o", str(out), "--no-svg"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("voicetop: ")
    assert not [p for p in tmp_path.rglob("*") if p.is_file()], "nothing written on a source error"


def test_snapshot_without_a_source_is_a_usage_error(tmp_path, capsys):
    assert main(["snapshot", "-o", str(tmp_path / "o.json")]) == 2
    assert "no metrics source" in capsys.readouterr().err


def test_relative_at_may_start_with_a_dash():
    assert _join_dash_values(["snapshot", "--at", "-30m", "-o", "x"]) == ["snapshot", "--at=-30m", "-o", "x"]
    assert _join_dash_values(["--at", "now", "-o"]) == ["--at", "now", "-o"]
    assert _join_dash_values(["--at", "--demo"]) == ["--at", "--demo"]


def test_demo_snapshot_headless_with_svg_and_no_redact(tmp_path, capsys):
    out = tmp_path / "demo.json"
    code = main(["snapshot", "--demo", "--demo-speed", "0", "--window", "10m", "--history", "0",
                 "--turns", "3", "--no-redact", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "xdg") == ["demo.json", "demo.md", "demo.svg"]
    doc = json.loads(out.read_text())
    assert doc["redacted"] is False and doc["source"]["metrics"]["kind"] == "demo"
    assert len(doc["turns"]) == 3 and all(t["spans"] for t in doc["turns"])
    e2e = [t["stages"].get("e2e") for t in doc["turns"]]
    assert e2e == sorted(e2e, reverse=True), "slowest turns first"
    assert "REPLAY" in out.with_suffix(".svg").read_text()
    assert f"{len(doc['breaches'])} breaches" in captured.out


def test_replay_config_uses_the_snapshot_thresholds_and_window(snapshot_file, monkeypatch):
    monkeypatch.setenv("VOICETOP_THEME", "light")
    snapshot = load_snapshot(snapshot_file)
    config = replay_config(snapshot)
    assert config.context.name == "prod" and config.context.thresholds == snapshot.thresholds
    assert config.window == 900 and config.step == 15 and config.theme == "light"
    assert config.context.prometheus is None and config.context.write is False


async def test_open_replays_in_the_real_app_with_replay_badge_and_same_breaches(snapshot_file):
    snapshot = load_snapshot(snapshot_file)
    app = replay_app(snapshot)
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(100):
            if app.frame is not None:
                break
            await pilot.pause(0.05)
        assert app.frame is not None
        assert app.frame.mode == "replay" and app.frame.window == WINDOW
        key = lambda b: (b.key, b.agent_id, b.severity, b.since, b.until, b.value)  # noqa: E731
        assert sorted(map(key, app.frame.breaches), key=repr) == sorted(map(key, snapshot.breaches), key=repr)
        svg = app.export_screenshot()
        assert "REPLAY" in svg and "billing-agent" in svg
        await pilot.press("q")
