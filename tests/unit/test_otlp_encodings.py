"""OTLP/JSON and Jaeger v1 parsing of SDK-made spans in every id/enum/int64 encoding."""

from __future__ import annotations

import pytest

from tests.support.otel_traces import livekit_sessions, seed_sessions, to_jaeger_v1, to_otlp
from voicetop.sources.otlp import (
    WireFormatError,
    any_value,
    parse_jaeger_trace,
    parse_otlp_traces,
    span_id,
    span_kind,
    status_is_error,
    to_int,
    trace_id,
)


def test_ids_hex_base64_case_and_padding():
    assert trace_id("5B8EFFF798038103D269B633813FC60C") == "5b8efff798038103d269b633813fc60c"
    assert trace_id("W47/95gDgQPSabYzgT/HAA==") == "5b8efff798038103d269b633813fc700"
    assert trace_id("W47_95gDgQPSabYzgT_HAA") == "5b8efff798038103d269b633813fc700"  # url-safe, unpadded
    assert trace_id("d6e9329d67b6146a") == "0000000000000000d6e9329d67b6146a"
    assert trace_id("1d6e9329d67b6146a") == "00000000000000001d6e9329d67b6146a"[-32:]
    assert span_id("7uGbfsPBsQA=") == "eee19b7ec3c1b100"
    assert span_id("2") == "0000000000000002"
    assert trace_id("") == "" and trace_id(None) == ""
    with pytest.raises(WireFormatError):
        trace_id("not an id!")


def test_enums_ints_and_values():
    assert [span_kind(k) for k in (0, 1, 2, 3, 4, 5, 9)] == [
        "unspecified", "internal", "server", "client", "producer", "consumer", "unspecified"
    ]
    assert span_kind("SPAN_KIND_PRODUCER") == "producer"
    assert span_kind("server") == "server"
    assert span_kind("2") == "server"
    assert span_kind(None) == "unspecified"
    assert status_is_error({"code": 2}) and status_is_error({"code": "STATUS_CODE_ERROR"})
    assert not status_is_error({"code": 1}) and not status_is_error({}) and not status_is_error(None)
    assert to_int("9223372036854775807") == 9223372036854775807
    assert to_int(None) == 0 and to_int("") == 0
    assert to_int(str(2**64 - 1)) == 2**64 - 1 and to_int(-(2**63)) == -(2**63)  # uint64 and int64 ends
    for outside in (2**64, -(2**63) - 1, 10**400, str(10**400), 1e300):  # a float-overflowing time, found by fuzzing
        with pytest.raises(WireFormatError, match="64-bit range"):
            to_int(outside)
    assert any_value({"intValue": "-5"}) == -5
    assert any_value({"doubleValue": "NaN"}) != any_value({"doubleValue": "NaN"})  # NaN
    assert any_value({"boolValue": False}) is False
    assert any_value({"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": 3}]}}) == ["a", 3]
    assert any_value({"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": True}}]}}) == {"k": True}
    assert any_value({"arrayValue": {}}) == []
    assert any_value({}) is None


def _expected(spans):
    return {
        (f"{s.context.trace_id:032x}", f"{s.context.span_id:016x}"): s for s in spans
    }


@pytest.mark.parametrize("ids", ["hex", "HEX", "base64"])
@pytest.mark.parametrize("enums", ["int", "name"])
@pytest.mark.parametrize("int64", ["string", "number"])
def test_sdk_spans_round_trip_through_otlp(ids, enums, int64):
    generated = seed_sessions(sessions=2, turns=2)  # session 1's tool call fails
    traces = parse_otlp_traces(to_otlp(generated.spans, ids=ids, enums=enums, int64=int64))
    expected = _expected(generated.spans)
    parsed = {(s.trace_id, s.span_id): s for t in traces for s in t.spans}
    assert parsed.keys() == expected.keys()
    for key, span in parsed.items():
        source = expected[key]
        assert span.name == source.name
        assert span.start_ns == source.start_time and span.end_ns == source.end_time
        assert span.parent_id == (f"{source.parent.span_id:016x}" if source.parent else None)
        assert span.service == "support-bot"
        assert dict(span.attributes) == dict(source.attributes)
        assert span.kind == source.kind.name.lower()
        assert span.status_error == (source.status.status_code.name == "ERROR")
    assert any(s.status_error for s in parsed.values())  # the failed tool call


def test_snake_case_otlp_keys():
    generated = seed_sessions(sessions=1, turns=1)
    payload = to_otlp(generated.spans)
    snake = {"resource_spans": [
        {"resource": rs["resource"], "scope_spans": [
            {"scope": ss["scope"], "spans": [
                {"trace_id": s["traceId"], "span_id": s["spanId"], "parent_span_id": s.get("parentSpanId", ""),
                 "name": s["name"], "start_time_unix_nano": s["startTimeUnixNano"],
                 "end_time_unix_nano": s["endTimeUnixNano"], "kind": s["kind"], "attributes": s["attributes"]}
                for s in ss["spans"]
            ]} for ss in rs["scopeSpans"]
        ]} for rs in payload["resourceSpans"]
    ]}
    assert parse_otlp_traces(snake) == [
        type(t)(t.trace_id, tuple(s.__class__(**{**s.__dict__, "status_error": False}) for s in t.spans))
        for t in parse_otlp_traces(payload)
    ]


@pytest.mark.parametrize("short_ids", [True, False])
def test_jaeger_v1_of_sdk_spans_matches_otlp(short_ids):
    generated = livekit_sessions(sessions=1, turns=2)
    from_otlp = {t.trace_id: t for t in parse_otlp_traces(to_otlp(generated.spans))}
    for raw in to_jaeger_v1(generated.spans, short_ids=short_ids):
        trace = parse_jaeger_trace(raw)
        reference = from_otlp[trace.trace_id]
        assert [(s.span_id, s.parent_id, s.name, s.start_ns, s.end_ns, dict(s.attributes)) for s in trace.spans] == [
            (s.span_id, s.parent_id, s.name, s.start_ns, s.end_ns, dict(s.attributes)) for s in reference.spans
        ]


def test_64_bit_trace_ids_are_left_padded_everywhere():
    generated = seed_sessions(sessions=1, turns=1, short_trace_ids=True)
    (raw,) = to_jaeger_v1(generated.spans, short_ids=True)
    assert len(raw["traceID"]) == 16
    trace = parse_jaeger_trace(raw)
    assert trace.trace_id == "0" * 16 + raw["traceID"]
    (otlp_trace,) = parse_otlp_traces(to_otlp(generated.spans, ids="base64"))
    assert otlp_trace.trace_id == trace.trace_id


def test_garbage_payloads_raise_wire_format_errors():
    with pytest.raises(WireFormatError):
        parse_otlp_traces({"unexpected": 1})
    with pytest.raises(WireFormatError):
        parse_otlp_traces([1, 2])  # type: ignore[arg-type]
    assert parse_otlp_traces({}) == []
    assert parse_otlp_traces({"result": {"resourceSpans": []}}) == []
