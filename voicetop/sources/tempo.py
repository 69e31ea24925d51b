"""Tempo trace source: TraceQL search, ``/api/v2/traces/{id}`` with v1 fallback.

Search (``/api/search``) takes ``start``/``end`` in **seconds** and answers
span sets holding the matched spans (name, start, duration and the
``select()``-ed attributes), which is enough to derive turns without fetching
every trace.  Trace by id: v2 wraps OTLP in ``{"trace": …}``, v1 answers
``{"batches": […]}``; both use base64 ids and enum names.  ``X-Scope-OrgID``
comes from the connection's ``tenant``.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable, Mapping

from voicetop.config import Connection
from voicetop.domain.model import Span, Trace
from voicetop.domain.query_text import regex_alternatives, string_literal
from voicetop.profiles.spans import BUILTIN_PROFILES, SpanProfile
from voicetop.sources.base import SourceError
from voicetop.sources.otlp import (
    WireFormatError,
    attributes,
    parse_otlp_traces,
    span_id,
    to_float,
    to_int,
    trace_id as normalize_trace_id,
)
from voicetop.sources.tracehttp import HttpTraceSource, TraceSummary

#: Spans per span set asked of a search (a LiveKit conversation is one trace).
SPANS_PER_SET = 500
_PLAIN_ATTR = re.compile(r"[A-Za-z0-9_.\-]+")


def traceql_attr(scope: str, key: str) -> str:
    """``span.key`` (quoted when the key has unusual characters)."""
    return f"{scope}.{key}" if _PLAIN_ATTR.fullmatch(key) else f"{scope}.{string_literal(key)}"


def build_traceql(
    span_names: Iterable[str],
    *,
    service: str | None = None,
    session_attrs: Iterable[str] = (),
    session_id: str | None = None,
    select: Iterable[str] = (),
) -> str:
    """``{ name =~ "a|b" && resource.service.name = "x" } | select(resource.service.name, span.k, …)``."""
    conditions = [f"name =~ {string_literal(regex_alternatives(span_names))}"]
    if service is not None:
        conditions.append(f"resource.service.name = {string_literal(service)}")
    if session_id is not None:
        keys = list(session_attrs)
        if keys:
            alternatives = " || ".join(
                f"{traceql_attr('span', k)} = {string_literal(session_id)}" for k in keys
            )
            conditions.append(f"({alternatives})")
    query = "{ " + " && ".join(conditions) + " }"
    selected = ["resource.service.name", *(traceql_attr("span", k) for k in dict.fromkeys(select))]
    query += " | select(" + ", ".join(selected) + ")"
    return query


def parse_search(payload: Mapping[str, Any]) -> list[TraceSummary]:
    """``/api/search`` hits as summaries (``durationMs`` and ns strings handled)."""
    if not isinstance(payload, Mapping):
        raise WireFormatError("search response is not a JSON object")
    result = []
    for item in payload.get("traces") or ():
        if not isinstance(item, Mapping):
            continue
        start = to_int(item.get("startTimeUnixNano"))
        duration_ms = to_float(item.get("durationMs")) if item.get("durationMs") is not None else 0.0
        duration_ns = duration_ms * 1e6
        end = start + int(round(duration_ns)) if math.isfinite(duration_ns) else start  # 1e303 ms is no duration
        result.append(
            TraceSummary(
                trace_id=normalize_trace_id(item.get("traceID")),
                root_service=str(item.get("rootServiceName") or ""),
                root_name=str(item.get("rootTraceName") or ""),
                start_ns=start,
                end_ns=end,
            )
        )
    return result


def search_spans(payload: Mapping[str, Any]) -> list[Trace]:
    """Partial traces from search span sets: matched spans, no parent links.

    Span sets carry a span's name, start, duration and selected attributes
    (``service.name`` there becomes the span's service).
    """
    if not isinstance(payload, Mapping):
        raise WireFormatError("search response is not a JSON object")
    traces = []
    for item in payload.get("traces") or ():
        if not isinstance(item, Mapping):
            continue
        tid = normalize_trace_id(item.get("traceID"))
        root_service = str(item.get("rootServiceName") or "")
        sets = list(item.get("spanSets") or ())
        if not sets and isinstance(item.get("spanSet"), Mapping):
            sets = [item["spanSet"]]
        spans: dict[str, Span] = {}
        for span_set in sets:
            for raw in (span_set or {}).get("spans") or ():
                if not isinstance(raw, Mapping):
                    continue
                attrs = attributes(raw.get("attributes"))
                service = str(attrs.pop("service.name", "") or root_service)
                if service.startswith("<"):  # "<root span not yet received>"
                    service = ""
                start = to_int(raw.get("startTimeUnixNano"))
                sid = span_id(raw.get("spanID"))
                spans.setdefault(
                    sid,
                    Span(
                        trace_id=tid,
                        span_id=sid,
                        parent_id=None,
                        name=str(raw.get("name") or ""),
                        service=service,
                        start_ns=start,
                        end_ns=start + to_int(raw.get("durationNanos")),
                        attributes=attrs,
                    ),
                )
        traces.append(Trace(tid, tuple(sorted(spans.values(), key=lambda s: s.start_ns))))
    return traces


class TempoTraceSource(HttpTraceSource):
    """Sessions, turns and span trees from Grafana Tempo."""

    kind = "tempo"

    def __init__(self, connection: Connection, profile: str | SpanProfile | None = None) -> None:
        super().__init__(connection, profile)
        self._v2 = True

    def _profiles(self) -> list[SpanProfile]:
        return [self.profile] if self.profile else list(BUILTIN_PROFILES.values())

    def search(self, query: str, since: float, until: float, limit: int) -> Mapping[str, Any]:
        """Raw ``/api/search`` answer (404 and empty both give no traces)."""
        params = {
            "q": query,
            "start": int(math.floor(since)),
            "end": int(math.ceil(until)),
            "limit": limit,
            "spss": SPANS_PER_SET,
        }
        payload = self.http.get_json("/api/search", params, missing_ok=True)
        if payload is None:
            return {"traces": []}
        if not isinstance(payload, Mapping):
            raise SourceError("tempo: search response is not a JSON object")
        return payload

    def _query(self, service: str | None, session_id: str | None) -> str:
        profiles = self._profiles()
        names = [n for p in profiles for n in p.span_names()]
        select = [k for p in profiles for k in p.attribute_keys()]
        session_attrs = [k for p in profiles for k in p.session_attrs]
        return build_traceql(
            dict.fromkeys(names),
            service=service,
            session_attrs=dict.fromkeys(session_attrs),
            session_id=session_id,
            select=select,
        )

    def _search(self, agent_id, since, until, limit, session_id=None) -> list[Trace]:
        if session_id is not None:
            # Full traces: a session's turns need their whole span trees.
            payload = self.search(self._query(None, session_id), since, until, limit)
            hits = self._parsed(lambda: parse_search(payload))
            traces = [self._fetch(hit.trace_id) for hit in hits]
            return [t for t in traces if t is not None]
        payload = self.search(self._query(agent_id, None), since, until, limit)
        return self._parsed(lambda: search_spans(payload))

    def _fetch(self, trace_id: str) -> Trace | None:
        try:
            wanted = normalize_trace_id(trace_id)
        except WireFormatError:
            raise SourceError(f"tempo: {trace_id[:40]!r} is not a trace id") from None
        payload = None
        v2_missing = False
        if self._v2:
            response = self.http.get(f"/api/v2/traces/{wanted}")
            if response.status_code == 404:
                v2_missing = True
            else:
                self.http.raise_for_status(response, "/api/v2/traces")
                payload = self.http.decode(response, "/api/v2/traces")
        if payload is None:
            payload = self.http.get_json(f"/api/traces/{wanted}", missing_ok=True)
            if payload is None:
                return None
            if v2_missing:
                self._v2 = False  # v1 has it but v2 does not: an older Tempo
        traces = self._parsed(lambda: parse_otlp_traces(payload))
        for trace in traces:
            if trace.trace_id == wanted and trace.spans:
                return trace
        return None

    def _parsed(self, parse):
        try:
            return parse()
        except (WireFormatError, AttributeError, TypeError, ValueError, KeyError, IndexError, OverflowError, RecursionError) as exc:
            reason = str(exc) if isinstance(exc, WireFormatError) else "unexpected shape"
            raise SourceError(f"tempo: bad response: {reason}"[:200]) from None

