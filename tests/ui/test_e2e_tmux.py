"""End to end: the installed ``voicetop --demo`` in a real terminal (tmux)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

VOICETOP = Path(sys.executable).parent / "voicetop"


def _tmux(socket: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["tmux", "-L", socket, "-f", os.devnull, *args],
        capture_output=True, text=True, timeout=10, check=False,
    )


def _wait_for_pane(socket: str, predicate, timeout: float) -> str:
    """Poll ``capture-pane`` until ``predicate(text)``; returns the last capture."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        result = _tmux(socket, "capture-pane", "-p", "-t", "vt")
        text = result.stdout
        if predicate(text):
            return text
        time.sleep(0.2)
    raise AssertionError(f"timed out; last screen:\n{text}")


def _session_alive(socket: str) -> bool:
    return _tmux(socket, "has-session", "-t", "vt").returncode == 0


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_demo_console_in_tmux(tmp_path):
    assert VOICETOP.exists(), f"console script not installed at {VOICETOP}"
    socket = f"voicetop-e2e-{uuid.uuid4().hex[:10]}"
    # COLUMNS/LINES can leak into the pane with stale values; the app must ask the tty.
    env_prefix = (
        f"cd {tmp_path} && env -u COLUMNS -u LINES TERM=xterm-256color "
        f"VOICETOP_CONFIG={tmp_path / 'none.toml'} "
    )
    (tmp_path / "none.toml").write_text("")
    exit_file = tmp_path / "exit-code"
    command = f"{env_prefix}{VOICETOP} --demo --refresh 1s; echo $? > {exit_file}; sleep 30"
    try:
        started = _tmux(socket, "new-session", "-d", "-s", "vt", "-x", "120", "-y", "40", command)
        assert started.returncode == 0, started.stderr
        _tmux(socket, "resize-window", "-t", "vt", "-x", "120", "-y", "40")
        size = _tmux(socket, "display-message", "-p", "-t", "vt", "#{window_width}x#{window_height}")
        assert size.stdout.strip() == "120x40"
        screen = _wait_for_pane(
            socket,
            lambda t: "Agent" in t and "Status" in t and "CRITICAL" in t and "WARNING" in t,
            timeout=15,
        )
        assert "LIVE" in screen and "Breaches" in screen
        _tmux(socket, "send-keys", "-t", "vt", "?")
        _wait_for_pane(socket, lambda t: "voicetop keys" in t and "pause / resume" in t, timeout=5)
        _tmux(socket, "send-keys", "-t", "vt", "Escape")
        _wait_for_pane(socket, lambda t: "voicetop keys" not in t and "Status" in t, timeout=5)
        _tmux(socket, "send-keys", "-t", "vt", "q")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not exit_file.exists():
            time.sleep(0.1)
        assert exit_file.exists(), "voicetop did not exit after q"
        assert exit_file.read_text().strip() == "0"
    finally:
        socket_path = _tmux(socket, "display-message", "-p", "#{socket_path}").stdout.strip()
        _tmux(socket, "kill-server")
        if socket_path:
            Path(socket_path).unlink(missing_ok=True)
    assert not _session_alive(socket)
