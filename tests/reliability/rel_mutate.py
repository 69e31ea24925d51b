"""Hypothesis strategies that mutate real wire-format documents into hostile ones.

:func:`mutated_json` takes a valid document (a shared fixture or a real
server's answer) and applies a few structural mutations: a value replaced by
garbage of another type, a key dropped, a list item duplicated, a container
emptied or buried under deep nesting.  :func:`hostile_body` then serialises it
and may damage the bytes (truncation, invalid UTF-8, UTF-16, a BOM, an HTML
error page, nothing at all).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from hypothesis import strategies as st

#: Strings that have broken parsers before: numbers as text, markup, escapes, bidi.
NASTY_STRINGS = (
    "", " ", "NaN", "+Inf", "-Inf", "Infinity", "1e999", "-1e999", "0x1F", "9" * 400,
    "18446744073709551616", "-9223372036854775809", "1.5", "true", "null", "[]", "{}",
    "[red]x[/red]", "[@click=app.quit]", "[link=http://evil]x[/link]", "\x1b[31mred",
    "\x1b]52;c;ZXZpbA==\x07", "\u202eevil", "\x00", "\ud800", "==", "AAAA", "W47/95gDgQPSabYzgT/HAA==",
    "zzzzzzzzzzzzzzzz", "\n\r\t", "é" * 50,
)

leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.just(10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(NASTY_STRINGS),
    st.text(max_size=30),
)

garbage = st.recursive(
    leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.sampled_from(("traceId", "spanId", "data", "result", "values", "metric"))), children, max_size=4),
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (sequence of keys/indexes) to a value inside ``node``."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, prefix + (key,)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, prefix + (index,)))
    return found


def _get(node: Any, path: tuple) -> Any:
    for part in path:
        node = node[part]
    return node


_DEEP = re.compile(r'"@@deep:(list|dict):(\d+)@@"')


def _deep(depth: int, kind: str) -> str:
    """A marker that :func:`dumps` expands into ``depth`` levels of nesting."""
    return f"@@deep:{kind}:{depth}@@"


def _expand_deep(match: re.Match) -> str:
    kind, depth = match.group(1), int(match.group(2))
    if kind == "list":
        return "[" * depth + "0" + "]" * depth
    return '{"a":' * depth + "0" + "}" * depth


OPERATIONS = ("replace", "drop", "duplicate", "empty", "wrap", "deep", "stringify", "swap_type")


@st.composite
def mutated_json(draw, base: Any, max_mutations: int = 4) -> Any:
    """``base`` with 1..``max_mutations`` structural mutations."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, max_mutations))):
        paths = _paths(doc)
        path = paths[draw(st.integers(0, len(paths) - 1))]
        operation = draw(st.sampled_from(OPERATIONS))
        current = _get(doc, path)
        if operation == "replace":
            new = draw(garbage)
        elif operation == "drop" and path:
            parent = _get(doc, path[:-1])
            del parent[path[-1]]
            continue
        elif operation == "duplicate" and isinstance(current, list) and current:
            new = current + current * draw(st.integers(1, 50))
        elif operation == "empty":
            new = type(current)() if isinstance(current, (list, dict, str)) else None
        elif operation == "wrap":
            new = draw(st.sampled_from(([current], {"value": current}, [[current]])))
        elif operation == "deep":
            new = _deep(draw(st.sampled_from((50, 900, 5000))), draw(st.sampled_from(("list", "dict"))))
        elif operation == "stringify":
            new = json.dumps(current)
        else:  # swap_type, or an operation that did not fit this node
            new = draw(leaf)
        if not path:
            doc = new
        else:
            _get(doc, path[:-1])[path[-1]] = new
    return doc


def dumps(doc: Any) -> bytes:
    """JSON as a server might send it (NaN/Infinity tokens and lone surrogates allowed)."""
    text = _DEEP.sub(_expand_deep, json.dumps(doc, allow_nan=True))
    return text.encode("utf-8", "surrogatepass")


BODY_DAMAGE = ("none", "none", "none", "truncate", "bad_utf8", "utf16", "bom", "html", "empty", "nul", "append_garbage")


@st.composite
def hostile_body(draw, base: Any) -> bytes:
    """The bytes of a mutated ``base``, sometimes damaged on the way."""
    body = dumps(draw(mutated_json(base)))
    damage = draw(st.sampled_from(BODY_DAMAGE))
    if damage == "truncate" and body:
        body = body[: draw(st.integers(0, len(body) - 1))]
    elif damage == "bad_utf8":
        cut = draw(st.integers(0, len(body)))
        body = body[:cut] + draw(st.sampled_from((b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"\x80\x80"))) + body[cut:]
    elif damage == "utf16":
        body = body.decode("utf-8", "surrogatepass").encode("utf-16", "surrogatepass")
    elif damage == "bom":
        body = b"\xef\xbb\xbf" + body
    elif damage == "html":
        body = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1>[red]x[/red]\x1b[31m</body></html>"
    elif damage == "empty":
        body = b""
    elif damage == "nul":
        body = body.replace(b":", b":\x00", 1)
    elif damage == "append_garbage":
        body = body + draw(st.binary(min_size=1, max_size=20))
    return body
