"""Untrusted text inside query languages (PromQL, TraceQL): string literals and literal regexes.

Both languages take Go-style double-quoted strings and RE2 regexes, so one
quoting serves both.
"""

from __future__ import annotations

import re
from typing import Iterable

#: RE2's metacharacters: escaped, they match themselves.
_REGEX_SPECIAL = re.compile(r"[\\.^$|?*+()\[\]{}]")


def string_literal(text: str) -> str:
    """A double-quoted string literal (PromQL, TraceQL): backslash, quote, LF and CR escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


def regex_literal(text: str) -> str:
    """``text`` as an RE2 pattern matching just it."""
    return _REGEX_SPECIAL.sub(r"\\\g<0>", text)


def regex_alternatives(values: Iterable[str]) -> str:
    """An RE2 pattern matching exactly one of ``values`` (each taken literally)."""
    return "|".join(regex_literal(value) for value in values)
