"""Fuzz the trace adapters: Jaeger api_v3 / v1 and Tempo answers, mutated and damaged.

Two levels:

- parsers: the shared fixtures (``../shared/fixtures``) and voice-agent traces
  recorded with the OpenTelemetry SDK, mutated by hypothesis, through each
  adapter's own parse wrapper and on into turn derivation and trace-derived
  stage statistics;
- adapters over HTTP: a fuzzing proxy in front of the local trace backend
  replaces one route's real answer with a hostile body, and the adapter's
  public calls (``recent_turns``, ``sessions``, ``turns``, ``trace``) must
  return data or raise SourceError with one clear line.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rel_checks import assert_clear_message
from rel_figures import add
from rel_mutate import hostile_body, mutated_json
from rel_tracefuzz import FuzzingProxy
from tests.support.otel_traces import livekit_sessions, pipecat_sessions, seed_sessions, to_jaeger_v1, to_otlp
from tests.support.trace_server import TraceBackend
from voicetop.config import Connection
from voicetop.domain.model import Trace
from voicetop.domain.turns import sessions_from_turns, trace_stage_stats_by_agent, turns_from_traces
from voicetop.sources.base import SourceError
from voicetop.sources.jaeger import JaegerTraceSource, parse_services, parse_trace_summaries
from voicetop.sources.otlp import parse_jaeger_response, parse_otlp_traces
from voicetop.sources.tempo import TempoTraceSource, parse_search, search_spans

SINCE, UNTIL = 1_600_000_000.0, 1_800_000_000.0
SPANS = seed_sessions(sessions=1, turns=2).spans + livekit_sessions(sessions=1, turns=2).spans + pipecat_sessions(sessions=1, turns=2).spans
FUZZ_SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck))


def _load(fixtures_dir, name: str):
    return json.loads((fixtures_dir / name).read_text(encoding="utf-8"))


def _use(result) -> None:
    """Push parsed traces through everything downstream that reads span data."""
    traces = result if isinstance(result, list) else []
    for trace in traces:
        assert isinstance(trace, Trace)
    turns = turns_from_traces(traces)
    sessions_from_turns(turns)
    trace_stage_stats_by_agent(turns)


def _through(source, parse, payload) -> None:
    """The adapter's own parse wrapper: a WireFormatError becomes a SourceError."""
    try:
        parsed = source._parsed(lambda: parse(payload), "/fuzz") if isinstance(source, JaegerTraceSource) else source._parsed(lambda: parse(payload))
    except SourceError as exc:
        assert_clear_message(str(exc))
        return
    _use(parsed)


@pytest.fixture(scope="module")
def jaeger_bases(fixtures_dir):
    return [
        {"result": to_otlp(SPANS)},
        {"result": to_otlp(SPANS, ids="base64", enums="name", int64="number")},
        _load(fixtures_dir, "jaeger/v3_get_trace_response.json"),
        {"result": _load(fixtures_dir, "otlp/trace.json")},
        {"result": _load(fixtures_dir, "otlp/trace_rich_attributes.json")},
    ]


@pytest.fixture(scope="module")
def jaeger_v1_bases(fixtures_dir):
    return [
        {"data": to_jaeger_v1(SPANS)},
        _load(fixtures_dir, "jaeger/v1_traces_envelope_response.json"),
        {"data": [_load(fixtures_dir, "jaeger/v1_ui_trace_all_tag_types.json")]},
    ]


@pytest.fixture(scope="module")
def tempo_bases(fixtures_dir):
    return {
        "trace": [
            {"trace": to_otlp(SPANS, ids="base64", enums="name")},
            _load(fixtures_dir, "tempo/v2_trace_by_id_response.json"),
            {"trace": _load(fixtures_dir, "tempo/trace_gogo_jsonpb_multi_service.json")},
            {"batches": _load(fixtures_dir, "tempo/trace_gogo_jsonpb_multi_service.json")["resourceSpans"]},
        ],
        "search": [
            _load(fixtures_dir, "tempo/search_traceql_response.json"),
            _load(fixtures_dir, "tempo/search_tags_response.json"),
        ],
    }


@pytest.fixture(scope="module")
def offline_sources():
    """Adapters pointed at a closed port: only their parse wrappers are used."""
    jaeger = JaegerTraceSource(Connection(url="http://127.0.0.1:9"))
    tempo = TempoTraceSource(Connection(url="http://127.0.0.1:9"))
    yield jaeger, tempo
    jaeger.close()
    tempo.close()


