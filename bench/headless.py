"""Timing a real VoicetopApp headless: when did the screen last repaint?

Textual's headless driver still lays out and composites every update; only the
final write to the terminal is skipped.  :class:`RepaintClock` wraps
``App._display`` (called with each composited update) so a bench can time
"something happened → the screen was repainted".
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable


class RepaintClock:
    """Counts composited updates of an app and wakes waiters on each one."""

    def __init__(self, app) -> None:
        self.app = app
        self.count = 0
        self.last = 0.0
        self._event = asyncio.Event()
        original = app._display

        def display(screen, renderable):
            original(screen, renderable)
            if renderable is not None:
                self.count += 1
                self.last = time.perf_counter()
                self._event.set()

        app._display = display

    async def next_after(self, started: float, timeout: float = 2.0) -> float | None:
        """Seconds from ``started`` to the first repaint after it (None on timeout)."""
        deadline = time.perf_counter() + timeout
        while self.last < started:
            self._event.clear()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self._event.wait(), remaining)
            except asyncio.TimeoutError:
                return None
        return self.last - started


async def wait_until(pilot, predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.01)
    raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")


async def key_latencies(pilot, clock: RepaintClock, keys: list[str], gap: float = 0.05) -> list[float]:
    """Keypress → repaint, in seconds, for each key (a key that repainted nothing is skipped)."""
    found = []
    for key in keys:
        await pilot.pause(gap)
        started = time.perf_counter()
        await pilot.press(key)
        latency = await clock.next_after(started, timeout=1.0)
        if latency is not None:
            found.append(latency)
    return found
