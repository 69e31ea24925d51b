"""(2) Host cost and (3) link cost in steady state, against baselines in the same run.

Every program runs at once, each on its own 120×40 pty that we drain: the real
``voicetop --demo --refresh 1s`` (and again with ``VOICETOP_LOW_BANDWIDTH=1``),
the minimal Textual app updating 150 table cells a second, and btop and htop at
a 1 s interval when installed.  After a warm-up, CPU time and RSS come from
``/proc/PID/stat`` and ``/proc/PID/status`` and the bytes written to the
terminal are counted over the measuring period.

To tell the console's own cost from the demo fleet's simulation (which runs in
the same process), the same console also replays a demo snapshot
(``voicetop open``, refreshed every second): same screen, no simulation, and
frames that never change, so no repaints either.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, VOICETOP, Report
from bench.pty_run import PtyProcess

CPU_TARGET = 2.0  # % of one core
#: The console replaying a demo snapshot: its polling and rendering without the simulation.
REPLAY = "voicetop open (demo snapshot replayed, 1 s)"
RSS_TARGET = 150.0  # MB
LINK_TARGET = 14.0  # KB/s


def targets(config_dir: Path) -> dict[str, tuple[list[str], dict]]:
    found: dict[str, tuple[list[str], dict]] = {
        "voicetop --demo --refresh 1s": ([VOICETOP, "--demo", "--refresh", "1s"], {}),
        "voicetop --demo --refresh 1s, low bandwidth": (
            [VOICETOP, "--demo", "--refresh", "1s"], {"VOICETOP_LOW_BANDWIDTH": "1"}),
        "minimal Textual app, 150 cells/s": ([sys.executable, str(ROOT / "bench" / "minimal_table_app.py")], {}),
    }
    snapshot = demo_snapshot(config_dir)
    if snapshot is not None:
        found[REPLAY] = ([VOICETOP, "--refresh", "1s", "open", str(snapshot)], {})
    if shutil.which("btop"):
        btop_config = config_dir / "btop"
        btop_config.mkdir(parents=True, exist_ok=True)
        (btop_config / "btop.conf").write_text("update_ms = 1000\nshow_battery = False\n")
        found["btop, 1 s"] = (["btop"], {"XDG_CONFIG_HOME": str(config_dir), "HOME": str(config_dir)})
    if shutil.which("htop"):
        found["htop, 1 s"] = (["htop", "-d", "10"], {"HOME": str(config_dir)})
    return found


def demo_snapshot(directory: Path) -> Path | None:
    """A snapshot of the demo fleet to replay (None if writing it failed)."""
    path = directory / "demo-snapshot.json"
    command = [VOICETOP, "snapshot", "--demo", "-o", str(path), "--no-markdown", "--no-svg"]
    done = subprocess.run(command, capture_output=True, timeout=120)
    return path if done.returncode == 0 and path.exists() else None


def run(report: Report, warmup: float = 8.0, duration: float = 60.0, log=print) -> dict[str, dict]:
    """Measure every target at once; returns {name: {cpu_pct, rss_mb, kbps}}."""
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="vt-bench-host-") as tmp:
        running = {name: PtyProcess(cmd, 120, 40, env=env, cwd=tmp) for name, (cmd, env) in targets(Path(tmp)).items()}
        try:
            time.sleep(warmup)
            first = {name: proc.sample() for name, proc in running.items()}
            peaks = {name: sample.rss for name, sample in first.items()}
            deadline = time.perf_counter() + duration
            while time.perf_counter() < deadline:
                time.sleep(min(1.0, max(0.0, deadline - time.perf_counter())))
                for name, proc in running.items():
                    if proc.process.poll() is None:
                        peaks[name] = max(peaks[name], proc.sample().rss)
            for name, proc in running.items():
                if proc.process.poll() is not None:
                    log(f"  host: {name} exited early (status {proc.process.returncode})")
                    continue
                last = proc.sample()
                start = first[name]
                wall = last.wall - start.wall
                results[name] = {
                    "cpu_pct": 100.0 * (last.cpu - start.cpu) / wall,
                    "rss_mb": peaks[name] / 1e6,
                    "kbps": (last.written - start.written) / wall / 1000.0,
                }
        finally:
            for proc in running.values():
                proc.stop()
    voicetop = "voicetop --demo --refresh 1s"
    for name, found in results.items():
        is_voicetop = name.startswith("voicetop")
        report.add("2 host", f"CPU, {name}", found["cpu_pct"], "% of a core", CPU_TARGET if is_voicetop else None)
        report.add("2 host", f"peak RSS, {name}", found["rss_mb"], "MB", RSS_TARGET if is_voicetop else None)
        report.add("3 link", f"bytes to the terminal, {name}", found["kbps"], "KB/s",
                   LINK_TARGET if is_voicetop else None)
    if voicetop in results and REPLAY in results:
        report.add("2 host", "CPU, demo run − replay run (the simulation, and repaints as values move)",
                   results[voicetop]["cpu_pct"] - results[REPLAY]["cpu_pct"], "% of a core")
    if voicetop in results:
        for name, found in results.items():
            if name.startswith("voicetop"):  # the low-bandwidth and replay runs too
                continue
            if found["cpu_pct"] > 0:
                report.add("2 host", f"voicetop CPU / {name}", results[voicetop]["cpu_pct"] / found["cpu_pct"], "×")
            if found["kbps"] > 0:
                report.add("3 link", f"voicetop bytes / {name}", results[voicetop]["kbps"] / found["kbps"], "×")
    return results
