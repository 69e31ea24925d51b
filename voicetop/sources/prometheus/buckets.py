"""Stage quantiles computed client-side from one bucket-rate answer per histogram.

The server answers ``sum by (le, <agent>) (rate(X_bucket[R]))`` once; p50/p90/
p95/p99 per agent and for the fleet (the per-agent buckets summed by ``le``)
come from :func:`voicetop.domain.stats.sorted_histogram_quantiles`, which
follows the server's ``histogram_quantile``.  Per-agent rows keep the server's
``topk(max_agents, …)`` semantics: at each step only the ``max_agents`` highest
values of a quantile are kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from voicetop.domain.stats import sorted_histogram_quantiles
from voicetop.sources.prometheus.matrix import Columns, StepIndex, grid_points, keep_top, labelled_rows

#: A ``le`` text not met yet in this answer.
_UNSEEN = object()


@dataclass(frozen=True)
class HistogramPlan:
    """Which stats one bucket-rate answer yields: ``(stat key, q)`` pairs, scaled."""

    quantiles: tuple[tuple[str, float], ...]
    max_agents: int
    scale: float = 1.0


def decode_buckets(
    rows: Iterable[Mapping],
    plan: HistogramPlan,
    timestamps: Sequence[float],
    agent_label: str,
) -> Columns:
    """Quantile columns per stat and agent over ``timestamps`` (evenly spaced) from bucket-rate rows.

    A point lands on the nearest step (none when off the grid).  Rows without
    a numeric ``le`` are ignored; rows without the agent label only count
    towards the fleet.  Malformed rows are skipped.
    """
    count = len(timestamps)
    start = timestamps[0] if timestamps else 0.0
    step_index = StepIndex(start, timestamps[1] - start if count > 1 else 1.0, count)
    exact = step_index.exact
    per_agent: dict[str | None, dict[float, list[float | None]]] = {}
    bounds: dict[object, float | None] = {}  # le text -> bound (a dozen distinct values)
    for labels, points in labelled_rows(rows):
        le = labels.get("le")
        if type(le) is not str:
            continue
        bound = bounds.get(le, _UNSEEN)
        if bound is _UNSEEN:
            bound = bounds[le] = _bound(le)
        if bound is None:
            continue
        agent = labels.get(agent_label) or None
        if agent is not None and type(agent) is not str:
            continue
        buckets = per_agent.get(agent)
        if buckets is None:
            buckets = per_agent[agent] = {}
        column = buckets.get(bound)
        if column is None:
            column = buckets[bound] = [None] * count
        for point in points:  # inline: a live refresh reads a few points of 10,000s of rows
            if type(point) is list and len(point) == 2:
                t, raw = point
                index = exact.get(t) if type(t) is int or type(t) is float else None
                if index is not None and type(raw) is str and column[index] is None:
                    try:  # the usual point: on the grid, a string value, a bound not met yet at this step
                        column[index] = float(raw)
                    except ValueError:
                        column[index] = math.nan
                    continue
            for index, raw in grid_points((point,), step_index):  # anything else, as every reader does
                try:
                    value = float(raw)  # the server sends "NaN" and "+Inf" as strings
                except (TypeError, ValueError, OverflowError):
                    value = math.nan
                previous = column[index]
                column[index] = value if previous is None else previous + value  # equal bounds merge
    return _quantile_columns(per_agent, plan, count)


def _quantile_columns(
    per_agent: dict[str | None, dict[float, list[float | None]]], plan: HistogramPlan, count: int
) -> Columns:
    qs = tuple(q for _, q in plan.quantiles)
    stats = [stat for stat, _ in plan.quantiles]
    found: Columns = {stat: {} for stat in stats}
    fleet_sums: list[dict[float, float]] = [{} for _ in range(count)]
    for agent, buckets in per_agent.items():
        bounds = sorted(buckets)
        columns = [buckets[b] for b in bounds]
        values: list[tuple[float, ...] | None] = []
        for index in range(count):
            counts = [column[index] for column in columns]
            sums = fleet_sums[index]
            for bound, value in zip(bounds, counts):
                if value is not None:
                    sums[bound] = sums.get(bound, 0.0) + value
            if agent is None:
                continue
            if None not in counts:
                values.append(sorted_histogram_quantiles(qs, bounds, counts))
                continue
            present = [(b, c) for b, c in zip(bounds, counts) if c is not None]
            values.append(
                sorted_histogram_quantiles(qs, [b for b, _ in present], [c for _, c in present]) if present else None
            )
        if agent is not None and values.count(None) != count:
            _publish(found, stats, agent, values, plan.scale)
    _keep_top(found, plan.max_agents, count)
    fleet = [
        sorted_histogram_quantiles(qs, sorted(sums), [sums[b] for b in sorted(sums)]) if sums else None
        for sums in fleet_sums
    ]
    if fleet.count(None) != count:
        _publish(found, stats, None, fleet, plan.scale)
    return {stat: per_agent for stat, per_agent in found.items() if per_agent}


def _publish(
    found: Columns, stats: list[str], agent: str | None, values: list[tuple[float, ...] | None], scale: float
) -> None:
    """One agent's quantile tuples per step as one column per stat, scaled (±Inf: no value)."""
    for position, stat in enumerate(stats):
        column: list[float | None] = []
        for value in values:
            if value is None:
                column.append(None)
            else:
                scaled = value[position] * scale
                column.append(scaled if -math.inf < scaled < math.inf else math.nan)
        found[stat][agent] = column


def _keep_top(found: Columns, limit: int, count: int) -> None:
    for per_agent in found.values():
        keep_top(per_agent, limit, count)


def _bound(text: str) -> float | None:
    try:
        bound = float(text)
    except ValueError:
        return None
    return None if math.isnan(bound) else bound
