"""Assemble a :class:`Frame` from a metrics result and the threshold set."""

from __future__ import annotations

import threading
from array import array
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

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
from voicetop.domain.telephony import TelephonyStats, with_telephony
from voicetop.domain.thresholds import ThresholdSet, evaluate


#: stat key -> (stage, quantile) for every stage quantile.
_STAGE_OF = {stage_stat_key(stage, q): (stage, q) for stage in STAGES for q, _ in QUANTILES}


def agent_stats(
    agent_id: str | None,
    series: Mapping[str, Series],
    breaches: Iterable[Breach] = (),
    derived_stages: Mapping[str, StageStats] | None = None,
) -> AgentStats:
    """Latest values of an agent's series, with its worst active severity."""
    quantiles: dict[str, dict[str, float | None]] = {stage: {} for stage in STAGES}
    scalars: dict[str, float | None] = dict.fromkeys(SCALAR_STATS)
    for key, found in series.items():  # one pass over what the agent has (a few dozen of many keys)
        values = found.values
        newest = values[-1] if values else None
        if newest != newest or newest is None:  # NaN or empty: look further back
            newest = found.last()
        where = _STAGE_OF.get(key)
        if where is not None:
            quantiles[where[0]][where[1]] = newest
        elif key in scalars or key.endswith("_baseline"):
            scalars[key] = newest
    stages: dict[str, StageStats] = {}
    for stage, values in quantiles.items():
        if derived_stages and stage in derived_stages and all(v is None for v in values.values()):
            stages[stage] = derived_stages[stage]
        else:
            stages[stage] = StageStats(stage, **values)
    severity = max((b.severity for b in breaches if b.active), default=Severity.OK)
    return AgentStats(agent_id, stages, scalars, dict(series), severity)


def same_series(a: Series, b: Series) -> bool:
    """Equal timestamps and values, NaN equal to NaN (``==`` says NaN != NaN)."""
    if a is b or a == b:
        return True
    return a.timestamps == b.timestamps and array("d", a.values).tobytes() == array("d", b.values).tobytes()


def same_series_map(a: Mapping[str, Series], b: Mapping[str, Series]) -> bool:
    """The same stat keys, each with the same series."""
    if a is b or a == b:  # in C, and at once where the series are the same objects (a kept read)
        return True
    if a.keys() != b.keys():
        return False
    return all(same_series(series, b[key]) for key, series in a.items())


def _same_telephony(a: Mapping[str, Mapping[str | None, Series]], b: Mapping[str, Mapping[str | None, Series]]) -> bool:
    return a.keys() == b.keys() and all(same_series_map(per_node, b[key]) for key, per_node in a.items())


@dataclass(frozen=True)
class _AgentEvaluation:
    """One agent's inputs and what they evaluated to."""

    series: Mapping[str, Series]
    derived: Mapping[str, StageStats] | None
    breaches: tuple[Breach, ...]
    stats: AgentStats


@dataclass(frozen=True)
class _FleetEvaluation:
    """The last build's inputs (every series, the trace-derived stages) and its agents and breaches."""

    series: Mapping[str, Mapping[str | None, Series]]
    derived: Mapping[str | None, Mapping[str, StageStats]]
    fleet: AgentStats
    agents: tuple[AgentStats, ...]
    breaches: tuple[Breach, ...]  # before telephony's


@dataclass(frozen=True)
class _TelephonyEvaluation:
    telephony: Mapping[str, Mapping[str | None, Series]]
    errors: Mapping[str, str]
    end: float
    breaches_in: tuple[Breach, ...]
    stats: TelephonyStats | None
    breaches_out: tuple[Breach, ...]


