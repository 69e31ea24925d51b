"""The in-memory form of a ``voicetop.snapshot/1`` file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from voicetop.domain.model import (
    AgentStats,
    Alert,
    Breach,
    Frame,
    MetricsResult,
    Series,
    Session,
    SourceHealth,
    Trace,
    Turn,
    Window,
)
from voicetop.domain.telephony import TelephonyStats
from voicetop.domain.thresholds import ThresholdSet

SCHEMA = "voicetop.snapshot/1"
SCHEMA_FAMILY = "voicetop.snapshot/"
SCHEMA_VERSION = 1


class SnapshotError(Exception):
    """A snapshot cannot be read or written; ``str(error)`` is one line."""


@dataclass(frozen=True)
class Snapshot:
    """Everything a snapshot file holds, as domain objects.

    ``turns`` are the slowest turns, whose span trees are in ``traces``;
    ``recent_turns`` lists every turn seen in the window (without spans).
    """

    created_at: float
    context: str
    mode: str
    window: Window
    source: Mapping[str, object]
    thresholds: ThresholdSet
    fleet: AgentStats
    agents: tuple[AgentStats, ...]
    breaches: tuple[Breach, ...]
    alerts: tuple[Alert, ...]
    health: tuple[SourceHealth, ...]
    turns: tuple[Turn, ...] = ()
    traces: Mapping[str, Trace] = field(default_factory=dict)
    recent_turns: tuple[Turn, ...] = ()
    sessions: tuple[Session, ...] = ()
    redacted: bool = True
    schema: str = SCHEMA
    telephony: TelephonyStats | None = None  # LiveKit server/SIP series (issue #10)

    def frame(self) -> Frame:
        """The stored Frame, as it was on screen (mode unchanged)."""
        return Frame(
            created_at=self.created_at,
            window=self.window,
            mode=self.mode,
            fleet=self.fleet,
            agents=self.agents,
            breaches=self.breaches,
            health=self.health,
            alerts=self.alerts,
            context=self.context,
            telephony=self.telephony,
        )

    def metrics_result(self) -> MetricsResult:
        """The stored stat series, fleet (agent None) and per agent."""
        series: dict[str, dict[str | None, Series]] = {}
        for stats in (self.fleet, *self.agents):
            for key, values in stats.series.items():
                series.setdefault(key, {})[stats.agent_id] = values
        return MetricsResult(window=self.window, series=series, telephony=self.telephony_series())

    def telephony_series(self) -> dict[str, dict[str | None, Series]]:
        """The stored telephony series per stat and node (None = fleet), derived ones included."""
        series: dict[str, dict[str | None, Series]] = {}
        if self.telephony is not None:
            for part in (self.telephony.fleet, *self.telephony.nodes):
                for key, values in part.series.items():
                    series.setdefault(key, {})[part.node_id] = values
        return series

    def all_turns(self) -> tuple[Turn, ...]:
        """Slowest and recent turns, each once (slowest first), by trace id."""
        seen: set[str] = set()
        merged: list[Turn] = []
        for turn in (*self.turns, *self.recent_turns):
            if turn.trace_id not in seen:
                seen.add(turn.trace_id)
                merged.append(turn)
        return tuple(merged)
