"""The metric contract (DESIGN.md §2) as prometheus_client objects, plus a fast reader.

Every synthetic agent records through these Histogram/Counter/Gauge objects in a
private CollectorRegistry, exactly as a real agent would.  All label children
are created up front, so the set of series is fixed and a scrape can read it as
one flat row of floats in :attr:`Instruments.columns` order.
"""

from __future__ import annotations

from typing import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.utils import floatToGoString

from voicetop.sources.demo.catalog import AgentSpec
from voicetop.sources.demo.rollout import PROMPT_ROLLOUT

LLM_BUCKETS = (100, 200, 400, 600, 800, 1000, 1200, 1500, 2000, 3000, 5000)
SPEECH_BUCKETS = (50, 100, 150, 200, 300, 400, 600, 1000, 2000)
EOU_BUCKETS = (100, 200, 300, 500, 800, 1000, 1500, 2000)
E2E_BUCKETS = (500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000, 7500, 10000)
SESSION_TURN_BUCKETS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30)

#: Histogram metric behind each pipeline stage.
STAGE_METRICS = {
    "stt": "livekit_stt_duration_ms",
    "eou": "livekit_eou_delay_ms",
    "ttft": "livekit_llm_ttft_ms",
    "llm": "livekit_llm_duration_ms",
    "tts": "livekit_tts_ttfb_ms",
    "e2e": "livekit_e2e_latency_ms",
}

TURN_OUTCOMES = ("completed", "interrupted", "error")
TOOL_OUTCOMES = ("success", "error", "timeout")
COMPONENTS = ("stt", "llm", "tts", "tool")
SESSION_OUTCOMES = ("completed", "abandoned")
TOKEN_KINDS = ("prompt", "completion")
COST_COMPONENTS = ("stt", "llm", "tts")

#: Metrics whose value is a level, not a running total (never offset by earlier history).
GAUGE_METRICS = frozenset({
    "livekit_asr_wer", "livekit_tts_mos", "livekit_stt_rtf", "livekit_active_sessions", "livekit_max_sessions",
})

#: A series: sample name and its sorted label pairs (``le`` included).
SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


class AgentInstruments:
    """The label children one agent records into."""

    def __init__(self, spec: AgentSpec, m: "Instruments") -> None:
        a = spec.agent_id
        self.stt = m.stt.labels(a, spec.stt_provider)
        self.eou = m.eou.labels(a)
        self.tts = m.tts.labels(a, spec.tts_provider)
        self.e2e = m.e2e.labels(a)
        self.interruptions = m.interruptions.labels(a)
        # children labelled with the prompt version, one set per version (issue #9)
        self._versions = {
            v: {
                "ttft": m.ttft.labels(a, spec.model, v),
                "llm": m.llm.labels(a, spec.model, v),
                "turns": {o: m.turns.labels(a, o, v) for o in TURN_OUTCOMES},
                "tool_calls": {(t, o): m.tool_calls.labels(a, t, o, v) for t in spec.tools for o in TOOL_OUTCOMES},
                "sessions_completed": {o: m.sessions_completed.labels(a, o, v) for o in SESSION_OUTCOMES},
                "tokens": {k: m.tokens.labels(a, spec.model, k, v) for k in TOKEN_KINDS},
                "tts_chars": m.tts_chars.labels(a, spec.tts_provider, v),
                "cost": {c: m.cost.labels(a, c, v) for c in COST_COMPONENTS},
            }
            for v in PROMPT_ROLLOUT.versions(a)
        }
        self.version = ""
        self.use_version(PROMPT_ROLLOUT.versions(a)[0])
        self.requests = {c: m.requests.labels(a, c) for c in COMPONENTS}
        self.errors = {c: m.errors.labels(a, c) for c in COMPONENTS}
        self.wer = m.wer.labels(a)
        self.mos = m.mos.labels(a)
        self.rtf = m.rtf.labels(a)
        self.active_sessions = m.active_sessions.labels(a)
        self.max_sessions = m.max_sessions.labels(a)
        self.session_turns = m.session_turns.labels(a)
        self.max_sessions.set(spec.max_sessions)

    def use_version(self, version: str) -> None:
        """Record into the children of prompt ``version`` from now on."""
        if version == self.version:
            return
        self.version = version
        for name, children in self._versions[version].items():
            setattr(self, name, children)


