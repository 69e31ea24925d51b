"""Frozen data classes that flow from the sources to the screens.

Everything here is plain data: no I/O, no Textual.  A :class:`Frame` is the
immutable picture of the fleet over one time window (DESIGN.md §1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    from voicetop.domain.telephony import TelephonyStats

#: Pipeline stages in the order a turn runs through them.
STAGES: tuple[str, ...] = ("stt", "eou", "ttft", "llm", "tts", "e2e")

STAGE_LABELS: Mapping[str, str] = {
    "stt": "STT",
    "eou": "EOU",
    "ttft": "LLM TTFT",
    "llm": "LLM total",
    "tts": "TTS TTFB",
    "e2e": "End-to-end",
}

#: Quantiles computed for every stage, as (name, q).
QUANTILES: tuple[tuple[str, float], ...] = (
    ("p50", 0.5),
    ("p90", 0.9),
    ("p95", 0.95),
    ("p99", 0.99),
)

#: Scalar (non-latency) stats an agent has, with their native unit.
SCALAR_STATS: Mapping[str, str] = {
    "wer": "ratio",
    "mos": "score",
    "rtf": "factor",
    "interruption_rate": "ratio",
    "tool_success_rate": "ratio",
    "error_rate": "ratio",
    "active_sessions": "count",
    "max_sessions": "count",
    "capacity": "ratio",
    "turns_per_session": "count",
    "tokens_per_session": "count",
    "cost_per_session": "usd",
    "tts_chars_per_turn": "count",
    "turn_rate": "per_second",
    "tool_call_rate": "count",  # tool calls per turn
}

#: Stats whose warning/critical thresholds are relative to a baseline series
#: published under ``<key>_baseline``.
BASELINE_STATS: tuple[str, ...] = (
    "tokens_per_session", "cost_per_session", "tts_chars_per_turn", "turns_per_session", "tool_call_rate",
)


def stage_stat_key(stage: str, quantile: str) -> str:
    """The stat key for one stage quantile, e.g. ``ttft_p99``."""
    return f"{stage}_{quantile}"


def all_stat_keys() -> tuple[str, ...]:
    """Every stat key a metrics source may publish."""
    stage_keys = tuple(stage_stat_key(s, q) for s in STAGES for q, _ in QUANTILES)
    baselines = tuple(f"{k}_baseline" for k in BASELINE_STATS)
    return stage_keys + tuple(SCALAR_STATS) + baselines


class Severity(IntEnum):
    """Ordered severities; comparisons give the worst."""

    OK = 0
    WARNING = 1
    CRITICAL = 2

    @property
    def word(self) -> str:
        return self.name.lower()

    @property
    def glyph(self) -> str:
        return SEVERITY_GLYPHS[self]


SEVERITY_GLYPHS: Mapping[Severity, str] = {
    Severity.OK: "●",
    Severity.WARNING: "▲",
    Severity.CRITICAL: "✖",
}
SEVERITY_ASCII: Mapping[Severity, str] = {
    Severity.OK: "o",
    Severity.WARNING: "!",
    Severity.CRITICAL: "X",
}


@dataclass(frozen=True)
class Window:
    """A time range evaluated at a fixed step; times are Unix seconds."""

    start: float
    end: float
    step: float

    def __post_init__(self) -> None:
        if self.step <= 0:
            raise ValueError("window step must be positive")
        if self.end < self.start:
            raise ValueError("window end is before its start")

    @property
    def duration(self) -> float:
        return self.end - self.start

    def timestamps(self) -> tuple[float, ...]:
        """Evaluation timestamps, aligned like a Prometheus range query."""
        count = int(math.floor((self.end - self.start) / self.step + 1e-9)) + 1
        return tuple(self.start + i * self.step for i in range(count))

    def shifted(self, seconds: float) -> "Window":
        return Window(self.start + seconds, self.end + seconds, self.step)


@dataclass(frozen=True, slots=True)
class Series:
    """A sampled series; ``values`` holds NaN where there is no data."""

    timestamps: tuple[float, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.timestamps) != len(self.values):
            raise ValueError("series timestamps and values differ in length")

    @classmethod
    def empty(cls) -> "Series":
        return cls((), ())

    def last(self) -> float | None:
        """The most recent real value, or None."""
        for value in reversed(self.values):
            if value == value:  # NaN != NaN
                return value
        return None

    def finite_values(self) -> tuple[float, ...]:
        return tuple(v for v in self.values if not math.isnan(v))

    def __len__(self) -> int:
        return len(self.values)


class HealthState(IntEnum):
    OK = 0
    STALE = 1
    ERROR = 2


@dataclass(frozen=True)
class SourceHealth:
    """How one source did at its last poll."""

    name: str
    state: HealthState = HealthState.OK
    message: str = ""
    last_ok: float | None = None
    checked_at: float | None = None

    def age(self, now: float) -> float | None:
        """Seconds since the last good data, if any."""
        return None if self.last_ok is None else max(0.0, now - self.last_ok)


@dataclass(frozen=True)
class StageStats:
    """Percentiles of one pipeline stage, in milliseconds (None when unknown)."""

    stage: str
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    derived_from: str = "metrics"  # or "traces"

    def quantile(self, name: str) -> float | None:
        return getattr(self, name)


@dataclass(frozen=True)
class ChangeMarker:
    """The set of ``label`` values an agent reports changed at ``at`` (a deploy)."""

    agent_id: str | None
    label: str
    old: str
    new: str
    at: float


@dataclass(frozen=True)
class Breach:
    """A maximal run of steps where a threshold condition held (DESIGN.md §4).

    ``group`` names a group-by row (``prompt_version=v2.4.0``); ``change`` is
    the label change that preceded the breach, when one did; ``node`` names
    the LiveKit node of a per-node telephony breach.
    """

    key: str
    agent_id: str | None
    severity: Severity
    value: float
    threshold: float
    since: float
    until: float | None
    peak: float
    hint: str = ""
    group: str = ""
    change: ChangeMarker | None = None
    node: str = ""  # a telephony breach of one media/SIP node (issue #10); "" = fleet or agent

    @property
    def active(self) -> bool:
        return self.until is None

    @property
    def scope(self) -> str:
        """Who breached, for display: ``node <id>``, the agent id, or ``fleet``."""
        if self.node:
            return f"node {self.node}"
        return self.agent_id or "fleet"

    def duration(self, now: float) -> float:
        return (self.until if self.until is not None else now) - self.since


@dataclass(frozen=True)
class Alert:
    """A firing or pending alert from Prometheus or Alertmanager."""

    name: str
    state: str
    severity: str
    agent_id: str | None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    active_at: float | None = None
    source: str = "prometheus"


@dataclass(frozen=True)
class AgentStats:
    """Everything the console shows about one agent (or the fleet: id None)."""

    agent_id: str | None
    stages: Mapping[str, StageStats]
    scalars: Mapping[str, float | None]
    series: Mapping[str, Series]
    severity: Severity = Severity.OK

    def scalar(self, key: str) -> float | None:
        return self.scalars.get(key)

    def stage_value(self, stage: str, quantile: str) -> float | None:
        stats = self.stages.get(stage)
        return None if stats is None else stats.quantile(quantile)

    def stat(self, key: str) -> float | None:
        """A stat by key: ``ttft_p99`` or a scalar such as ``wer``."""
        stage, _, quantile = key.rpartition("_")
        if stage in STAGES and quantile in dict(QUANTILES):
            return self.stage_value(stage, quantile)
        return self.scalars.get(key)


@dataclass(frozen=True)
class SpanEvent:
    """A timestamped event (OTLP event, Jaeger log) inside a span."""

    time_ns: int
    name: str
    attributes: Mapping[str, object] = field(default_factory=dict)


#: What a span's int64 or uint64 fields (nanosecond times, integer attributes) can hold on
#: the wire; readers refuse integers outside it (they would overflow a float as seconds).
WIRE_INT_RANGE = range(-(1 << 63), 1 << 64)


@dataclass(frozen=True)
class Span:
    """One span of a trace; times in Unix nanoseconds."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    service: str
    start_ns: int
    end_ns: int
    attributes: Mapping[str, object] = field(default_factory=dict)
    status_error: bool = False
    kind: str = "internal"
    events: tuple[SpanEvent, ...] = ()

    @property
    def duration_ms(self) -> float:
        return max(0, self.end_ns - self.start_ns) / 1e6


