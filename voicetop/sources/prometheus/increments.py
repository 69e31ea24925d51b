"""Incremental windows: a query fetches only the steps it has not answered yet.

A range query's value at a past step does not change, so each query keeps
the columns of its settled steps (older than :data:`SETTLE` seconds when
fetched; newer ones may still receive samples and are fetched again).  A
refresh asks the server only for the steps of the window outside that cache —
one new step per refresh in steady state, live (new steps at the end) or time
travelling (``[``/``]``: new steps at either end) — and drops the steps that
fell out of the window.  A window the cache answers whole still asks for its
last step, so every refresh talks to the server and a failing one is noticed.

A live window's unsettled steps (the last minute) are read twice more at
most: while newest, every refresh reads the step again (a live console
refreshes several times per step), and once more when it settles.  In
between they keep the values of their last read, when they were newest.  So a
refresh that moves the window a step asks for two steps per query — the one
that settled since and the new one — with one range query whose step is the
distance between them; a refresh of the same window asks for its newest step.

Missing steps are fetched in chunks of at most :data:`MAX_STEPS`, nearest the
cached ones (or the newest) first, and each chunk is cached as soon as it
arrives: a first window too big to fetch within the client timeout still
fills in over a few refreshes instead of failing whole every time.  A window
of another length, step or grid phase starts over.

The live steady state (a step on, or the same window again) is done in one
pass: each column becomes the window's values at once, its unsettled steps
carried as its tail, and that tuple is also the Series' values.  At fleet
scale that is most of what a live refresh costs on the client.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from voicetop.domain.model import Series, Window
from voicetop.sources.prometheus.matrix import Columns

#: Steps younger than this (seconds) are fetched again on the next refresh.
SETTLE = 60.0
#: The most steps one range request asks for.
MAX_STEPS = 20
#: A cached step without a point: a NaN of its own, so ``count(NO_POINT)`` finds exactly
#: these (by identity; NaN equals nothing) and a column reads as Series values as it is.
NO_POINT = float("nan")

#: stat -> agent (None: fleet) -> one value per cached step (NO_POINT where there is none).
_Cached = dict[str, dict[str | None, tuple[float, ...]]]


def window_shape(window: Window) -> tuple[float, float, float]:
    """(step, phase, length): windows of one shape have their steps on one grid and as many."""
    step = window.step
    return step, round(math.fmod(window.start, step), 6), round(window.duration, 6)


@dataclass(frozen=True)
class Span:
    """Consecutive steps to fetch with one range query (first and last timestamp)."""

    start: float
    end: float
    step: float

    def timestamps(self) -> tuple[float, ...]:
        return Window(self.start, self.end, self.step).timestamps()


class StepCache:
    """The settled columns of one query: consecutive steps on one grid.  Not thread-safe.

    Columns are kept as tuples, so a column read whole becomes a Series'
    values without a copy.
    """

    def __init__(self) -> None:
        self._shape: tuple[float, float, float] | None = None
        self._first = 0  # grid index of the first cached step
        self._count = 0
        self._columns: _Cached = {}
        #: The last read's unsettled steps: the window's shape, their first and last grid
        #: index and their columns.
        #: (None as its columns: they are the columns' tails, see ``_tails``).
        self._provisional: tuple[tuple[float, float, float], int, int, Columns | None] | None = None
        #: 0, or after a live step done in one pass (:meth:`_advance`): how many unsettled steps each
        #: column carries after its ``_count`` settled ones (the last read's, instead of ``_provisional``'s
        #: lists), so that column is the window's series as it is.
        self._tails = 0
        self._version = 0  # counts changes to the cached columns
        #: The last :meth:`series` call: its window, the cache's version, its fresh answers and its result.
        self._last_read: tuple[Window, int, list[tuple[Span, Columns]], dict[str, dict[str | None, Series]]] | None = None

    @staticmethod
    def _grid(window: Window) -> tuple[tuple[float, float, float], int, int]:
        """The window's shape (:func:`window_shape`) and its first and last grid index."""
        shape = window_shape(window)
        step, phase, _ = shape
        first = round((window.start - phase) / step)
        last = first + len(window.timestamps()) - 1
        return shape, first, last

    def _cached_in(self, shape, first: int, last: int) -> tuple[int, int] | None:
        """The cached grid range inside ``first..last`` (None: nothing usable)."""
        if shape != self._shape or not self._count:
            return None
        low, high = max(first, self._first), min(last, self._first + self._count - 1)
        return (low, high) if low <= high else None

    def missing(self, window: Window, settled: float | None = None) -> list[Span]:
        """The chunks of ``window`` to fetch, in the order that keeps the cache contiguous.

        With ``settled`` (the time steps up to which no longer change), a window read last
        time whose unsettled steps are all still unsettled asks for its newest step only.
        """
        shape, first, last = self._grid(window)
        step, phase, _ = shape
        cached = self._cached_in(shape, first, last)
        chunks: list[tuple[int, int]] = []
        if cached is None:
            chunks = _chunks(first, last, newest_first=True)
        else:
            low, high = cached
            if high < last:
                chunks += _chunks(high + 1, last, newest_first=False)
            if first < low:
                chunks += _chunks(first, low - 1, newest_first=True)
            if not chunks:
                chunks = [(last, last)]
            elif settled is not None and chunks == [(high + 1, last)]:
                reread = self._rereads(shape, high + 1, last, settled)
                if reread is not None:
                    return [reread]
        return [Span(phase + a * step, phase + b * step, step) for a, b in chunks]

    def _rereads(self, shape, start: int, last: int, settled: float) -> Span | None:
        """The uncached steps ``start..last`` worth asking for when the last read's unsettled steps
        cover the others: those settled since, those not read yet and the newest.  None when they
        are not evenly spaced (one range query cannot ask for just them: read all of them)."""
        known = self._provisional
        if known is None or known[0] != shape:
            return None
        step, phase, _ = shape
        _, known_first, known_last, _ = known
        settled_last = math.floor((settled - phase) / step)
        steps = [index for index in range(start, last + 1)
                 if index <= settled_last or index == last or not known_first <= index <= known_last]
        stride = steps[1] - steps[0] if len(steps) > 1 else 1
        if any(later - earlier != stride for earlier, later in zip(steps, steps[1:])):
            return None
        return Span(phase + steps[0] * step, phase + steps[-1] * step, stride * step)

    def store(self, window: Window, span: Span, answer: Columns, settled: float) -> None:
        """Keep the settled steps of a fetched ``span`` (and the cached ones still in ``window``)."""
        self._untail()
        if _strided(span, window.step):  # only the settled pieces are kept: the others are not cut out
            for piece, columns in _pieces(span, answer, window.step, until=settled):
                self.store(window, piece, columns, settled)
            return
        shape, first, last = self._grid(window)
        step, phase, _ = shape
        span_start, span_end = _grid_range(span, phase)
        end = min(span_end, math.floor((settled - phase) / step), last)
        start = max(span_start, first)
        if end < start:
            return
        self._version += 1
        cached = self._cached_in(shape, first, last)
        if cached is not None and (start == cached[1] + 1 or end == cached[0] - 1):
            # the steady state: new steps next to the cached ones, the window moved by as many
            self._columns = _extended(self._columns, answer, cached[0] - self._first, cached[1] - self._first + 1,
                                      skip=start - span_start, length=end - start + 1, at_end=start > cached[1])
            self._shape, self._first = shape, min(start, cached[0])
            self._count = (end - start + 1) + (cached[1] - cached[0] + 1)
            return
        if cached is None or start > cached[1] + 1 or end < cached[0] - 1:
            low, high = start, end  # nothing cached next to it: start over from this span
            kept: _Cached = {}
        else:
            low, high = min(start, cached[0]), max(end, cached[1])
            if cached == (low, high) == (self._first, self._first + self._count - 1):
                kept = self._columns  # steps already cached, refetched: overwrite in place
            else:
                kept = _laid(self._columns, cached[0] - self._first, cached[1] - self._first + 1,
                             cached[0] - low, high - low + 1)
        size = high - low + 1
        offset = start - low
        skip, length = start - span_start, end - start + 1
        overlaps = cached is not None and start <= cached[1] and end >= cached[0]
        _paste(kept, answer, size, offset, skip, length)
        emptied = kept is not self._columns  # columns moved: some may have lost all their points
        if overlaps:  # refetched steps: a series the server no longer answers has no point there
            gap = (NO_POINT,) * length
            for stat, per_agent in kept.items():
                fresh = answer.get(stat, {})
                for agent, column in per_agent.items():
                    if agent not in fresh:
                        per_agent[agent] = column[:offset] + gap + column[offset + length:]
                        emptied = True
        self._shape, self._first, self._count = shape, low, size
        if emptied:
            kept = {
                stat: {agent: column for agent, column in per_agent.items() if _has_point(column, size)}
                for stat, per_agent in kept.items()
            }
        self._columns = kept

    def read(self, window: Window, settled: float, fetch: Callable[[Span], Columns]) -> dict[str, dict[str | None, Series]]:
        """What a refresh does: fetch the missing chunks (``fetch``), keep each as it arrives (progress
        survives a timeout), then give the window's series.  A live refresh in the steady state — one
        request, for the step settled since and the new one, or for the newest step again — is done
        in one pass over the columns (:meth:`_advance`)."""
        spans = self.missing(window, settled)
        fresh = []
        for span in spans:
            answer = fetch(span)
            if len(spans) == 1:
                advanced = self._advance(window, span, answer, settled)
                if advanced is not None:
                    return advanced
            self.store(window, span, answer, settled)
            fresh.append((span, answer))
        return self.series(window, fresh)

    def _advance(
        self, window: Window, span: Span, answer: Columns, settled: float
    ) -> dict[str, dict[str | None, Series]] | None:
        """:meth:`store` then :meth:`series` in one pass, for a live window that moved one step with
        one step settled since (``span``: that step and the new one) or that is read again with
        nothing settled since (``span``: its newest step); None for any other refresh.

        Each column becomes the window's values at once, its unsettled steps carried as its tail
        (``_tails``): one new tuple per column instead of three, and no per-step pieces.
        """
        known = self._provisional
        shape, first, last = self._grid(window)
        if not self._count or shape != self._shape or known is None or known[0] != shape:
            return None
        step, phase, _ = shape
        settled_last = math.floor((settled - phase) / step)
        cached_last = self._first + self._count - 1
        asked = (round((span.start - phase) / step), round((span.end - phase) / step))
        points = len(span.timestamps())
        if (  # moved a step: the oldest step goes, the first unsettled one settles, a new one comes
            first == self._first + 1 and known[1:3] == (cached_last + 1, last - 1)
            and settled_last == cached_last + 1 and asked == (cached_last + 1, last) and points == 2
        ):
            moved = True
        elif (  # the same window: its newest step read again
            first == self._first and known[1:3] == (cached_last + 1, last)
            and settled_last == cached_last and asked == (last, last) and points == 1
        ):
            moved = False
        else:
            return None
        remembered = self._remembered(window, [(span, answer)])
        if remembered is not None:
            return remembered
        count, tails, size = self._count, self._tails, last - first + 1
        unsettled = last - cached_last - (1 if moved else 0)  # after this refresh
        previous = {} if tails else known[3]  # the last read's unsettled steps as lists (None: no point)
        no_points = [None] * unsettled
        settled_gap = (NO_POINT,) * (count - 1 if moved else count)  # a column with no settled point
        blank = (NO_POINT,) * (count + tails)  # a column of the last read's layout with no point
        columns: _Cached = {}
        timestamps = window.timestamps()
        series: dict[str, dict[str | None, Series]] = {}
        for stat in {**self._columns, **previous, **answer}:
            cached = self._columns.get(stat, {})
            before = previous.get(stat, {})
            fresh = answer.get(stat, {})
            kept: dict[str | None, tuple[float, ...]] = {}
            found: dict[str | None, Series] = {}
            for agent in {**cached, **before, **fresh}:
                column = cached.get(agent)
                values = fresh.get(agent)  # a series the answer lacks has no point at the steps asked
                newest = NO_POINT if values is None or values[-1] is None else values[-1]
                settling = NO_POINT if values is None or values[0] is None else values[0]  # moved: the first
                if tails:  # the column holds the last read's unsettled steps after its settled ones
                    if column is None:
                        column = blank
                    if moved:
                        column = column[1:count] + ((settling,) + column[count + 1:] + (newest,))
                    else:
                        column = column[:-1] + (newest,)
                else:  # they are in the last read's lists
                    head = settled_gap if column is None else column[1:] if moved else column
                    if moved:
                        tail = (settling,) + _as_cached(before.get(agent) or no_points, 1, unsettled - 1) + (newest,)
                    else:
                        tail = _as_cached(before.get(agent) or no_points, 0, unsettled - 1) + (newest,)
                    column = head + tail
                if _has_point(column, size):
                    kept[agent] = column
                    found[agent] = Series(timestamps, column)
            if kept:
                columns[stat] = kept
                series[stat] = found
        self._columns, self._first, self._tails = columns, first, unsettled
        self._provisional = (shape, last - unsettled + 1, last, None)
        self._version += 1
        self._last_read = (window, self._version, [(span, answer)], series)
        return series

    def _untail(self) -> None:
        """Back from :meth:`_advance`'s form: columns of the settled steps only, the unsettled ones
        as ``_provisional``'s lists."""
        tails = self._tails
        if not tails:
            return
        count = self._count
        settled: _Cached = {}
        unsettled: Columns = {}
        for stat, per_agent in self._columns.items():
            kept = {}
            for agent, column in per_agent.items():
                head = column[:count]
                if _has_point(head, count):
                    kept[agent] = head
            if kept:
                settled[stat] = kept
            unsettled[stat] = {agent: [None if v is NO_POINT else v for v in column[count:]]
                               for agent, column in per_agent.items()}
        shape, low, high, _ = self._provisional
        self._columns, self._provisional, self._tails = settled, (shape, low, high, unsettled), 0

    def series(self, window: Window, fresh: list[tuple[Span, Columns]]) -> dict[str, dict[str | None, Series]]:
        """The window's series: cached steps plus ``fresh`` answers (for their unsettled steps).

        A (stat, agent) with no point anywhere in the window is left out, as
        the server leaves out a series with no point in the range.  The same
        window, cache and answers as the last call (a live console between two
        steps whose answers came back byte-identical, so the very same decoded
        columns) give the last call's series: merging the same answers over the
        unsettled steps again changes nothing.
        """
        remembered = self._remembered(window, fresh)
        if remembered is not None:
            return remembered
        self._untail()
        result = self._series(window, fresh)
        self._last_read = (window, self._version, fresh, result)
        return result

    def _remembered(
        self, window: Window, fresh: list[tuple[Span, Columns]]
    ) -> dict[str, dict[str | None, Series]] | None:
        """The last read's series when it had this window, this cache and these very answers."""
        last_read = self._last_read
        if (
            last_read is not None and last_read[0] == window and last_read[1] == self._version
            and len(last_read[2]) == len(fresh)
            and all(a is b and span == other for (span, a), (other, b) in zip(fresh, last_read[2]))
        ):
            return last_read[3]
        return None

    def _series(self, window: Window, fresh: list[tuple[Span, Columns]]) -> dict[str, dict[str | None, Series]]:
        shape, first, last = self._grid(window)
        _, phase, _ = shape
        size = last - first + 1
        cached = self._cached_in(shape, first, last)
        columns: _Cached = {}
        settled_end = cached[1] if cached is not None else first - 1
        start = max(settled_end + 1, first)  # the steps not cached: unsettled, or not stored
        since = phase + start * window.step
        fresh = [piece for span, answer in fresh for piece in _pieces(span, answer, window.step, since=since)]
        unsettled = self._unsettled(shape, start, last, fresh)
        if cached is not None and self._first == first and self._count == size and not unsettled:
            columns = self._columns  # the cache is the window (read only below): the steady state
        elif cached is not None and self._first == first and self._count == start - first and unsettled:
            # live, moved a step: the cache, then the last minute (one new tuple per column)
            columns = _extended(self._columns, unsettled, 0, start - first, skip=0, length=size - start + first,
                                at_end=True)
            unsettled = {}
        elif cached is not None:
            columns = _laid(self._columns, cached[0] - self._first, cached[1] - self._first + 1,
                            cached[0] - first, size)
        if unsettled:
            _paste(columns, unsettled, size, start - first, 0, last - start + 1)
        timestamps = window.timestamps()
        series: dict[str, dict[str | None, Series]] = {}
        for stat, per_agent in columns.items():
            found = {}
            for agent, values in per_agent.items():
                if _has_point(values, size):
                    found[agent] = Series(timestamps, values)
            if found:
                series[stat] = found
        return series

    def _unsettled(self, shape, start: int, last: int, fresh: list[tuple[Span, Columns]]) -> Columns:
        """The columns of steps ``start..last`` (not cached): this refresh's answers over the last
        read's unsettled steps (kept as :attr:`_provisional`).  Where an answer lacks a series
        the last read had, that series has no point at the answer's steps."""
        if start > last:
            self._provisional = None
            return {}
        length = last - start + 1
        merged: Columns = {}
        known = self._provisional
        if known is not None and known[0] == shape:
            _, known_first, known_last, columns = known
            low, high = max(start, known_first), min(last, known_last)
            if low <= high:
                before, after = [None] * (low - start), [None] * (last - high)
                merged = {stat: {agent: before + values[low - known_first:high - known_first + 1] + after
                                 for agent, values in per_agent.items()}
                          for stat, per_agent in columns.items()}
        phase = shape[1]
        for span, answer in fresh:
            span_start, span_end = _grid_range(span, phase)
            low, high = max(span_start, start), min(span_end, last)
            if high < low:
                continue
            at, width = low - start, high - low + 1
            for stat, per_agent in merged.items():
                answered = answer.get(stat) or {}
                for agent, values in per_agent.items():
                    if agent not in answered:
                        values[at:at + width] = [None] * width
            for stat, per_agent in answer.items():
                target = merged.setdefault(stat, {})
                for agent, values in per_agent.items():
                    column = target.get(agent)
                    if column is None:
                        column = target[agent] = [None] * length
                    column[at:at + width] = values[low - span_start:high - span_start + 1]
        self._provisional = (shape, start, last, merged)
        return merged


