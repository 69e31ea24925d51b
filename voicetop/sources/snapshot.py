"""Replay sources over a loaded snapshot file (``voicetop open``).

:class:`SnapshotMetricsSource` answers range queries from the stored stat
series, with ``now()`` = the snapshot window's end, so the normal Poller
re-evaluates thresholds exactly as at export time; the time cursor slices the
stored series.  :class:`SnapshotTraceSource` serves the stored sessions,
turns and span trees.  Both are read-only and do no I/O.
"""

from __future__ import annotations

from voicetop.domain.model import (
    Alert,
    MetricsResult,
    Series,
    Session,
    Trace,
    Turn,
    Window,
)
from voicetop.domain.timeparse import clock
from voicetop.export.document import Snapshot
from voicetop.sources.base import SourceError

_EPSILON = 1e-6


def _slice(series: Series, window: Window) -> Series:
    pairs = [
        (t, v)
        for t, v in zip(series.timestamps, series.values)
        if window.start - _EPSILON <= t <= window.end + _EPSILON
    ]
    if not pairs:
        return Series.empty()
    stamps, values = zip(*pairs)
    return Series(tuple(stamps), tuple(values))


def _slice_all(stored, window: Window) -> dict[str, dict[str | None, Series]]:
    """Every stored series (per stat, per agent or node) cut to ``window``; empty ones dropped."""
    out: dict[str, dict[str | None, Series]] = {}
    for key, per_owner in stored.items():
        for owner, values in per_owner.items():
            sliced = _slice(values, window)
            if len(sliced):
                out.setdefault(key, {})[owner] = sliced
    return out


class SnapshotMetricsSource:
    """A MetricsSource over a snapshot's stored series."""

    mode = "replay"
    read_only = True

    def __init__(self, snapshot: Snapshot, name: str = "snapshot") -> None:
        self.snapshot = snapshot
        self.name = name
        self._result = snapshot.metrics_result()
        stamps = [
            t for stored in (self._result.series, self._result.telephony)
            for per_agent in stored.values() for series in per_agent.values()
            for t in series.timestamps[:1]
        ]
        self.data_start = min([snapshot.window.start, *stamps])

    def now(self) -> float:
        return self.snapshot.window.end

    def fetch(self, window: Window) -> MetricsResult:
        stored = self.snapshot.window
        if window.end < self.data_start - _EPSILON or window.start > stored.end + _EPSILON:
            raise SourceError(
                f"no data at this time: the snapshot covers {clock(self.data_start)}–{clock(stored.end)}"
            )
        return MetricsResult(
            window=window, series=_slice_all(self._result.series, window),
            telephony=_slice_all(self._result.telephony, window),
        )

    def alerts(self) -> list[Alert]:
        return list(self.snapshot.alerts)

    def close(self) -> None:
        """Nothing to release."""


def _derive_sessions(turns: tuple[Turn, ...]) -> list[Session]:
    by_session: dict[str, list[Turn]] = {}
    for turn in turns:
        by_session.setdefault(turn.session_id, []).append(turn)
    sessions = []
    for session_id, group in by_session.items():
        group.sort(key=lambda t: t.start)
        e2e = [t.stages["e2e"] for t in group if "e2e" in t.stages]
        sessions.append(
            Session(
                session_id=session_id,
                agent_id=group[0].agent_id,
                room=group[0].room,
                started=group[0].start,
                last_seen=group[-1].start,
                turns=len(group),
                last_e2e_ms=e2e[-1] if e2e else None,
                worst_e2e_ms=max(e2e) if e2e else None,
                interruptions=sum(1 for t in group if t.interrupted),
                tokens=sum(t.tokens for t in group),
            )
        )
    return sessions


class SnapshotTraceSource:
    """A TraceSource over a snapshot's stored sessions, turns and span trees.

    Only the slowest turns keep their spans; asking for another turn's trace
    raises SourceError saying so.
    """

    mode = "replay"
    read_only = True

    def __init__(self, snapshot: Snapshot, name: str = "snapshot-traces") -> None:
        self.snapshot = snapshot
        self.name = name
        self._turns = snapshot.all_turns()
        self._sessions = list(snapshot.sessions) or _derive_sessions(self._turns)

    def sessions(self, agent_id: str | None, since: float, until: float, limit: int = 500) -> list[Session]:
        found = [
            s
            for s in self._sessions
            if (agent_id is None or s.agent_id == agent_id) and s.last_seen >= since and s.started <= until
        ]
        found.sort(key=lambda s: s.last_seen, reverse=True)
        return found[:limit]

    def turns(self, session_id: str, since: float, until: float) -> list[Turn]:
        found = [t for t in self._turns if t.session_id == session_id and since <= t.start <= until]
        return sorted(found, key=lambda t: (t.start, t.index))

    def recent_turns(self, agent_id: str | None, since: float, until: float, limit: int = 500) -> list[Turn]:
        found = [
            t for t in self._turns if (agent_id is None or t.agent_id == agent_id) and since <= t.start <= until
        ]
        found.sort(key=lambda t: t.start, reverse=True)
        return found[:limit]

    def trace(self, trace_id: str) -> Trace:
        trace = self.snapshot.traces.get(trace_id)
        if trace is None:
            raise SourceError("this turn's spans are not in the snapshot (only the slowest turns keep them)")
        return trace

    def close(self) -> None:
        """Nothing to release."""


def replay_sources(snapshot: Snapshot) -> tuple[SnapshotMetricsSource, SnapshotTraceSource]:
    """The metrics and trace sources that replay ``snapshot``."""
    return SnapshotMetricsSource(snapshot), SnapshotTraceSource(snapshot)
