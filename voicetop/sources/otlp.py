"""Parse trace wire formats into :class:`Trace` objects (DESIGN.md §3).

One parser for OTLP/JSON in every dialect the backends speak (Jaeger api_v3,
Tempo v1 ``batches`` / v2 ``trace.resourceSpans``, gogo-jsonpb) and one for the
Jaeger v1 UI model.  It accepts hex or base64 ids, integer or named enums,
int64 values as strings or numbers, camelCase or snake_case keys, and absent
fields (read as zero/empty).  Ids come out as lower-case hex: 32 characters for
trace ids (64-bit ids left-padded), 16 for span ids.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Iterable, Iterator, Mapping

from voicetop.domain.model import WIRE_INT_RANGE, Span, SpanEvent, Trace

TRACE_ID_HEX = 32
SPAN_ID_HEX = 16

_HEX = re.compile(r"[0-9a-fA-F]+")

SPAN_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
_STATUS_ERROR = 2


class WireFormatError(ValueError):
    """A payload is not the trace format it claims to be."""


def normalize_id(raw: object, width: int) -> str:
    """A trace/span id as lower-case hex left-padded to ``width`` ("" when absent).

    Hex input is taken as hex; anything else is decoded as (URL-safe or
    standard, padded or not) base64.  Longer ids keep their low-order bytes.
    """
    if raw is None:
        return ""
    text = str(raw).strip()
    if not text:
        return ""
    looks_base64 = text.endswith("=") or (len(text) in (12, 24) and not _HEX.fullmatch(text))
    if _HEX.fullmatch(text) and not looks_base64:
        hex_id = text.lower()
    else:
        try:
            padded = text + "=" * (-len(text) % 4)
            hex_id = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True).hex()
        except (binascii.Error, ValueError):
            raise WireFormatError(f"id {text[:40]!r} is neither hex nor base64") from None
    if not hex_id:
        return ""
    return hex_id[-width:].rjust(width, "0")


def trace_id(raw: object) -> str:
    return normalize_id(raw, TRACE_ID_HEX)


def span_id(raw: object) -> str:
    return normalize_id(raw, SPAN_ID_HEX)


def to_int(raw: object, default: int = 0) -> int:
    """An int64/uint64 that may arrive as a JSON number or a string."""
    if raw is None or raw == "":
        return default
    value = _integer(raw)
    if value not in WIRE_INT_RANGE:
        raise WireFormatError(f"integer out of the 64-bit range: {str(raw)[:40]}")
    return value


def _integer(raw: object) -> int:
    if isinstance(raw, bool):
        return int(raw)
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise WireFormatError(f"expected an integer, got {raw!r}")
        return int(raw)
    if not isinstance(raw, str):
        raise WireFormatError(f"expected an integer, got {type(raw).__name__.lower()}")
    try:
        return int(raw.strip())
    except ValueError:
        try:
            return int(float(raw.strip()))
        except (ValueError, OverflowError):
            raise WireFormatError(f"expected an integer, got {raw[:40]!r}") from None


def to_float(raw: object) -> float:
    """A double that may arrive as a number or a string ("NaN", "Infinity")."""
    try:
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return float(raw)
        return float(str(raw).strip())
    except (ValueError, OverflowError):
        raise WireFormatError(f"expected a number, got {str(raw)[:40]!r}") from None


def to_bool(raw: object) -> bool:
    if isinstance(raw, str):
        return raw.strip().lower() in ("true", "1", "yes")
    return bool(raw)


def _field(obj: Mapping[str, Any], camel: str, snake: str | None = None) -> Any:
    """A protobuf-JSON field by its camelCase or snake_case name."""
    if camel in obj:
        return obj[camel]
    if snake is None:
        snake = re.sub(r"(?<!^)([A-Z])", r"_\1", camel).lower()
    return obj.get(snake)


def any_value(value: Mapping[str, Any] | None) -> object:
    """An OTLP ``AnyValue`` as a Python value (bytes stay base64 text)."""
    if not isinstance(value, Mapping) or not value:
        return None
    for camel, convert in _VALUE_KINDS:
        raw = _field(value, camel)
        if raw is not None or camel in value:
            return convert(raw)
    return None


def _array(raw: Any) -> list:
    values = (raw or {}).get("values") or [] if isinstance(raw, Mapping) else []
    return [any_value(v) for v in values]


def _kvlist(raw: Any) -> dict:
    values = (raw or {}).get("values") or [] if isinstance(raw, Mapping) else []
    return attributes(values)


_VALUE_KINDS = (
    ("stringValue", lambda raw: "" if raw is None else str(raw)),
    ("boolValue", to_bool),
    ("intValue", to_int),
    ("doubleValue", to_float),
    ("bytesValue", lambda raw: "" if raw is None else str(raw)),
    ("arrayValue", _array),
    ("kvlistValue", _kvlist),
)


def attributes(items: Iterable[Mapping[str, Any]] | None) -> dict[str, object]:
    """OTLP ``KeyValue`` list → dict (later duplicates win)."""
    result: dict[str, object] = {}
    for item in items or ():
        if isinstance(item, Mapping) and "key" in item:
            result[str(item["key"])] = any_value(item.get("value"))
    return result


def span_kind(raw: object) -> str:
    """``2``, ``"SPAN_KIND_SERVER"`` or ``"server"`` → ``"server"``."""
    if raw is None or raw == "":
        return "unspecified"
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        index = int(raw)
        return SPAN_KINDS[index] if 0 <= index < len(SPAN_KINDS) else "unspecified"
    text = str(raw).strip().lower()
    if text.isdigit():
        return span_kind(int(text))
    text = text.removeprefix("span_kind_")
    return text if text in SPAN_KINDS else "unspecified"


def status_is_error(status: Mapping[str, Any] | None) -> bool:
    """True for ``{"code": 2}`` or ``{"code": "STATUS_CODE_ERROR"}``."""
    if not isinstance(status, Mapping):
        return False
    code = status.get("code")
    if isinstance(code, (int, float)) and not isinstance(code, bool):
        return int(code) == _STATUS_ERROR
    if isinstance(code, str):
        text = code.strip().upper()
        return text == "STATUS_CODE_ERROR" or text == "ERROR" or text == str(_STATUS_ERROR)
    return False


def _resource_spans(payload: Mapping[str, Any]) -> list:
    """The ``resourceSpans`` list of any envelope we know."""
    if not isinstance(payload, Mapping):
        raise WireFormatError("trace payload is not a JSON object")
    for key in ("result", "trace"):
        inner = payload.get(key)
        if isinstance(inner, Mapping):
            return _resource_spans(inner)
    for key in ("resourceSpans", "resource_spans", "batches"):
        if key in payload:
            found = payload[key]
            return list(found or [])
    if not payload:
        return []
    raise WireFormatError("no resourceSpans/batches in trace payload")


def _scope_spans(resource_spans: Mapping[str, Any]) -> list:
    for key in ("scopeSpans", "scope_spans", "instrumentationLibrarySpans", "instrumentation_library_spans"):
        if key in resource_spans:
            return list(resource_spans[key] or [])
    return []


def _events(items: Iterable[Mapping[str, Any]] | None) -> tuple[SpanEvent, ...]:
    return tuple(
        SpanEvent(
            time_ns=to_int(_field(e, "timeUnixNano")),
            name=str(e.get("name") or ""),
            attributes=attributes(e.get("attributes")),
        )
        for e in items or ()
        if isinstance(e, Mapping)
    )


def iter_otlp_spans(payload: Mapping[str, Any]) -> Iterator[Span]:
    """Every span of an OTLP/JSON document, in document order (duplicates kept)."""
    for resource_spans in _resource_spans(payload):
        if not isinstance(resource_spans, Mapping):
            continue
        resource = resource_spans.get("resource") or {}
        service = str(attributes(resource.get("attributes")).get("service.name") or "")
        for scope_spans in _scope_spans(resource_spans):
            if not isinstance(scope_spans, Mapping):
                continue
            for raw in scope_spans.get("spans") or ():
                if isinstance(raw, Mapping):
                    yield _otlp_span(raw, service)


def _parent_id(raw: object) -> str | None:
    """A parent span id, None when absent or all zeroes."""
    parent = span_id(raw)
    return parent if parent and parent.strip("0") else None


def _otlp_span(raw: Mapping[str, Any], service: str) -> Span:
    return Span(
        trace_id=trace_id(_field(raw, "traceId")),
        span_id=span_id(_field(raw, "spanId")),
        parent_id=_parent_id(_field(raw, "parentSpanId")),
        name=str(raw.get("name") or ""),
        service=service,
        start_ns=to_int(_field(raw, "startTimeUnixNano")),
        end_ns=to_int(_field(raw, "endTimeUnixNano")),
        attributes=attributes(raw.get("attributes")),
        status_error=status_is_error(raw.get("status")),
        kind=span_kind(raw.get("kind")),
        events=_events(raw.get("events")),
    )


def unique_spans(spans: Iterable[Span]) -> list[Span]:
    """Spans with duplicate ids dropped (the first occurrence wins)."""
    seen: set[tuple[str, str]] = set()
    result: list[Span] = []
    for span in spans:
        key = (span.trace_id, span.span_id)
        if key in seen:
            continue
        seen.add(key)
        result.append(span)
    return result


def group_traces(spans: Iterable[Span]) -> list[Trace]:
    """Spans grouped by trace id (first-seen order), duplicates dropped, by start."""
    by_trace: dict[str, list[Span]] = {}
    for span in unique_spans(spans):
        by_trace.setdefault(span.trace_id, []).append(span)
    return [
        Trace(tid, tuple(sorted(items, key=lambda s: s.start_ns)))
        for tid, items in by_trace.items()
    ]


def parse_otlp_traces(payload: Mapping[str, Any]) -> list[Trace]:
    """All traces in an OTLP/JSON document (any envelope)."""
    return group_traces(iter_otlp_spans(payload))


def parse_otlp_trace(payload: Mapping[str, Any], expected_id: str | None = None) -> Trace:
    """The one trace in an OTLP/JSON document (``expected_id`` picks among several)."""
    traces = parse_otlp_traces(payload)
    return _pick(traces, expected_id)


def _pick(traces: list[Trace], expected_id: str | None) -> Trace:
    if expected_id is not None:
        wanted = trace_id(expected_id)
        for trace in traces:
            if trace.trace_id == wanted:
                return trace
        return Trace(wanted, ())
    if not traces:
        return Trace("", ())
    return max(traces, key=lambda t: len(t.spans))


# --- Jaeger v1 UI model -------------------------------------------------------

_JAEGER_TAG_TYPES = {
    "string": lambda v: "" if v is None else str(v),
    "bool": to_bool,
    "int64": to_int,
    "float64": to_float,
    "binary": lambda v: "" if v is None else str(v),
}


def jaeger_tags(items: Iterable[Mapping[str, Any]] | None) -> dict[str, object]:
    """Jaeger ``tags``/``fields`` list → dict, typed by each tag's ``type``."""
    result: dict[str, object] = {}
    for item in items or ():
        if not isinstance(item, Mapping) or "key" not in item:
            continue
        kind = str(item.get("type") or "string").lower()
        convert = _JAEGER_TAG_TYPES.get(kind)
        value = item.get("value")
        result[str(item["key"])] = convert(value) if convert else value
    return result


