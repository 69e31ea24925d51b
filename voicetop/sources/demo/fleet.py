"""DemoFleet: the embedded synthetic fleet behind ``voicetop --demo``."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Iterable

from opentelemetry.sdk.trace import SpanProcessor

from voicetop.sources.demo.catalog import AGENTS, AgentSpec
from voicetop.sources.demo.incidents import LOOP_SECONDS, Timeline
from voicetop.sources.demo.instruments import Instruments
from voicetop.sources.demo.metrics import DemoMetricsSource
from voicetop.sources.demo.rollout import PromptVersions
from voicetop.sources.demo.simulator import Simulator
from voicetop.sources.demo.spans import SpanStore, TurnTracer
from voicetop.sources.demo.telephony import DemoTelephony
from voicetop.sources.demo.traces import DemoTraceSource
from voicetop.sources.demo.tsdb import ScrapeStore

#: Scrapes are kept this long (simulated seconds).
RETENTION_SECONDS = 7200.0
#: Every turn gets spans from this long before launch (spans are the costly
#: part); slow or failed turns from one incident loop before it.
SPAN_HISTORY_SECONDS = 60.0
TAIL_SAMPLED_SECONDS = LOOP_SECONDS
#: Span store bounds: age behind the newest turn, and trace count.
SPAN_RETENTION_SECONDS = 900.0
MAX_TRACES = 4000


def fleet_specs(count: int) -> tuple[AgentSpec, ...]:
    """The first ``count`` catalogue agents, cloned with a suffix beyond 12."""
    if count < 1:
        raise ValueError("a demo fleet needs at least one agent")
    specs = list(AGENTS[:count])
    copy = 2
    while len(specs) < count:
        for spec in AGENTS[: count - len(specs)]:
            specs.append(replace(spec, agent_id=f"{spec.agent_id}-{copy}"))
        copy += 1
    return tuple(specs)


class DemoFleet:
    """Synthetic agents recording through the real metric and span instrumentation.

    ``start`` is the simulated launch time (default: now); ``history`` seconds
    before it are simulated at construction.  The clock then runs at ``speed``
    times wall time (0 freezes it; :meth:`advance` still moves it).
    """

    def __init__(
        self,
        seed: int = 7,
        speed: float = 1.0,
        agents: int = 12,
        history: float = 1800.0,
        start: float | None = None,
        *,
        span_processors: Iterable[SpanProcessor] = (),
    ) -> None:
        if speed < 0:
            raise ValueError("demo speed cannot be negative")
        if history < 0:
            raise ValueError("demo history cannot be negative")
        self._wall0 = time.monotonic()
        self.start = time.time() if start is None else float(start)
        self.seed = seed
        self.speed = float(speed)
        self.history = float(history)
        self.specs = fleet_specs(agents)
        self.agent_ids = tuple(spec.agent_id for spec in self.specs)
        self.lock = threading.RLock()
        self._offset = 0.0
        self.instruments = Instruments(self.specs)
        self.registry = self.instruments.registry
        self.store = ScrapeStore(self.instruments.columns, retention=RETENTION_SECONDS)
        self.span_store = SpanStore(SPAN_RETENTION_SECONDS, MAX_TRACES)
        self.tracer = TurnTracer(self.agent_ids, seed, [self.span_store, *span_processors])
        self.timeline = Timeline(self.start)
        self.telephony = DemoTelephony(self.specs, self.registry, self.timeline, seed)
        self.versions = PromptVersions(self.start)
        self._sim = Simulator(
            self.specs, self.instruments, self.timeline, seed,
            begin=self.start - self.history,
            on_scrape=self._scrape,
            on_turn=self.tracer.emit,
            spans_from=self.start - SPAN_HISTORY_SECONDS,
            sampled_from=self.start - TAIL_SAMPLED_SECONDS,
            versions=self.versions,
        )
        self._sim.run_until(self.start)
        self.metrics = DemoMetricsSource(self)
        self.traces = DemoTraceSource(self)

    def _scrape(self, t: float) -> None:
        self.store.append(t, self.instruments.read())
        self.telephony.scrape(t, self.store)

    def _clock(self) -> float:
        return self.start + self._offset + (time.monotonic() - self._wall0) * self.speed

    def now(self) -> float:
        """Simulated Unix time; simulates everything up to it first."""
        with self.lock:
            t = max(self._clock(), self._sim.time)
            self._sim.run_until(t)
            return t

    def advance(self, seconds: float) -> float:
        """Move simulated time forward by ``seconds`` (simulating the turns between)."""
        if seconds < 0:
            raise ValueError("cannot advance the demo clock backwards")
        with self.lock:
            self._offset += seconds
            return self.now()

    def add_span_processor(self, processor: SpanProcessor) -> None:
        """Also send future spans to ``processor`` (e.g. an OTLP exporter)."""
        self.tracer.add_processor(processor)

    def close(self) -> None:
        """Flush and shut down the tracer providers (and their exporters)."""
        self.tracer.shutdown()
