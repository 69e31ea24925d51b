"""Scalar panels computed client-side from per-agent sums, one read of each metric.

A ratio such as the error rate, written as PromQL for agents and the fleet,
makes the server read its counters up to six times (numerator, the ``or … * 0``
fallback and the denominator, each per agent and again fleet-wide).  A term
panel asks instead for each distinct term once, ``sum by (<agent>[, split])
(rate(X[R]))``, tagged ``vt_term``; the ratios per agent, the fleet's (sums of
the per-agent sums, agent-less rows included) and, for a split panel, those
per label value come from :func:`decode_terms`, which follows the PromQL of
:class:`~voicetop.profiles.metrics.ScalarFormula`: a missing numerator is 0 only
with ``zero_numerator``, a zero denominator gives NaN, and per-agent rows keep
``topk(max_agents, …)`` per step.  Rows without the agent label count towards
the fleet only and, as for the stage quantiles, take no ``topk`` place.
With recording rules (:mod:`.recording`) the rules record each term and the
stats computed from them, and the panel reads the stats (:mod:`.recorded_stats`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from voicetop.sources.prometheus.matrix import Columns, StepIndex, grid_points, keep_top, labelled_rows

TERM_LABEL = "vt_term"

#: per step: the value, None where there is none.
_Column = list[float | None]


@dataclass(frozen=True)
class TermStat:
    """One stat of a term panel: ``terms[numerator]`` alone or over ``terms[denominator]``, scaled."""

    key: str
    numerator: int
    denominator: int | None = None
    zero_numerator: bool = False
    scale: float = 1.0
    split: bool = False  # published per split label value, as key + value


@dataclass(frozen=True)
class TermPlan:
    """The terms one panel query asks for and the stats computed from them."""

    terms: tuple[str, ...]  # per-agent PromQL of each term
    stats: tuple[TermStat, ...]
    max_agents: int
    split_label: str | None = None  # the terms also go by this label (split stats need it)

    def promql(self) -> str:
        return " or ".join(
            f'label_replace({term}, "{TERM_LABEL}", "{index}", "", "")' for index, term in enumerate(self.terms)
        )


def decode_terms(
    rows: Iterable[Mapping], plan: TermPlan, timestamps: Sequence[float], agent_label: str
) -> Columns:
    """Stat columns per agent (None: fleet) from a term panel's answer.

    Rows without a known ``vt_term`` are ignored, rows without the agent label
    count towards the fleet only, and the first row of a (term, agent, split
    value) wins.  Malformed rows are skipped.
    """
    count = len(timestamps)
    start = timestamps[0] if timestamps else 0.0
    step_index = StepIndex(start, timestamps[1] - start if count > 1 else 1.0, count)
    known = {str(index): index for index in range(len(plan.terms))}
    split_label = plan.split_label
    # term -> agent -> split value -> column
    cells: list[dict[str | None, dict[str, _Column]]] = [{} for _ in plan.terms]
    for labels, points in labelled_rows(rows):
        tag = labels.get(TERM_LABEL)
        term = known.get(tag) if type(tag) is str else None
        if term is None:
            continue
        agent = labels.get(agent_label) or None
        part = labels.get(split_label, "") if split_label else ""
        if (agent is not None and type(agent) is not str) or type(part) is not str:
            continue
        parts = cells[term].setdefault(agent, {})
        if part in parts:
            continue
        column: _Column = [None] * count
        for index, raw in grid_points(points, step_index):
            column[index] = _number(raw)
        parts[part] = column
    return _stat_columns(plan, cells, count)


def _stat_columns(plan: TermPlan, cells: list[dict[str | None, dict[str, _Column]]], count: int) -> Columns:
    per_agent = [{agent: _total(parts.values(), count) for agent, parts in by_agent.items()} for by_agent in cells]
    fleet = [_total(list(by_agent.values()), count) for by_agent in per_agent]
    found: Columns = {}
    split_found: dict[tuple[str, str | None], _Column] = {}
    for stat in plan.stats:
        if stat.split:
            _split_stat(stat, cells, count, found, split_found)
            continue
        columns = found.setdefault(stat.key, {})
        agents = per_agent[stat.denominator if stat.denominator is not None else stat.numerator]
        for agent in agents:
            if agent is None:
                continue
            values = _stat_values(stat, per_agent[stat.numerator].get(agent), _denominator(stat, per_agent, agent), count)
            if values is not None:
                columns[agent] = values
        keep_top(columns, plan.max_agents, count)
        values = _stat_values(stat, fleet[stat.numerator], _fleet_denominator(stat, fleet), count)
        if values is not None:
            columns[None] = values
    if split_found:
        keep_top(split_found, plan.max_agents, count)  # one topk over every (agent, value) pair
        for (key, agent), values in split_found.items():
            if key:
                found.setdefault(key, {})[agent] = values
    return {stat: columns for stat, columns in found.items() if columns}


def _split_stat(
    stat: TermStat,
    cells: list[dict[str | None, dict[str, _Column]]],
    count: int,
    found: Columns,
    split_found: dict[tuple[str, str | None], _Column],
) -> None:
    """Per (agent, split value) pair and per value for the fleet: ``key + value`` stats."""
    numerators, denominators = cells[stat.numerator], cells[stat.denominator] if stat.denominator is not None else None
    for agent, parts in (denominators if denominators is not None else numerators).items():
        if agent is None:
            continue
        for part in parts:
            values = _stat_values(
                stat, numerators.get(agent, {}).get(part), denominators[agent][part] if denominators else None, count
            )
            if values is not None:  # an empty value has no stat name but still takes a topk place
                split_found[(stat.key + part if part else "", agent)] = values
    fleet_numerators = _by_part(numerators)
    fleet_denominators = _by_part(denominators) if denominators is not None else None
    for part in fleet_denominators if fleet_denominators is not None else fleet_numerators:
        if not part:
            continue
        values = _stat_values(
            stat,
            _total(fleet_numerators.get(part, ()), count),
            _total(fleet_denominators[part], count) if fleet_denominators is not None else None,
            count,
        )
        if values is not None:
            found.setdefault(stat.key + part, {})[None] = values


def _by_part(by_agent: dict[str | None, dict[str, _Column]]) -> dict[str, list[_Column]]:
    """Every agent's column (agent-less rows too) per split value."""
    grouped: dict[str, list[_Column]] = {}
    for parts in by_agent.values():
        for part, column in parts.items():
            grouped.setdefault(part, []).append(column)
    return grouped