def _jaeger_parent(raw: Mapping[str, Any], own_trace: str) -> str | None:
    references = raw.get("references") or []
    same_trace = [
        r for r in references
        if isinstance(r, Mapping) and trace_id(r.get("traceID")) == own_trace
    ]
    for wanted in ("CHILD_OF", "FOLLOWS_FROM"):
        for ref in same_trace:
            if str(ref.get("refType") or "CHILD_OF").upper() == wanted:
                return _parent_id(ref.get("spanID"))
    return _parent_id(raw.get("parentSpanID"))


def _jaeger_span(raw: Mapping[str, Any], processes: Mapping[str, Any], fallback_trace: str) -> Span:
    own_trace = trace_id(raw.get("traceID")) or fallback_trace
    tags = jaeger_tags(raw.get("tags"))
    process = raw.get("process")
    if not isinstance(process, Mapping):
        process = processes.get(str(raw.get("processID") or ""), {})
    kind = span_kind(tags.pop("span.kind")) if "span.kind" in tags else "internal"
    error = to_bool(tags.get("error", False)) or str(tags.get("otel.status_code", "")).upper() == "ERROR"
    start_ns = to_int(raw.get("startTime")) * 1000
    events = tuple(
        SpanEvent(
            time_ns=to_int(log.get("timestamp")) * 1000,
            name=str(fields.get("event", "")),
            attributes=fields,
        )
        for log in raw.get("logs") or ()
        if isinstance(log, Mapping)
        for fields in (jaeger_tags(log.get("fields")),)
    )
    return Span(
        trace_id=own_trace,
        span_id=span_id(raw.get("spanID")),
        parent_id=_jaeger_parent(raw, own_trace),
        name=str(raw.get("operationName") or ""),
        service=str((process or {}).get("serviceName") or ""),
        start_ns=start_ns,
        end_ns=start_ns + to_int(raw.get("duration")) * 1000,
        attributes=tags,
        status_error=error,
        kind=kind,
        events=events,
    )


