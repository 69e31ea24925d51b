"""Voice-agent traces made with the OpenTelemetry SDK, and their wire formats.

Generators record spans in each profile's naming (seed, livekit, pipecat)
through a real ``TracerProvider`` into an ``InMemorySpanExporter`` and return
them with the stage timings a correct adapter must derive.  Converters render
those spans as OTLP/JSON (hex or base64 ids, int or named enums, int64 as
string or number), as Jaeger v1 UI-model JSON (µs, references) and as Tempo
search results.  Times are whole microseconds so every format agrees exactly.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from opentelemetry import trace as otel_trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import SpanKind, Status, StatusCode

MS = 1_000_000  # ns


class SeededIds(IdGenerator):
    """Deterministic ids; ``short_trace_ids`` gives 64-bit trace ids (high half 0)."""

    def __init__(self, seed: int, short_trace_ids: bool = False) -> None:
        self._rng = random.Random(seed)
        self._short = short_trace_ids

    def generate_span_id(self) -> int:
        return self._rng.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return (self._rng.getrandbits(64) or 1) if self._short else (self._rng.getrandbits(128) or 1)


@dataclass
class ExpectedTurn:
    """What an adapter must derive for one generated turn."""

    session_id: str | None  # None: the trace id (conversation = one trace)
    agent_id: str
    index: int
    start_ns: int
    stages: dict[str, float]
    interrupted: bool
    tokens: int
    tools: list[tuple[str, bool]] = field(default_factory=list)
    trace_id: str = ""
    root_span_id: str = ""


@dataclass
class Generated:
    spans: list[ReadableSpan]
    turns: list[ExpectedTurn]

    def trace_ids(self) -> list[str]:
        return sorted({f"{s.context.trace_id:032x}" for s in self.spans})


class _Recorder:
    def __init__(self, service: str, seed: int, short_trace_ids: bool = False) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": service}),
            id_generator=SeededIds(seed, short_trace_ids),
        )
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("voicetop-tests", "1.0")

    def start(self, name, start_ns, parent=None, attributes=None, kind=SpanKind.INTERNAL):
        context = otel_trace.set_span_in_context(parent) if parent is not None else None
        return self.tracer.start_span(
            name, context=context, kind=kind, start_time=start_ns, attributes=attributes or {}
        )

    def leaf(self, name, start_ns, duration_ns, parent, attributes=None, error=False, kind=SpanKind.INTERNAL):
        span = self.start(name, start_ns, parent, attributes, kind)
        if error:
            span.set_status(Status(StatusCode.ERROR, "failed"))
        span.end(end_time=start_ns + duration_ns)
        return span

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())


def _ms(rng: random.Random, low: int, high: int) -> int:
    return rng.randint(low, high) * MS


def seed_sessions(
    agent_id: str = "support-bot",
    sessions: int = 2,
    turns: int = 3,
    start_ns: int = 1_700_000_000_000 * MS,
    seed: int = 1,
    short_trace_ids: bool = False,
) -> Generated:
    """The guide's spans: one ``voice_turn`` trace per turn."""
    rec = _Recorder(agent_id, seed, short_trace_ids)
    rng = random.Random(seed)
    expected: list[ExpectedTurn] = []
    t = start_ns
    for s in range(sessions):
        session_id = f"sess-{agent_id}-{s}"
        for i in range(turns):
            stt, eou, ttft, llm, tts = (
                _ms(rng, 80, 300), _ms(rng, 100, 600), _ms(rng, 200, 900),
                _ms(rng, 900, 2500), _ms(rng, 60, 250),
            )
            interrupted = i == turns - 1 and s == 0
            with_tool = i == 1
            prompt, completion = rng.randint(100, 900), rng.randint(20, 200)
            tool_ms = _ms(rng, 50, 400) if with_tool else 0
            e2e = stt + eou + llm + tool_ms + tts
            root = rec.start(
                "voice_turn", t,
                attributes={
                    "session.id": session_id, "agent.id": agent_id, "turn.index": i,
                    "llm.ttft_ms": ttft / MS, "eou.delay_ms": eou / MS, "turn.interrupted": interrupted,
                },
                kind=SpanKind.SERVER,
            )
            cursor = t
            rec.leaf("stt_processing", cursor, stt, root)
            cursor += stt + eou
            rec.leaf("llm_inference", cursor, llm, root,
                     {"llm.prompt_tokens": prompt, "llm.completion_tokens": completion}, kind=SpanKind.CLIENT)
            cursor += llm
            tools = []
            if with_tool:
                ok = s == 0
                rec.leaf("tool_invocation", cursor, tool_ms, root,
                         {"tool.name": "lookup_order", "tool.success": ok}, error=not ok)
                tools.append(("lookup_order", not ok))
                cursor += tool_ms
            rec.leaf("tts_synthesis", cursor, tts, root, {"tts.character_count": 120})
            root.end(end_time=t + e2e)
            expected.append(ExpectedTurn(
                session_id=session_id, agent_id=agent_id, index=i, start_ns=t,
                stages={"stt": stt / MS, "eou": eou / MS, "ttft": ttft / MS, "llm": llm / MS,
                        "tts": tts / MS, "e2e": e2e / MS},
                interrupted=interrupted, tokens=prompt + completion, tools=tools,
                trace_id=f"{root.get_span_context().trace_id:032x}",
                root_span_id=f"{root.get_span_context().span_id:016x}",
            ))
            t += e2e + _ms(rng, 2000, 5000)
    return Generated(rec.spans(), expected)


