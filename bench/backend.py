"""(1) Backend cost: HTTP queries per refresh and refresh cycle time at fleet scale.

Against a real Prometheus holding a backfilled synthetic fleet of N agents:

- queries per refresh: HTTP requests the PrometheusSource makes in one poll
  (counted on its requests session), for each N — must not grow with N;
- refresh cycle: queries issued → Frame ready (``Poller.poll_once`` in a thread)
  → agent table updated and the screen repainted, in a real headless
  VoicetopApp at 120×40.  Each cycle moves the window one step (back), as
  time travel does, so values really change.  The source caches the settled
  steps of each query and asks only for the steps it lacks, so after the first
  (warm-up) cycle each query fetches one new step;
- live refresh: the same at 1,000 agents for a live console, whose source
  reads the steps of the last minute again (they may still get samples,
  :data:`~voicetop.sources.prometheus.increments.SETTLE`): the newest every
  refresh, each once more when it settles.  "new step": the window moves one
  step forward per cycle through the history, the source's clock at its end:
  each query asks for the new step and the one settled since (2 points).  "between steps": the
  refreshes until the next step (several per step), the same window: each
  query asks for its newest step again; nothing changes on screen, so the
  cycle ends when the frame is applied;
  Warm-up lasts until a cycle has no stale stat (a first window too big for
  the client timeout fills in over a few refreshes, up to 10 extra cycles);
- raw: exactly the range requests the source issued in that cycle (the same
  PromQL and the same start/end/step, see ``PrometheusSource.last_requests``)
  fired concurrently with plain httpx (JSON decoded with the standard
  library; asking the same ``Accept-Encoding`` as the console, so uncompressed
  from a loopback Prometheus), interleaved with the cycles, once the
  console's deferred collection after the repaint is done;
- recording rules: at the largest fleet (1,000 agents; 40 in the smoke run,
  so CI runs these paths too), the cycle again against the same fleet
  plus the series of voicetop's recording rules, read by a profile with
  ``recording_rules = true`` (stage quantiles and terms from recorded series);
- CPU: per cycle and per raw run, the CPU time of this process (voicetop's
  poll, table update and repaint; the raw client) and of the Prometheus
  process (``/proc/<pid>/stat``), to tell the console's share of a cycle
  from the server's on a machine where both share the cores.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import Report, median, p95
from bench.fleet import END, fleet_prometheus
from bench.headless import RepaintClock, wait_until
from bench.pty_run import cpu_seconds
from voicetop.sources.prometheus.http import answer_encoding

STEP = 15.0
WINDOW = 900.0
TARGET_P95_MS = 250.0
TARGET_RATIO = 1.3
#: Warm-up cycles allowed beyond ``warmup`` while the first window is still filling in.
MAX_EXTRA_WARMUP = 10


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

    def fetch_focus(self, window, agents):  # the agents on screen first (focus_first)
        return self.inner.fetch_focus(window, agents)

    def fetch_label_values(self, window):  # the change markers' query: every refresh of a real console
        return self.inner.fetch_label_values(window)

    def alerts(self):
        return self.inner.alerts()

    def close(self) -> None:
        self.inner.close()


def raw_client(url: str) -> httpx.AsyncClient:
    """The plain client of the raw runs: httpx's defaults, but the answer encoding the console asks of ``url``."""
    encoding = answer_encoding(url, {})
    return httpx.AsyncClient(timeout=180, headers={"Accept-Encoding": encoding} if encoding else None)


async def raw_cycle(client: httpx.AsyncClient, url: str, requests) -> float:
    """Seconds to fire the given range requests concurrently and decode all answers."""

    async def one(request) -> int:
        params = {"query": request.promql, "start": request.start, "end": request.end, "step": request.step}
        response = await client.get(f"{url}/api/v1/query_range", params=params)
        response.raise_for_status()
        return len(response.json()["data"]["result"])

    started = time.perf_counter()
    await asyncio.gather(*(one(r) for r in requests))
    return time.perf_counter() - started


