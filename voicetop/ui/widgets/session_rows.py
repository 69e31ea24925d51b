"""Sessions in display order: filtering, sorting and column widths in plain Python.

Pure functions over frozen :class:`Session` values (no widgets, no Textual), so a
worker thread can arrange 10,000 sessions and the sessions table only renders
the rows on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Callable, Mapping

from voicetop.domain.model import Session
from voicetop.ui.widgets.sorting import ordered

#: Sort value of each column (``now`` is the end of the trace window).
SORT_VALUES: dict[str, Callable[[Session, float], Any]] = {
    "session": lambda s, now: s.session_id,
    "room": lambda s, now: s.room,
    "turns": lambda s, now: s.turns,
    "last": lambda s, now: s.last_e2e_ms,
    "worst": lambda s, now: s.worst_e2e_ms,
    "intr": lambda s, now: s.interruptions,
    "tokens": lambda s, now: s.tokens,
    "age": lambda s, now: now - s.started,
}
#: Widest text of the free-text columns (longer ids and rooms end in an ellipsis).
TEXT_LIMITS = {"session": 28, "room": 24}
#: ``7m05s`` / ``2h03m``: ages take at most this many cells.
AGE_WIDTH = 6


@dataclass(frozen=True)
class Ordering:
    """How the rows are shown: sort column (None: by session id), direction, filter."""

    column: str | None = "worst"
    reverse: bool = True
    needle: str = ""


@dataclass(frozen=True)
class SessionRows:
    """All sessions of one load, and the keys shown (filtered, sorted) in order."""

    sessions: Mapping[str, Session]
    keys: tuple[str, ...]
    ordering: Ordering
    now: float
    widths: Mapping[str, int]

    def position(self, key: str | None) -> int | None:
        """Display index of ``key``, or None when it is not shown."""
        if key is None:
            return None
        try:
            return self.keys.index(key)
        except ValueError:
            return None

    def rearranged(self, ordering: Ordering) -> "SessionRows":
        """The same sessions in another order (or filter)."""
        if ordering == self.ordering:
            return self
        keys = arrange(self.sessions, ordering, self.now)
        return SessionRows(self.sessions, keys, ordering, self.now, self.widths)


EMPTY = SessionRows({}, (), Ordering(), 0.0, {})


def session_rows(sessions: Mapping[str, Session], ordering: Ordering, now: float) -> SessionRows:
    """Arrange ``sessions`` (key → session) for display."""
    return SessionRows(sessions, arrange(sessions, ordering, now), ordering, now, content_widths(sessions, now))


def matches(key: str, session: Session, needle: str) -> bool:
    """Case-insensitive substring of the session id or the room (``needle`` lower-case)."""
    return not needle or needle in key.lower() or needle in session.room.lower()


def arrange(sessions: Mapping[str, Session], ordering: Ordering, now: float) -> tuple[str, ...]:
    """Keys of the sessions matching the filter, sorted; ties by key, missing values last."""
    needle = ordering.needle
    items = [(k, s) for k, s in sessions.items() if matches(k, s, needle)] if needle else sessions.items()
    keys = sorted(k for k, _ in items)
    value_of = SORT_VALUES.get(ordering.column or "")
    if value_of is None:
        return tuple(keys)
    return tuple(ordered(keys, lambda key: value_of(sessions[key], now), ordering.reverse))


def content_widths(sessions: Mapping[str, Session], now: float) -> dict[str, int]:
    """Cells the widest value of each column needs (labels not included)."""
    if not sessions:
        return {}
    values = sessions.values()

    def digits(attribute: str) -> int:
        present = [v for v in map(attrgetter(attribute), values) if v is not None]
        return len(f"{max(present):.0f}") if present else 1

    return {
        "session": min(TEXT_LIMITS["session"], max(map(len, sessions))),
        "room": min(TEXT_LIMITS["room"], max(map(len, map(attrgetter("room"), values)))),
        "turns": digits("turns"),
        "last": digits("last_e2e_ms") + 2,  # " ▲": the severity glyph
        "worst": digits("worst_e2e_ms") + 2,
        "intr": digits("interruptions"),
        "tokens": digits("tokens"),
        "age": AGE_WIDTH,
    }
