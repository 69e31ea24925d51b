"""A tiny YAML emitter for plain data (dicts, lists, strings, numbers, bools).

Every string is written double-quoted with YAML escapes, so PromQL, Go
templates and untrusted label values can never change the document's
structure.  Output is block style and stable (insertion order).
"""

from __future__ import annotations

import math
from typing import Any

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def quote(text: str) -> str:
    """``text`` as a YAML double-quoted scalar."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029, 0xFEFF) or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("cannot write a non-finite number")
        return repr(value)
    if isinstance(value, str):
        return quote(value)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return [pad + "{}"]
        lines = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError("YAML keys must be strings")
            head = f"{pad}{_key(key)}:"
            if isinstance(item, (dict, list)) and item:
                lines.append(head)
                lines.extend(_lines(item, indent + 2))
            else:
                lines.append(f"{head} {_inline(item)}")
        return lines
    if isinstance(value, list):
        if not value:
            return [pad + "[]"]
        lines = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                nested = _lines(item, indent + 2)
                lines.append(f"{pad}- {nested[0].lstrip()}")
                lines.extend(nested[1:])
            else:
                lines.append(f"{pad}- {_inline(item)}")
        return lines
    return [pad + scalar(value)]


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return scalar(value)


def _key(key: str) -> str:
    plain = key and key[0].isalpha() and all(c.isalnum() or c in "_-" for c in key)
    return key if plain else quote(key)


def dump(value: Any, header: str = "") -> str:
    """A YAML document for ``value``; ``header`` lines become ``#`` comments."""
    comments = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    return "\n".join(comments + _lines(value, 0)) + "\n"
