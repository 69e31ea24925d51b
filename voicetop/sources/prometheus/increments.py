"""Incremental windows: a query fetches only the steps it has not answered yet.

A range query's value at a past step does not change, so each panel query
keeps the columns of its settled steps (older than :data:`SETTLE` seconds at
fetch time; newer ones may still receive samples and are fetched again).  A
refresh asks the server only for the steps of the window outside that cache —
one new step per refresh in steady state, live (new steps at the end) or time
travelling (``[``/``]``: new steps at either end) — and drops the steps that
fell out of the window (and at least the last step, so a failing server is
still noticed on every refresh).  A window of another length, step or grid phase, or
one that does not overlap the cache, starts over with the whole window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from voicetop.domain.model import Series, Window
from voicetop.sources.prometheus.buckets import Columns

#: Steps younger than this (seconds) are fetched again on the next refresh.
SETTLE = 60.0


@dataclass(frozen=True)
class Span:
    """Consecutive steps to fetch with one range query (first and last timestamp)."""

    start: float
    end: float
    step: float

    def timestamps(self) -> tuple[float, ...]:
        return Window(self.start, self.end, self.step).timestamps()


class StepCache:
    """The settled columns of one query, on one step grid.  Not thread-safe."""

    def __init__(self) -> None:
        self._shape: tuple[float, float, float] | None = None
        self._first = 0  # grid index of the first cached step
        self._count = 0
        self._columns: Columns = {}

    @staticmethod
    def _grid(window: Window) -> tuple[tuple[float, float, float], int, int]:
        """The window's shape (step, phase, length) and its first and last grid index."""
        step = window.step
        phase = round(math.fmod(window.start, step), 6)
        first = round((window.start - phase) / step)
        last = first + len(window.timestamps()) - 1
        return (step, phase, round(window.duration, 6)), first, last

    def missing(self, window: Window) -> list[Span]:
        """The spans of ``window`` this cache cannot answer (at most one per side).

        A window the cache answers whole still asks for its last step, so every
        refresh talks to the server and a failing one is noticed as before.
        """
        shape, first, last = self._grid(window)
        step, phase, _ = shape
        cached_last = self._first + self._count - 1
        if shape != self._shape or not self._count or cached_last < first or self._first > last:
            ranges = [(first, last)]
        else:
            ranges = []
            if first < self._first:
                ranges.append((first, self._first - 1))
            if cached_last < last:
                ranges.append((cached_last + 1, last))
            if not ranges:
                ranges.append((last, last))
        return [Span(phase + a * step, phase + b * step, step) for a, b in ranges]

    def merge(self, window: Window, fetched: list[tuple[Span, Columns]], settled: float) -> dict[str, dict[str | None, Series]]:
        """The window's series from the cache plus ``fetched`` spans; then keep only settled steps.

        A (stat, agent) with no point anywhere in the window is left out, as
        the server leaves out a series with no point in the range.
        """
        shape, first, last = self._grid(window)
        step, phase, _ = shape
        if shape != self._shape:
            self._columns, self._count = {}, 0
        size = last - first + 1
        columns = self._kept(first, size)
        for span, answer in fetched:
            offset = round((span.start - phase) / step) - first
            for stat, per_agent in answer.items():
                target = columns.setdefault(stat, {})
                for agent, values in per_agent.items():
                    column = target.get(agent)
                    if column is None:
                        column = target[agent] = [None] * size
                    column[offset:offset + len(values)] = values
        timestamps = window.timestamps()
        series: dict[str, dict[str | None, Series]] = {}
        for stat, per_agent in columns.items():
            found = {}
            for agent, values in per_agent.items():
                if None not in values:
                    found[agent] = Series(timestamps, tuple(values))
                elif values.count(None) != size:
                    found[agent] = Series(timestamps, tuple([math.nan if v is None else v for v in values]))
            if found:
                series[stat] = found
        count = max(0, min(size, math.floor((settled - phase) / step) - first + 1))
        self._shape, self._first, self._count = shape, first, count
        self._columns = {
            stat: {
                agent: kept for agent, values in per_agent.items()
                if (kept := values if count == size else values[:count]).count(None) != count
            }
            for stat, per_agent in columns.items()
        } if count else {}
        return series

    def _kept(self, first: int, size: int) -> Columns:
        """The cached columns laid on a window of ``size`` steps from grid index ``first``."""
        keep_from = max(0, first - self._first)
        keep_to = min(self._count, first + size - self._first)
        if keep_to <= keep_from:
            return {}
        before = [None] * (self._first + keep_from - first)
        after = [None] * (size - len(before) - (keep_to - keep_from))
        return {
            stat: {agent: before + values[keep_from:keep_to] + after for agent, values in per_agent.items()}
            for stat, per_agent in self._columns.items()
        }