def _denominator(stat: TermStat, per_agent: list[dict[str | None, _Column | None]], agent: str) -> _Column | None:
    return per_agent[stat.denominator].get(agent) if stat.denominator is not None else None


def _fleet_denominator(stat: TermStat, fleet: list[_Column | None]) -> _Column | None:
    return fleet[stat.denominator] if stat.denominator is not None else None


def _stat_values(stat: TermStat, numerator: _Column | None, denominator: _Column | None, count: int) -> _Column | None:
    """One stat's column from its term columns (None when it has no value at any step)."""
    values: _Column = [None] * count
    scale = stat.scale
    for index in range(count):
        top = numerator[index] if numerator is not None else None
        if stat.denominator is None:
            value = top
        else:
            bottom = denominator[index] if denominator is not None else None
            if bottom is None:
                continue
            if top is None:
                if not stat.zero_numerator:
                    continue
                top = 0.0
            value = top / bottom if bottom else math.nan  # x/0 is ±Inf or NaN on the server: no value
        if value is None:
            continue
        value *= scale
        values[index] = value if -math.inf < value < math.inf else math.nan
    return values if values.count(None) != count else None


def _total(columns: Iterable[_Column | None], count: int) -> _Column | None:
    """Step-wise sum of the present values (None where no column has one)."""
    present = [column for column in columns if column is not None]
    if len(present) == 1:
        return present[0]
    if not present:
        return None
    total: _Column = [None] * count
    for index in range(count):
        points = [column[index] for column in present if column[index] is not None]
        if points:
            total[index] = sum(points)
    return total


def _number(raw: object) -> float:
    try:
        return float(raw)  # the server sends "NaN" and "+Inf" as strings
    except (TypeError, ValueError, OverflowError):
        return math.nan