class FrameBuilder:
    """Builds frames like :func:`build_frame`, re-evaluating only what changed.

    Live polls within one window step (a 1 s refresh over 15 s steps) mostly get
    the same series back: an agent (or the fleet) whose series and trace-derived
    stages equal the previous call's keeps its breaches and its AgentStats
    object, and unchanged telephony keeps its stats and breaches.  Keeping the
    same objects also lets the screens skip rows that did not change.  When no
    series changed at all (the same objects, or equal ones), the last build's
    agents and sorted breaches are kept whole, without a pass over the agents.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the poller thread and a one-shot poll may overlap
        self._thresholds: ThresholdSet | None = None
        self._agents: dict[str | None, _AgentEvaluation] = {}
        self._fleet: _FleetEvaluation | None = None
        self._telephony: _TelephonyEvaluation | None = None
        self._sorted: tuple[tuple[Breach, ...], tuple[Breach, ...]] | None = None  # breaches as given, then sorted
        #: The last full result built here and its series by agent (a focused result reuses them).
        self._grouping: tuple[MetricsResult, dict[str | None, dict[str, Series]]] | None = None

    def build(
        self,
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
        with self._lock:
            return self._build(result, thresholds, health, created_at, mode, alerts, context, derived_stages)

    def _build(self, result, thresholds, health, created_at, mode, alerts, context, derived_stages) -> Frame:
        if thresholds is not self._thresholds:
            self._thresholds, self._agents, self._fleet, self._telephony = thresholds, {}, None, None
        derived = derived_stages or {}
        last = self._fleet
        if last is None or last.derived != derived or last.series != result.series:  # in C: nested dicts, Series
            last = self._fleet = self._evaluate_all(result, derived)
        telephony, all_breaches = self._with_telephony(result, list(last.breaches))
        return Frame(
            created_at=created_at,
            window=result.window,
            mode=mode,
            fleet=last.fleet,
            agents=last.agents,
            breaches=self._sorted_breaches(all_breaches),
            health=tuple(health),
            alerts=tuple(alerts),
            context=context,
            telephony=telephony,
        )

    def _evaluate_all(
        self, result: MetricsResult, derived: Mapping[str | None, Mapping[str, StageStats]]
    ) -> _FleetEvaluation:
        """The fleet and every agent, each re-evaluated only if its own series changed."""
        by_agent = self._grouped(result)
        previous, self._agents = self._agents, {}
        fleet = self._evaluate(previous, None, by_agent.get(None, {}), derived.get(None))
        breaches: list[Breach] = list(fleet.breaches)
        agents: list[AgentStats] = []
        agent_ids = sorted({a for a in by_agent if a is not None} | {a for a in derived if a is not None})
        for agent_id in agent_ids:
            found = self._evaluate(previous, agent_id, by_agent.get(agent_id, {}), derived.get(agent_id))
            breaches.extend(found.breaches)
            agents.append(found.stats)
        return _FleetEvaluation(result.series, derived, fleet.stats, tuple(agents), tuple(breaches))

    def _grouped(self, result: MetricsResult) -> Mapping[str | None, Mapping[str, Series]]:
        """The result's series by agent; for a focused result laid over the last full one built here,
        that one's grouping with just the changed agents grouped again."""
        known = self._grouping
        if result.overlaid_on is not None and known is not None and known[0] is result.overlaid_on:
            grouped = dict(known[1])
            for agent_id in result.overlaid:
                found = result.for_agent(agent_id)
                if found:
                    grouped[agent_id] = found
                else:
                    grouped.pop(agent_id, None)
            return grouped
        grouped = result.by_agent()
        if result.overlaid_on is None:
            self._grouping = (result, grouped)
        return grouped

    def _sorted_breaches(self, breaches: list[Breach]) -> tuple[Breach, ...]:
        """Active first, then the most severe, then the newest; the last order kept while the breaches are the same."""
        given = tuple(breaches)
        if self._sorted is not None and self._sorted[0] == given:
            return self._sorted[1]
        found = tuple(sorted(breaches, key=lambda b: (not b.active, -int(b.severity), -b.since)))
        self._sorted = (given, found)
        return found

    def _evaluate(
        self,
        previous: Mapping[str | None, _AgentEvaluation],
        agent_id: str | None,
        series: Mapping[str, Series],
        derived: Mapping[str, StageStats] | None,
    ) -> _AgentEvaluation:
        known = previous.get(agent_id)
        if known is not None and known.derived == derived and same_series_map(series, known.series):
            self._agents[agent_id] = known
            return known
        assert self._thresholds is not None
        breaches = tuple(evaluate(self._thresholds, series, agent_id))
        found = _AgentEvaluation(series, derived, breaches, agent_stats(agent_id, series, breaches, derived))
        self._agents[agent_id] = found
        return found

    def _with_telephony(self, result: MetricsResult, breaches: list[Breach]) -> tuple[TelephonyStats | None, list[Breach]]:
        known = self._telephony
        end = result.window.end
        if (
            known is not None
            and known.end == end
            and known.errors == result.errors
            and known.breaches_in == tuple(breaches)
            and _same_telephony(result.telephony, known.telephony)
        ):
            return known.stats, list(known.breaches_out)
        assert self._thresholds is not None
        stats, found = with_telephony(result, self._thresholds, breaches)
        self._telephony = _TelephonyEvaluation(
            result.telephony, dict(result.errors), end, tuple(breaches), stats, tuple(found)
        )
        return stats, found


def build_frame(
    result: MetricsResult, thresholds: ThresholdSet, health: Iterable[SourceHealth], **options: Any
) -> Frame:
    """A one-shot :meth:`FrameBuilder.build` (nothing remembered between calls)."""
    return FrameBuilder().build(result, thresholds, health, **options)