def process_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) a process has used so far; 0 when it cannot be read."""
    if pid is None:
        return 0.0
    try:
        return cpu_seconds(pid)
    except (OSError, IndexError):
        return 0.0


def live_source(url: str, profile):
    """A PrometheusSource whose clock is set by the bench (``.clock``): live at a time in the history."""
    from voicetop.config import Connection
    from voicetop.sources.prometheus import PrometheusSource

    class SetClock(PrometheusSource):
        clock = END

        def now(self) -> float:
            return self.clock

    return SetClock(Connection(url=url), profile)


async def measure_fleet(
    url: str, cycles: int, warmup: int = 2, profile=None, server_pid: int | None = None, live: str | None = None,
    focused: bool = False,
) -> dict:
    """Cycles and raw runs against ``url``; ``live``: None (time travel back), ``"step"`` (live, a new step
    each cycle) or ``"between"`` (live, the same window: the refreshes between two steps).  ``focused``: each
    cycle first shows the console's focused frame (the agents on screen brought up to date, as a console
    at fleet scale does), timed on its own, then the full one."""
    from voicetop.config import Config, Connection
    from voicetop.gc_pause import holding
    from voicetop.poller import ViewWindow
    from voicetop.profiles.metrics import SEED
    from voicetop.sources.prometheus import PrometheusSource
    from voicetop.ui.app import VoicetopApp

    profile = profile or SEED
    source = CountingSource(live_source(url, profile) if live else PrometheusSource(Connection(url=url), profile))
    view = ViewWindow(WINDOW, STEP, END)
    app = VoicetopApp(metrics=source, config=Config(refresh=3600.0, window=WINDOW, step=STEP), view=view)
    from voicetop.sources.prometheus.evaluations import PROBE_LABEL

    cycle_times, frame_times, raw_times, requests, cells, failed = [], [], [], [], [], []
    panels_read, probes = [], []
    focus_times, focus_raw, focus_requests, focus_agents = [], [], [], []
    cycle_cpu, cycle_server_cpu, raw_cpu, raw_server_cpu = [], [], [], []
    agents = 0
    try:
        async with app.run_test(size=(120, 40)) as pilot, raw_client(url) as client:
            clock = RepaintClock(app)
            await wait_until(pilot, lambda: app.frames_applied >= 1, 300, "the first frame")
            await asyncio.to_thread(app.poller.stop, 5.0)  # the bench drives the polls itself
            table = app.screen.table
            panel_promql = {query.promql for query in source.inner.queries}
            measured = warmups = 0
            total = cycles + warmup + MAX_EXTRA_WARMUP
            for cycle in range(total):
                if live == "step":  # forward, one step per cycle, ending at the history's end
                    at = source.inner.clock = END - (total - 1 - cycle) * STEP
                elif live == "between":  # the same window each cycle, a minute before the history's end:
                    # END is a whole hour, where the 7-day baselines' new hour is read again while under a minute old
                    at = source.inner.clock = END - 4 * STEP
                else:  # back, one step from the frame on screen (never the same)
                    at = END - ((cycle + 1) % 40) * STEP
                app.poller.view = ViewWindow(WINDOW, STEP, at)
                focus = await focused_cycle(app, clock, pilot, client, url, source) if focused else None
                before = source.requests
                cpu, server_cpu = time.process_time(), process_cpu(server_pid)
                started = time.perf_counter()
                frame = await asyncio.to_thread(app.poller.poll_once)
                framed = time.perf_counter()
                app.apply_frame(frame)
                applied = time.perf_counter()
                if live == "between":  # the same values as on screen: nothing to repaint
                    done = applied
                elif focus is not None:  # the focused frame may have shown all that changes on screen
                    repainted = await clock.next_after(framed, timeout=NOTHING_TO_REPAINT)
                    done = framed + repainted if repainted is not None else applied
                else:
                    repainted = await clock.next_after(framed, timeout=5.0)
                    done = framed + repainted if repainted is not None else time.perf_counter()
                spent, server_spent = time.process_time() - cpu, process_cpu(server_pid) - server_cpu
                # the console collects the poll's leftovers after the repaint (gc_pause): let that
                # finish before timing the raw requests, so it does not slow them
                await wait_until(pilot, lambda: not holding(), 5.0, "the poll's deferred collection")
                cpu, server_cpu = time.process_time(), process_cpu(server_pid)
                raw = await raw_cycle(client, url, source.inner.last_requests)
                raw_spent, raw_server_spent = time.process_time() - cpu, process_cpu(server_pid) - server_cpu
                stale = len([k for k in (frame.health[0].message or "").split("; ") if k])
                agents = len(frame.agents)
                if cycle < warmup or (stale and not measured and cycle < warmup + MAX_EXTRA_WARMUP):
                    warmups += 1  # still filling the first window: not the steady state
                    continue
                if focus is not None:
                    focus_times.append(focus[0])
                    focus_raw.append(focus[1])
                    focus_requests.append(focus[2])
                    focus_agents.append(focus[3])
                cycle_times.append(done - started)
                frame_times.append(framed - started)
                raw_times.append(raw)
                requests.append(source.requests - before)
                issued = source.inner.last_requests
                probes.append(sum(PROBE_LABEL in request.promql for request in issued))
                panels_read.append(len({request.promql for request in issued} & panel_promql))
                cells.append(table.last_sync.updated_cells)
                failed.append(stale)
                cycle_cpu.append(spent)
                cycle_server_cpu.append(server_spent)
                raw_cpu.append(raw_spent)
                raw_server_cpu.append(raw_server_spent)
                measured += 1
                if measured == cycles:
                    break
    finally:
        source.close()
    return {
        "requests": max(requests), "agents": agents, "cycle": cycle_times, "frame": frame_times,
        "raw": raw_times, "cells": median(cells), "panel_queries": len(source.inner.queries),
        "panels_read": median(panels_read), "probes": median(probes),
        "failed": max(failed) if failed else 0, "warmups": warmups,
        "cpu": {"cycle": cycle_cpu, "cycle server": cycle_server_cpu, "raw": raw_cpu, "raw server": raw_server_cpu},
        "focus": {"cycle": focus_times, "raw": focus_raw, "requests": focus_requests, "agents": focus_agents,
                  "cycles": len(cycle_times)} if focused else None,
    }


async def focused_cycle(app, clock, pilot, client, url: str, source) -> tuple[float, float, int, int] | None:
    """The console's focused frame before a full poll: (seconds until repainted, raw seconds of the same
    requests fired together, requests, agents in focus); None when the poller made none."""
    from voicetop.gc_pause import holding

    issued_before = len(source.inner.last_requests)
    before = source.requests
    started = time.perf_counter()
    frame = await asyncio.to_thread(app.poller.poll_focused)
    framed = time.perf_counter()
    if frame is None:
        return None
    requests = source.requests - before
    app.apply_frame(frame)
    repainted = await clock.next_after(framed, timeout=5.0)
    done = framed + repainted if repainted is not None else time.perf_counter()
    await wait_until(pilot, lambda: not holding(), 5.0, "the focused poll's deferred collection")
    raw = await raw_cycle(client, url, source.inner.last_requests[issued_before:])
    return done - started, raw, requests, len(app.poller.focus)


#: After a focused frame, a full one that repaints nothing within this long (seconds) changed nothing on
#: screen (only agents out of view): its cycle ends when it is applied, as between steps.
NOTHING_TO_REPAINT = 0.5


#: How each live mode is named in the figures (None: time travel).
LIVE_MODES = {None: "", "step": ", live, new step", "between": ", live, between steps"}


#: Cycles of the agents-on-screen-first mode: its frames take ~0.1 s, so more of them cost little and
#: its p95 is then not just the slowest of a handful.
FOCUS_CYCLES = 40


def run(report: Report, counts=(10, 100, 1000), cycles: int = 20, warmup: int = 2, log=print) -> None:
    from dataclasses import replace

    from voicetop.profiles.metrics import SEED

    with tempfile.TemporaryDirectory(prefix="vt-bench-") as tmp:
        for count in counts:
            with fleet_prometheus(count, Path(tmp), log) as prom:
                # the largest fleet live too (in the smoke run as well, so CI runs every mode)
                for live in LIVE_MODES if count == max(counts) else (None,):
                    log(f"  backend: {count} agents{LIVE_MODES[live]}")
                    found = asyncio.run(measure_fleet(prom.url, cycles, warmup, server_pid=prom.process.pid, live=live))
                    name = f"{count:,} agents{LIVE_MODES[live]}" if live else f"{count} agents"
                    add_figures(report, name, found, count >= 1000)
        # the largest fleet again, its stage quantiles and terms read from recording rules (in the smoke
        # run too, so CI runs the recorded paths and the agents-on-screen-first mode)
        largest = max(counts)
        targets = largest >= 1000
        recording = replace(SEED, recording_rules=True)
        with fleet_prometheus(largest, Path(tmp), log, recorded=True) as prom:
            for live in LIVE_MODES:
                log(f"  backend: {largest} agents, recording rules{LIVE_MODES[live]}")
                found = asyncio.run(measure_fleet(prom.url, cycles, warmup, recording, server_pid=prom.process.pid,
                                                  live=live))
                add_figures(report, f"{largest:,} agents, recording rules{LIVE_MODES[live]}", found, targets)
            log(f"  backend: {largest} agents, recording rules, live, new step, agents on screen first")
            found = asyncio.run(measure_fleet(prom.url, max(cycles, FOCUS_CYCLES) if targets else cycles, warmup,
                                              recording, server_pid=prom.process.pid, live="step", focused=True))
            add_focus_figures(report, f"{largest:,} agents, recording rules, live, new step", found, targets)


def _panel_requests(found: dict) -> str:
    """What the source sent in a median cycle: how many of its panel queries, and the probe."""
    probe = " + the recording rules' probe" if found["probes"] else ""
    return f"{found['panels_read']:g} of {found['panel_queries']} panel queries sent{probe}"


def add_focus_figures(report: Report, fleet: str, found: dict, targets: bool = True) -> None:
    """The focused frame's rows (the agents on screen first), beside the full poll that followed it;
    ``targets``: held to the 1,000-agent targets."""
    section = "1 backend"
    focus = found["focus"]
    if not focus["cycle"]:
        report.add(section, f"focused frames, {fleet}", 0, "frames",
                   note=f"the poller made none in {focus['cycles']} cycles")
        return
    report.add(section, f"refresh cycle p95, {fleet}, agents on screen first", p95(focus["cycle"]) * 1000, "ms",
               TARGET_P95_MS if targets else None,
               note=f"median {median(focus['cycle']) * 1000:.0f} ms; {median(focus['agents']):.0f} agents in view; "
                    f"{max(focus['requests'])} requests (the probe and one per recorded panel); "
                    f"{len(focus['cycle'])} focused frames in {focus['cycles']} cycles; the full poll after it: "
                    f"p95 {p95(found['cycle']) * 1000:.0f} ms, median {median(found['cycle']) * 1000:.0f} ms")
    report.add(section, f"raw concurrent httpx p95, {fleet}, agents on screen first", p95(focus["raw"]) * 1000, "ms",
               note=f"median {median(focus['raw']) * 1000:.0f} ms")
    report.add(section, f"cycle / raw (medians), {fleet}, agents on screen first",
               median(focus["cycle"]) / median(focus["raw"]), "×", TARGET_RATIO if targets else None)


def add_figures(report: Report, fleet: str, found: dict, targets: bool) -> None:
    """The rows of one measured fleet; ``targets``: held to the 1,000-agent targets."""
    section = "1 backend"
    report.add(section, f"HTTP requests per refresh, {fleet}", found["requests"], "requests",
               note=f"{_panel_requests(found)} + change markers + alerts; "
                    f"{found['agents']} agents in the frame; {found['warmups']} warm-up cycles"
                    + (f"; up to {found['failed']} stats stale (failed or timed out, 10 s client timeout)"
                       if found["failed"] else ""))
    cycle95 = p95(found["cycle"]) * 1000
    raw95 = p95(found["raw"]) * 1000
    report.add(section, f"refresh cycle p95, {fleet}", cycle95, "ms", TARGET_P95_MS if targets else None,
               note=f"median {median(found['cycle']) * 1000:.0f} ms; poll→Frame median "
                    f"{median(found['frame']) * 1000:.0f} ms; {found['cells']:.0f} cells updated/cycle")
    report.add(section, f"raw concurrent httpx p95, {fleet}", raw95, "ms",
               note=f"median {median(found['raw']) * 1000:.0f} ms")
    report.add(section, f"cycle / raw (medians), {fleet}", median(found["cycle"]) / median(found["raw"]), "×",
               TARGET_RATIO if targets else None)
    if targets and found["cpu"]["cycle server"] and max(found["cpu"]["cycle server"]) > 0:
        cpu = {name: median(values) * 1000 for name, values in found["cpu"].items()}
        report.add(section, f"CPU per refresh, {fleet}: voicetop / Prometheus", cpu["cycle"], "ms",
                   note=f"Prometheus {cpu['cycle server']:.0f} ms; raw run: client {cpu['raw']:.0f} ms, "
                        f"Prometheus {cpu['raw server']:.0f} ms (medians; {os.cpu_count()} cores)")
