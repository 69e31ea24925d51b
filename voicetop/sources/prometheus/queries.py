"""Plan the range queries of one refresh and parse their answers into Series.

One HTTP query per panel, never one per agent: each query ``or``s together
the per-agent and fleet-wide expressions of a panel's stats, each tagged with
``label_replace`` (``vt_stat`` = stat key, ``vt_scope="fleet"`` for fleet
rows), so a panel costs one round trip however many agents there are.  A stage
panel returns p50/p90/p95/p99 for every agent and the fleet in one answer.
Per-agent rows go through ``topk(max_agents, …)`` so a huge fleet cannot
flood the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from voicetop.domain.model import QUANTILES, STAGES, Series, Window, stage_stat_key
from voicetop.profiles.metrics import MetricProfile, StatExpr

STAT_LABEL = "vt_stat"
SCOPE_LABEL = "vt_scope"
FLEET = "fleet"

#: Scalar panels: stats that share one query (a failing query marks all of them).
SCALAR_PANELS: Mapping[str, tuple[str, ...]] = {
    "quality": ("wer", "mos", "rtf"),
    "conversation": ("interruption_rate", "turn_rate", "tts_chars_per_turn", "turns_per_session"),
    "tools": ("tool_success_rate", "tool_call_rate"),
    "errors": ("error_rate",),
    "capacity": ("active_sessions", "max_sessions", "capacity"),
    "cost": (
        "tokens_per_session", "cost_per_session", "tokens_per_session_baseline", "cost_per_session_baseline",
        "tts_chars_per_turn_baseline", "turns_per_session_baseline", "tool_call_rate_baseline",
    ),
}


@dataclass(frozen=True)
class PanelQuery:
    """One HTTP range query and the stat keys it answers."""

    name: str
    promql: str
    stats: tuple[str, ...]
    split_prefix: str | None = None  # stats named prefix + label value (per component)


def _tag(expr: str, stat: str, fleet: bool, split: tuple[str, str] | None = None) -> str:
    if split is None:
        tagged = f'label_replace({expr}, "{STAT_LABEL}", "{stat}", "", "")'
    else:
        prefix, label = split
        tagged = f'label_replace({expr}, "{STAT_LABEL}", "{prefix}$1", "{label}", "(.+)")'
    if fleet:
        return f'label_replace({tagged}, "{SCOPE_LABEL}", "{FLEET}", "", "")'
    return tagged


def _parts(expr: StatExpr, max_agents: int, split: tuple[str, str] | None = None) -> list[str]:
    parts = []
    if expr.agent:
        parts.append(_tag(f"topk({max_agents}, {expr.agent})", expr.key, False, split))
    if expr.fleet:
        parts.append(_tag(expr.fleet, expr.key, True, split))
    return parts


def _query(name: str, exprs: Sequence[StatExpr], max_agents: int) -> PanelQuery | None:
    parts = [part for expr in exprs for part in _parts(expr, max_agents)]
    if not parts:
        return None
    return PanelQuery(name, " or ".join(parts), tuple(e.key for e in exprs))


def plan_queries(profile: MetricProfile) -> tuple[PanelQuery, ...]:
    """The queries of one refresh: one per stage, one per scalar panel, one per raw stat."""
    queries: list[PanelQuery] = []
    custom: list[StatExpr] = []
    for stage in STAGES:
        exprs = []
        for quantile, _ in QUANTILES:
            key = stage_stat_key(stage, quantile)
            expr = profile.stat_expr(key)
            if expr is None:
                continue
            (custom if key in profile.promql else exprs).append(expr)
        query = _query(f"stage:{stage}", exprs, profile.max_agents)
        if query:
            queries.append(query)
    for panel, keys in SCALAR_PANELS.items():
        exprs = []
        for key in keys:
            expr = profile.stat_expr(key)
            if expr is None:
                continue
            base = key.removesuffix("_baseline")
            (custom if base in profile.promql else exprs).append(expr)
        if panel == "errors":
            component = profile.component_error_expr()
            if component is not None:
                split = (component.key, component.split_label or "component")
                extra = _parts(component, profile.max_agents, split)
                base_query = _query(panel, exprs, profile.max_agents)
                promql = " or ".join(([base_query.promql] if base_query else []) + extra)
                stats = base_query.stats if base_query else ()
                queries.append(PanelQuery(panel, promql, stats, split_prefix=component.key))
                continue
        query = _query(panel, exprs, profile.max_agents)
        if query:
            queries.append(query)
    for expr in custom:
        query = _query(f"stat:{expr.key}", [expr], profile.max_agents)
        if query:
            queries.append(query)
    return tuple(queries)


def clean_value(raw: object) -> float:
    """A sample value as float; NaN, ±Inf and garbage all become NaN."""
    try:
        value = float(raw)  # Prometheus sends "NaN", "+Inf", "-Inf" as strings
    except (TypeError, ValueError, OverflowError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def _grid_index(timestamp: float, window: Window, count: int) -> int | None:
    if not math.isfinite(timestamp):
        return None
    index = round((timestamp - window.start) / window.step)
    if 0 <= index < count and abs(window.start + index * window.step - timestamp) < window.step / 2:
        return index
    return None


def parse_matrix(
    rows: Iterable[Mapping],
    query: PanelQuery,
    window: Window,
    agent_label: str,
) -> dict[str, dict[str | None, Series]]:
    """Series per stat and agent, aligned on the window's steps (NaN where absent).

    Rows without a stat tag, or per-agent rows without the agent label, are
    ignored; the first row for a (stat, agent) pair wins.  Malformed rows
    (non-string labels, points that are not ``[time, value]``) are skipped.
    """
    timestamps = window.timestamps()
    count = len(timestamps)
    found: dict[str, dict[str | None, Series]] = {}
    for row in rows:
        if not isinstance(row, Mapping):
            continue
        labels = row.get("metric") or {}
        if not isinstance(labels, Mapping):
            continue
        stat = labels.get(STAT_LABEL)
        if not stat or not isinstance(stat, str):
            continue
        if query.split_prefix is None or not stat.startswith(query.split_prefix):
            if stat not in query.stats:
                continue
        if labels.get(SCOPE_LABEL) == FLEET:
            agent: str | None = None
        else:
            agent = labels.get(agent_label) or None
            if not isinstance(agent, str):
                continue
        per_agent = found.setdefault(stat, {})
        if agent in per_agent:
            continue
        values = [math.nan] * count
        points = row.get("values")
        for point in points if isinstance(points, list) else ():
            try:
                timestamp, raw = float(point[0]), point[1]
            except (TypeError, ValueError, IndexError, KeyError, OverflowError):
                continue
            index = _grid_index(timestamp, window, count)
            if index is not None:
                values[index] = clean_value(raw)
        per_agent[agent] = Series(timestamps, tuple(values))
    return found
