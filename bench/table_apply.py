"""Applying a 1,000-agent Frame to the fleet screen: ``apply_frame`` → repainted.

    .venv/bin/python -m bench.table_apply                 # replay recorded frames (records them first)
    .venv/bin/python -m bench.table_apply --record        # record again from a real Prometheus
    .venv/bin/python -m bench.table_apply --synthetic     # in-memory frames, no Prometheus needed

Frames come from the real thing: a backfilled 1,000-agent Prometheus
(:func:`bench.fleet.fleet_prometheus`) polled by ``PrometheusSource`` +
``Poller.poll_once`` with the window moved one step per frame, as the backend
bench does — so nearly every agent's values change from one frame to the next.
They are pickled once (polling takes seconds each) and replayed there and back
(each frame one step from the last) into a real headless ``VoicetopApp`` at
120×40; each cycle times ``app.apply_frame`` alone and up to the next composited
repaint (:class:`bench.headless.RepaintClock`).
"""

from __future__ import annotations

import argparse
import asyncio
import pickle
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # tests.support is the shared server harness
    sys.path.insert(0, str(ROOT))

from bench.common import median, p95  # noqa: E402
from bench.headless import RepaintClock, wait_until  # noqa: E402

AGENTS = 1000
STEP = 15.0
WINDOW = 900.0
TARGET_MS = 60.0
RECORDED = Path(tempfile.gettempdir()) / f"voicetop-bench-frames-{AGENTS}.pickle"


def record_frames(count: int, path: Path = RECORDED, log=print) -> list:
    """Poll ``count`` frames from a real 1,000-agent Prometheus, one window step apart."""
    from bench.fleet import END, fleet_prometheus
    from voicetop.config import Config, Connection
    from voicetop.poller import Poller, ViewWindow
    from voicetop.sources.prometheus import PrometheusSource

    frames = []
    with tempfile.TemporaryDirectory(prefix="vt-bench-") as tmp, fleet_prometheus(AGENTS, Path(tmp), log) as prom:
        source = PrometheusSource(Connection(url=prom.url))
        poller = Poller(source, Config().context.thresholds, lambda frame: None, refresh=3600.0)
        try:
            for index in range(count + 1):  # the first poll fills the step cache: not kept
                poller.view = ViewWindow(WINDOW, STEP, END - index * STEP)
                started = time.perf_counter()
                frame = poller.poll_once()
                log(f"    frame {index}: {len(frame.agents)} agents, {time.perf_counter() - started:.1f} s")
                if index:
                    frames.append(frame)
        finally:
            source.close()
    path.write_bytes(pickle.dumps(frames))
    return frames


def synthetic_frames(count: int) -> list:
    """Frames of :class:`bench.synthetic.MovingMetrics` (1,000 agents), one step apart."""
    from bench.synthetic import MovingMetrics
    from voicetop.config import Config
    from voicetop.poller import Poller, ViewWindow

    source = MovingMetrics(agents=AGENTS, step=STEP)
    poller = Poller(source, Config().context.thresholds, lambda frame: None, refresh=3600.0)
    frames = []
    for _ in range(count):
        poller.view = ViewWindow(WINDOW, STEP, None)
        frames.append(poller.poll_once())
    return frames


class StillMetrics:
    """A metrics source with no agents: the app's own poller is stopped after its first frame.

    That first poll answers after a pause, as a real source does: a frame applied
    before the fleet screen has mounted its widgets fails half-way (and the app's
    ``gc.freeze`` after the first frame never runs)."""

    name = "replay"

    def now(self) -> float:
        return 0.0

    def fetch(self, window):
        from voicetop.domain.model import MetricsResult

        time.sleep(0.5)
        return MetricsResult(window=window, series={})

    def alerts(self):
        return []

    def close(self) -> None:
        pass


async def measure(frames: list, cycles: int, warmup: int = 3, size=(120, 40)) -> dict:
    """Apply the frames in turn; seconds of apply_frame alone and up to the repaint."""
    from voicetop.config import Config
    from voicetop.ui.app import VoicetopApp

    app = VoicetopApp(metrics=StillMetrics(), config=Config(refresh=3600.0))
    applied, repainted, cells, rows = [], [], [], []
    async with app.run_test(size=size) as pilot:
        clock = RepaintClock(app)
        await wait_until(pilot, lambda: app.frames_applied >= 1, 30, "the first frame")
        await asyncio.to_thread(app.poller.stop, 5.0)
        table = app.screen.table
        # there and back (0…11, 10…1, 0…): each frame is one window step from the last
        order = frames + frames[-2:0:-1]
        for cycle in range(cycles + warmup):
            frame = order[cycle % len(order)]
            await pilot.pause(0.05)  # let the previous repaint settle, as between polls
            started = time.perf_counter()
            app.apply_frame(frame)
            done = time.perf_counter()
            latency = await clock.next_after(done, timeout=5.0)
            if cycle < warmup:
                continue
            applied.append(done - started)
            repainted.append((done - started) + (latency if latency is not None else 5.0))
            cells.append(table.last_sync.updated_cells)
            rows.append(table.row_count)
    return {"apply": applied, "total": repainted, "cells": median(cells), "rows": median(rows)}


def load_frames(record: bool, synthetic: bool, count: int, log=print) -> list:
    if synthetic:
        log(f"  building {count} synthetic frames of {AGENTS} agents…")
        return synthetic_frames(count)
    if record or not RECORDED.exists():
        log(f"  recording {count} frames from a real {AGENTS}-agent Prometheus into {RECORDED}…")
        return record_frames(count)
    return pickle.loads(RECORDED.read_bytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.table_apply", description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="record the frames again (real Prometheus)")
    parser.add_argument("--synthetic", action="store_true", help="in-memory frames instead of recorded ones")
    parser.add_argument("--frames", type=int, default=10, help="frames to record or build")
    parser.add_argument("--cycles", type=int, default=40, help="measured apply cycles")
    parser.add_argument("--runs", type=int, default=1, help="repeat the whole measurement")
    args = parser.parse_args(argv)
    frames = load_frames(args.record, args.synthetic, args.frames)
    print(f"  {len(frames)} frames, {len(frames[0].agents)} agents each")
    for run in range(args.runs):
        found = asyncio.run(measure(frames, args.cycles))
        total, apply = found["total"], found["apply"]
        print(f"  run {run + 1}: apply_frame + repaint median {median(total) * 1000:.1f} ms, "
              f"p95 {p95(total) * 1000:.1f} ms (target median ≤ {TARGET_MS:.0f} ms); "
              f"apply_frame alone median {median(apply) * 1000:.1f} ms, p95 {p95(apply) * 1000:.1f} ms; "
              f"{found['rows']:.0f} rows, {found['cells']:.0f} cells updated/cycle", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
