"""How long a big waterfall takes: layout (worker thread) and opening it headless.

    .venv/bin/python bench/bench_waterfall.py [SPANS ...]

Prints, per span count, the time of ``lay_out`` (build_waterfall + dominant
stage, what the worker thread does) and of opening the WaterfallScreen in a
headless App until its first frame, plus how many row lines were rendered.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time

from voicetop.config import Config
from voicetop.domain.model import Alert, MetricsResult, Span, Trace, Window
from voicetop.ui.app import VoicetopApp
from voicetop.ui.screens.waterfall import WaterfallScreen, lay_out
from voicetop.ui.widgets.waterfall import WaterfallView

MS = 1_000_000
NAMES = ("stt_processing", "llm_inference", "tts_synthesis", "tool_invocation", "db query", "cache get")


def random_trace(count: int, seed: int = 11) -> Trace:
    """A ``voice_turn`` root and ``count - 1`` nested spans (depth ≤ 6) inside 4 s."""
    rng = random.Random(seed)
    t0 = 1_760_000_000 * 10**9
    root = Span("b" * 32, f"{0:016x}", None, "voice_turn", "bench", t0, t0 + 4000 * MS,
                {"session.id": "bench", "agent.id": "bench", "turn.index": 0})
    spans, depth = [root], {root.span_id: 0}
    while len(spans) < count:
        parent = rng.choice([s for s in spans[-60:] if depth[s.span_id] < 6] or [root])
        length = max(1, (parent.end_ns - parent.start_ns) // rng.randint(2, 8))
        start = parent.start_ns + rng.randint(0, max(0, parent.end_ns - parent.start_ns - length))
        span = Span(root.trace_id, f"{len(spans):016x}", parent.span_id, f"{rng.choice(NAMES)} #{len(spans)}",
                    "bench", start, start + length)
        depth[span.span_id] = depth[parent.span_id] + 1
        spans.append(span)
    return Trace(root.trace_id, tuple(spans))


class NoMetrics:
    """A metrics source with nothing in it (the bench only needs the App)."""

    name = "none"

    def now(self) -> float:
        return time.time()

    def fetch(self, window: Window) -> MetricsResult:
        return MetricsResult(window, {})

    def alerts(self) -> list[Alert]:
        return []

    def close(self) -> None:
        pass


class OneTrace:
    name = "bench-traces"

    def __init__(self, trace: Trace) -> None:
        self._trace = trace

    def trace(self, trace_id: str) -> Trace:
        return self._trace

    def close(self) -> None:
        pass


async def open_headless(trace: Trace) -> tuple[float, int]:
    built = 0
    original = WaterfallView._row_line

    def counting(self, row, width, selected):
        nonlocal built
        built += 1
        return original(self, row, width, selected)

    WaterfallView._row_line = counting
    app = VoicetopApp(metrics=NoMetrics(), traces=OneTrace(trace), config=Config(refresh=60))
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.pause()
            started = time.perf_counter()
            app.push_screen(WaterfallScreen(trace_id=trace.trace_id))
            while not (isinstance(app.screen, WaterfallScreen) and app.screen.laid_out is not None):
                await pilot.pause(0.005)
            await pilot.pause()
            return time.perf_counter() - started, built
    finally:
        WaterfallView._row_line = original


def main(counts: list[int]) -> None:
    print(f"{'spans':>6}  {'lay_out ms (median of 5)':>24}  {'open ms':>8}  {'lines rendered':>14}")
    for count in counts:
        trace = random_trace(count)
        layouts = []
        for _ in range(5):
            started = time.perf_counter()
            lay_out(trace, None, None)
            layouts.append(time.perf_counter() - started)
        opened, built = asyncio.run(open_headless(trace))
        print(f"{count:>6}  {statistics.median(layouts) * 1000:>24.1f}  {opened * 1000:>8.0f}  {built:>14}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [200, 2000, 10000])
