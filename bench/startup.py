"""(4) Startup: ``voicetop --version`` and the first frame with data in ``--demo``.

``--version`` is timed as a whole process (fork to exit), against ``python -c
pass`` from the same interpreter in the same run.  The first frame with data is
timed from spawning ``voicetop --demo`` on a 120×40 pty until the terminal has
received the LIVE badge and agent rows (they are drawn only once a Frame is
there).  The CPU seconds the process had used by then are reported too: on a
loaded machine they move much less than the wall time.
"""

from __future__ import annotations

import subprocess
import sys
import time

from bench.common import VOICETOP, Report, median
from bench.pty_run import PtyProcess

VERSION_TARGET_MS = 150.0
FIRST_FRAME_TARGET_S = 1.0
#: Drawn only with a frame: the header's LIVE badge and demo agent ids.
DATA_MARKERS = (b"LIVE", b"billing-agent", b"support-en", b"booking")


def _run_time(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return time.perf_counter() - started


def first_frame_seconds(timeout: float = 20.0) -> tuple[float, float] | None:
    """(wall seconds, CPU seconds of the process) until the first frame with data, or None."""
    proc = PtyProcess([VOICETOP, "--demo"], 120, 40, keep_output=True)
    try:
        found = [proc.wait_for_output(marker, timeout) for marker in DATA_MARKERS]
        cpu = proc.sample().cpu if all(f is not None for f in found) else None
    finally:
        proc.stop()
    return None if cpu is None else (max(found), cpu)


def run(report: Report, repeats: int = 15, frame_repeats: int = 5) -> None:
    version, python = [], []
    for _ in range(repeats):  # interleaved so both see the same machine load
        version.append(_run_time([VOICETOP, "--version"]))
        python.append(_run_time([sys.executable, "-c", "pass"]))
    report.add("4 startup", "voicetop --version (median)", median(version) * 1000, "ms", VERSION_TARGET_MS,
               note=f"python -c pass: {median(python) * 1000:.0f} ms in the same run")
    frames = [f for f in (first_frame_seconds() for _ in range(frame_repeats)) if f is not None]
    report.add("4 startup", "voicetop --demo: first frame with data (median)", median([w for w, _ in frames]), "s",
               FIRST_FRAME_TARGET_S, note=f"{len(frames)}/{frame_repeats} runs drew data")
    report.add("4 startup", "voicetop --demo: CPU seconds used by the first frame (median)",
               median([c for _, c in frames]), "s", note="all threads, read when the frame arrived")