def iter_jaeger_spans(raw: Mapping[str, Any]) -> Iterator[Span]:
    """Every span of one Jaeger v1 UI-model trace, in order (duplicates kept)."""
    if not isinstance(raw, Mapping):
        raise WireFormatError("Jaeger trace is not a JSON object")
    tid = trace_id(raw.get("traceID"))
    processes = raw.get("processes") or {}
    for item in raw.get("spans") or ():
        if isinstance(item, Mapping):
            yield _jaeger_span(item, processes, tid)


def parse_jaeger_trace(raw: Mapping[str, Any]) -> Trace:
    """One Jaeger v1 UI-model trace (µs times, ``references``, ``processes``)."""
    spans = list(iter_jaeger_spans(raw))
    tid = trace_id(raw.get("traceID"))
    traces = group_traces(spans)
    if not tid and traces:
        tid = traces[0].trace_id
    for trace in traces:
        if trace.trace_id == tid:
            return trace
    return Trace(tid, ())


def parse_jaeger_response(payload: Mapping[str, Any]) -> list[Trace]:
    """The ``{"data": [trace…]}`` envelope of ``/api/traces`` and ``/api/traces/{id}``."""
    if not isinstance(payload, Mapping) or "data" not in payload:
        raise WireFormatError("no 'data' in Jaeger response")
    data = payload.get("data") or []
    if isinstance(data, Mapping):
        data = [data]
    return [parse_jaeger_trace(t) for t in data if isinstance(t, Mapping)]

