"""Domain objects → the JSON document of a ``voicetop.snapshot/1`` file.

Times are RFC 3339 except inside series (Unix seconds) and spans (Unix
nanoseconds); NaN and infinities become ``null``.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping

from voicetop.domain.model import (
    QUANTILES,
    STAGES,
    AgentStats,
    Alert,
    Breach,
    ChangeMarker,
    Frame,
    MetricsResult,
    Series,
    Session,
    SourceHealth,
    Span,
    Trace,
    Turn,
)
from voicetop.domain.telephony import DERIVED, TelephonyStats
from voicetop.domain.thresholds import ThresholdRule, ThresholdSet
from voicetop.export.document import SCHEMA
from voicetop.export.timefmt import to_rfc3339

#: Headline scalars written at the top level of each agent (document name → stat key).
HEADLINE_SCALARS: Mapping[str, str] = {
    "wer": "wer",
    "mos": "mos",
    "interruption_rate": "interruption_rate",
    "tool_success_rate": "tool_success_rate",
    "active_sessions": "active_sessions",
    "capacity_ratio": "capacity",
}


def number(value: float | int | None) -> float | int | None:
    """A JSON-safe number: None for missing, NaN or infinite."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _time(value: float | None) -> str | None:
    return None if value is None else to_rfc3339(value)


def series_doc(series: Series) -> dict:
    """``{start, step, values}`` for a regular series, else explicit timestamps."""
    values = [number(v) for v in series.values]
    stamps = series.timestamps
    if len(stamps) >= 2:
        start, step = stamps[0], stamps[1] - stamps[0]
        if step > 0 and all(t == start + i * step for i, t in enumerate(stamps)):
            return {"start": start, "step": step, "values": values}
    return {"timestamps": list(stamps), "values": values}


def agent_doc(stats: AgentStats, history: Mapping[str, Series] | None = None) -> dict:
    doc: dict = {"agent_id": stats.agent_id, "severity": stats.severity.word}
    doc["stages"] = {
        stage: {
            **{q: number(stats.stage_value(stage, q)) for q, _ in QUANTILES},
            "derived_from": stats.stages[stage].derived_from if stage in stats.stages else "metrics",
        }
        for stage in STAGES
    }
    for name, key in HEADLINE_SCALARS.items():
        doc[name] = number(stats.scalar(key))
    doc["scalars"] = {key: number(value) for key, value in sorted(stats.scalars.items())}
    series = stats.series if history is None else history
    doc["series"] = {key: series_doc(s) for key, s in sorted(series.items())}
    return doc


def breach_doc(breach: Breach) -> dict:
    return {
        "key": breach.key,
        "agent_id": breach.agent_id,
        "severity": breach.severity.word,
        "value": number(breach.value),
        "threshold": number(breach.threshold),
        "since": _time(breach.since),
        "until": _time(breach.until),
        "peak": number(breach.peak),
        "hint": breach.hint,
        **({"group": breach.group} if breach.group else {}),
        **({"change": marker_doc(breach.change)} if breach.change is not None else {}),
        **({"node": breach.node} if breach.node else {}),
    }


def marker_doc(marker: ChangeMarker) -> dict:
    """A label change (issue #9): ``model``/``prompt_version`` of an agent, old → new at a time."""
    return {"agent_id": marker.agent_id, "label": marker.label, "old": marker.old, "new": marker.new,
            "at": _time(marker.at)}


def alert_doc(alert: Alert) -> dict:
    return {
        "name": alert.name,
        "state": alert.state,
        "severity": alert.severity,
        "agent_id": alert.agent_id,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "active_at": _time(alert.active_at),
        "source": alert.source,
    }


def health_doc(health: SourceHealth) -> dict:
    return {
        "name": health.name,
        "state": health.state.name.lower(),
        "message": health.message,
        "last_ok": _time(health.last_ok),
        "checked_at": _time(health.checked_at),
    }


def rule_doc(rule: ThresholdRule) -> dict:
    doc = {
        "warning": rule.warning,
        "critical": rule.critical,
        "direction": rule.direction,
        "for_seconds": rule.for_seconds,
        "unit": rule.unit,
        "baseline": rule.baseline,
        "label": rule.label,
    }
    if rule.stat:
        doc["stat"] = rule.stat
    if rule.hint is not None:
        doc["hint"] = {"symptom": rule.hint.symptom, "checks": list(rule.hint.checks)}
    return doc


def thresholds_doc(thresholds: ThresholdSet) -> dict:
    return {
        "rules": {key: rule_doc(rule) for key, rule in thresholds.rules.items()},
        "agents": {
            agent: {key: rule_doc(rule) for key, rule in rules.items()}
            for agent, rules in thresholds.per_agent.items()
        },
        "telephony": {key: rule_doc(rule) for key, rule in thresholds.telephony.items()},
    }


