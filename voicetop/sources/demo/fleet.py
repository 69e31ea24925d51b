"""DemoFleet: the embedded synthetic fleet behind ``voicetop --demo``."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Iterable

from voicetop.sources.demo.catalog import AGENTS, AgentSpec
from voicetop.sources.demo.history import RECENT_SECONDS, EarlierHistory, recent_seed, simulate_earlier
from voicetop.sources.demo.incidents import LOOP_SECONDS, Timeline
from voicetop.sources.demo.instruments import GAUGE_METRICS, Instruments
from voicetop.sources.demo.metrics import DemoMetricsSource
from voicetop.sources.demo.records import TurnRecord
from voicetop.sources.demo.rollout import PromptVersions
from voicetop.sources.demo.simulator import Simulator
from voicetop.sources.demo.telephony import DemoTelephony
from voicetop.sources.demo.traces import DemoTraceSource
from voicetop.sources.demo.tsdb import ScrapeStore

if TYPE_CHECKING:  # OpenTelemetry's SDK is imported once spans are first needed
    from opentelemetry.sdk.trace import SpanProcessor

    from voicetop.sources.demo.spans import SpanStore, TurnTracer

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

    The last :data:`RECENT_SECONDS` of history are simulated first, through the
    live instruments; the earlier part follows (see :mod:`.history`).  With
    ``defer_history`` the earlier part waits for :meth:`complete_history`, so a
    console can show a first frame at once; spans are held back until then (to
    keep their order), and trace queries complete the history first.
    """

    def __init__(
        self,
        seed: int = 7,
        speed: float = 1.0,
        agents: int = 12,
        history: float = 1800.0,
        start: float | None = None,
        *,
        span_processors: Iterable["SpanProcessor"] = (),
        defer_history: bool = False,
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
        self._span_processors = tuple(span_processors)
        self._tracing: tuple[SpanStore, TurnTracer] | None = None
        self.timeline = Timeline(self.start)
        self.telephony = DemoTelephony(self.specs, self.registry, self.timeline, recent_seed(seed))
        self.versions = PromptVersions(self.start)
        recent = min(self.history, RECENT_SECONDS)
        #: The earlier history still to simulate, as (begin, end); None once done.
        self._earlier: tuple[float, float] | None = (
            (self.start - self.history, self.start - recent) if self.history > recent else None
        )
        self._held_turns: list[TurnRecord] | None = [] if self._earlier else None
        self._history_lock = threading.Lock()
        self._sim = Simulator(
            self.specs, self.instruments, self.timeline, recent_seed(seed),
            begin=self.start - recent,
            on_scrape=self._scrape,
            on_turn=self._turn,
            spans_from=self.start - SPAN_HISTORY_SECONDS,
            sampled_from=self.start - TAIL_SAMPLED_SECONDS,
            versions=self.versions,
            warm_at_target=self._earlier is not None,
        )
        self._sim.run_until(self.start)
        self.metrics = DemoMetricsSource(self)
        self.traces = DemoTraceSource(self)
        if not defer_history:
            self.complete_history()

    @property
    def span_store(self) -> "SpanStore":
        """Recent turns as spans (made on first use, like :attr:`tracer`)."""
        return self._spans()[0]

    @property
    def tracer(self) -> "TurnTracer":
        """Emits each turn's spans through per-agent OpenTelemetry TracerProviders."""
        return self._spans()[1]

    def _spans(self) -> "tuple[SpanStore, TurnTracer]":
        with self.lock:
            if self._tracing is None:
                from voicetop.sources.demo.spans import SpanStore, TurnTracer

                store = SpanStore(SPAN_RETENTION_SECONDS, MAX_TRACES)
                self._tracing = (store, TurnTracer(self.agent_ids, self.seed, [store, *self._span_processors]))
            return self._tracing

    @property
    def history_complete(self) -> bool:
        """Whether the earlier history is in (always, unless built with ``defer_history``)."""
        return self._earlier is None

    def complete_history(self) -> None:
        """Simulate the earlier history and splice it in front (once; safe from any thread).

        The simulation runs without the fleet lock (it touches nothing live);
        only the splice holds it.
        """
        with self._history_lock:
            if self._earlier is None:
                return
            begin, end = self._earlier
            earlier = simulate_earlier(
                self.specs, self.timeline, self.versions, self.seed, begin, end,
                sampled_from=self.start - TAIL_SAMPLED_SECONDS,
            )
            with self.lock:
                self._splice(earlier)

    def _splice(self, earlier: EarlierHistory) -> None:
        if earlier.store.columns != self.store.columns:
            raise RuntimeError("the earlier history recorded different series")
        totals = earlier.instruments.read()
        self.store.shift([0.0 if name in GAUGE_METRICS else total
                          for (name, _), total in zip(self.store.columns, totals)])
        self.store.prepend(earlier.store.times, [earlier.store.row(i) for i in range(len(earlier.store))])
        self.instruments.absorb(earlier.instruments)
        self.telephony.absorb(earlier.telephony, self.store)
        held, self._held_turns = self._held_turns or [], None
        for record in (*earlier.sampled_turns, *held):
            self.tracer.emit(record)
        self._earlier = None
        self.metrics.history_changed()

    def _turn(self, record: TurnRecord) -> None:
        if self._held_turns is not None:
            self._held_turns.append(record)
        else:
            self.tracer.emit(record)

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

    def add_span_processor(self, processor: "SpanProcessor") -> None:
        """Also send future spans to ``processor`` (e.g. an OTLP exporter)."""
        self.tracer.add_processor(processor)

    def close(self) -> None:
        """Flush and shut down the tracer providers (and their exporters)."""
        if self._tracing is not None:
            self._tracing[1].shutdown()
