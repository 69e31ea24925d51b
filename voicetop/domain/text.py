"""Make untrusted text (label values, span names, hints) safe to display."""

from __future__ import annotations

import re
import unicodedata

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def safe_text(value: object, max_len: int = 200) -> str:
    """``value`` as one printable line: ANSI escapes, control and bidi characters dropped,
    whitespace runs collapsed, cut to ``max_len`` characters with an ellipsis.

    The result is plain text; callers still render it without markup parsing.
    """
    text = "" if value is None else str(value)
    text = _ANSI.sub("", unicodedata.normalize("NFC", text))
    text = re.sub(r"\s+", " ", _CONTROL.sub(lambda m: " " if m.group() in "\t\n\r" else "", text))
    text = text.strip()
    if max_len <= 0:
        return ""
    if len(text) > max_len:
        text = text[: max_len - 1] + "…"
    return text


def expected_one_of(choices, given: str | None = None, see: str = "", shown: int = 8) -> str:
    """``expected one of: a, b, c, … (24 keys; see docs/x.md)`` kept short, with a
    ``did you mean 'x'?`` first when ``given`` is close to a valid choice."""
    import difflib

    names = [str(c) for c in choices]
    close = difflib.get_close_matches(given, names, n=1, cutoff=0.6) if given else []
    head = f"did you mean {close[0]!r}? " if close else ""
    if len(names) <= shown:
        return f"{head}expected one of: {', '.join(names)}"
    where = f"; see {see}" if see else ""
    return f"{head}expected one of: {', '.join(names[:shown])}, … ({len(names)} keys{where})"