def telephony_doc(stats: TelephonyStats, history: MetricsResult | None = None) -> dict:
    """The telephony section (issue #10): latest values and source series, fleet and per node.

    Derived stats (``packet_loss``, ``poor_quality_share``) appear in ``values``
    only; replay recomputes their series.  ``history`` (a longer range) replaces
    the frame's series like the agents' ones.
    """
    stored: dict[str | None, dict[str, Series]] = {
        part.node_id: {k: v for k, v in part.series.items() if k not in DERIVED}
        for part in (stats.fleet, *stats.nodes)
    }
    if history is not None and history.telephony:
        longer: dict[str | None, dict[str, Series]] = {}
        for key, per_node in history.telephony.items():
            for node, values in per_node.items():
                longer.setdefault(node, {})[key] = values
        stored = {node: {**series, **longer.get(node, {})} for node, series in stored.items()}

    def part_doc(node: str | None) -> dict:
        part = stats.fleet if node is None else stats.node(node)
        values = {key: number(part.value(key)) for key in sorted(part.series)} if part is not None else {}
        return {"values": values, "series": {k: series_doc(v) for k, v in sorted(stored.get(node, {}).items())}}

    return {
        "fleet": part_doc(None),
        "nodes": [{"node_id": n.node_id, **part_doc(n.node_id)} for n in stats.nodes if n.node_id is not None],
        "errors": dict(stats.errors),
    }


def attribute_value(value: object) -> object:
    """Span attribute values as JSON: scalars and lists kept, the rest as text."""
    if isinstance(value, (str, bool, int)) or value is None:
        return value
    if isinstance(value, float):
        return number(value)
    if isinstance(value, (list, tuple)):
        return [attribute_value(v) for v in value]
    return str(value)


def _attributes(attributes: Mapping[str, object]) -> dict:
    return {str(k): attribute_value(v) for k, v in attributes.items()}


def span_doc(span: Span) -> dict:
    return {
        "span_id": span.span_id,
        "parent_id": span.parent_id,
        "name": span.name,
        "service": span.service,
        "start_ns": int(span.start_ns),
        "end_ns": int(span.end_ns),
        "kind": span.kind,
        "status_error": span.status_error,
        "attributes": _attributes(span.attributes),
        "events": [
            {"time_ns": int(e.time_ns), "name": e.name, "attributes": _attributes(e.attributes)}
            for e in span.events
        ],
    }


def turn_doc(turn: Turn, trace: Trace | None = None) -> dict:
    doc = {
        "trace_id": turn.trace_id,
        "session_id": turn.session_id,
        "agent_id": turn.agent_id,
        "index": turn.index,
        "start": to_rfc3339(turn.start),
        "stages": {k: number(v) for k, v in turn.stages.items()},
        "interrupted": turn.interrupted,
        "tokens": turn.tokens,
        "tool_calls": turn.tool_calls,
        "tool_errors": turn.tool_errors,
        "root_span_id": turn.root_span_id,
        "duration_ms": number(turn.duration_ms),
        "tools": [
            {"name": t.name, "error": t.error, "duration_ms": number(t.duration_ms)} for t in turn.tools
        ],
        "room": turn.room,
    }
    if trace is not None:
        doc["spans"] = [span_doc(s) for s in sorted(trace.spans, key=lambda s: (s.start_ns, s.span_id))]
    return doc


def session_doc(session: Session) -> dict:
    return {
        "session_id": session.session_id,
        "agent_id": session.agent_id,
        "room": session.room,
        "started": to_rfc3339(session.started),
        "last_seen": to_rfc3339(session.last_seen),
        "turns": session.turns,
        "last_e2e_ms": number(session.last_e2e_ms),
        "worst_e2e_ms": number(session.worst_e2e_ms),
        "interruptions": session.interruptions,
        "tokens": session.tokens,
    }


def build_document(
    frame: Frame,
    turns_with_traces: Iterable[tuple[Turn, Trace | None]] = (),
    *,
    context: str,
    source_info: Mapping[str, object],
    thresholds: ThresholdSet,
    created_at: float,
    recent_turns: Iterable[Turn] = (),
    sessions: Iterable[Session] = (),
    redacted: bool = True,
    history: MetricsResult | None = None,
) -> dict:
    """The snapshot document for ``frame`` (not yet redacted).

    ``history`` (series over a longer range ending with the window) replaces
    the frame's own series, so replay can move the time cursor back.
    """
    window = frame.window

    def agent(stats: AgentStats) -> dict:
        if history is None:
            return agent_doc(stats)
        return agent_doc(stats, history.for_agent(stats.agent_id) or stats.series)

    return {
        "schema": SCHEMA,
        "created_at": to_rfc3339(created_at),
        "context": context,
        "mode": frame.mode,
        "redacted": redacted,
        "window": {
            "start": to_rfc3339(window.start),
            "end": to_rfc3339(window.end),
            "step": window.step,
        },
        "source": dict(source_info),
        "thresholds": thresholds_doc(thresholds),
        "fleet": agent(frame.fleet),
        "agents": [agent(a) for a in frame.agents],
        **({"telephony": telephony_doc(frame.telephony, history)} if frame.telephony is not None else {}),
        "breaches": [breach_doc(b) for b in frame.breaches],
        "markers": [marker_doc(m) for m in frame.markers],
        "alerts": [alert_doc(a) for a in frame.alerts],
        "health": [health_doc(h) for h in frame.health],
        "turns": [turn_doc(turn, trace) for turn, trace in turns_with_traces],
        "recent_turns": [turn_doc(t) for t in recent_turns],
        "sessions": [session_doc(s) for s in sessions],
    }