def _has_point(column: tuple[float, ...], size: int) -> bool:
    """True when a cached column has a point somewhere (the newest or oldest step usually does)."""
    return bool(column) and (column[-1] is not NO_POINT or column[0] is not NO_POINT or column.count(NO_POINT) != size)


def _chunks(low: int, high: int, newest_first: bool) -> list[tuple[int, int]]:
    """``low..high`` in runs of at most MAX_STEPS, from the newest or the oldest end."""
    if newest_first:
        return [(max(low, end - MAX_STEPS + 1), end) for end in range(high, low - 1, -MAX_STEPS)]
    return [(start, min(high, start + MAX_STEPS - 1)) for start in range(low, high + 1, MAX_STEPS)]


def _strided(span: Span, step: float) -> bool:
    """True for a span whose points are several grid steps apart."""
    return span.end > span.start and round(span.step / step) > 1


def _pieces(
    span: Span, answer: Columns, step: float, *, since: float = -math.inf, until: float = math.inf
) -> list[tuple[Span, Columns]]:
    """A strided span's answer as one-step spans on the grid, those from ``since`` to ``until``
    (a step apart at most: the grid's own times); any other answer as it is."""
    if not _strided(span, step):
        return [(span, answer)]
    low, high = since - step / 2, until + step / 2
    return [
        (Span(timestamp, timestamp, step),
         {stat: {agent: values[at:at + 1] for agent, values in per_agent.items()} for stat, per_agent in answer.items()})
        for at, timestamp in enumerate(span.timestamps())
        if low <= timestamp <= high
    ]


