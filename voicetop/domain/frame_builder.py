"""Assemble a :class:`Frame` from a metrics result and the threshold set."""

from __future__ import annotations

from typing import Iterable, Mapping

from voicetop.domain.model import (
    QUANTILES,
    SCALAR_STATS,
    STAGES,
    AgentStats,
    Alert,
    Breach,
    Frame,
    MetricsResult,
    Series,
    Severity,
    SourceHealth,
    StageStats,
    stage_stat_key,
)
from voicetop.domain.telephony import with_telephony
from voicetop.domain.thresholds import ThresholdSet, evaluate


def agent_stats(
    agent_id: str | None,
    series: Mapping[str, Series],
    breaches: Iterable[Breach] = (),
    derived_stages: Mapping[str, StageStats] | None = None,
) -> AgentStats:
    """Latest values of an agent's series, with its worst active severity."""
    stages: dict[str, StageStats] = {}
    for stage in STAGES:
        values = {q: _last(series, stage_stat_key(stage, q)) for q, _ in QUANTILES}
        if all(v is None for v in values.values()) and derived_stages and stage in derived_stages:
            stages[stage] = derived_stages[stage]
        else:
            stages[stage] = StageStats(stage=stage, **values)
    scalars = {key: _last(series, key) for key in SCALAR_STATS}
    for key, value in series.items():
        if key.endswith("_baseline"):
            scalars[key] = value.last()
    severity = max((b.severity for b in breaches if b.active), default=Severity.OK)
    return AgentStats(agent_id, stages, scalars, dict(series), severity)


def _last(series: Mapping[str, Series], key: str) -> float | None:
    found = series.get(key)
    return None if found is None else found.last()


def build_frame(
    result: MetricsResult,
    thresholds: ThresholdSet,
    health: Iterable[SourceHealth],
    *,
    created_at: float,
    mode: str = "live",
    alerts: Iterable[Alert] = (),
    context: str = "default",
    derived_stages: Mapping[str | None, Mapping[str, StageStats]] | None = None,
) -> Frame:
    """Evaluate thresholds for the fleet and every agent; newest breaches first.

    ``derived_stages`` (trace-derived percentiles per agent, fleet under None)
    fill the stages the metrics lack; agents seen only in traces are included.
    """
    derived = derived_stages or {}
    all_breaches: list[Breach] = []
    agents: list[AgentStats] = []
    fleet_series = result.for_agent(None)
    fleet_breaches = evaluate(thresholds, fleet_series, None)
    all_breaches.extend(fleet_breaches)
    agent_ids = sorted(set(result.agent_ids()) | {a for a in derived if a is not None})
    for agent_id in agent_ids:
        series = result.for_agent(agent_id)
        breaches = evaluate(thresholds, series, agent_id)
        all_breaches.extend(breaches)
        agents.append(agent_stats(agent_id, series, breaches, derived.get(agent_id)))
    telephony, all_breaches = with_telephony(result, thresholds, all_breaches)
    all_breaches.sort(key=lambda b: (not b.active, -int(b.severity), -b.since))
    return Frame(
        created_at=created_at,
        window=result.window,
        mode=mode,
        fleet=agent_stats(None, fleet_series, fleet_breaches, derived.get(None)),
        agents=tuple(agents),
        breaches=tuple(all_breaches),
        health=tuple(health),
        alerts=tuple(alerts),
        context=context,
        telephony=telephony,
    )