def livekit_sessions(
    agent_id: str = "lk-agent",
    sessions: int = 2,
    turns: int = 3,
    start_ns: int = 1_700_000_100_000 * MS,
    seed: int = 2,
    live_last: bool = True,
) -> Generated:
    """livekit-agents 1.x naming: ``agent_session`` → ``user_turn`` + ``agent_turn``.

    With ``live_last`` the last session's ``agent_session`` never ends, so it
    is never exported (a live session).
    """
    rec = _Recorder(agent_id, seed)
    rng = random.Random(seed)
    expected: list[ExpectedTurn] = []
    t = start_ns
    for s in range(sessions):
        session = rec.start("agent_session", t, attributes={"lk.room_name": f"room-{s}", "lk.agent_name": "front"})
        trace_id = f"{session.get_span_context().trace_id:032x}"
        t += 200 * MS
        for i in range(turns):
            speak = _ms(rng, 800, 2000)
            stt, eou, ttft, llm, tts = (
                _ms(rng, 80, 300), _ms(rng, 100, 600), _ms(rng, 200, 900),
                _ms(rng, 900, 2500), _ms(rng, 60, 250),
            )
            user = rec.start("user_turn", t, session, {
                "lk.transcription_delay": stt / 1e9, "lk.end_of_turn_delay": eou / 1e9,
                "lk.user_transcript": "where is my order?",
            })
            rec.leaf("eou_detection", t + speak, eou, user, {"lk.eou.probability": 0.9})
            user.end(end_time=t + speak + eou)
            a0 = t + speak + eou
            interrupted = i == 0
            e2e = stt + eou + ttft + tts
            agent = rec.start("agent_turn", a0, session, {
                "lk.e2e_latency": e2e / 1e9, "lk.interrupted": interrupted, "lk.generation_id": f"g{i}",
            })
            node = rec.start("llm_node", a0, agent, {"lk.response.ttft": ttft / 1e9})
            input_tokens, output_tokens = rng.randint(100, 900), rng.randint(20, 200)
            rec.leaf("llm_request", a0, llm, node, {
                "gen_ai.usage.input_tokens": input_tokens, "gen_ai.usage.output_tokens": output_tokens,
            }, kind=SpanKind.CLIENT)
            node.end(end_time=a0 + llm)
            cursor = a0 + llm
            tools = []
            if i == 1:
                rec.leaf("function_tool", cursor, 150 * MS, agent, {
                    "lk.function_tool.name": "get_weather", "lk.function_tool.is_error": True,
                })
                tools.append(("get_weather", True))
                cursor += 150 * MS
            rec.leaf("tts_node", a0 + ttft, cursor - a0 - ttft + tts, agent, {"lk.response.ttfb": tts / 1e9})
            agent.end(end_time=cursor + tts + 500 * MS)
            expected.append(ExpectedTurn(
                session_id=None, agent_id=agent_id, index=i, start_ns=a0,
                stages={"stt": stt / MS, "eou": eou / MS, "ttft": ttft / MS, "llm": llm / MS,
                        "tts": tts / MS, "e2e": e2e / MS},
                interrupted=interrupted, tokens=input_tokens + output_tokens, tools=tools,
                trace_id=trace_id, root_span_id=f"{agent.get_span_context().span_id:016x}",
            ))
            t = cursor + tts + 3000 * MS
        if not (live_last and s == sessions - 1):
            session.end(end_time=t)
        t += 5000 * MS
    for turn in expected:
        turn.session_id = turn.trace_id
    return Generated(rec.spans(), expected)


