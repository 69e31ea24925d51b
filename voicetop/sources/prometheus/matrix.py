"""Reading a range query's matrix answer: well-formed rows and points on the step grid."""

from __future__ import annotations

import math
from typing import Hashable, Iterable, Iterator, Mapping

_NUMBERS = (int, float)

#: stat -> agent (None: fleet) -> value per step, None where there is no point.
Columns = dict[str, dict[str | None, list[float | None]]]


class StepIndex:
    """Position of a point's timestamp among ``count`` steps from ``start`` (None: off the grid)."""

    def __init__(self, start: float, step: float, count: int) -> None:
        self.start, self.step, self.count = start, step, count
        #: The grid's own timestamps (what the server sends back): a dict lookup instead of arithmetic.
        self.exact = {start + index * step: index for index in range(count)}

    def __call__(self, timestamp: float) -> int | None:
        if not math.isfinite(timestamp):
            return None
        index = round((timestamp - self.start) / self.step)
        if 0 <= index < self.count and abs(self.start + index * self.step - timestamp) < self.step / 2:
            return index
        return None


def labelled_rows(rows: Iterable[Mapping]) -> Iterator[tuple[dict, list | tuple]]:
    """``(labels, points)`` of each row that is a JSON object with a ``metric`` object.

    ``type(…) is dict`` rather than ``isinstance(…, Mapping)``: this runs for
    tens of thousands of rows per refresh and the ABC check costs µs each.
    Points that are not a list come back empty.
    """
    for row in rows:
        if type(row) is not dict:
            continue
        labels = row.get("metric") or {}
        if type(labels) is not dict:
            continue
        points = row.get("values")
        yield labels, points if type(points) is list else ()


def grid_points(points: Iterable, step_index: StepIndex) -> Iterator[tuple[int, object]]:
    """``(step, raw value)`` of each ``[time, value]`` point on the grid; malformed points are skipped."""
    exact = step_index.exact
    for point in points:
        if type(point) is list and len(point) == 2 and type(point[0]) in _NUMBERS:
            index = exact.get(point[0])  # the server sends the grid's timestamps back
            if index is not None:
                yield index, point[1]
                continue
        try:
            timestamp, raw = float(point[0]), point[1]
        except (TypeError, ValueError, IndexError, KeyError, OverflowError):
            continue
        index = step_index(timestamp)
        if index is not None:
            yield index, raw


def keep_top(columns: dict[Hashable, list[float | None]], limit: int, count: int) -> None:
    """``topk(limit, …)`` per step over ``columns``: all but the ``limit`` highest values go (NaN lowest).

    Columns left without any value are removed.
    """
    if len(columns) <= limit:
        return
    for index in range(count):
        present = [(key, column[index]) for key, column in columns.items() if column[index] is not None]
        if len(present) <= limit:
            continue
        present.sort(key=_rank, reverse=True)
        for key, _ in present[limit:]:
            columns[key][index] = None
    for key in [k for k, column in columns.items() if column.count(None) == count]:
        del columns[key]


def _rank(item: tuple[object, float]) -> float:
    value = item[1]
    return -math.inf if value != value else value  # NaN ranks lowest


def fill_scaled(column: list[float | None], points: Iterable, step_index: StepIndex, scale: float) -> None:
    """Put each grid point's value times ``scale`` in ``column``; garbage, NaN and ±Inf become NaN."""
    exact, nan, inf = step_index.exact, math.nan, math.inf
    for point in points:  # inline: a live refresh reads a few points of 10,000s of rows
        if type(point) is list and len(point) == 2:
            timestamp, raw = point
            index = exact.get(timestamp) if type(timestamp) is float or type(timestamp) is int else None
            if index is not None and type(raw) is str:  # the usual point: on the grid, a string value
                try:
                    value = float(raw) * scale  # the server sends "NaN" and "+Inf" as strings
                except ValueError:
                    value = nan
                column[index] = value if -inf < value < inf else nan
                continue
        _fill_any(column, (point,), step_index, scale)  # anything else, as every reader does


def _fill_any(column: list[float | None], points: Iterable, step_index: StepIndex, scale: float) -> None:
    """:func:`fill_scaled` for points of any shape, through :func:`grid_points`."""
    for index, raw in grid_points(points, step_index):
        try:
            value = float(raw) * scale
        except (TypeError, ValueError, OverflowError):
            value = math.nan
        column[index] = value if -math.inf < value < math.inf else math.nan


def top_with_fleet(agents: Columns, fleet: dict[str, list[float | None]], limit: int, count: int) -> Columns:
    """Per stat: the agents' columns with a value, cut to the top ``limit`` per step, then the fleet's
    column (it takes no place); stats left without any column go."""
    for per_agent in agents.values():
        for agent in [a for a, column in per_agent.items() if column.count(None) == count]:
            del per_agent[agent]
        keep_top(per_agent, limit, count)
    for stat, column in fleet.items():
        if column.count(None) != count:
            agents.setdefault(stat, {})[None] = column
    return {stat: per_agent for stat, per_agent in agents.items() if per_agent}
