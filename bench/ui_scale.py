"""(5) Scale in the UI, with the real App headless at 120×40.

- 10,000 live sessions in the sessions screen, refreshed every second (a tenth
  of them change per refresh): keypress → repaint while the updates run;
- a 2,000-span waterfall: open time, and keypress → repaint while scrolling;
- memory: RSS growth over many poll → apply_frame → table sync → repaint cycles,
  in a fresh interpreter (RSS keeps the high-water mark of whatever ran before).
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import time

from bench.common import ROOT, Report, median, p95
from bench.headless import RepaintClock, key_latencies, wait_until
from bench.synthetic import ManySessions, MovingMetrics

KEY_TARGET_MS = 50.0
WATERFALL_OPEN_TARGET_MS = 200.0
MEMORY_TARGET_MB = 5.0


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def sessions_keys(count: int, presses: int) -> dict:
    from voicetop.config import Config
    from voicetop.ui.app import VoicetopApp
    from voicetop.ui.screens.sessions import SessionsScreen
    from voicetop.ui.widgets import sessions_table

    sessions_table.SESSION_LIMIT, sessions_table.REFRESH_SECONDS = count, 1.0  # 10,000 rows, 1 s updates
    traces = ManySessions(count)
    app = VoicetopApp(metrics=MovingMetrics(advance=False), traces=traces, config=Config(refresh=1.0))
    async with app.run_test(size=(120, 40)) as pilot:
        clock = RepaintClock(app)
        await wait_until(pilot, lambda: app.frame is not None, 30, "a frame")
        app.push_screen(SessionsScreen("agent-0000"))
        started = time.perf_counter()
        def loaded_rows() -> bool:
            panels = app.screen.query(sessions_table.SessionsPanel)
            return bool(panels) and panels.first().table.row_count == count

        await wait_until(pilot, loaded_rows, 120, f"{count} session rows")
        loaded = time.perf_counter() - started
        calls = traces.calls
        keys = (["down"] * 8 + ["pagedown"] * 2 + ["up"] * 4 + ["s"]) * (presses // 15 + 1)
        latencies = await key_latencies(pilot, clock, keys[:presses], gap=0.07)
        updates = traces.calls - calls
    return {"latencies": latencies, "loaded": loaded, "updates": updates}


def first_frame_where(app, predicate) -> list[float]:
    """A list that gets the time of the first composited repaint after which ``predicate(screen)`` holds."""
    found: list[float] = []
    display = app._display

    def watched(screen, renderable):
        display(screen, renderable)
        if renderable is not None and not found and predicate(screen):
            found.append(time.perf_counter())

    app._display = watched
    return found


async def waterfall(spans: int, opens: int, presses: int) -> dict:
    """Open: push_screen → the first repaint showing the laid-out waterfall (and → the last
    repaint of the open, once 0.25 s pass without one).  Keys: key → repaint settled."""
    from bench.bench_waterfall import NoMetrics, OneTrace, random_trace
    from voicetop.config import Config
    from voicetop.ui.app import VoicetopApp
    from voicetop.ui.screens.waterfall import WaterfallScreen

    trace = random_trace(spans)
    open_times, settle_times, latencies = [], [], []
    for attempt in range(opens):
        app = VoicetopApp(metrics=NoMetrics(), traces=OneTrace(trace), config=Config(refresh=60))
        async with app.run_test(size=(120, 40)) as pilot:
            clock = RepaintClock(app)
            shown = first_frame_where(app, lambda s: isinstance(s, WaterfallScreen) and s.laid_out is not None)
            await pilot.pause()
            gc.collect()  # the earlier runs' apps, not this open, should pay for their garbage
            started = time.perf_counter()
            app.push_screen(WaterfallScreen(trace_id=trace.trace_id))
            await wait_until(pilot, lambda: bool(shown), 30, "the waterfall on screen")
            open_times.append(shown[0] - started)
            give_up = time.perf_counter() + 3.0
            while time.perf_counter() - clock.last < 0.25 and time.perf_counter() < give_up:
                await pilot.pause(0.02)  # until the open's burst of repaints is over
            settle_times.append(clock.last - started)
            if attempt == 0:
                keys = (["j"] * 10 + ["pagedown"] * 3 + ["k"] * 5 + ["G", "g"]) * (presses // 20 + 1)
                latencies = await key_latencies(pilot, clock, keys[:presses], gap=0.03)
    return {"open": open_times, "settled": settle_times, "latencies": latencies}


async def memory_growth(cycles: int, warmup: int, agents: int = 12) -> dict:
    from voicetop.config import Config
    from voicetop.ui.app import VoicetopApp

    source = MovingMetrics(agents=agents, step=1.0)  # 1 s refreshes: the 15 s window moves every 15th
    app = VoicetopApp(metrics=source, config=Config(refresh=3600.0))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.frames_applied >= 1, 30, "a frame")
        await asyncio.to_thread(app.poller.stop, 5.0)
        before = None
        trend: list[float] = []
        started = time.perf_counter()
        for cycle in range(warmup + cycles):
            if cycle == warmup:
                gc.collect()
                await pilot.pause()
                before = rss_mb()
                started = time.perf_counter()
            app.apply_frame(app.poller.poll_once())
            await pilot.pause()
            if cycle >= warmup and (cycle - warmup) % max(1, cycles // 5) == 0:
                trend.append(round(rss_mb(), 1))
        gc.collect()
        await pilot.pause()
        after = rss_mb()
        elapsed = time.perf_counter() - started
    return {"growth": after - before, "before": before, "after": after, "per_cycle_ms": elapsed / cycles * 1000,
            "trend": trend}


def memory_in_fresh_process(cycles: int, warmup: int) -> dict:
    """:func:`memory_growth` in a new interpreter: a fresh heap, not one the other sections grew.

    RSS rarely shrinks, so in a process that already held 1,000-agent frames (the
    backend section) or 10,000 sessions, growth would hide under the high-water mark.
    """
    code = ("import asyncio, json, sys; from bench.ui_scale import memory_growth; "
            f"json.dump(asyncio.run(memory_growth({int(cycles)}, {int(warmup)})), sys.stdout)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


PARTS = ("memory", "sessions", "waterfall")


def run(report: Report, sessions: int = 10_000, presses: int = 60, spans: int = 2000, opens: int = 5,
        cycles: int = 10_000, warmup: int = 300, parts: tuple[str, ...] = PARTS) -> None:
    if "memory" in parts:
        memory = memory_in_fresh_process(cycles, warmup)
    if "sessions" in parts:
        report_sessions(report, sessions, presses)
    if "waterfall" in parts:
        report_waterfall(report, spans, opens, presses)
    if "memory" in parts:
        report_memory(report, memory, cycles, warmup)


def report_sessions(report: Report, sessions: int, presses: int) -> None:
    found = asyncio.run(sessions_keys(sessions, presses))
    lat = [x * 1000 for x in found["latencies"]]
    report.add("5 UI scale", f"keypress → repaint, {sessions:,} live sessions (median)", median(lat), "ms",
               KEY_TARGET_MS, note=f"p95 {p95(lat):.0f} ms, max {max(lat):.0f} ms over {len(lat)} keys; "
                                   f"{found['updates']} table updates meanwhile; first load {found['loaded']:.1f} s")


def report_waterfall(report: Report, spans: int, opens: int, presses: int) -> None:
    found = asyncio.run(waterfall(spans, opens, presses))
    opened = [x * 1000 for x in found["open"]]
    report.add("5 UI scale", f"{spans:,}-span waterfall opens (median of {opens})", median(opened), "ms",
               WATERFALL_OPEN_TARGET_MS, note=f"push → first repaint showing it; max {max(opened):.0f} ms; "
                                              f"settled (last repaint of the open) median "
                                              f"{median(found['settled']) * 1000:.0f} ms")
    lat = [x * 1000 for x in found["latencies"]]
    report.add("5 UI scale", f"keypress → repaint, scrolling the {spans:,}-span waterfall (median)", median(lat),
               "ms", KEY_TARGET_MS, note=f"p95 {p95(lat):.0f} ms over {len(lat)} keys")


def report_memory(report: Report, found: dict, cycles: int, warmup: int) -> None:
    report.add("5 UI scale", f"RSS growth over {cycles:,} refresh cycles", found["growth"], "MB", MEMORY_TARGET_MB,
               note=f"{found['before']:.0f} → {found['after']:.0f} MB after {warmup} warm-up cycles; "
                    f"{found['per_cycle_ms']:.1f} ms per poll→frame→sync→repaint cycle; RSS trend {found['trend']}")


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.ui_scale sessions --sessions 10000``: one part of section 5 alone."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.ui_scale", description=main.__doc__)
    parser.add_argument("parts", nargs="*", metavar="PART", help=f"any of {', '.join(PARTS)} (default: all)")
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--opens", type=int, default=5, help="waterfall opens to take the median of")
    args = parser.parse_args(argv)
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    report = Report()
    run(report, sessions=args.sessions, presses=args.presses, opens=args.opens, parts=tuple(args.parts or PARTS))
    print(report.markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
