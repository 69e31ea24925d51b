"""Demo spans through the OpenTelemetry API, kept in a bounded in-memory store.

Each agent has its own SDK TracerProvider (``service.name`` = agent id).  A turn
becomes a ``voice_turn`` root with ``stt_processing``, ``tool_invocation``,
``llm_inference`` and ``tts_synthesis`` children (the ``seed`` profile,
DESIGN.md §3), stamped with simulated times.  :class:`SpanStore` is a span
processor that converts ended SDK spans into domain Spans and indexes turns.
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict, deque
from typing import Iterable

from opentelemetry import trace as otel_trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Status, StatusCode

from voicetop.domain.model import Span, Trace, Turn
from voicetop.domain.turns import turn_labels
from voicetop.profiles.spans import SEED
from voicetop.sources.demo.records import TurnRecord

ROOT_SPAN = "voice_turn"
INSTRUMENTATION = "voicetop.demo"


class SeededIdGenerator(IdGenerator):
    """Trace and span ids from a seeded RNG, so demo traces are reproducible."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def generate_span_id(self) -> int:
        return self._rng.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self._rng.getrandbits(128) or 1


def to_domain_span(span: ReadableSpan) -> Span:
    """A domain Span from an ended SDK span (hex ids, Unix ns)."""
    context = span.context
    parent = span.parent
    service = span.resource.attributes.get("service.name", "") if span.resource else ""
    return Span(
        trace_id=format(context.trace_id, "032x"),
        span_id=format(context.span_id, "016x"),
        parent_id=format(parent.span_id, "016x") if parent is not None else None,
        name=span.name,
        service=str(service),
        start_ns=span.start_time or 0,
        end_ns=span.end_time or 0,
        attributes=dict(span.attributes or {}),
        status_error=span.status.status_code is StatusCode.ERROR,
        kind=span.kind.name.lower(),
    )


def turn_from_trace(root: Span, spans: Iterable[Span]) -> Turn:
    """A Turn from a ``voice_turn`` root and its children (seed profile)."""
    stages = {"e2e": root.duration_ms}
    attrs = root.attributes
    for key, attr in (("ttft", "llm.ttft_ms"), ("eou", "eou.delay_ms")):
        if isinstance(attrs.get(attr), (int, float)):
            stages[key] = float(attrs[attr])
    tokens = tool_calls = tool_errors = 0
    llm_ms = 0.0
    for span in spans:
        if span.name == "stt_processing":
            stages["stt"] = span.duration_ms
        elif span.name == "tts_synthesis":
            stages["tts"] = span.duration_ms
        elif span.name == "llm_inference":
            llm_ms += span.duration_ms
            tokens += int(span.attributes.get("llm.prompt_tokens", 0))
            tokens += int(span.attributes.get("llm.completion_tokens", 0))
        elif span.name == "tool_invocation":
            tool_calls += 1
            tool_errors += 0 if span.attributes.get("tool.success", True) else 1
    if llm_ms:
        stages["llm"] = llm_ms
    return Turn(
        trace_id=root.trace_id,
        session_id=str(attrs.get("session.id", "")),
        agent_id=str(attrs.get("agent.id", root.service)),
        index=int(attrs.get("turn.index", 0)),
        start=root.start_ns / 1e9,
        stages=stages,
        interrupted=bool(attrs.get("turn.interrupted", False)),
        tokens=tokens,
        tool_calls=tool_calls,
        tool_errors=tool_errors,
        labels=turn_labels([root, *spans], SEED),
    )