@dataclass(frozen=True)
class Trace:
    trace_id: str
    spans: tuple[Span, ...]

    def root(self) -> Span | None:
        ids = {s.span_id for s in self.spans}
        roots = [s for s in self.spans if not s.parent_id or s.parent_id not in ids]
        return min(roots, key=lambda s: s.start_ns) if roots else None


@dataclass(frozen=True)
class ToolCall:
    """One tool invocation inside a turn."""

    name: str
    error: bool = False
    duration_ms: float = 0.0


@dataclass(frozen=True)
class Turn:
    """One conversational turn, with its per-stage timings in ms."""

    trace_id: str
    session_id: str
    agent_id: str
    index: int
    start: float
    stages: Mapping[str, float]
    interrupted: bool = False
    tokens: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    root_span_id: str = ""
    duration_ms: float = 0.0
    tools: tuple[ToolCall, ...] = ()
    room: str = ""
    #: Group-by labels read from the turn's spans (``prompt_version``, ``model``…),
    #: as the span profile's ``group_attributes`` name them.
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Session:
    """A live (or recently finished) conversation."""

    session_id: str
    agent_id: str
    room: str
    started: float
    last_seen: float
    turns: int
    last_e2e_ms: float | None
    worst_e2e_ms: float | None
    interruptions: int
    tokens: int


