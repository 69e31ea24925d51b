"""(1) Backend cost: HTTP queries per refresh and refresh cycle time at fleet scale.

Against a real Prometheus holding a backfilled synthetic fleet of N agents:

- queries per refresh: HTTP requests the PrometheusSource makes in one poll
  (counted on its requests session), for each N — must not grow with N;
- refresh cycle: queries issued → Frame ready (``Poller.poll_once`` in a thread)
  → agent table updated and the screen repainted, in a real headless
  VoicetopApp at 120×40.  Each cycle moves the window one step, as a live
  console does every step, so values really change;
- raw: the same PromQL strings with the same range parameters fired
  concurrently with plain httpx (JSON decoded), interleaved with the cycles.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import Report, median, p95
from bench.fleet import END, fleet_prometheus
from bench.headless import RepaintClock, wait_until

STEP = 15.0
WINDOW = 900.0
TARGET_P95_MS = 250.0
TARGET_RATIO = 1.3


class CountingSource:
    """Wraps a PrometheusSource, counting the HTTP requests it makes."""

    def __init__(self, source) -> None:
        self.inner = source
        self.name = source.name
        self.requests = 0
        session = source._client._session
        send = session.send

        def counting_send(request, **kwargs):  # counted when issued, answered or not
            self.requests += 1
            return send(request, **kwargs)

        session.send = counting_send

    def now(self) -> float:
        return END

    def fetch(self, window):
        return self.inner.fetch(window)

    def alerts(self):
        return self.inner.alerts()

    def close(self) -> None:
        self.inner.close()


async def raw_cycle(client: httpx.AsyncClient, url: str, queries, window) -> float:
    """Seconds to fire every panel query concurrently and decode all answers."""
    params = {"start": f"{window.start:.3f}", "end": f"{window.end:.3f}", "step": f"{window.step:g}"}

    async def one(promql: str) -> int:
        response = await client.get(f"{url}/api/v1/query_range", params={"query": promql, **params})
        response.raise_for_status()
        return len(response.json()["data"]["result"])

    started = time.perf_counter()
    await asyncio.gather(*(one(q.promql) for q in queries))
    return time.perf_counter() - started


async def measure_fleet(url: str, cycles: int, warmup: int = 2) -> dict:
    from voicetop.config import Config, Connection
    from voicetop.poller import ViewWindow
    from voicetop.sources.prometheus import PrometheusSource
    from voicetop.ui.app import VoicetopApp

    source = CountingSource(PrometheusSource(Connection(url=url)))
    view = ViewWindow(WINDOW, STEP, END)
    app = VoicetopApp(metrics=source, config=Config(refresh=3600.0, window=WINDOW, step=STEP), view=view)
    cycle_times, frame_times, raw_times, requests, cells, failed = [], [], [], [], [], []
    agents = 0
    try:
        async with app.run_test(size=(120, 40)) as pilot, httpx.AsyncClient(timeout=180) as client:
            clock = RepaintClock(app)
            await wait_until(pilot, lambda: app.frames_applied >= 1, 300, "the first frame")
            await asyncio.to_thread(app.poller.stop, 5.0)  # the bench drives the polls itself
            table = app.screen.table
            for cycle in range(cycles + warmup):
                at = END - (cycle % 40) * STEP
                app.poller.view = ViewWindow(WINDOW, STEP, at)
                before = source.requests
                started = time.perf_counter()
                frame = await asyncio.to_thread(app.poller.poll_once)
                framed = time.perf_counter()
                app.apply_frame(frame)
                repainted = await clock.next_after(framed, timeout=5.0)
                done = framed + repainted if repainted is not None else time.perf_counter()
                raw = await raw_cycle(client, url, source.inner.queries, ViewWindow(WINDOW, STEP, at).resolve(END))
                if cycle >= warmup:
                    cycle_times.append(done - started)
                    frame_times.append(framed - started)
                    raw_times.append(raw)
                    requests.append(source.requests - before)
                    cells.append(table.last_sync.updated_cells)
                agents = len(frame.agents)
                failed.append(len([k for k in (frame.health[0].message or "").split("; ") if k]))
    finally:
        source.close()
    return {
        "requests": max(requests), "agents": agents, "cycle": cycle_times, "frame": frame_times,
        "raw": raw_times, "cells": median(cells), "panel_queries": len(source.inner.queries),
        "failed": max(failed) if failed else 0,
    }


def run(report: Report, counts=(10, 100, 1000), cycles: int = 20, warmup: int = 2, log=print) -> None:
    with tempfile.TemporaryDirectory(prefix="vt-bench-") as tmp:
        for count in counts:
            log(f"  backend: {count} agents")
            with fleet_prometheus(count, Path(tmp), log) as prom:
                runs = cycles if count < 1000 else max(3, cycles // 3)  # a 1,000-agent cycle takes seconds
                found = asyncio.run(measure_fleet(prom.url, runs, warmup))
            section = "1 backend"
            report.add(section, f"HTTP requests per refresh, {count} agents", found["requests"], "requests",
                       note=f"{found['panel_queries']} panel queries + alerts; {found['agents']} agents in the frame"
                            + (f"; up to {found['failed']} stats timed out (10 s client timeout)" if found["failed"] else ""))
            cycle95 = p95(found["cycle"]) * 1000
            raw95 = p95(found["raw"]) * 1000
            report.add(section, f"refresh cycle p95, {count} agents", cycle95, "ms",
                       TARGET_P95_MS if count >= 1000 else None,
                       note=f"median {median(found['cycle']) * 1000:.0f} ms; poll→Frame median "
                            f"{median(found['frame']) * 1000:.0f} ms; {found['cells']:.0f} cells updated/cycle")
            report.add(section, f"raw concurrent httpx p95, {count} agents", raw95, "ms",
                       note=f"median {median(found['raw']) * 1000:.0f} ms")
            report.add(section, f"cycle / raw (medians), {count} agents",
                       median(found["cycle"]) / median(found["raw"]), "×",
                       TARGET_RATIO if count >= 1000 else None)
