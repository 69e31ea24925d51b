"""An in-memory scrape store with Prometheus' range semantics.

Each scrape appends one row: the values of every series at that instant, in a
fixed column order (new series may be appended as columns later; they are
absent from older rows).  Rows older than the retention are dropped.

Range selection and ``rate()`` follow Prometheus 2.x (the Debian server): a
range ``[5m]`` at ``t`` holds the samples with ``t - 300 <= ts <= t``, and the
rate is extrapolated towards the range boundaries exactly like PromQL's
``extrapolatedRate``.  In-process counters never reset, so no reset handling.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from typing import Hashable, Sequence

#: Instant-vector lookback (Prometheus' default staleness window).
LOOKBACK_SECONDS = 300.0


class ScrapeStore:
    """Rows of scraped values, one per scrape time, bounded by ``retention``."""

    def __init__(self, columns: Sequence[Hashable], retention: float = 7200.0) -> None:
        self.columns: list[Hashable] = list(columns)
        self.index = {key: i for i, key in enumerate(self.columns)}
        self.retention = retention
        self.times: list[float] = []
        self._rows: list[array] = []

    def __len__(self) -> int:
        return len(self.times)

    @property
    def last_time(self) -> float | None:
        return self.times[-1] if self.times else None

    def add_column(self, key: Hashable) -> int:
        """Register a series born after the store was made; returns its column."""
        if key not in self.index:
            self.index[key] = len(self.columns)
            self.columns.append(key)
        return self.index[key]

    def append(self, t: float, values: Sequence[float]) -> None:
        """Add one scrape; ``values`` align with :attr:`columns` (may be shorter)."""
        if self.times and t <= self.times[-1]:
            raise ValueError("scrapes must be appended in time order")
        self.times.append(t)
        self._rows.append(array("d", values))
        horizon = t - self.retention
        if self.times[0] < horizon:
            drop = bisect_left(self.times, horizon)
            # Trim in chunks so appends stay amortised O(1).
            if drop >= 64 or drop == len(self.times) - 1:
                del self.times[:drop]
                del self._rows[:drop]

    def prepend(self, times: Sequence[float], rows: Sequence[Sequence[float]]) -> None:
        """Insert older scrapes (all before the first stored one) in front, within the retention."""
        if self.times and times and times[-1] >= self.times[0]:
            raise ValueError("prepended scrapes must be older than the stored ones")
        newest = self.times[-1] if self.times else (times[-1] if times else 0.0)
        keep = bisect_left(times, newest - self.retention)
        self.times[:0] = times[keep:]
        self._rows[:0] = [array("d", row) for row in rows[keep:]]

    def shift(self, offsets: Sequence[float]) -> None:
        """Add ``offsets[column]`` to every stored value of each column (0 leaves it alone)."""
        shifted = [(column, amount) for column, amount in enumerate(offsets) if amount]
        for values in self._rows:
            for column, amount in shifted:
                if column < len(values):
                    values[column] += amount

    def value(self, row: int, column: int) -> float:
        """A stored value, NaN when the series did not exist yet at that row."""
        values = self._rows[row]
        return values[column] if column < len(values) else math.nan

    def row(self, index: int) -> array:
        return self._rows[index]

    # -- selection ------------------------------------------------------
    def range_rows(self, t: float, seconds: float) -> tuple[int, int] | None:
        """First and last row inside ``[t - seconds, t]``, or None if empty."""
        lo = bisect_left(self.times, t - seconds - 1e-9)
        hi = bisect_right(self.times, t + 1e-9) - 1
        return (lo, hi) if hi >= lo else None

    def instant_row(self, t: float, lookback: float = LOOKBACK_SECONDS) -> int | None:
        """The latest row at or before ``t`` within the lookback, or None."""
        hi = bisect_right(self.times, t + 1e-9) - 1
        if hi < 0 or self.times[hi] < t - lookback - 1e-9:
            return None
        return hi

    def rates(self, t: float, seconds: float, columns: Sequence[int]) -> list[float]:
        """PromQL ``rate(x[seconds])`` at ``t`` for each column (NaN when < 2 samples)."""
        bounds = self.range_rows(t, seconds)
        if bounds is None:
            return [math.nan] * len(columns)
        lo, hi = bounds
        first, last = self._rows[lo], self._rows[hi]
        start_time, end_time = self.times[lo], self.times[hi]
        range_start = t - seconds
        # The factor shared by every series present over the whole range (an
        # infinite first value disables the zero clamp, which is applied per
        # series only where it shortens the extrapolation to the start).
        common = extrapolated_rate(range_start, t, start_time, end_time, hi - lo + 1, math.inf, 1.0, seconds)
        sampled, to_start = end_time - start_time, start_time - range_start
        # extrapolated_rate's arithmetic, inlined for series whose zero point
        # shortens the extrapolation to the start (counters near zero).
        average = sampled / (hi - lo) if hi > lo else math.nan
        threshold = average * 1.1
        to_end = t - end_time
        end_part = to_end if to_end < threshold else average / 2
        out: list[float] = []
        for column in columns:
            if column < len(first):
                v0 = first[column]
                increase = last[column] - v0
                if increase > 0 and sampled * v0 < to_start * increase:
                    start_part = to_start
                    if v0 >= 0:
                        to_zero = sampled * (v0 / increase)
                        if to_zero < start_part:
                            start_part = to_zero
                    interval = sampled
                    interval += start_part if start_part < threshold else average / 2
                    interval += end_part
                    out.append(increase * (interval / sampled) / seconds)
                else:
                    out.append(increase * common)
                continue
            start = self._birth_row(column, lo, hi)  # born inside the range
            if start is None or start >= hi:
                out.append(math.nan)
                continue
            v0 = self._rows[start][column]
            out.append(extrapolated_rate(
                range_start, t, self.times[start], end_time, hi - start + 1,
                v0, last[column] - v0, seconds,
            ))
        return out

    def _birth_row(self, column: int, lo: int, hi: int) -> int | None:
        for index in range(lo, hi + 1):
            if column < len(self._rows[index]):
                return index
        return None


def extrapolated_rate(
    range_start: float,
    range_end: float,
    first_time: float,
    last_time: float,
    samples: int,
    first_value: float,
    increase: float,
    range_seconds: float,
) -> float:
    """PromQL's per-second counter rate from a range's first/last samples.

    Extrapolates the increase towards the range boundaries when the first or
    last sample lies within 1.1 average sample intervals of them (else half an
    interval), and never extrapolates a counter below zero.
    """
    if samples < 2 or last_time <= first_time:
        return math.nan
    sampled = last_time - first_time
    to_start = first_time - range_start
    to_end = range_end - last_time
    average = sampled / (samples - 1)
    if increase > 0 and first_value >= 0:
        to_zero = sampled * (first_value / increase)
        if to_zero < to_start:
            to_start = to_zero
    threshold = average * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    return increase * (interval / sampled) / range_seconds
