"""The demo's TraceSource: sessions, turns and span trees from the in-memory span store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voicetop.domain.model import Session, Trace, Turn
from voicetop.sources.base import SourceError

if TYPE_CHECKING:
    from voicetop.sources.demo.fleet import DemoFleet


class DemoTraceSource:
    """Implements :class:`voicetop.sources.base.TraceSource` for a DemoFleet.

    Like a real trace backend it only knows finished turns: a turn is "in
    range" when its root span starts within ``[since, until]``.
    """

    name = "demo-traces"

    def __init__(self, fleet: "DemoFleet") -> None:
        self._fleet = fleet

    def _stored(self, since: float, until: float, agent_id: str | None = None) -> list[tuple[Turn, str]]:
        self._fleet.complete_history()  # spans wait for the earlier history
        self._fleet.now()  # simulate up to the current time first
        return [
            (turn, room) for _, turn, room in self._fleet.span_store.turns()
            if since <= turn.start <= until and (agent_id is None or turn.agent_id == agent_id)
        ]

    def sessions(self, agent_id: str | None, since: float, until: float, limit: int = 500) -> list[Session]:
        """Sessions with a finished turn in range, most recently active first."""
        grouped: dict[str, list[tuple[Turn, str]]] = {}
        for turn, room in self._stored(since, until, agent_id):
            grouped.setdefault(turn.session_id, []).append((turn, room))
        sessions = []
        for session_id, entries in grouped.items():
            turns = [turn for turn, _ in entries]
            e2e = [t.stages["e2e"] for t in turns if "e2e" in t.stages]
            last = turns[-1]
            sessions.append(Session(
                session_id=session_id,
                agent_id=last.agent_id,
                room=entries[-1][1],
                started=turns[0].start,
                last_seen=last.start + last.stages.get("e2e", 0.0) / 1000.0,
                turns=max(t.index for t in turns) + 1,
                last_e2e_ms=last.stages.get("e2e"),
                worst_e2e_ms=max(e2e) if e2e else None,
                interruptions=sum(1 for t in turns if t.interrupted),
                tokens=sum(t.tokens for t in turns),
            ))
        sessions.sort(key=lambda s: s.last_seen, reverse=True)
        return sessions[:limit]

    def turns(self, session_id: str, since: float, until: float) -> list[Turn]:
        """The session's turns in range, oldest first."""
        found = [turn for turn, _ in self._stored(since, until) if turn.session_id == session_id]
        return sorted(found, key=lambda t: t.start)

    def recent_turns(self, agent_id: str | None, since: float, until: float, limit: int = 500) -> list[Turn]:
        """The ``limit`` most recent turns in range (oldest first)."""
        found = sorted((turn for turn, _ in self._stored(since, until, agent_id)), key=lambda t: t.start)
        return found[-limit:] if limit > 0 else []

    def trace(self, trace_id: str) -> Trace:
        self._fleet.complete_history()
        self._fleet.now()
        found = self._fleet.span_store.trace(trace_id.lower())
        if found is None:
            raise SourceError(f"trace {trace_id[:32]} not found (the demo keeps recent turns only)")
        return found

    def close(self) -> None:
        return None