@dataclass(frozen=True)
class GroupStats:
    """One group-by row: an agent's (or the fleet's) stats for one label value."""

    label: str
    value: str
    agent_id: str | None
    stats: "AgentStats"

    @property
    def key(self) -> str:
        return f"{self.agent_id or ''}\x1f{self.value}"


@dataclass(frozen=True)
class Grouping:
    """The fleet regrouped by one label, with each group's breaches."""

    label: str
    groups: tuple[GroupStats, ...] = ()
    breaches: tuple[Breach, ...] = ()

    def for_agent(self, agent_id: str | None) -> tuple[GroupStats, ...]:
        return tuple(g for g in self.groups if g.agent_id == agent_id)


@dataclass(frozen=True)
class Baseline:
    """Stat series of the same window ``offset`` seconds earlier, on today's timestamps."""

    offset: float
    series: Mapping[str | None, Mapping[str, Series]] = field(default_factory=dict)

    def for_agent(self, agent_id: str | None) -> Mapping[str, Series]:
        return self.series.get(agent_id, {})


@dataclass(frozen=True)
class Frame:
    """An immutable picture of the fleet over one window.

    ``markers``, ``grouping`` and ``baselines`` are the compare-and-drift extras
    (issue #9); they are empty unless the view asks for them.
    """

    created_at: float
    window: Window
    mode: str  # "live", "at" or "replay"
    fleet: AgentStats
    agents: tuple[AgentStats, ...]
    breaches: tuple[Breach, ...]
    health: tuple[SourceHealth, ...]
    alerts: tuple[Alert, ...] = ()
    context: str = "default"
    markers: tuple[ChangeMarker, ...] = ()
    grouping: Grouping | None = None
    baselines: tuple[Baseline, ...] = ()
    telephony: "TelephonyStats | None" = None  # LiveKit server/SIP figures (issue #10)
    #: Only the agents on screen are of this window (a focused read at fleet scale, the others a step
    #: older): the whole fleet's frame of the same window follows within about a second.
    partial: bool = False

    def agent(self, agent_id: str | None) -> AgentStats | None:
        if agent_id is None:
            return self.fleet
        for agent in self.agents:
            if agent.agent_id == agent_id:
                return agent
        return None

    def active_breaches(self) -> tuple[Breach, ...]:
        return tuple(b for b in self.breaches if b.active)

    @property
    def worst(self) -> Severity:
        return max((b.severity for b in self.active_breaches()), default=Severity.OK)


@dataclass(frozen=True)
class MetricsResult:
    """Range series per stat key and agent (agent ``None`` is the fleet).

    ``errors`` names stats that failed while others succeeded (partial data).
    """

    window: Window
    series: Mapping[str, Mapping[str | None, Series]]
    errors: Mapping[str, str] = field(default_factory=dict)
    queries: int = 0
    #: Telephony stat series per node (``None`` = fleet), when the profile reads them.
    telephony: Mapping[str, Mapping[str | None, Series]] = field(default_factory=dict)
    #: A focused result (the agents on screen first): the full result it was laid over, and the
    #: agents (None: the fleet) whose series it changed; every other series is the base's own.
    overlaid_on: "MetricsResult | None" = field(default=None, compare=False, repr=False)
    overlaid: frozenset[str | None] = frozenset()

    def agent_ids(self) -> tuple[str, ...]:
        ids = {a for per_agent in self.series.values() for a in per_agent if a is not None}
        return tuple(sorted(ids))

    def by_agent(self) -> dict[str | None, dict[str, Series]]:
        """Every agent's (None: the fleet's) stat series, keyed by stat: :meth:`for_agent` for all at once."""
        found: dict[str | None, dict[str, Series]] = {}
        row_of = found.get  # not setdefault: it would build an empty dict for each of ~40,000 series at fleet scale
        for key, per_agent in self.series.items():
            for agent_id, series in per_agent.items():
                row = row_of(agent_id)
                if row is None:
                    found[agent_id] = {key: series}
                else:
                    row[key] = series
        return found

    def for_agent(self, agent_id: str | None) -> dict[str, Series]:
        """All stat series of one agent, keyed by stat."""
        return {
            key: per_agent[agent_id]
            for key, per_agent in self.series.items()
            if agent_id in per_agent
        }
