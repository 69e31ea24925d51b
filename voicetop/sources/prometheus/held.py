"""Queries whose value changes only at whole periods: fetched once a period, held in between.

``avg_over_time(x[7d:1h])`` evaluates ``x`` at absolute multiples of 1 h, so at
any time ``t`` it equals its value at the last whole hour at or before ``t``.
The 7-day baselines are such queries, and the dearest of a refresh.  A
:class:`PeriodCache` asks the server only for the period boundaries a window
needs and has not kept (one range query at ``step = period``), keeps the
settled ones, and gives each window step the value of its period's start:
exactly what the server would answer at that step, for one query an hour.
"""

from __future__ import annotations

import math

from voicetop.domain.model import Series, Window
from voicetop.sources.prometheus.matrix import Columns
from voicetop.sources.prometheus.increments import Span

#: Period values kept (a 7-day window at 1 h needs 169).
MAX_PERIODS = 400

#: stat -> agent (None: fleet) -> value at one period boundary.
Values = dict[str, dict[str | None, float]]


class PeriodCache:
    """The settled values of one held query, by period boundary.  Not thread-safe."""

    def __init__(self, period: float) -> None:
        self.period = period
        self._values: dict[int, Values] = {}

    def _boundaries(self, window: Window) -> list[int]:
        """Period indices of the window's steps, ascending and distinct."""
        return sorted({math.floor(t / self.period) for t in window.timestamps()})

    def missing(self, window: Window) -> Span | None:
        """The one range query that covers the boundaries not kept (None: all kept)."""
        absent = [index for index in self._boundaries(window) if index not in self._values]
        if not absent:
            return None
        return Span(absent[0] * self.period, absent[-1] * self.period, self.period)

    def store(self, span: Span, answer: Columns, settled: float) -> dict[int, Values]:
        """Keep the settled boundaries of an answered span; returns all of them for this read."""
        found: dict[int, Values] = {}
        for position, timestamp in enumerate(span.timestamps()):
            values: Values = {}
            for stat, per_agent in answer.items():
                at = {agent: column[position] for agent, column in per_agent.items() if column[position] is not None}
                if at:
                    values[stat] = at
            index = round(timestamp / self.period)
            found[index] = values
            if timestamp <= settled:
                self._values[index] = values
        if len(self._values) > MAX_PERIODS:  # keep the newest
            for index in sorted(self._values)[: len(self._values) - MAX_PERIODS]:
                del self._values[index]
        return found

    def series(self, window: Window, fresh: dict[int, Values]) -> dict[str, dict[str | None, Series]]:
        """Each stat and agent over the window's steps (NaN where its period has no value)."""
        timestamps = window.timestamps()
        at_step = [fresh.get(index) or self._values.get(index) or {} for index in
                   (math.floor(t / self.period) for t in timestamps)]
        keys = {(stat, agent) for values in at_step for stat, per_agent in values.items() for agent in per_agent}
        series: dict[str, dict[str | None, Series]] = {}
        for stat, agent in keys:
            values = tuple(step.get(stat, {}).get(agent, math.nan) for step in at_step)
            series.setdefault(stat, {})[agent] = Series(timestamps, values)
        return series