class Instruments:
    """All demo metrics in one private registry, with a flat-row reader."""

    def __init__(self, agents: Iterable[AgentSpec], registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.ttft = Histogram("livekit_llm_ttft_ms", "LLM time to first token (ms)", ["agent_id", "model", "prompt_version"], buckets=LLM_BUCKETS, registry=r)
        self.llm = Histogram("livekit_llm_duration_ms", "LLM total response time (ms)", ["agent_id", "model", "prompt_version"], buckets=LLM_BUCKETS, registry=r)
        self.stt = Histogram("livekit_stt_duration_ms", "Speech-to-text latency (ms)", ["agent_id", "provider"], buckets=SPEECH_BUCKETS, registry=r)
        self.tts = Histogram("livekit_tts_ttfb_ms", "TTS time to first byte (ms)", ["agent_id", "provider"], buckets=SPEECH_BUCKETS, registry=r)
        self.eou = Histogram("livekit_eou_delay_ms", "End-of-utterance to response delay (ms)", ["agent_id"], buckets=EOU_BUCKETS, registry=r)
        self.e2e = Histogram("livekit_e2e_latency_ms", "User stops speaking to agent audio starts (ms)", ["agent_id"], buckets=E2E_BUCKETS, registry=r)
        self.turns = Counter("livekit_conversation_turns", "Turns processed", ["agent_id", "outcome", "prompt_version"], registry=r)
        self.interruptions = Counter("livekit_interruptions", "Turns the user interrupted", ["agent_id"], registry=r)
        self.tool_calls = Counter("livekit_tool_calls", "Tool calls", ["agent_id", "tool", "outcome", "prompt_version"], registry=r)
        self.requests = Counter("livekit_requests", "Requests per component", ["agent_id", "component"], registry=r)
        self.errors = Counter("livekit_errors", "Errors per component", ["agent_id", "component"], registry=r)
        self.wer = Gauge("livekit_asr_wer", "Word error rate (ratio)", ["agent_id"], registry=r)
        self.mos = Gauge("livekit_tts_mos", "TTS mean opinion score (1-5)", ["agent_id"], registry=r)
        self.rtf = Gauge("livekit_stt_rtf", "STT real-time factor", ["agent_id"], registry=r)
        self.active_sessions = Gauge("livekit_active_sessions", "Live sessions", ["agent_id"], registry=r)
        self.max_sessions = Gauge("livekit_max_sessions", "Session capacity", ["agent_id"], registry=r)
        self.sessions_completed = Counter("livekit_sessions_completed", "Finished sessions", ["agent_id", "outcome", "prompt_version"], registry=r)
        self.session_turns = Histogram("livekit_session_turns", "Turns per finished session", ["agent_id"], buckets=SESSION_TURN_BUCKETS, registry=r)
        self.tokens = Counter("livekit_tokens_consumed", "LLM tokens", ["agent_id", "model", "kind", "prompt_version"], registry=r)
        self.tts_chars = Counter("livekit_tts_characters", "TTS characters", ["agent_id", "provider", "prompt_version"], registry=r)
        self.cost = Counter("livekit_session_cost_usd", "Spend (USD)", ["agent_id", "component", "prompt_version"], registry=r)
        self.agents = {spec.agent_id: AgentInstruments(spec, self) for spec in agents}
        try:
            self.columns, self._readers = self._layout()
        except AttributeError:  # prometheus_client internals moved: use the slow public path
            self.columns, self._readers = sorted(self.read_via_collect()), None

    def agent(self, agent_id: str) -> AgentInstruments:
        return self.agents[agent_id]

    def _wrappers(self) -> tuple[Histogram | Counter | Gauge, ...]:
        return (
            self.ttft, self.llm, self.stt, self.tts, self.eou, self.e2e, self.turns,
            self.interruptions, self.tool_calls, self.requests, self.errors, self.wer, self.mos,
            self.rtf, self.active_sessions, self.max_sessions, self.sessions_completed,
            self.session_turns, self.tokens, self.tts_chars, self.cost,
        )

    def _layout(self) -> tuple[list[SeriesKey], list[Callable[[], list[float]]]]:
        """Series keys in row order, and per-child readers producing their values.

        Reads child values directly (prometheus_client's ``collect()`` builds
        a Sample per value and is ~10x slower, too slow for 30 min of history).
        ``read_via_collect`` is the reference the tests compare against.
        """
        columns: list[SeriesKey] = []
        readers: list[Callable[[], list[float]]] = []
        for wrapper in self._wrappers():
            name = wrapper._name  # noqa: SLF001 - prometheus_client keeps no public getter
            labelnames = wrapper._labelnames  # noqa: SLF001
            for labelvalues, child in sorted(wrapper._metrics.items()):  # noqa: SLF001
                labels = tuple(zip(labelnames, labelvalues))
                if isinstance(wrapper, Histogram):
                    for bound in child._upper_bounds:  # noqa: SLF001
                        le = (("le", floatToGoString(bound)),)
                        columns.append((f"{name}_bucket", tuple(sorted(labels + le))))
                    columns.append((f"{name}_count", tuple(sorted(labels))))
                    columns.append((f"{name}_sum", tuple(sorted(labels))))
                    readers.append(_histogram_reader(child))
                else:
                    suffix = "_total" if isinstance(wrapper, Counter) else ""
                    columns.append((f"{name}{suffix}", tuple(sorted(labels))))
                    readers.append(_value_reader(child))
        return columns, readers

    def absorb(self, earlier: "Instruments") -> None:
        """Add the counts ``earlier`` recorded (a history before ours) to every counter and histogram."""
        for mine, theirs in zip(self._wrappers(), earlier._wrappers()):
            if not isinstance(mine, Gauge):
                add_counts(mine, theirs)

    def read(self) -> list[float]:
        """Current value of every series, in :attr:`columns` order."""
        if self._readers is None:
            values = self.read_via_collect()
            return [values.get(key, 0.0) for key in self.columns]
        row: list[float] = []
        for reader in self._readers:
            row.extend(reader())
        return row

    def read_via_collect(self) -> dict[SeriesKey, float]:
        """The same values through the public ``registry.collect()`` (slow, for checks)."""
        found: dict[SeriesKey, float] = {}
        for family in self.registry.collect():
            for sample in family.samples:
                if sample.name.endswith("_created"):
                    continue
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return found


def _value_reader(child) -> Callable[[], list[float]]:
    value = child._value  # noqa: SLF001
    return lambda: [value.get()]


def _histogram_reader(child) -> Callable[[], list[float]]:
    buckets = child._buckets  # noqa: SLF001
    total = child._sum  # noqa: SLF001

    def read() -> list[float]:
        out: list[float] = []
        running = 0.0
        for bucket in buckets:
            running += bucket.get()
            out.append(running)
        out.append(running)
        out.append(total.get())
        return out

    return read


def add_counts(target: Counter | Histogram, source: Counter | Histogram) -> None:
    """Add every child value of ``source`` into the same-labelled child of ``target``.

    prometheus_client has no public way to add to histogram buckets, so this
    uses the same child internals as the fast reader.
    """
    for labelvalues, child in source._metrics.items():  # noqa: SLF001
        into = target.labels(*labelvalues)
        if isinstance(source, Histogram):
            for mine, theirs in zip(into._buckets, child._buckets):  # noqa: SLF001
                mine.inc(theirs.get())
            into._sum.inc(child._sum.get())  # noqa: SLF001
        else:
            into._value.inc(child._value.get())  # noqa: SLF001