def pipecat_sessions(
    service: str = "pipecat-bot",
    sessions: int = 2,
    turns: int = 3,
    start_ns: int = 1_700_000_200_000 * MS,
    seed: int = 3,
) -> Generated:
    """pipecat-ai naming: ``conversation`` → ``turn`` → ``stt``/``llm``/``tts``."""
    rec = _Recorder(service, seed)
    rng = random.Random(seed)
    expected: list[ExpectedTurn] = []
    t = start_ns
    for s in range(sessions):
        conversation_id = f"conv-{s}"
        conversation = rec.start("conversation", t, attributes={"conversation.id": conversation_id})
        t += 100 * MS
        for i in range(turns):
            stt, ttft, llm, tts = _ms(rng, 80, 300), _ms(rng, 200, 900), _ms(rng, 900, 2500), _ms(rng, 60, 250)
            latency = stt + ttft + tts
            interrupted = i == 2
            turn = rec.start("turn", t, conversation, {
                "turn.number": i + 1, "turn.was_interrupted": interrupted,
                "turn.user_bot_latency_seconds": latency / 1e9, "conversation.id": conversation_id,
            })
            rec.leaf("stt", t, stt + 40 * MS, turn, {"metrics.ttfb": stt / 1e9})
            input_tokens, output_tokens = rng.randint(100, 900), rng.randint(20, 200)
            rec.leaf("llm", t + stt, llm, turn, {
                "metrics.ttfb": ttft / 1e9, "gen_ai.usage.input_tokens": input_tokens,
                "gen_ai.usage.output_tokens": output_tokens,
            })
            rec.leaf("tts", t + stt + ttft, tts + 400 * MS, turn, {
                "metrics.ttfb": tts / 1e9, "metrics.character_count": 88,
            })
            end = t + stt + llm + tts + 500 * MS
            turn.end(end_time=end)
            expected.append(ExpectedTurn(
                session_id=conversation_id, agent_id=service, index=i + 1, start_ns=t,
                stages={"stt": stt / MS, "ttft": ttft / MS, "llm": llm / MS, "tts": tts / MS,
                        "e2e": latency / MS},
                interrupted=interrupted, tokens=input_tokens + output_tokens,
                trace_id=f"{turn.get_span_context().trace_id:032x}",
                root_span_id=f"{turn.get_span_context().span_id:016x}",
            ))
            t = end + 2000 * MS
        conversation.end(end_time=t)
        t += 5000 * MS
    return Generated(rec.spans(), expected)


# --- wire formats ----------------------------------------------------------------------------


def _id(value: int, width_bytes: int, encoding: str) -> str:
    raw = value.to_bytes(width_bytes, "big")
    if encoding == "base64":
        return base64.b64encode(raw).decode("ascii")
    text = raw.hex()
    return text.upper() if encoding == "HEX" else text


def otlp_value(value, int64: str = "string") -> dict:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value) if int64 == "string" else value}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode("ascii")}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [otlp_value(v, int64) for v in value]}}
    return {"stringValue": str(value)}


def otlp_attributes(attrs, int64: str = "string") -> list[dict]:
    return [{"key": k, "value": otlp_value(v, int64)} for k, v in (attrs or {}).items()]


_KIND_NAMES = ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
               "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"]
_STATUS_NAMES = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"]


