"""Read a ``voicetop.snapshot/1`` file back into domain objects.

Every problem becomes one :class:`SnapshotError` line naming the file and,
for a malformed document, the offending field.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Callable, Mapping

from voicetop.domain.model import (
    QUANTILES,
    STAGES,
    WIRE_INT_RANGE,
    AgentStats,
    Alert,
    Breach,
    ChangeMarker,
    HealthState,
    Series,
    Session,
    Severity,
    SourceHealth,
    Span,
    SpanEvent,
    StageStats,
    ToolCall,
    Trace,
    Turn,
    Window,
)
from voicetop.domain.telephony import TelephonyStats, build_telephony
from voicetop.domain.thresholds import Hint, ThresholdRule, ThresholdSet
from voicetop.export.document import (
    SCHEMA,
    SCHEMA_FAMILY,
    SCHEMA_VERSION,
    Snapshot,
    SnapshotError,
)
from voicetop.export.timefmt import from_rfc3339

#: Largest snapshot file accepted (a guard against opening the wrong file).
MAX_BYTES = 256 * 1024 * 1024


class _Invalid(Exception):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")


def _obj(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise _Invalid(where, "expected an object")
    return value


def _list(value: Any, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Invalid(where, "expected a list")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(where, "expected a string")
    return value


def _opt_str(value: Any, where: str) -> str | None:
    return None if value is None else _str(value, where)


def _num(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Invalid(where, "expected a number")
    return float(value)


def _opt_num(value: Any, where: str) -> float | None:
    return None if value is None else _num(value, where)


def _nan(value: Any, where: str) -> float:
    return math.nan if value is None else _num(value, where)


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(where, "expected an integer")
    if value not in WIRE_INT_RANGE:
        raise _Invalid(where, "integer out of the 64-bit range")
    return value


def _time(value: Any, where: str) -> float:
    try:
        return from_rfc3339(value)
    except ValueError:
        raise _Invalid(where, "expected an RFC 3339 time") from None


def _opt_time(value: Any, where: str) -> float | None:
    return None if value is None else _time(value, where)


def _severity(value: Any, where: str) -> Severity:
    try:
        return Severity[_str(value, where).upper()]
    except KeyError:
        raise _Invalid(where, f"unknown severity {value!r}") from None


def _need(doc: Mapping, key: str, where: str) -> Any:
    if key not in doc:
        raise _Invalid(f"{where}.{key}" if where else key, "missing")
    return doc[key]


def _items(doc: Mapping, key: str, where: str, parse: Callable[[Any, str], Any]) -> tuple:
    return tuple(parse(item, f"{where}{key}[{i}]") for i, item in enumerate(_list(doc.get(key), key)))


def _series(value: Any, where: str) -> Series:
    doc = _obj(value, where)
    values = [_nan(v, f"{where}.values") for v in _list(doc.get("values"), where)]
    if "timestamps" in doc:
        stamps = [_num(t, f"{where}.timestamps") for t in _list(doc.get("timestamps"), where)]
    else:
        start = _num(_need(doc, "start", where), f"{where}.start")
        step = _num(_need(doc, "step", where), f"{where}.step")
        if step <= 0:
            raise _Invalid(f"{where}.step", "must be positive")
        stamps = [start + i * step for i in range(len(values))]
    if len(stamps) != len(values):
        raise _Invalid(where, "timestamps and values differ in length")
    return Series(tuple(stamps), tuple(values))


def _agent(value: Any, where: str) -> AgentStats:
    doc = _obj(value, where)
    agent_id = _opt_str(_need(doc, "agent_id", where), f"{where}.agent_id")
    stages_doc = _obj(doc.get("stages", {}), f"{where}.stages")
    stages = {}
    for stage in STAGES:
        item = _obj(stages_doc.get(stage, {}), f"{where}.stages.{stage}")
        quantiles = {q: _opt_num(item.get(q), f"{where}.stages.{stage}.{q}") for q, _ in QUANTILES}
        derived = _str(item.get("derived_from", "metrics"), f"{where}.stages.{stage}.derived_from")
        stages[stage] = StageStats(stage=stage, derived_from=derived, **quantiles)
    scalars = {
        str(k): _opt_num(v, f"{where}.scalars.{k}")
        for k, v in _obj(doc.get("scalars", {}), f"{where}.scalars").items()
    }
    series = {
        str(k): _series(v, f"{where}.series.{k}")
        for k, v in _obj(doc.get("series", {}), f"{where}.series").items()
    }
    severity = _severity(doc.get("severity", "ok"), f"{where}.severity")
    return AgentStats(agent_id, stages, scalars, series, severity)


def _breach(value: Any, where: str) -> Breach:
    doc = _obj(value, where)
    return Breach(
        key=_str(_need(doc, "key", where), f"{where}.key"),
        agent_id=_opt_str(doc.get("agent_id"), f"{where}.agent_id"),
        severity=_severity(_need(doc, "severity", where), f"{where}.severity"),
        value=_nan(doc.get("value"), f"{where}.value"),
        threshold=_nan(doc.get("threshold"), f"{where}.threshold"),
        since=_time(_need(doc, "since", where), f"{where}.since"),
        until=_opt_time(doc.get("until"), f"{where}.until"),
        peak=_nan(doc.get("peak", doc.get("value")), f"{where}.peak"),
        hint=_str(doc.get("hint", ""), f"{where}.hint"),
        group=_str(doc.get("group", ""), f"{where}.group"),
        change=_marker(doc["change"], f"{where}.change") if doc.get("change") is not None else None,
        node=_str(doc.get("node", ""), f"{where}.node"),
    )


def _marker(value: Any, where: str) -> ChangeMarker:
    doc = _obj(value, where)
    return ChangeMarker(
        agent_id=_opt_str(doc.get("agent_id"), f"{where}.agent_id"),
        label=_str(_need(doc, "label", where), f"{where}.label"),
        old=_str(doc.get("old", ""), f"{where}.old"),
        new=_str(_need(doc, "new", where), f"{where}.new"),
        at=_time(_need(doc, "at", where), f"{where}.at"),
    )


def _strings(value: Any, where: str) -> dict[str, str]:
    return {str(k): str(v) for k, v in _obj(value or {}, where).items()}


def _alert(value: Any, where: str) -> Alert:
    doc = _obj(value, where)
    return Alert(
        name=_str(_need(doc, "name", where), f"{where}.name"),
        state=_str(doc.get("state", "firing"), f"{where}.state"),
        severity=_str(doc.get("severity", ""), f"{where}.severity"),
        agent_id=_opt_str(doc.get("agent_id"), f"{where}.agent_id"),
        labels=_strings(doc.get("labels"), f"{where}.labels"),
        annotations=_strings(doc.get("annotations"), f"{where}.annotations"),
        active_at=_opt_time(doc.get("active_at"), f"{where}.active_at"),
        source=_str(doc.get("source", "prometheus"), f"{where}.source"),
    )


def _health(value: Any, where: str) -> SourceHealth:
    doc = _obj(value, where)
    state_word = _str(doc.get("state", "ok"), f"{where}.state")
    try:
        state = HealthState[state_word.upper()]
    except KeyError:
        raise _Invalid(f"{where}.state", f"unknown state {state_word!r}") from None
    return SourceHealth(
        name=_str(_need(doc, "name", where), f"{where}.name"),
        state=state,
        message=_str(doc.get("message", ""), f"{where}.message"),
        last_ok=_opt_time(doc.get("last_ok"), f"{where}.last_ok"),
        checked_at=_opt_time(doc.get("checked_at"), f"{where}.checked_at"),
    )


def _rule(key: str, value: Any, where: str) -> ThresholdRule:
    doc = _obj(value, where)
    hint = None
    if doc.get("hint") is not None:
        hint_doc = _obj(doc["hint"], f"{where}.hint")
        checks = tuple(_str(c, f"{where}.hint.checks") for c in _list(hint_doc.get("checks"), where))
        hint = Hint(_str(hint_doc.get("symptom", ""), f"{where}.hint.symptom"), checks)
    return ThresholdRule(
        key=key,
        warning=_num(_need(doc, "warning", where), f"{where}.warning"),
        critical=_num(_need(doc, "critical", where), f"{where}.critical"),
        direction=_str(doc.get("direction", "above"), f"{where}.direction"),
        for_seconds=_num(doc.get("for_seconds", 300.0), f"{where}.for_seconds"),
        unit=_str(doc.get("unit", "ms"), f"{where}.unit"),
        baseline=bool(doc.get("baseline", False)),
        label=_str(doc.get("label", key), f"{where}.label"),
        hint=hint,
        stat=_str(doc.get("stat", ""), f"{where}.stat"),
    )


def _thresholds(value: Any, where: str) -> ThresholdSet:
    doc = _obj(value, where)
    rules = {
        k: _rule(k, v, f"{where}.rules.{k}") for k, v in _obj(doc.get("rules", {}), where).items()
    }
    per_agent = {
        agent: {k: _rule(k, v, f"{where}.agents.{agent}.{k}") for k, v in _obj(rules_doc, where).items()}
        for agent, rules_doc in _obj(doc.get("agents", {}), where).items()
    }
    defaults = ThresholdSet()
    telephony = {
        k: _rule(k, v, f"{where}.telephony.{k}") for k, v in _obj(doc.get("telephony", {}), where).items()
    }
    return ThresholdSet(rules or defaults.rules, per_agent, {**defaults.telephony, **telephony})


def _telephony(value: Any, where: str) -> TelephonyStats | None:
    """The telephony section: source series per stat and node (derived ones are recomputed)."""
    if value is None:
        return None
    doc = _obj(value, where)
    series: dict[str, dict[str | None, Series]] = {}

    def add(node: str | None, part: Any, at: str) -> None:
        for key, item in _obj(_obj(part, at).get("series", {}), f"{at}.series").items():
            series.setdefault(str(key), {})[node] = _series(item, f"{at}.series.{key}")

    add(None, doc.get("fleet", {}), f"{where}.fleet")
    for i, node_doc in enumerate(_list(doc.get("nodes"), f"{where}.nodes")):
        at = f"{where}.nodes[{i}]"
        add(_str(_need(_obj(node_doc, at), "node_id", at), f"{at}.node_id"), node_doc, at)
    errors = {str(k): _str(v, f"{where}.errors.{k}") for k, v in _obj(doc.get("errors", {}), f"{where}.errors").items()}
    return build_telephony(series, errors)


def _attributes(value: Any, where: str) -> dict[str, object]:
    return {str(k): v for k, v in _obj(value or {}, where).items()}


def _span(value: Any, where: str, trace_id: str) -> Span:
    doc = _obj(value, where)
    events = tuple(
        SpanEvent(
            time_ns=_int(_obj(e, f"{where}.events[{i}]").get("time_ns", 0), f"{where}.events[{i}].time_ns"),
            name=_str(e.get("name", ""), f"{where}.events[{i}].name"),
            attributes=_attributes(e.get("attributes"), f"{where}.events[{i}].attributes"),
        )
        for i, e in enumerate(_list(doc.get("events"), f"{where}.events"))
    )
    return Span(
        trace_id=trace_id,
        span_id=_str(_need(doc, "span_id", where), f"{where}.span_id"),
        parent_id=_opt_str(doc.get("parent_id"), f"{where}.parent_id"),
        name=_str(_need(doc, "name", where), f"{where}.name"),
        service=_str(doc.get("service", ""), f"{where}.service"),
        start_ns=_int(_need(doc, "start_ns", where), f"{where}.start_ns"),
        end_ns=_int(_need(doc, "end_ns", where), f"{where}.end_ns"),
        attributes=_attributes(doc.get("attributes"), f"{where}.attributes"),
        status_error=bool(doc.get("status_error", False)),
        kind=_str(doc.get("kind", "internal"), f"{where}.kind"),
        events=events,
    )


def _turn(value: Any, where: str) -> tuple[Turn, Trace | None]:
    doc = _obj(value, where)
    trace_id = _str(_need(doc, "trace_id", where), f"{where}.trace_id")
    tools = tuple(
        ToolCall(
            name=_str(_obj(t, f"{where}.tools[{i}]").get("name", ""), f"{where}.tools[{i}].name"),
            error=bool(t.get("error", False)),
            duration_ms=_nan(t.get("duration_ms", 0.0), f"{where}.tools[{i}].duration_ms"),
        )
        for i, t in enumerate(_list(doc.get("tools"), f"{where}.tools"))
    )
    stages = {
        str(k): _nan(v, f"{where}.stages.{k}")
        for k, v in _obj(doc.get("stages", {}), f"{where}.stages").items()
    }
    turn = Turn(
        trace_id=trace_id,
        session_id=_str(_need(doc, "session_id", where), f"{where}.session_id"),
        agent_id=_str(_need(doc, "agent_id", where), f"{where}.agent_id"),
        index=_int(doc.get("index", 0), f"{where}.index"),
        start=_time(_need(doc, "start", where), f"{where}.start"),
        stages=stages,
        interrupted=bool(doc.get("interrupted", False)),
        tokens=_int(doc.get("tokens", 0), f"{where}.tokens"),
        tool_calls=_int(doc.get("tool_calls", 0), f"{where}.tool_calls"),
        tool_errors=_int(doc.get("tool_errors", 0), f"{where}.tool_errors"),
        root_span_id=_str(doc.get("root_span_id", ""), f"{where}.root_span_id"),
        duration_ms=_nan(doc.get("duration_ms", 0.0), f"{where}.duration_ms"),
        tools=tools,
        room=_str(doc.get("room", ""), f"{where}.room"),
    )
    if "spans" not in doc:
        return turn, None
    spans = tuple(_span(s, f"{where}.spans[{i}]", trace_id) for i, s in enumerate(_list(doc["spans"], where)))
    return turn, Trace(trace_id, spans)


def _session(value: Any, where: str) -> Session:
    doc = _obj(value, where)
    return Session(
        session_id=_str(_need(doc, "session_id", where), f"{where}.session_id"),
        agent_id=_str(_need(doc, "agent_id", where), f"{where}.agent_id"),
        room=_str(doc.get("room", ""), f"{where}.room"),
        started=_time(_need(doc, "started", where), f"{where}.started"),
        last_seen=_time(_need(doc, "last_seen", where), f"{where}.last_seen"),
        turns=_int(doc.get("turns", 0), f"{where}.turns"),
        last_e2e_ms=_opt_num(doc.get("last_e2e_ms"), f"{where}.last_e2e_ms"),
        worst_e2e_ms=_opt_num(doc.get("worst_e2e_ms"), f"{where}.worst_e2e_ms"),
        interruptions=_int(doc.get("interruptions", 0), f"{where}.interruptions"),
        tokens=_int(doc.get("tokens", 0), f"{where}.tokens"),
    )


def check_schema(doc: Any) -> None:
    """Raise _Invalid-free SnapshotError text for a wrong or newer schema."""
    if not isinstance(doc, dict) or "schema" not in doc:
        raise SnapshotError("not a voicetop snapshot (no \"schema\" field)")
    schema = doc["schema"]
    if not isinstance(schema, str) or not schema.startswith(SCHEMA_FAMILY):
        raise SnapshotError(f"unknown schema {str(schema)[:60]!r} (expected {SCHEMA})")
    version = schema[len(SCHEMA_FAMILY):]
    if not version.isdigit():
        raise SnapshotError(f"unknown schema {schema[:60]!r} (expected {SCHEMA})")
    if int(version) > SCHEMA_VERSION:
        raise SnapshotError(f"schema {schema} is newer than this voicetop reads ({SCHEMA}); upgrade voicetop")
    if int(version) != SCHEMA_VERSION:
        raise SnapshotError(f"unsupported old schema {schema} (expected {SCHEMA})")


def parse_document(doc: Any) -> Snapshot:
    """A Snapshot from a decoded JSON document; SnapshotError when malformed."""
    check_schema(doc)
    try:
        window_doc = _obj(_need(doc, "window", ""), "window")
        window = Window(
            _time(_need(window_doc, "start", "window"), "window.start"),
            _time(_need(window_doc, "end", "window"), "window.end"),
            _num(_need(window_doc, "step", "window"), "window.step"),
        )
        pairs = _items(doc, "turns", "", _turn)
        return Snapshot(
            created_at=_time(_need(doc, "created_at", ""), "created_at"),
            context=_str(doc.get("context", "default"), "context"),
            mode=_str(doc.get("mode", "live"), "mode"),
            window=window,
            source=_obj(doc.get("source", {}), "source"),
            thresholds=_thresholds(doc.get("thresholds", {}), "thresholds"),
            fleet=_agent(doc.get("fleet", {"agent_id": None}), "fleet"),
            agents=_items(doc, "agents", "", _agent),
            breaches=_items(doc, "breaches", "", _breach),
            alerts=_items(doc, "alerts", "", _alert),
            health=_items(doc, "health", "", _health),
            turns=tuple(turn for turn, _ in pairs),
            traces={turn.trace_id: trace for turn, trace in pairs if trace is not None},
            recent_turns=tuple(t for t, _ in _items(doc, "recent_turns", "", _turn)),
            sessions=_items(doc, "sessions", "", _session),
            redacted=bool(doc.get("redacted", True)),
            telephony=_telephony(doc.get("telephony"), "telephony"),
        )
    except _Invalid as exc:
        raise SnapshotError(f"not a valid {SCHEMA} file: {exc}") from None
    except ValueError as exc:  # e.g. a window whose end is before its start
        raise SnapshotError(f"not a valid {SCHEMA} file: {exc}") from None


def _json_problem(text: str, exc: json.JSONDecodeError) -> str:
    if not text.strip():
        return "is empty"
    if exc.pos >= len(text.rstrip()) and text.lstrip()[:1] in "{[":
        return "is truncated (the JSON ends early); was the export interrupted?"
    return f"is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"


def load_snapshot(path: str | os.PathLike) -> Snapshot:
    """Read and validate a snapshot file; every failure is one SnapshotError line."""
    name = str(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            raise SnapshotError(f"{name}: too large for a snapshot ({size} bytes)")
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise SnapshotError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise SnapshotError(f"{name}: is a directory, not a snapshot file") from None
    except OSError as exc:
        raise SnapshotError(f"{name}: cannot read ({exc.strerror or type(exc).__name__})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SnapshotError(f"{name}: is not a voicetop snapshot (not UTF-8 text)") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"{name}: {_json_problem(text, exc)}") from None
    except RecursionError:
        raise SnapshotError(f"{name}: is not a voicetop snapshot (nested too deeply)") from None
    try:
        return parse_document(doc)
    except SnapshotError as exc:
        raise SnapshotError(f"{name}: {exc}") from None
