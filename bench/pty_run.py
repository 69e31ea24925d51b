"""Run a terminal program under a pseudo-terminal we own and measure it.

:class:`PtyProcess` starts a command as a session leader with a pty of a given
size as its controlling terminal, drains everything it writes (counting bytes
with timestamps) and samples its CPU time and RSS from ``/proc``.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import threading
import time
from dataclasses import dataclass

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far, not its children."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _set_size(fd: int, columns: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


@dataclass
class Sample:
    wall: float
    cpu: float  # seconds of user+system time
    rss: int  # bytes
    written: int  # bytes written to the terminal so far


class PtyProcess:
    """A command on a ``columns``×``rows`` pty; output drained and counted."""

    def __init__(self, command: list[str], columns: int = 120, rows: int = 40, env: dict | None = None,
                 cwd: str | None = None, keep_output: bool = False) -> None:
        self.command = command
        self.keep_output = keep_output
        self.output = bytearray()
        master, slave = os.openpty()
        _set_size(slave, columns, rows)
        environment = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": "C.UTF-8",
                       "LC_ALL": "C.UTF-8", "COLUMNS": str(columns), "LINES": str(rows)}
        environment.update(env or {})

        def controlling_tty() -> None:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command, stdin=slave, stdout=slave, stderr=slave, env=environment, cwd=cwd,
            start_new_session=True, preexec_fn=controlling_tty, close_fds=True,
        )
        os.close(slave)
        self.master = master
        self.written = 0
        self.chunks: list[tuple[float, int]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._drain, name="pty-drain", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _drain(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            now = time.perf_counter()
            with self._lock:
                self.written += len(data)
                self.chunks.append((now, len(data)))
                if self.keep_output:
                    self.output += data

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def sample(self) -> Sample:
        """CPU seconds and RSS of the process (not its children) right now."""
        cpu = cpu_seconds(self.pid)
        rss = 0
        with open(f"/proc/{self.pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                    break
        with self._lock:
            written = self.written
        return Sample(time.perf_counter(), cpu, rss, written)

    def wait_for_output(self, needle: bytes, timeout: float) -> float | None:
        """Seconds from start until ``needle`` appeared in the output (keep_output must be on)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self._lock:
                if needle in self.output:
                    return self._found_at(needle)
            if self.process.poll() is not None:
                return None
            time.sleep(0.005)
        return None

    def _found_at(self, needle: bytes) -> float:
        # the chunk that completed the needle: first prefix of the output holding it
        end = self.output.find(needle) + len(needle)
        total = 0
        for when, size in self.chunks:
            total += size
            if total >= end:
                return when - self.started
        return time.perf_counter() - self.started

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._stop.set()
        self._reader.join(2)
        os.close(self.master)
