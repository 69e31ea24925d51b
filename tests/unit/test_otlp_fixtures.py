"""Every shared wire-format fixture (../shared/fixtures) parsed exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voicetop.sources.jaeger import parse_services, parse_trace_summaries
from voicetop.sources.otlp import (
    iter_jaeger_spans,
    iter_otlp_spans,
    parse_jaeger_response,
    parse_jaeger_trace,
    parse_otlp_trace,
    parse_otlp_traces,
)
from voicetop.sources.tempo import parse_search, search_spans

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"

pytestmark = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason=f"shared fixtures folder {FIXTURES} is absent"
)


def load(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_all_thirteen_fixtures_are_covered():
    files = sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.json"))
    assert files == sorted(COVERED)


# --- otlp/ -------------------------------------------------------------------------------


def test_otlp_example_upper_case_hex_ids_and_int_kind():
    trace = parse_otlp_trace(load("otlp/trace.json"))
    assert trace.trace_id == "5b8efff798038103d269b633813fc60c"
    (span,) = trace.spans
    assert span.span_id == "eee19b7ec3c1b174"
    assert span.parent_id == "eee19b7ec3c1b173"
    assert span.name == "I'm a server span"
    assert span.service == "my.service"
    assert span.kind == "server"
    assert span.start_ns == 1544712660000000000
    assert span.end_ns == 1544712661000000000
    assert span.duration_ms == 1000.0
    assert span.attributes == {"my.span.attr": "some value"}
    assert span.status_error is False


def test_otlp_rich_attributes_types_events_kinds_and_two_traces():
    payload = load("otlp/trace_rich_attributes.json")
    traces = {t.trace_id: t for t in parse_otlp_traces(payload)}
    assert set(traces) == {"00000000000000010000000000000000", "00000000000000020000000000000000"}
    first = traces["00000000000000010000000000000000"]
    second = traces["00000000000000020000000000000000"]
    assert [s.span_id for s in first.spans] == ["0000000000000002", "0000000000000004"]
    assert [s.span_id for s in second.spans] == ["0000000000000003", "0000000000000005"]
    spans = {s.span_id: s for s in iter_otlp_spans(payload)}
    assert {sid: s.kind for sid, s in spans.items()} == {
        "0000000000000002": "server",
        "0000000000000003": "client",
        "0000000000000004": "producer",
        "0000000000000005": "consumer",
    }
    assert {sid: s.parent_id for sid, s in spans.items()} == {
        "0000000000000002": "0000000000000003",
        "0000000000000003": "0000000000000010",
        "0000000000000004": "0000000000000011",
        "0000000000000005": "0000000000000010",
    }
    span = spans["0000000000000002"]
    assert span.attributes == {
        "peer.service": "service-y",
        "peer.ipv4": 23456,  # intValue given as the string "23456"
        "blob": "AAAwOQ==",  # bytesValue stays base64 text
        "temperature": 72.5,
    }
    assert type(span.attributes["peer.ipv4"]) is int
    assert type(span.attributes["temperature"]) is float
    assert span.status_error is True
    assert span.service == "service-x"
    assert span.start_ns == 1485467191639875000 and span.end_ns == 1485467191639880000
    assert [(e.time_ns, e.name, dict(e.attributes)) for e in span.events] == [
        (1485467191639875000, "testing-event", {"event-x": "event-y"}),
        (1485467191639875000, "", {"x": "y"}),
    ]


# --- jaeger/ ---------------------------------------------------------------------------------


def test_jaeger_v1_envelope_microseconds_references_and_duplicate():
    (trace,) = parse_jaeger_response(load("jaeger/v1_traces_envelope_response.json"))
    assert trace.trace_id == "83a9efd15c1c98a977e0711cc93ee28b"
    raw = list(iter_jaeger_spans(load("jaeger/v1_traces_envelope_response.json")["data"][0]))
    assert len(raw) == 2 and raw[0] == raw[1]  # the duplicate, as sent
    (span,) = trace.spans  # kept once
    assert span.span_id == "e127af99e3b3e074"
    assert span.parent_id == "909541b92cf05311"
    assert span.start_ns == 1706678909209712 * 1000
    assert span.end_ns == (1706678909209712 + 123) * 1000
    assert span.duration_ms == pytest.approx(0.123)
    assert span.kind == "server"
    assert span.service == "telemetrygen"
    assert span.attributes == {
        "otel.scope.name": "telemetrygen",
        "net.peer.ip": "1.2.3.4",
        "peer.service": "telemetrygen-client",
    }


def test_jaeger_v1_and_its_otlp_source_agree():
    (from_v1,) = parse_jaeger_response(load("jaeger/v1_traces_envelope_response.json"))
    from_otlp = parse_otlp_trace(load("jaeger/v1_traces_envelope_source_otlp.json"))
    assert len(from_otlp.spans) == 1  # its duplicate also kept once
    a, b = from_v1.spans[0], from_otlp.spans[0]
    assert (a.trace_id, a.span_id, a.parent_id, a.name, a.service, a.kind) == (
        b.trace_id, b.span_id, b.parent_id, b.name, b.service, b.kind
    )
    assert (a.start_ns, a.end_ns) == (b.start_ns, b.end_ns) == (1706678909209712000, 1706678909209835000)


def test_jaeger_ui_trace_tag_types_logs_references_and_short_ids():
    payload = load("jaeger/v1_ui_trace_all_tag_types.json")
    raw = list(iter_jaeger_spans(payload))
    assert len(raw) == 5
    tagged = raw[1]
    assert tagged.span_id == "0000000000000002" and tagged.name == "some-operation"
    assert tagged.attributes == {
        "peer.service": "service-y",
        "peer.ipv4": 23456,
        "error": True,
        "temperature": 72.5,
        "javascript_limit": 9223372036854775222,  # int64 sent as a JSON string
        "blob": "AAAwOQ==",
    }
    assert type(tagged.attributes["javascript_limit"]) is int
    assert tagged.status_error is True  # the error tag
    trace = parse_jaeger_trace(payload)
    assert trace.trace_id == "00000000000000000000000000000001"  # 64-bit id left-padded
    by_id = {s.span_id: s for s in trace.spans}
    assert sorted(by_id) == ["0000000000000002", "0000000000000003", "0000000000000004", "0000000000000005"]
    first = by_id["0000000000000002"]
    assert first.name == "test-general-conversion"  # first of the duplicate pair wins
    assert first.service == "service-x" and first.parent_id is None
    assert [(e.time_ns, e.name, dict(e.attributes)) for e in first.events] == [
        (1485467191639875000, "some-event", {"event": "some-event"}),
        (1485467191639875000, "", {"x": "y"}),
    ]
    assert by_id["0000000000000003"].parent_id == "0000000000000002"
    assert by_id["0000000000000003"].service == "service-y"
    # CHILD_OF into another trace is ignored; the same-trace CHILD_OF wins.
    assert by_id["0000000000000004"].parent_id == "0000000000000002"
    assert by_id["0000000000000005"].parent_id == "0000000000000004"
    assert by_id["0000000000000005"].end_ns - by_id["0000000000000005"].start_ns == 4000
    assert all(s.kind == "internal" for s in trace.spans)


def test_jaeger_v3_get_trace_int_enums_and_absent_times():
    trace = parse_otlp_trace(load("jaeger/v3_get_trace_response.json"))
    assert trace.trace_id == "00000000000000000000000000000001"
    (span,) = trace.spans
    assert span.span_id == "0000000000000002"
    assert span.name == "foobar"
    assert span.kind == "server"
    assert span.status_error is True  # status.code 2
    assert (span.start_ns, span.end_ns, span.service, span.parent_id) == (0, 0, "", None)
    assert span.attributes == {}


def test_jaeger_v3_services_and_operations():
    assert parse_services(load("jaeger/v3_services_response.json")) == ["foo"]
    operations = load("jaeger/v3_operations_response.json")["operations"]
    assert operations == [{"name": "get_users", "spanKind": "server"}]


def test_jaeger_v3_trace_summaries():
    (summary,) = parse_trace_summaries(load("jaeger/v3_trace_summaries_response.json"))
    assert summary.trace_id == "00000000000000000000000000000001"
    assert summary.root_service == "frontend"
    assert summary.root_name == "HTTP GET /"
    assert (summary.start_ns, summary.end_ns) == (1000000000000, 1001000000000)
    assert (summary.span_count, summary.error_count) == (2, 1)
    assert summary.services == ("frontend",)


# --- tempo/ -------------------------------------------------------------------------------


def test_tempo_v2_trace_base64_ids_and_enum_names():
    trace = parse_otlp_trace(load("tempo/v2_trace_by_id_response.json"))
    assert trace.trace_id == "5b8efff798038103d269b633813fc700"
    (span,) = trace.spans
    assert span.span_id == "eee19b7ec3c1b100"
    assert span.kind == "server"
    assert span.status_error is False
    assert span.service == "my.service"
    assert (span.start_ns, span.end_ns) == (1689969302000000000, 1689970000000000000)
    assert span.attributes == {"my.span.attr": "some value"}


def test_tempo_gogo_multi_service_parent_and_status_names():
    traces = {t.trace_id: t for t in parse_otlp_traces(load("tempo/trace_gogo_jsonpb_multi_service.json"))}
    assert set(traces) == {"4290b5877a9930de79bb428365398ecc", "ab4a390ad2fe3b8534404c9f7223a390"}
    server, client = traces["4290b5877a9930de79bb428365398ecc"].spans
    assert (server.span_id, server.parent_id, server.kind, server.service) == (
        "d606579e57787587", None, "server", "mythical-server"
    )
    assert (client.span_id, client.parent_id, client.kind, client.service) == (
        "53f3329b863da95d", "d606579e57787587", "client", "mythical-requester"
    )
    assert server.status_error is False  # STATUS_CODE_OK
    assert traces["4290b5877a9930de79bb428365398ecc"].root() == server
    (consumer,) = traces["ab4a390ad2fe3b8534404c9f7223a390"].spans
    assert consumer.kind == "consumer" and consumer.service == "internal-consumer"
    assert consumer.end_ns - consumer.start_ns == 705792


def test_tempo_v1_batches_envelope_reads_the_same():
    payload = load("tempo/trace_gogo_jsonpb_multi_service.json")
    batches = {"batches": payload["resourceSpans"]}
    assert parse_otlp_traces(batches) == parse_otlp_traces(payload)


def test_tempo_traceql_search_hits_and_span_sets():
    payload = load("tempo/search_traceql_response.json")
    (hit,) = parse_search(payload)
    assert hit.trace_id == "5b8efff798038103d269b633813fc700"
    assert (hit.root_service, hit.root_name) == ("my.service", "I am a span!")
    assert hit.start_ns == 1694718625557000000
    assert hit.end_ns == 1694718625557000000 + 10_000 * 1_000_000
    (partial,) = search_spans(payload)
    (span,) = partial.spans
    assert span.span_id == "eee19b7ec3c1b100"
    assert span.service == "my.service"  # from the span set's service.name
    assert span.end_ns - span.start_ns == 10_000_000_000
    assert span.parent_id is None


def test_tempo_search_hit_with_an_absurd_duration_keeps_its_start():
    (hit,) = parse_search({"traces": [{"traceID": "ab" * 16, "startTimeUnixNano": "5", "durationMs": 1e303}]})
    assert hit.start_ns == hit.end_ns == 5  # 1e303 ms is past a float's nanoseconds: no duration, no error


def test_tempo_tag_search_short_ids_without_span_sets():
    hits = parse_search(load("tempo/search_tags_response.json"))
    assert [h.trace_id for h in hits] == [
        "0000000000000000d6e9329d67b6146a",
        "00000000000000001b1ba462b409200d",
    ]
    assert [h.end_ns - h.start_ns for h in hits] == [611_000_000, 611_000_000]
    assert [t.spans for t in search_spans(load("tempo/search_tags_response.json"))] == [(), ()]


COVERED = [
    "jaeger/v1_traces_envelope_response.json",
    "jaeger/v1_traces_envelope_source_otlp.json",
    "jaeger/v1_ui_trace_all_tag_types.json",
    "jaeger/v3_get_trace_response.json",
    "jaeger/v3_operations_response.json",
    "jaeger/v3_services_response.json",
    "jaeger/v3_trace_summaries_response.json",
    "otlp/trace.json",
    "otlp/trace_rich_attributes.json",
    "tempo/search_tags_response.json",
    "tempo/search_traceql_response.json",
    "tempo/trace_gogo_jsonpb_multi_service.json",
    "tempo/v2_trace_by_id_response.json",
]
