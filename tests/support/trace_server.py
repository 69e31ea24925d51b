"""A small local trace backend speaking Jaeger (api_v3, v1) or Tempo (v2, v1).

It serves spans recorded with the OpenTelemetry SDK (see ``otel_traces``) from
``http.server`` in a thread on 127.0.0.1 with a free port, and implements the
routes the adapters call with the real servers' quirks:

- Jaeger api_v3: ``/api/v3/services``, ``/api/v3/traces`` (camelCase params, or
  snake_case only with ``jaeger_api="v3-snake"``; 404 + gateway error body when
  nothing matches), ``/api/v3/traces/{id}`` (``{"result": OTLP}``, hex ids,
  int enums).  ``jaeger_api="v1"``: api_v3 routes answer ``404 page not found``.
- Jaeger v1: ``/api/services``, ``/api/traces`` (µs, ``tags`` JSON),
  ``/api/traces/{id}`` (UI model, 16-hex ids for 64-bit trace ids).
- Tempo: ``/api/search`` (a TraceQL subset: ``name =~``/``=``, ``resource.`` and
  ``span.`` equality, ``||`` groups, ``select()``; start/end in seconds),
  ``/api/v2/traces/{id}`` (``{"trace": OTLP}``, base64 ids, enum names) unless
  ``tempo_api="v1"``, and ``/api/traces/{id}`` (``{"batches": […]}``).

Requests are recorded in ``server.requests`` for assertions.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Sequence
from urllib.parse import parse_qs, urlsplit

from opentelemetry.sdk.trace import ReadableSpan

from tests.support.otel_traces import otlp_attributes, to_jaeger_v1, to_otlp

LOCALHOST = "127.0.0.1"


@dataclass
class Request:
    path: str
    params: dict[str, str]
    headers: dict[str, str]


def _rfc3339_ns(text: str) -> int:
    """RFC 3339 with up to 9 fractional digits → Unix ns."""
    match = re.fullmatch(r"(.+?T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    if not match:
        raise ValueError(text)
    base, fraction, zone = match.groups()
    whole = datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    return int(whole.timestamp()) * 1_000_000_000 + int((fraction or "0").ljust(9, "0")[:9])


# --- a TraceQL subset -----------------------------------------------------------------------

_STRING = r'"((?:[^"\\]|\\.)*)"'


_ESCAPED = {"n": "\n", "r": "\r", "t": "\t"}


def _unquote(text: str) -> str:
    """A Go-style string literal's body, unescaped (as Tempo's TraceQL lexer reads it)."""
    return re.sub(r"\\(.)", lambda found: _ESCAPED.get(found[1], found[1]), text)


def _attr_key(text: str) -> tuple[str, str]:
    scope, _, key = text.partition(".")
    if key.startswith('"'):
        key = _unquote(key[1:-1])
    return scope, key


def _condition(text: str):
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        options = [_condition(part) for part in text[1:-1].split("||")]
        return lambda span: any(option(span) for option in options)
    match = re.fullmatch(r"name\s*(=~|=)\s*" + _STRING, text)
    if match:
        op, value = match.group(1), _unquote(match.group(2))
        if op == "=~":
            pattern = re.compile(value)
            return lambda span: pattern.fullmatch(span.name) is not None
        return lambda span: span.name == value
    match = re.fullmatch(r'((?:resource|span)\.(?:"(?:[^"\\]|\\.)*"|[A-Za-z0-9_.\-]+))\s*=\s*' + _STRING, text)
    if match:
        scope, key = _attr_key(match.group(1))
        value = _unquote(match.group(2))
        if scope == "resource":
            return lambda span: str(span.resource.attributes.get(key)) == value
        return lambda span: key in span.attributes and str(span.attributes[key]) == value
    raise ValueError(f"unsupported TraceQL condition: {text}")


def _split_and(body: str) -> list[str]:
    parts, depth, current, i = [], 0, "", 0
    while i < len(body):
        char = body[i]
        if char == '"':
            end = i + 1
            while body[end] != '"':
                end += 2 if body[end] == "\\" else 1
            current += body[i : end + 1]
            i = end + 1
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if depth == 0 and body.startswith("&&", i):
            parts.append(current)
            current, i = "", i + 2
            continue
        current += char
        i += 1
    parts.append(current)
    return [p for p in parts if p.strip()]


def parse_traceql(query: str):
    """(span predicate, selected attribute keys, condition attribute keys)."""
    match = re.fullmatch(r"\s*\{(.*)\}\s*(?:\|\s*select\((.*)\))?\s*", query, re.S)
    if not match:
        raise ValueError(f"unsupported TraceQL: {query}")
    conditions = [_condition(c) for c in _split_and(match.group(1))]
    selected = []
    if match.group(2):
        selected = [_attr_key(item.strip())[1] for item in match.group(2).split(",") if item.strip()]
    referenced = [_attr_key(m)[1] for m in re.findall(r'(?:span|resource)\.(?:"(?:[^"\\]|\\.)*"|[A-Za-z0-9_.\-]+)', match.group(1))]
    return (lambda span: all(c(span) for c in conditions)), selected, referenced


# --- the server ----------------------------------------------------------------------------------


class TraceBackend:
    """Serve ``spans`` as a Jaeger or Tempo backend (use as a context manager)."""

    def __init__(
        self,
        spans: Sequence[ReadableSpan],
        kind: str = "jaeger",
        *,
        jaeger_api: str = "v3",
        tempo_api: str = "v2",
        short_ids: bool = True,
        tenant: str | None = None,
        token: str | None = None,
        delay: float = 0.0,
        broken: str | None = None,
        empty_search_404: bool = False,
    ) -> None:
        self.spans = list(spans)
        self.kind = kind
        self.jaeger_api = jaeger_api
        self.tempo_api = tempo_api
        self.short_ids = short_ids
        self.tenant = tenant
        self.token = token
        self.delay = delay
        self.broken = broken  # "500" or "garbage"
        self.empty_search_404 = empty_search_404
        self.requests: list[Request] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---
    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{LOCALHOST}:{self._server.server_address[1]}"

    def start(self) -> "TraceBackend":
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                backend._handle(self)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer((LOCALHOST, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "TraceBackend":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    # --- helpers ---
    def _traces(self) -> dict[int, list[ReadableSpan]]:
        traces: dict[int, list[ReadableSpan]] = {}
        for span in self.spans:
            traces.setdefault(span.context.trace_id, []).append(span)
        return traces

    def _trace(self, text: str) -> list[ReadableSpan] | None:
        try:
            wanted = int(text, 16)
        except ValueError:
            return None
        return self._traces().get(wanted)

    def _services(self) -> list[str]:
        return sorted({str(s.resource.attributes.get("service.name")) for s in self.spans})

    def _send(self, handler, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)

    def _not_found_route(self, handler) -> None:
        self._send(handler, 404, "404 page not found\n", "text/plain; charset=utf-8")

    # --- dispatch ---
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.requests.append(Request(parts.path, params, dict(handler.headers.items())))
        if self.delay:
            import time

            time.sleep(self.delay)
        if self.token and handler.headers.get("Authorization") != f"Bearer {self.token}":
            return self._send(handler, 401, {"error": "unauthorized"})
        if self.tenant and handler.headers.get("X-Scope-OrgID") != self.tenant:
            return self._send(handler, 401, "no org id\n", "text/plain")
        if self.broken == "500":
            return self._send(handler, 500, "internal error\n", "text/plain")
        if self.broken == "garbage":
            return self._send(handler, 200, "<html>proxy login</html>", "text/html")
        try:
            if self.kind == "jaeger":
                return self._jaeger(handler, parts.path, params)
            return self._tempo(handler, parts.path, params)
        except ValueError as exc:
            return self._send(handler, 400, {"error": str(exc)})

    # --- Jaeger ---
    def _jaeger(self, handler, path: str, params: dict[str, str]) -> None:
        if path.startswith("/api/v3/"):
            if self.jaeger_api == "v1":
                return self._not_found_route(handler)
            if path == "/api/v3/services":
                return self._send(handler, 200, {"services": self._services()})
            if path == "/api/v3/traces":
                return self._jaeger_v3_find(handler, params)
            if path == "/api/v3/trace-summaries" and self.jaeger_api == "v3":
                return self._jaeger_v3_summaries(handler, params)
            match = re.fullmatch(r"/api/v3/traces/([0-9a-fA-F]+)", path)
            if match:
                spans = self._trace(match.group(1))
                if spans is None:
                    return self._send(handler, 404, {"error": {"httpCode": 404, "message": "trace not found"}})
                return self._send(handler, 200, {"result": to_otlp(spans, ids="hex", enums="int")})
            return self._not_found_route(handler)
        if path == "/api/services":
            return self._send(handler, 200, {"data": self._services(), "total": len(self._services())})
        if path == "/api/traces":
            return self._jaeger_v1_find(handler, params)
        match = re.fullmatch(r"/api/traces/([0-9a-fA-F]+)", path)
        if match:
            spans = self._trace(match.group(1))
            if spans is None:
                return self._send(handler, 404, {"data": None, "errors": [{"code": 404, "msg": "trace not found"}]})
            return self._send(handler, 200, {"data": to_jaeger_v1(spans, self.short_ids), "errors": None})
        return self._not_found_route(handler)

    def _match(self, spans, service, operation, start_ns, end_ns, tags) -> bool:
        for span in spans:
            if service and span.resource.attributes.get("service.name") != service:
                continue
            if operation and span.name != operation:
                continue
            if not start_ns <= span.start_time < end_ns:
                continue
            if tags and any(str(span.attributes.get(k)) != str(v) for k, v in tags.items()):
                continue
            return True
        return False

    def _jaeger_v3_find(self, handler, params: dict[str, str]) -> None:
        if self.jaeger_api == "v3-snake":
            names = ("query.service_name", "query.operation_name", "query.start_time_min",
                     "query.start_time_max", "query.num_traces")
        else:
            names = ("query.serviceName", "query.operationName", "query.startTimeMin",
                     "query.startTimeMax", "query.searchDepth")
        service, operation, tmin, tmax, depth = (params.get(n) for n in names)
        if not tmin or not tmax:
            return self._send(handler, 400, {"error": {"httpCode": 400, "message": f"{names[2]} and {names[3]} are required"}})
        tags = json.loads(params["query.attributes"]) if "query.attributes" in params else None
        start_ns, end_ns = _rfc3339_ns(tmin), _rfc3339_ns(tmax)
        found = [
            spans for spans in self._traces().values()
            if self._match(spans, service, operation, start_ns, end_ns, tags)
        ]
        found.sort(key=lambda spans: -min(s.start_time for s in spans))
        if depth:
            found = found[: int(depth)]
        if not found:
            return self._send(handler, 404, {"error": {"httpCode": 404, "message": "No traces found"}})
        return self._send(handler, 200, {"result": to_otlp([s for spans in found for s in spans], "hex", "int")})

    def _jaeger_v3_summaries(self, handler, params: dict[str, str]) -> None:
        start_ns = _rfc3339_ns(params["query.startTimeMin"])
        end_ns = _rfc3339_ns(params["query.startTimeMax"])
        summaries = []
        for tid, spans in self._traces().items():
            if not self._match(spans, params.get("query.serviceName"), None, start_ns, end_ns, None):
                continue
            root = min(spans, key=lambda s: (s.parent is not None, s.start_time))
            summaries.append({
                "traceId": f"{tid:032x}",
                "rootServiceName": str(root.resource.attributes.get("service.name")),
                "rootOperationName": root.name,
                "minStartTimeUnixNano": str(min(s.start_time for s in spans)),
                "maxEndTimeUnixNano": str(max(s.end_time for s in spans)),
                "spanCount": len(spans),
                "errorSpanCount": sum(1 for s in spans if s.status.status_code.name == "ERROR"),
                "services": [{"name": str(root.resource.attributes.get("service.name")), "spanCount": len(spans)}],
            })
        if not summaries:
            return self._send(handler, 404, {"error": {"httpCode": 404, "message": "No traces found"}})
        return self._send(handler, 200, {"summaries": summaries})

    def _jaeger_v1_find(self, handler, params: dict[str, str]) -> None:
        if not params.get("service"):
            return self._send(handler, 400, {"data": None, "errors": [{"code": 400, "msg": "parameter 'service' is required"}]})
        start_ns = int(params.get("start", "0")) * 1000
        end_ns = int(params.get("end", str(2**62 // 1000))) * 1000
        tags = json.loads(params["tags"]) if "tags" in params else None
        found = [
            spans for spans in self._traces().values()
            if self._match(spans, params.get("service"), params.get("operation"), start_ns, end_ns + 1, tags)
        ]
        found.sort(key=lambda spans: -min(s.start_time for s in spans))
        found = found[: int(params.get("limit", "20"))]
        data = [t for spans in found for t in to_jaeger_v1(spans, self.short_ids)]
        return self._send(handler, 200, {"data": data, "total": len(data), "limit": 0, "offset": 0, "errors": None})

    # --- Tempo ---
    def _tempo(self, handler, path: str, params: dict[str, str]) -> None:
        if path == "/api/search":
            return self._tempo_search(handler, params)
        match = re.fullmatch(r"/api/v2/traces/([0-9a-fA-F]+)", path)
        if match and self.tempo_api == "v2":
            spans = self._trace(match.group(1))
            if spans is None:
                return self._send(handler, 404, "trace not found\n", "text/plain")
            return self._send(handler, 200, {"trace": to_otlp(spans, ids="base64", enums="name")})
        match = re.fullmatch(r"/api/traces/([0-9a-fA-F]+)", path)
        if match:
            spans = self._trace(match.group(1))
            if spans is None:
                return self._send(handler, 404, "trace not found\n", "text/plain")
            body = to_otlp(spans, ids="base64", enums="name", int64="number")
            return self._send(handler, 200, {"batches": body["resourceSpans"]})
        return self._not_found_route(handler)

    def _tempo_search(self, handler, params: dict[str, str]) -> None:
        predicate, selected, referenced = parse_traceql(params.get("q", "{}"))
        start_ns = int(params.get("start", "0")) * 1_000_000_000
        end_ns = int(params.get("end", str(2**31))) * 1_000_000_000
        limit = int(params.get("limit", "20"))
        spss = int(params.get("spss", "3"))
        hits = []
        for tid, spans in self._traces().items():
            first = min(s.start_time for s in spans)
            last = max(s.end_time for s in spans)
            if last < start_ns or first > end_ns:
                continue
            matched = sorted((s for s in spans if predicate(s)), key=lambda s: s.start_time)
            if not matched:
                continue
            root = next((s for s in spans if s.parent is None), None)
            shown = []
            for span in matched[:spss]:
                keys = [k for k in dict.fromkeys([*referenced, *selected])]
                attrs = {k: span.attributes[k] for k in keys if k in span.attributes}
                if "service.name" in keys:
                    attrs["service.name"] = span.resource.attributes.get("service.name")
                shown.append({
                    "spanID": f"{span.context.span_id:016x}",
                    "name": span.name,
                    "startTimeUnixNano": str(span.start_time),
                    "durationNanos": str(span.end_time - span.start_time),
                    "attributes": otlp_attributes(attrs),
                })
            hits.append({
                "traceID": f"{tid:032x}",
                "rootServiceName": str(root.resource.attributes.get("service.name")) if root else "<root span not yet received>",
                "rootTraceName": root.name if root else "",
                "startTimeUnixNano": str(first),
                "durationMs": (last - first) // 1_000_000,
                "spanSets": [{"spans": shown, "matched": len(matched)}],
            })
        hits.sort(key=lambda h: -int(h["startTimeUnixNano"]))
        hits = hits[:limit]
        if not hits and self.empty_search_404:
            return self._send(handler, 404, "no traces found\n", "text/plain")
        return self._send(handler, 200, {"traces": hits, "metrics": {"inspectedBytes": "1000", "completedJobs": 1, "totalJobs": 1}})