# -- parsers ------------------------------------------------------------------------------------
@settings(max_examples=900, **FUZZ_SETTINGS)
@given(data=st.data())
def test_jaeger_parsers_survive_mutations(data, jaeger_bases, jaeger_v1_bases, offline_sources, fixtures_dir):
    add("fuzz.jaeger")
    jaeger, _ = offline_sources
    kind = data.draw(st.sampled_from(("v3", "v1", "services", "summaries")))
    if kind == "v3":
        _through(jaeger, parse_otlp_traces, data.draw(mutated_json(data.draw(st.sampled_from(jaeger_bases)))))
    elif kind == "v1":
        _through(jaeger, parse_jaeger_response, data.draw(mutated_json(data.draw(st.sampled_from(jaeger_v1_bases)))))
    elif kind == "services":
        payload = data.draw(mutated_json(_load(fixtures_dir, "jaeger/v3_services_response.json")))
        try:
            jaeger._parsed(lambda: parse_services(payload), "/api/v3/services")
        except SourceError as exc:
            assert_clear_message(str(exc))
    else:
        payload = data.draw(mutated_json(_load(fixtures_dir, "jaeger/v3_trace_summaries_response.json")))
        try:
            jaeger._parsed(lambda: parse_trace_summaries(payload), "/api/v3/trace-summaries")
        except SourceError as exc:
            assert_clear_message(str(exc))


@settings(max_examples=700, **FUZZ_SETTINGS)
@given(data=st.data())
def test_tempo_parsers_survive_mutations(data, tempo_bases, offline_sources):
    add("fuzz.tempo")
    _, tempo = offline_sources
    kind = data.draw(st.sampled_from(("trace", "search_spans", "search")))
    if kind == "trace":
        _through(tempo, parse_otlp_traces, data.draw(mutated_json(data.draw(st.sampled_from(tempo_bases["trace"])))))
    elif kind == "search_spans":
        _through(tempo, search_spans, data.draw(mutated_json(data.draw(st.sampled_from(tempo_bases["search"])))))
    else:
        payload = data.draw(mutated_json(data.draw(st.sampled_from(tempo_bases["search"]))))
        try:
            tempo._parsed(lambda: parse_search(payload))
        except SourceError as exc:
            assert_clear_message(str(exc))


# -- adapters over HTTP ------------------------------------------------------------------------
STATUSES = (200, 200, 200, 200, 200, 200, 400, 401, 404, 500, 502, 503)


def _exercise(source) -> None:
    """Every public TraceSource call; each returns data or raises a clear SourceError."""
    calls = (
        lambda: source.recent_turns(None, SINCE, UNTIL, 50),
        lambda: source.sessions("support-bot", SINCE, UNTIL, 50),
        lambda: source.turns("sess-support-bot-0", SINCE, UNTIL),
        lambda: source.trace(f"{SPANS[0].context.trace_id:032x}"),
    )
    for call in calls:
        try:
            result = call()
        except SourceError as exc:
            assert_clear_message(str(exc))
            continue
        assert isinstance(result, (list, Trace))


def _proxied(kind: str, **backend_options):
    backend = TraceBackend(SPANS, kind, **backend_options).start()
    proxy = FuzzingProxy(backend.url).__enter__()
    make = JaegerTraceSource if kind == "jaeger" else TempoTraceSource
    source = make(Connection(url=proxy.url, timeout=3.0))
    _exercise(source)  # record the real conversation
    source.close()
    assert proxy.recorded, "the adapter made no requests"
    return backend, proxy, make


@pytest.fixture(scope="module", params=[("jaeger", {"jaeger_api": "v3"}), ("jaeger", {"jaeger_api": "v1"}), ("tempo", {})],
                ids=["jaeger-v3", "jaeger-v1", "tempo"])
def proxied(request):
    kind, options = request.param
    backend, proxy, make = _proxied(kind, **options)
    yield kind, proxy, make
    proxy.__exit__(None, None, None)
    backend.stop()


@settings(max_examples=120, **FUZZ_SETTINGS)
@given(data=st.data())
def test_trace_adapters_survive_hostile_answers_over_http(data, proxied):
    kind, proxy, make = proxied
    add(f"fuzz.{'tempo' if kind == 'tempo' else 'jaeger'}")
    route = data.draw(st.sampled_from(sorted(proxy.recorded)))
    status, _, body = proxy.recorded[route]
    try:
        base = json.loads(body)
    except ValueError:
        base = {"error": body.decode("utf-8", "replace")}
    proxy.fault = (route, data.draw(st.sampled_from(STATUSES)), data.draw(hostile_body(base)))
    source = make(Connection(url=proxy.url, timeout=3.0))
    try:
        _exercise(source)
    finally:
        source.close()
        proxy.fault = None
