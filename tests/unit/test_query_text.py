"""Untrusted text inside PromQL and TraceQL: one string literal serves both."""

from __future__ import annotations

from types import SimpleNamespace

from tests.support.trace_server import parse_traceql
from voicetop.domain.query_text import string_literal
from voicetop.sources.tempo import build_traceql

ODD = 'sess "7"\\\n\r end'


def _span(session: str) -> SimpleNamespace:
    return SimpleNamespace(
        name="voice_turn", attributes={"lk.session_id": session},
        resource=SimpleNamespace(attributes={"service.name": "bot"}),
    )


def test_string_literal_keeps_the_literal_on_one_line():
    assert string_literal(ODD) == '"sess \\"7\\"\\\\\\n\\r end"'


def test_traceql_session_id_with_quotes_and_line_breaks_matches_just_that_session():
    query = build_traceql(["voice_turn"], service="bot", session_attrs=["lk.session_id"], session_id=ODD)
    assert "\n" not in query and "\r" not in query
    matches, _, referenced = parse_traceql(query)
    assert referenced == ["service.name", "lk.session_id"]
    assert matches(_span(ODD))
    assert not matches(_span("sess 7"))
