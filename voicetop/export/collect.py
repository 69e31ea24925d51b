"""Gather what a snapshot keeps from the trace source: slowest turns with spans.

Runs in a worker thread or the headless command; never on the UI thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from voicetop.domain.model import Session, Trace, Turn, Window
from voicetop.sources.base import SourceError, TraceSource

DEFAULT_SLOWEST = 20
MAX_RECENT = 500


@dataclass(frozen=True)
class CollectedTurns:
    """Turns for a snapshot; ``error`` is a one-line reason when the source failed."""

    slowest: tuple[tuple[Turn, Trace | None], ...] = ()
    recent: tuple[Turn, ...] = ()
    sessions: tuple[Session, ...] = ()
    error: str = ""


def turn_latency(turn: Turn) -> float:
    """End-to-end latency of a turn in ms (its duration when e2e is unknown)."""
    value = turn.stages.get("e2e")
    if value is None or math.isnan(value):
        value = turn.duration_ms
    return 0.0 if value is None or math.isnan(value) else value


def slowest_turns(turns: list[Turn] | tuple[Turn, ...], limit: int = DEFAULT_SLOWEST) -> list[Turn]:
    """The ``limit`` slowest turns, slowest first (ties: newest first)."""
    return sorted(turns, key=lambda t: (-turn_latency(t), -t.start, t.trace_id))[: max(0, limit)]


def collect_turns(traces: TraceSource | None, window: Window, limit: int = DEFAULT_SLOWEST) -> CollectedTurns:
    """Recent turns and sessions in ``window``, and span trees of the slowest ones.

    A failing trace source yields what was fetched so far plus ``error``;
    one missing trace only loses that turn's spans.
    """
    if traces is None:
        return CollectedTurns()
    try:
        recent = list(traces.recent_turns(None, window.start, window.end, limit=MAX_RECENT))
    except SourceError as exc:
        return CollectedTurns(error=str(exc))
    pairs: list[tuple[Turn, Trace | None]] = []
    error = ""
    for turn in slowest_turns(recent, limit):
        trace = None
        if not error:
            try:
                trace = traces.trace(turn.trace_id)
            except SourceError as exc:
                error = str(exc)
        pairs.append((turn, trace))
    sessions: list[Session] = []
    try:
        sessions = list(traces.sessions(None, window.start, window.end, limit=MAX_RECENT))
    except SourceError as exc:
        error = error or str(exc)
    return CollectedTurns(tuple(pairs), tuple(recent), tuple(sessions), error)
