"""Assertions shared by the reliability tests."""

from __future__ import annotations

import re

#: Python exception names leaking into a user-facing message mean "unclassified failure".
_PYTHON_NAMES = re.compile(
    r"\b(Traceback|AttributeError|TypeError|KeyError|IndexError|RecursionError|UnicodeDecodeError|"
    r"UnicodeEncodeError|OverflowError|ZeroDivisionError|AssertionError|NoneType)\b"
)
MAX_MESSAGE = 400


def assert_clear_message(message: str, max_len: int = MAX_MESSAGE) -> None:
    """One printable line, bounded, no Python internals, no escape sequences."""
    assert isinstance(message, str)
    assert "\n" not in message and "\r" not in message, repr(message)
    assert "\x1b" not in message and "\x00" not in message and "\x07" not in message, repr(message)
    assert len(message) <= max_len, f"{len(message)} characters: {message[:80]!r}…"
    assert not _PYTHON_NAMES.search(message), f"unclassified failure: {message!r}"


def assert_no_escape_bytes(text: str, where: str) -> None:
    """No ESC/BEL/NUL/CSI bytes and no bidi overrides in an exported artefact."""
    for bad in ("\x1b", "\x07", "\x00", "\x9b", "\u202e", "\u202d", "\u2066", "\u2067", "\u2068"):
        assert bad not in text, f"{where} contains {bad!r}"
