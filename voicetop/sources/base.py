"""Source protocols: what the poller needs from a metrics or trace backend.

Sources never import Textual.  They raise :class:`SourceError` with a one-line,
credential-free message when a backend is unreachable or answers garbage.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from voicetop.domain.model import Alert, MetricsResult, Session, Trace, Turn, Window

__all__ = ["SIDE_REQUESTS", "MetricsResult", "MetricsSource", "SourceError", "TraceSource"]

#: The most requests a poll makes alongside ``fetch`` (alerts, change markers,
#: compare): the poller's pool for them, and room for them in a source's HTTP pool.
SIDE_REQUESTS = 4


class SourceError(Exception):
    """A backend failed; ``str(error)`` is a short, safe, one-line reason."""


@runtime_checkable
class MetricsSource(Protocol):
    """A Prometheus-like store that answers range queries for stat keys."""

    name: str

    def now(self) -> float:
        """The source's clock (the demo's runs faster than real time)."""

    def fetch(self, window: Window) -> MetricsResult:
        """Every stat over ``window``; raises SourceError on failure."""

    def alerts(self) -> list[Alert]:
        """Firing and pending alerts, if the backend has any."""

    def close(self) -> None:
        """Release connections and threads."""


@runtime_checkable
class TraceSource(Protocol):
    """A trace backend that lists sessions and turns and fetches span trees."""

    name: str

    def sessions(self, agent_id: str | None, since: float, until: float, limit: int = 500) -> list[Session]:
        """Sessions with a finished turn in [since, until]."""

    def turns(self, session_id: str, since: float, until: float) -> list[Turn]:
        """The turns of one session, oldest first."""

    def recent_turns(self, agent_id: str | None, since: float, until: float, limit: int = 500) -> list[Turn]:
        """Recent turns of an agent (or all agents), for trace-derived stats."""

    def trace(self, trace_id: str) -> Trace:
        """One turn's span tree."""

    def close(self) -> None:
        """Release connections."""