class SpanStore(SpanProcessor):
    """Recent finished turns: their spans by trace id and their Turn summaries.

    Bounded by age (``retention`` seconds behind the newest turn) and by count.
    """

    def __init__(self, retention: float = 900.0, max_traces: int = 4000) -> None:
        self.retention = retention
        self.max_traces = max_traces
        self._lock = threading.Lock()
        self._pending: dict[str, list[Span]] = {}
        self._traces: OrderedDict[str, tuple[Span, ...]] = OrderedDict()
        self._turns: deque[tuple[float, Turn, str]] = deque()  # (end time, turn, room), oldest first

    def on_start(self, span, parent_context=None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        converted = to_domain_span(span)
        with self._lock:
            self._pending.setdefault(converted.trace_id, []).append(converted)
            if converted.parent_id is None and converted.name == ROOT_SPAN:
                spans = tuple(self._pending.pop(converted.trace_id))
                self._add(converted, spans)

    def _add(self, root: Span, spans: tuple[Span, ...]) -> None:
        turn = turn_from_trace(root, spans)
        end = max(s.end_ns for s in spans) / 1e9
        self._traces[root.trace_id] = spans
        self._turns.append((end, turn, str(root.attributes.get("room", ""))))
        horizon = end - self.retention
        while self._turns and (self._turns[0][0] < horizon or len(self._turns) > self.max_traces):
            old = self._turns.popleft()[1]
            self._traces.pop(old.trace_id, None)

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    # -- queries --------------------------------------------------------
    def turns(self) -> list[tuple[float, Turn, str]]:
        """(end time, turn, room) of every stored turn, oldest first."""
        with self._lock:
            return list(self._turns)

    def trace(self, trace_id: str) -> Trace | None:
        with self._lock:
            spans = self._traces.get(trace_id)
        return None if spans is None else Trace(trace_id, spans)


class TurnTracer:
    """Emits one trace per simulated turn through per-agent TracerProviders."""

    def __init__(self, agent_ids: Iterable[str], seed: int, processors: Iterable[SpanProcessor]) -> None:
        self._ids = SeededIdGenerator(seed)
        self.providers: dict[str, TracerProvider] = {}
        self._tracers = {}
        for agent_id in agent_ids:
            provider = TracerProvider(
                resource=Resource.create({"service.name": agent_id}), id_generator=self._ids,
            )
            for processor in processors:
                provider.add_span_processor(processor)
            self.providers[agent_id] = provider
            self._tracers[agent_id] = provider.get_tracer(INSTRUMENTATION)

    def add_processor(self, processor: SpanProcessor) -> None:
        for provider in self.providers.values():
            provider.add_span_processor(processor)

    def shutdown(self) -> None:
        for provider in self.providers.values():
            provider.shutdown()

    def emit(self, r: TurnRecord) -> None:
        """Record one turn as a span tree (children end before the root)."""
        tracer = self._tracers[r.agent_id]
        ns = int(r.start * 1e9)
        ms = 1_000_000
        root = tracer.start_span(ROOT_SPAN, start_time=ns, attributes={
            "session.id": r.session_id, "agent.id": r.agent_id, "room": r.room,
            "turn.index": r.index, "turn.interrupted": r.interrupted,
            "llm.ttft_ms": round(r.ttft_ms, 1), "eou.delay_ms": round(r.eou_ms, 1),
            "llm.model": r.model, "prompt.version": r.prompt_version,
        })
        context = otel_trace.set_span_in_context(root)

        def child(name: str, begin_ms: float, length_ms: float, attributes: dict, error: bool = False) -> None:
            span = tracer.start_span(name, context=context, start_time=ns + int(begin_ms * ms), attributes=attributes)
            if error:
                span.set_status(Status(StatusCode.ERROR, f"{name} failed"))
            span.end(end_time=ns + int((begin_ms + length_ms) * ms))

        child("stt_processing", 0.0, r.stt_ms, {"stt.provider": r.stt_provider}, r.error == "stt")
        llm_begin = max(r.stt_ms, r.eou_ms)
        if r.tool is not None:
            child("tool_invocation", llm_begin, r.tool_ms, {
                "tool.name": r.tool, "tool.success": r.tool_outcome == "success",
                "tool.outcome": r.tool_outcome,
            }, r.tool_outcome != "success")
            llm_begin += r.tool_ms
        child("llm_inference", llm_begin, r.llm_ms, {
            "llm.model": r.model, "llm.prompt_tokens": r.prompt_tokens,
            "llm.completion_tokens": r.completion_tokens, "llm.ttft_ms": round(r.ttft_ms, 1),
        }, r.error == "llm")
        child("tts_synthesis", llm_begin + r.ttft_ms, r.tts_ms, {
            "tts.provider": r.tts_provider, "tts.character_count": r.characters,
        }, r.error == "tts")
        if r.error is not None or r.tool_outcome == "timeout":
            root.set_status(Status(StatusCode.ERROR, "turn degraded"))
        root.end(end_time=ns + int(r.e2e_ms * ms))
