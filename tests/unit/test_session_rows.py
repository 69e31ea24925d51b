"""Sessions in display order: sorting, filtering and widths without widgets."""

from __future__ import annotations

from voicetop.domain.model import Session
from voicetop.ui.widgets.session_rows import (
    AGE_WIDTH,
    Ordering,
    arrange,
    content_widths,
    session_rows,
)

NOW = 1_760_000_000.0


def session(key: str, worst: float | None = 1000.0, *, room: str = "room", started: float = NOW - 60,
            turns: int = 3, tokens: int = 800) -> Session:
    return Session(key, "agent", room, started, NOW, turns, worst, worst, 0, tokens)


def by_key(*sessions: Session) -> dict[str, Session]:
    return {s.session_id: s for s in sessions}


SESSIONS = by_key(
    session("c", 900.0), session("a", 2500.0), session("d", None), session("b", 2500.0), session("e", 100.0),
)


def test_worst_first_missing_last_and_ties_in_key_order():
    assert arrange(SESSIONS, Ordering("worst", True, ""), NOW) == ("a", "b", "c", "e", "d")


def test_ascending_still_puts_missing_values_last():
    assert arrange(SESSIONS, Ordering("worst", False, ""), NOW) == ("e", "c", "a", "b", "d")


def test_text_columns_sort_both_ways_and_no_column_means_by_id():
    rooms = by_key(session("x", room="beta"), session("y", room="alpha"), session("z", room="beta"))
    assert arrange(rooms, Ordering("room", False, ""), NOW) == ("y", "x", "z")
    assert arrange(rooms, Ordering("room", True, ""), NOW) == ("x", "z", "y")  # ties keep key order
    assert arrange(rooms, Ordering(None, True, ""), NOW) == ("x", "y", "z")


def test_age_sorts_by_time_since_start():
    ages = by_key(session("old", started=NOW - 900), session("new", started=NOW - 5), session("mid", started=NOW - 60))
    assert arrange(ages, Ordering("age", False, ""), NOW) == ("new", "mid", "old")


def test_filter_matches_id_or_room_in_any_case():
    found = by_key(session("sess-ABC", room="lobby"), session("sess-2", room="Room-abc"), session("other", room="x"))
    assert arrange(found, Ordering("worst", True, "abc"), NOW) == ("sess-2", "sess-ABC")
    assert arrange(found, Ordering("worst", True, "nothing"), NOW) == ()


def test_widths_follow_the_widest_value_and_cap_free_text():
    widths = content_widths(by_key(session("s" * 40, 12345.0, room="r" * 30, turns=7, tokens=123456),
                                   session("short", None)), NOW)
    assert widths["session"] == 28 and widths["room"] == 24  # longer ids end in an ellipsis
    assert widths["worst"] == len("12345 ▲") and widths["turns"] == 1 and widths["tokens"] == 6
    assert widths["age"] == AGE_WIDTH
    assert content_widths({}, NOW) == {}


def test_a_snapshot_finds_positions_and_reorders_without_reloading():
    rows = session_rows(SESSIONS, Ordering("worst", True, ""), NOW)
    assert rows.position("c") == 2 and rows.position("gone") is None and rows.position(None) is None
    assert rows.rearranged(Ordering("worst", True, "")) is rows
    by_id = rows.rearranged(Ordering("session", False, ""))
    assert by_id.keys == ("a", "b", "c", "d", "e") and by_id.sessions is rows.sessions
