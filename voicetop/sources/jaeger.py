"""Jaeger trace source: api_v3 first, the v1 HTTP API as the legacy fallback.

api_v3 (``/api/v3/traces``…) answers OTLP/JSON wrapped in ``{"result": …}``
and 404 when a search finds nothing.  Newer servers take camelCase search
parameters (``query.serviceName``), older ones snake_case
(``query.service_name``): we send camelCase and retry once in snake_case when
the server says the required times are missing.  Without api_v3 we use
``/api/traces`` (µs times, UI-model JSON).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Mapping

from voicetop.config import Connection
from voicetop.domain.model import Trace
from voicetop.profiles.spans import SpanProfile
from voicetop.sources.base import SourceError
from voicetop.sources.otlp import (
    WireFormatError,
    parse_jaeger_response,
    parse_otlp_traces,
    to_int,
    trace_id as normalize_trace_id,
)
from voicetop.sources.tracehttp import HttpTraceSource, TraceSummary

#: Longer service names (hostile or broken instrumentation) are not searched.
MAX_SERVICE_NAME = 1024

_CAMEL = {
    "service": "query.serviceName",
    "operation": "query.operationName",
    "min": "query.startTimeMin",
    "max": "query.startTimeMax",
    "depth": "query.searchDepth",
    "attributes": "query.attributes",
}
_SNAKE = {
    "service": "query.service_name",
    "operation": "query.operation_name",
    "min": "query.start_time_min",
    "max": "query.start_time_max",
    "depth": "query.num_traces",
    "attributes": "query.attributes",
}


def rfc3339(seconds: float) -> str:
    """Unix seconds → RFC 3339 with nanoseconds, UTC (``…Z``)."""
    whole = int(seconds // 1)
    nanos = int(round((seconds - whole) * 1e9))
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    stamp = datetime.fromtimestamp(whole, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


def parse_trace_summaries(payload: Mapping[str, Any]) -> list[TraceSummary]:
    """The ``/api/v3/trace-summaries`` body (Jaeger ≥ 2.19)."""
    items = payload.get("summaries") if isinstance(payload, Mapping) else None
    result = []
    for item in items or ():
        if not isinstance(item, Mapping):
            continue
        result.append(
            TraceSummary(
                trace_id=normalize_trace_id(item.get("traceId")),
                root_service=str(item.get("rootServiceName") or ""),
                root_name=str(item.get("rootOperationName") or ""),
                start_ns=to_int(item.get("minStartTimeUnixNano")),
                end_ns=to_int(item.get("maxEndTimeUnixNano")),
                span_count=to_int(item.get("spanCount")),
                error_count=to_int(item.get("errorSpanCount")),
                services=tuple(
                    str(s.get("name") or "") for s in item.get("services") or () if isinstance(s, Mapping)
                ),
            )
        )
    return result


def parse_services(payload: Any) -> list[str]:
    """``{"services": [...]}`` (api_v3) or ``{"data": [...]}`` (v1)."""
    if not isinstance(payload, Mapping):
        raise WireFormatError("services response is not a JSON object")
    items = payload.get("services", payload.get("data")) or []
    return sorted({str(s) for s in items if isinstance(s, str)})


class JaegerTraceSource(HttpTraceSource):
    """Sessions, turns and span trees from a Jaeger query service."""

    kind = "jaeger"

    def __init__(self, connection: Connection, profile: str | SpanProfile | None = None) -> None:
        super().__init__(connection, profile)
        self._api: str | None = None  # "v3" or "v1" once probed
        self._style = _CAMEL

    # --- API detection ----------------------------------------------------------

    @property
    def api(self) -> str:
        """``v3`` when the server has api_v3, else ``v1`` (probed once)."""
        if self._api is None:
            response = self.http.get("/api/v3/services")
            if response.status_code == 404:
                self._api = "v1"
            else:
                self.http.raise_for_status(response, "/api/v3/services")
                self._api = "v3"
        return self._api

    def services(self) -> list[str]:
        path = "/api/v3/services" if self.api == "v3" else "/api/services"
        return self._parsed(lambda: parse_services(self.http.get_json(path)), path)

    def trace_summaries(self, service: str, since: float, until: float, limit: int = 100) -> list[TraceSummary]:
        """Trace summaries (cheap listing) where the server has them, else []."""
        if self.api != "v3":
            return []
        params = self._v3_params(service, None, since, until, limit, None)
        payload = self.http.get_json("/api/v3/trace-summaries", params, missing_ok=True)
        return [] if payload is None else self._parsed(lambda: parse_trace_summaries(payload), "trace-summaries")

    # --- search -------------------------------------------------------------------

    def _search(self, agent_id, since, until, limit, session_id=None) -> list[Trace]:
        # a service name too long to put in a URL cannot be searched: skip it, not every service
        services = [s for s in self.services() if len(s) <= MAX_SERVICE_NAME]
        if agent_id is not None and agent_id in services:
            services = [agent_id]
        roots = self.turn_root_names()
        operation = roots[0] if len(roots) == 1 else None
        attributes = None
        if session_id is not None and self.profile and len(self.profile.session_attrs) == 1:
            attributes = {self.profile.session_attrs[0]: session_id}
        traces: dict[str, Trace] = {}
        for service in services:
            for trace in self._find(service, operation, since, until, limit, attributes):
                traces.setdefault(trace.trace_id, trace)
        return list(traces.values())

    def _find(self, service, operation, since, until, limit, attributes) -> list[Trace]:
        if self.api == "v3":
            return self._find_v3(service, operation, since, until, limit, attributes)
        params = {
            "service": service,
            "operation": operation,
            "start": int(since * 1e6),
            "end": int(until * 1e6),
            "limit": limit,
            "tags": json.dumps(attributes) if attributes else None,
        }
        payload = self.http.get_json("/api/traces", params, missing_ok=True)
        if payload is None or (isinstance(payload, Mapping) and payload.get("data") is None):
            return []
        return self._parsed(lambda: parse_jaeger_response(payload), "/api/traces")

    def _v3_params(self, service, operation, since, until, limit, attributes) -> dict:
        names = self._style
        return {
            names["service"]: service,
            names["operation"]: operation,
            names["min"]: rfc3339(since),
            names["max"]: rfc3339(until),
            names["depth"]: limit,
            names["attributes"]: json.dumps(attributes) if attributes else None,
        }

    def _find_v3(self, service, operation, since, until, limit, attributes) -> list[Trace]:
        path = "/api/v3/traces"
        response = self.http.get(path, self._v3_params(service, operation, since, until, limit, attributes))
        if response.status_code == 400 and self._style is _CAMEL:
            # Older api_v3 servers only know snake_case; switch once and retry.
            self._style = _SNAKE
            response = self.http.get(path, self._v3_params(service, operation, since, until, limit, attributes))
        if response.status_code == 404:
            return []
        self.http.raise_for_status(response, path)
        payload = self.http.decode(response, path)
        return self._parsed(lambda: parse_otlp_traces(payload), path)

    # --- fetch ---------------------------------------------------------------------

    def _fetch(self, trace_id: str) -> Trace | None:
        try:
            wanted = normalize_trace_id(trace_id)
        except WireFormatError:
            raise SourceError(f"jaeger: {trace_id[:40]!r} is not a trace id") from None
        if self.api == "v3":
            path = f"/api/v3/traces/{wanted}"
            payload = self.http.get_json(path, missing_ok=True)
            traces = [] if payload is None else self._parsed(lambda: parse_otlp_traces(payload), path)
        else:
            path = f"/api/traces/{wanted}"
            payload = self.http.get_json(path, missing_ok=True)
            empty = not payload or (isinstance(payload, Mapping) and not payload.get("data"))
            traces = [] if empty else self._parsed(lambda: parse_jaeger_response(payload), path)
        for trace in traces:
            if trace.trace_id == wanted:
                return trace
        return None

    def _parsed(self, parse, path: str):
        try:
            return parse()
        except (WireFormatError, AttributeError, TypeError, ValueError, KeyError, IndexError, OverflowError, RecursionError) as exc:
            reason = str(exc) if isinstance(exc, WireFormatError) else "unexpected shape"
            raise SourceError(f"jaeger: bad response from {path}: {reason}"[:200]) from None