def otlp_span(span: ReadableSpan, ids: str = "hex", enums: str = "int", int64: str = "string") -> dict:
    """One span as OTLP/JSON (``ids``: hex, HEX or base64; ``enums``: int or name)."""
    kind = span.kind.value + 1  # the SDK's INTERNAL is 0, OTLP's is 1
    status = span.status.status_code.value
    times = (lambda v: str(v)) if int64 == "string" else (lambda v: v)
    body = {
        "traceId": _id(span.context.trace_id, 16, ids),
        "spanId": _id(span.context.span_id, 8, ids),
        "name": span.name,
        "kind": _KIND_NAMES[kind] if enums == "name" else kind,
        "startTimeUnixNano": times(span.start_time),
        "endTimeUnixNano": times(span.end_time),
        "attributes": otlp_attributes(span.attributes, int64),
        "status": ({"code": _STATUS_NAMES[status] if enums == "name" else status} if status else {}),
    }
    if span.parent is not None:
        body["parentSpanId"] = _id(span.parent.span_id, 8, ids)
    if span.events:
        body["events"] = [
            {"timeUnixNano": times(e.timestamp), "name": e.name, "attributes": otlp_attributes(e.attributes, int64)}
            for e in span.events
        ]
    return body


def to_otlp(spans: Iterable[ReadableSpan], ids: str = "hex", enums: str = "int", int64: str = "string") -> dict:
    """``{"resourceSpans": […]}`` grouped by service then scope."""
    by_service: dict[str, dict[str, list]] = {}
    resources: dict[str, dict] = {}
    for span in spans:
        service = str(span.resource.attributes.get("service.name", ""))
        resources.setdefault(service, dict(span.resource.attributes))
        scope = span.instrumentation_scope.name if span.instrumentation_scope else ""
        by_service.setdefault(service, {}).setdefault(scope, []).append(otlp_span(span, ids, enums, int64))
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": otlp_attributes(resources[service], int64)},
                "scopeSpans": [{"scope": {"name": scope}, "spans": items} for scope, items in scopes.items()],
            }
            for service, scopes in by_service.items()
        ]
    }


def _jaeger_tag(key: str, value) -> dict:
    if isinstance(value, bool):
        return {"key": key, "type": "bool", "value": value}
    if isinstance(value, int):
        big = abs(value) > 2**53 - 1
        return {"key": key, "type": "int64", "value": str(value) if big else value}
    if isinstance(value, float):
        return {"key": key, "type": "float64", "value": value}
    return {"key": key, "type": "string", "value": str(value)}


def _jaeger_trace_id(value: int, short: bool) -> str:
    if short and value >> 64 == 0:
        return f"{value:016x}"
    return f"{value:032x}"


def to_jaeger_v1(spans: Sequence[ReadableSpan], short_ids: bool = True) -> list[dict]:
    """UI-model traces (``data[]`` elements): µs times, references, processes.

    Like Jaeger, a 64-bit trace id prints as 16 hex characters when ``short_ids``.
    """
    by_trace: dict[int, list[ReadableSpan]] = {}
    for span in spans:
        by_trace.setdefault(span.context.trace_id, []).append(span)
    result = []
    for tid, items in by_trace.items():
        processes: dict[str, dict] = {}
        pids: dict[str, str] = {}
        jspans = []
        for span in items:
            service = str(span.resource.attributes.get("service.name", ""))
            if service not in pids:
                pids[service] = f"p{len(pids) + 1}"
                processes[pids[service]] = {"serviceName": service, "tags": []}
            tags = [_jaeger_tag(k, v) for k, v in span.attributes.items()]
            if span.kind is not SpanKind.INTERNAL:
                tags.append({"key": "span.kind", "type": "string", "value": span.kind.name.lower()})
            if span.status.status_code is StatusCode.ERROR:
                tags.append({"key": "error", "type": "bool", "value": True})
            refs = []
            if span.parent is not None:
                refs.append({"refType": "CHILD_OF", "traceID": _jaeger_trace_id(tid, short_ids),
                             "spanID": f"{span.parent.span_id:016x}"})
            jspans.append({
                "traceID": _jaeger_trace_id(tid, short_ids),
                "spanID": f"{span.context.span_id:016x}",
                "operationName": span.name,
                "references": refs,
                "startTime": span.start_time // 1000,
                "duration": (span.end_time - span.start_time) // 1000,
                "tags": tags,
                "logs": [],
                "processID": pids[service],
                "warnings": None,
            })
        result.append({"traceID": _jaeger_trace_id(tid, short_ids), "spans": jspans,
                       "processes": processes, "warnings": None})
    return result
