"""Drive the installed ``voicetop`` in a private tmux server (``tmux -L <name>``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

VOICETOP = Path(sys.executable).parent / "voicetop"


class Tmux:
    """One private tmux server; sessions run a command in a shell that records its exit code."""

    def __init__(self, workdir: Path) -> None:
        self.socket = f"voicetop-rel-{uuid.uuid4().hex[:10]}"
        self.workdir = Path(workdir)
        self.config = self.workdir / "none.toml"
        self.config.write_text("")

    def run(self, *args: str, check: bool = False) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.socket, "-f", os.devnull, *args],
                              capture_output=True, text=True, timeout=10, check=check)

    def start(self, name: str, voicetop_args: str, env: str = "", width: int = 120, height: int = 40) -> Path:
        """Start ``voicetop <args>`` in session ``name``; returns the file its exit code lands in."""
        exit_file = self.workdir / f"{name}.exit"
        command = (
            f"cd {self.workdir} && env -u COLUMNS -u LINES TERM=xterm-256color VOICETOP_CONFIG={self.config} "
            f"{env} {VOICETOP} {voicetop_args}; echo $? > {exit_file}; sleep 60"
        )
        done = self.run("new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), command)
        assert done.returncode == 0, done.stderr
        self.run("resize-window", "-t", name, "-x", str(width), "-y", str(height))
        return exit_file

    def capture(self, name: str) -> str:
        return self.run("capture-pane", "-p", "-t", name).stdout

    def flags(self, name: str) -> dict[str, str]:
        """Terminal modes of the pane (alternate screen, mouse reporting, cursor visible)."""
        keys = ("alternate_on", "mouse_any_flag", "mouse_button_flag", "mouse_sgr_flag", "cursor_flag")
        out = self.run("display-message", "-p", "-t", name, " ".join(f"#{{{k}}}" for k in keys)).stdout.split()
        return dict(zip(keys, out))

    def wait_screen(self, name: str, predicate, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.capture(name)
            if predicate(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"timed out; last screen of {name}:\n{text}")

    def voicetop_pid(self, name: str) -> int:
        """The voicetop process: the child of the pane's shell."""
        shell = int(self.run("display-message", "-p", "-t", name, "#{pane_pid}").stdout.strip())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                fields = stat.rsplit(")", 1)[1].split()
                if int(fields[1]) == shell:
                    return int(entry)
            time.sleep(0.1)
        raise AssertionError("voicetop process not found under the pane's shell")

    def kill_server(self) -> None:
        self.run("kill-server")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_file(path: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path.name} not written within {timeout:g}s")


def fleet_shown(text: str) -> bool:
    return "Agent" in text and "Status" in text and "Breaches" in text
