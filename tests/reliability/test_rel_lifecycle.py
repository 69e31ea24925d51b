"""Lifecycle of the real ``voicetop`` process: signals, dropped SSH links, resizes, two at once,
and a snapshot interrupted mid-flight."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from rel_figures import add, note
from rel_tmux import VOICETOP, Tmux, alive, fleet_shown, wait_file

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


@pytest.fixture
def tmux(tmp_path):
    assert VOICETOP.exists(), f"console script not installed at {VOICETOP}"
    server = Tmux(tmp_path)
    yield server
    server.kill_server()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_exits_promptly_and_restores_the_terminal(tmux, sig):
    exit_file = tmux.start("vt", "--demo --refresh 1s")
    tmux.wait_screen("vt", fleet_shown)
    assert tmux.flags("vt")["alternate_on"] == "1"  # the console owns the screen
    pid = tmux.voicetop_pid("vt")
    sent = time.monotonic()
    os.kill(pid, sig)
    code = wait_file(exit_file, timeout=6)
    took = time.monotonic() - sent
    assert code == str(128 + sig), f"exit status {code}"
    flags = tmux.flags("vt")
    assert flags == {"alternate_on": "0", "mouse_any_flag": "0", "mouse_button_flag": "0",
                     "mouse_sgr_flag": "0", "cursor_flag": "1"}, flags
    assert not fleet_shown(tmux.capture("vt"))  # back on the shell's screen
    add("lifecycle signals survived", 1)
    note(f"exit on {sig.name}", f"{took:.2f}s, status {code}, terminal restored")


def test_dropped_ssh_link_ends_the_process(tmux):
    """Killing the session hangs up the pty (what sshd does when the link drops)."""
    tmux.start("vt", "--demo --refresh 1s")
    tmux.wait_screen("vt", fleet_shown)
    pid = tmux.voicetop_pid("vt")
    tmux.run("kill-session", "-t", "vt")
    deadline = time.monotonic() + 8
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid), "voicetop kept running after its terminal went away"


def test_resize_down_to_20x6_and_back_never_crashes(tmux):
    exit_file = tmux.start("vt", "--demo --refresh 1s")
    tmux.wait_screen("vt", fleet_shown)
    pid = tmux.voicetop_pid("vt")
    sizes = [(80, 24), (40, 10), (20, 6), (21, 7), (20, 6), (200, 60), (20, 6), (120, 40)]
    for width, height in sizes:
        tmux.run("resize-window", "-t", "vt", "-x", str(width), "-y", str(height))
        time.sleep(0.4)
        assert alive(pid), f"voicetop died at {width}x{height}"
        assert not exit_file.exists(), f"voicetop exited at {width}x{height}"
        lines = tmux.capture("vt").splitlines()
        assert len(lines) <= height and all(len(line) <= width for line in lines)
    for _ in range(20):  # a storm of resizes (a window being dragged)
        tmux.run("resize-window", "-t", "vt", "-x", "20", "-y", "6")
        tmux.run("resize-window", "-t", "vt", "-x", "120", "-y", "40")
    assert alive(pid)
    tmux.wait_screen("vt", fleet_shown, timeout=10)  # redrawn at full size
    tmux.run("send-keys", "-t", "vt", "q")
    assert wait_file(exit_file, timeout=10) == "0"
    add("resizes survived", len(sizes) + 40)


def test_two_consoles_on_one_host(tmux):
    first = tmux.start("one", "--demo --refresh 1s")
    second = tmux.start("two", "--demo --refresh 1s --demo-seed 11", width=100, height=30)
    tmux.wait_screen("one", fleet_shown)
    tmux.wait_screen("two", fleet_shown)
    tmux.run("send-keys", "-t", "one", "?")
    tmux.wait_screen("one", lambda t: "voicetop keys" in t, timeout=5)
    assert "voicetop keys" not in tmux.capture("two")  # independent consoles
    for name in ("one", "two"):
        tmux.run("send-keys", "-t", name, "q")
    assert wait_file(first, timeout=10) == "0"
    assert wait_file(second, timeout=10) == "0"


# -- snapshot interrupted ------------------------------------------------------------
def test_sigterm_during_snapshot_leaves_all_or_nothing(tmp_path):
    """SIGTERM at many points of ``voicetop snapshot``: either every file or none, never a temp file."""
    config = tmp_path / "none.toml"
    config.write_text("")
    env = {**os.environ, "VOICETOP_CONFIG": str(config)}
    delays = (0.4, 0.9, 1.4, 1.8, 2.1, 2.4, 2.7, 3.0)
    outcomes = []
    running = []
    for index, delay in enumerate(delays):
        folder = tmp_path / f"run{index}"
        folder.mkdir()
        process = subprocess.Popen([str(VOICETOP), "snapshot", "--demo", "-o", str(folder / "snap.json")],
                                   cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        running.append((folder, delay, process, time.monotonic()))
        if len(running) == 2 or index == len(delays) - 1:  # two at a time on two cores
            for folder, delay, process, started in running:
                time.sleep(max(0.0, started + delay - time.monotonic()))
                process.send_signal(signal.SIGTERM)
            for folder, delay, process, _ in running:
                code = process.wait(15)
                stderr = process.stderr.read().decode()
                process.stderr.close()
                files = sorted(p.name for p in folder.iterdir())
                assert not [f for f in files if f.endswith(".tmp") or f.startswith(".")], (delay, files)
                assert "Traceback" not in stderr, stderr
                if code == 0:  # finished before the signal: everything is there and whole
                    assert files == ["snap.json", "snap.md", "snap.svg"], files
                    json.loads((folder / "snap.json").read_text())
                else:
                    # 143: our handler ran; -15: killed while Python was still starting up
                    assert code in (128 + signal.SIGTERM, -signal.SIGTERM), (delay, code, stderr)
                    # all or nothing: a signal after the last atomic write (before exit) leaves all three
                    assert files in ([], ["snap.json", "snap.md", "snap.svg"]), (delay, files)
                    if files:
                        json.loads((folder / "snap.json").read_text())
                outcomes.append(code)
            running = []
    assert any(code == 128 + signal.SIGTERM for code in outcomes), outcomes
    note("snapshot SIGTERM sweep", f"{len(outcomes)} runs: {outcomes.count(0)} finished, "
                                   f"{outcomes.count(143)} interrupted by the handler, {outcomes.count(-15)} before start-up "
                                   "finished; no partial or temporary files")


def test_q_returns_to_the_shell_promptly_while_prometheus_hangs(tmux):
    """A backend that accepts connections and never answers: in-flight requests are abandoned on quit."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list = []

    def accept_forever() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            held.append(connection)  # never answered

    threading.Thread(target=accept_forever, daemon=True).start()
    try:
        port = listener.getsockname()[1]
        exit_file = tmux.start("vt", f"--prometheus http://127.0.0.1:{port} --refresh 1s")
        tmux.wait_screen("vt", lambda text: "Agent" in text and "Status" in text)
        time.sleep(1.0)  # the first poll's requests are in flight, waiting (10 s client timeout)
        assert held, "voicetop never connected"
        sent = time.monotonic()
        tmux.run("send-keys", "-t", "vt", "q")
        code = wait_file(exit_file, timeout=5)
        took = time.monotonic() - sent
        assert code == "0"
        assert took < 3.0, f"q took {took:.1f}s with a hung backend"
        note("quit with a hung backend", f"{took:.2f}s back to the shell")
    finally:
        listener.close()
        for connection in held:
            connection.close()
