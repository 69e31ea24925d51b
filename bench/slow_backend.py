"""(6) Responsiveness while Prometheus takes 10 s to answer.

A real Prometheus (the synthetic fleet) behind ``tests/support/fault_proxy``:
the console gets its first frame through the proxy in ``ok`` mode, then the
proxy delays every answer by ``delay`` seconds while keys are pressed in the
real headless App at 120×40; each keypress is timed to the next repaint.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from bench.common import Report, median, p95
from bench.fleet import END, fleet_prometheus
from bench.headless import RepaintClock, key_latencies, wait_until
from tests.support.fault_proxy import FaultProxy

KEY_TARGET_MS = 50.0


class FixedClock:
    """The Prometheus source with its clock at the synthetic fleet's end."""

    def __init__(self, source) -> None:
        self.inner, self.name = source, source.name

    def now(self) -> float:
        return END

    def fetch(self, window):
        return self.inner.fetch(window)

    def alerts(self):
        return self.inner.alerts()

    def close(self) -> None:
        self.inner.close()


async def measure(url: str, proxy: FaultProxy, delay: float, presses: int) -> dict:
    from voicetop.config import Config, Connection
    from voicetop.sources.prometheus import PrometheusSource
    from voicetop.ui.app import VoicetopApp

    source = FixedClock(PrometheusSource(Connection(url=url, timeout=delay + 5)))
    app = VoicetopApp(metrics=source, config=Config(refresh=1.0))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            clock = RepaintClock(app)
            await wait_until(pilot, lambda: app.frames_applied >= 1, 60, "the first frame")
            keys = (["down"] * 5 + ["up"] * 5 + ["s", "S"]) * (presses // 12 + 1)
            baseline = await key_latencies(pilot, clock, keys[:presses], gap=0.1)  # backend answering at once
            proxy.delay = delay
            proxy.set_mode("delay")
            polls = app.poller.polls
            await wait_until(pilot, lambda: app.poller.polls > polls, 10, "a poll in flight")
            started = time.perf_counter()
            latencies = await key_latencies(pilot, clock, keys[:presses], gap=0.1)
            during = time.perf_counter() - started
            in_flight = proxy.injected["delay"]
            proxy.set_mode("ok")
    finally:
        source.close()
    return {"latencies": latencies, "baseline": baseline, "during": during, "delayed": in_flight}


def run(report: Report, delay: float = 10.0, presses: int = 40, log=print) -> None:
    with tempfile.TemporaryDirectory(prefix="vt-bench-slow-") as tmp:
        with fleet_prometheus(10, Path(tmp), log) as prom, FaultProxy(prom.port) as proxy:
            found = asyncio.run(measure(proxy.url, proxy, delay, presses))
    lat = [x * 1000 for x in found["latencies"]]
    report.add("6 slow backend", f"keypress → repaint while Prometheus answers after {delay:g} s (median)",
               median(lat), "ms", KEY_TARGET_MS,
               note=f"p95 {p95(lat):.0f} ms over {len(lat)} keys in {found['during']:.1f} s; "
                    f"{found['delayed']} requests delayed")
    base = [x * 1000 for x in found["baseline"]]
    report.add("6 slow backend", "keypress → repaint, same keys with Prometheus answering at once (median)",
               median(base), "ms", note=f"p95 {p95(base):.0f} ms; the slow/fast ratio shows what the backend costs")