def _grid_range(span: Span, phase: float) -> tuple[int, int]:
    """Grid indices of a span's first and last step."""
    first = round((span.start - phase) / span.step)
    return first, first + len(span.timestamps()) - 1


def _paste(columns: _Cached, answer: Columns, size: int, offset: int, skip: int, length: int) -> None:
    """Copy ``length`` steps of each answered column, from ``skip``, to ``offset`` of ``columns``
    (a column of ``size`` steps, NO_POINT elsewhere, is added for a new stat or agent)."""
    empty = (NO_POINT,) * size
    end = offset + length
    for stat, per_agent in answer.items():
        target = columns.setdefault(stat, {})
        for agent, values in per_agent.items():
            column = target.get(agent, empty)
            pasted = _as_cached(values, skip, length)
            target[agent] = column[:offset] + pasted + column[end:]


def _extended(
    columns: _Cached, answer: Columns, start: int, stop: int, *, skip: int, length: int, at_end: bool
) -> _Cached:
    """Each column's ``[start:stop]`` with ``length`` answered steps (from ``skip``) after or before it.

    One pass, one new tuple per column: what :func:`_laid` then :func:`_paste`
    make when the new steps adjoin the kept ones.  A column the answer lacks
    gets no point at the new steps; a column left without any point goes.
    """
    kept = stop - start
    size = kept + length
    gap = (NO_POINT,) * length
    empty = (NO_POINT,) * kept
    extended: _Cached = {}
    for stat, per_agent in columns.items():
        fresh = answer.get(stat) or {}
        target = extended[stat] = {}
        for agent, column in per_agent.items():
            values = fresh.get(agent)
            new = gap if values is None else _as_cached(values, skip, length)
            column = column[start:stop] + new if at_end else new + column[start:stop]
            if _has_point(column, size):
                target[agent] = column
    for stat, per_agent in answer.items():
        target = extended.setdefault(stat, {})
        for agent, values in per_agent.items():
            if agent in target:  # kept above (one dropped there has no point here either)
                continue
            new = _as_cached(values, skip, length)
            column = empty + new if at_end else new + empty
            if _has_point(column, size):
                target[agent] = column
    return {stat: per_agent for stat, per_agent in extended.items() if per_agent}


def _as_cached(values: list[float | None], skip: int, length: int) -> tuple[float, ...]:
    """``length`` answered steps from ``skip`` as the cache keeps them (NO_POINT where None)."""
    if length == 1:  # the usual case: one new step
        value = values[skip]
        return (NO_POINT if value is None else value,)
    return tuple([NO_POINT if v is None else v for v in values[skip:skip + length]])


def _laid(columns: _Cached, start: int, stop: int, offset: int, size: int) -> _Cached:
    """Each column's ``[start:stop]`` placed at ``offset`` in a column of ``size`` (NO_POINT elsewhere)."""
    before = (NO_POINT,) * offset
    after = (NO_POINT,) * (size - offset - (stop - start))
    return {
        stat: {agent: before + values[start:stop] + after for agent, values in per_agent.items()}
        for stat, per_agent in columns.items()
    }
