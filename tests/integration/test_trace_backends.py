"""Jaeger and Tempo adapters against a local HTTP backend serving SDK-made traces.

The backend (tests/support/trace_server.py) speaks Jaeger api_v3 (camelCase
and older snake_case), Jaeger v1 only, Tempo v2 and Tempo v1 only, with each
format's id and enum encoding, on 127.0.0.1 with a free port.
"""

from __future__ import annotations

import pytest

from tests.support.otel_traces import livekit_sessions, pipecat_sessions, seed_sessions
from tests.support.trace_server import TraceBackend
from voicetop.config import Connection
from voicetop.sources.base import SourceError, TraceSource
from voicetop.sources.jaeger import JaegerTraceSource
from voicetop.sources.tempo import TempoTraceSource

PROFILES = {
    "seed": seed_sessions(agent_id="support-bot", sessions=2, turns=3),
    "livekit": livekit_sessions(agent_id="lk-agent", sessions=2, turns=3, live_last=True),
    "pipecat": pipecat_sessions(service="pipecat-bot", sessions=2, turns=3),
}
BACKENDS = {
    "jaeger-v3": ("jaeger", {"jaeger_api": "v3"}, JaegerTraceSource),
    "jaeger-v3-snake": ("jaeger", {"jaeger_api": "v3-snake"}, JaegerTraceSource),
    "jaeger-v1": ("jaeger", {"jaeger_api": "v1", "short_ids": True}, JaegerTraceSource),
    "tempo-v2": ("tempo", {"tempo_api": "v2"}, TempoTraceSource),
    "tempo-v1": ("tempo", {"tempo_api": "v1"}, TempoTraceSource),
}


def window(generated):
    return generated.turns[0].start_ns / 1e9 - 60, generated.turns[-1].start_ns / 1e9 + 60


def assert_turns(turns, expected):
    assert [(t.trace_id, t.root_span_id) for t in turns] == [(e.trace_id, e.root_span_id) for e in expected]
    for turn, want in zip(turns, expected):
        assert turn.session_id == want.session_id
        assert turn.agent_id == want.agent_id
        assert turn.index == want.index
        assert turn.interrupted == want.interrupted
        assert turn.stages.keys() == want.stages.keys()
        for stage, value in want.stages.items():
            assert turn.stages[stage] == pytest.approx(value, abs=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("configured", [True, False], ids=["profile", "auto"])
def test_adapter_end_to_end(backend, profile, configured):
    generated = PROFILES[profile]
    kind, options, source_class = BACKENDS[backend]
    since, until = window(generated)
    with TraceBackend(generated.spans, kind, **options) as server:
        source = source_class(Connection(server.url), profile if configured else None)
        try:
            assert isinstance(source, TraceSource)
            assert source.name.startswith(kind)
            turns = source.recent_turns(None, since, until)
            assert_turns(turns, generated.turns)
            agent = generated.turns[0].agent_id
            assert_turns(source.recent_turns(agent, since, until), generated.turns)
            assert source.recent_turns("nobody", since, until) == []
            assert_turns(source.recent_turns(None, since, until, limit=2), generated.turns[-2:])

            sessions = source.sessions(None, since, until)
            expected_sessions = {}
            for want in generated.turns:
                expected_sessions.setdefault(want.session_id, []).append(want)
            assert {s.session_id for s in sessions} == set(expected_sessions)
            for session in sessions:
                mine = expected_sessions[session.session_id]
                assert session.turns == len(mine)
                assert session.agent_id == agent
                assert session.interruptions == sum(t.interrupted for t in mine)
                assert session.last_e2e_ms == pytest.approx(mine[-1].stages["e2e"])
                assert_turns(source.turns(session.session_id, since, until), mine)

            want = generated.turns[-1]
            trace = source.trace(want.trace_id)
            assert trace.trace_id == want.trace_id
            ids = {f"{s.context.span_id:016x}" for s in generated.spans if f"{s.context.trace_id:032x}" == want.trace_id}
            assert {s.span_id for s in trace.spans} == ids
            with pytest.raises(SourceError, match="not found"):
                source.trace("f" * 32)
        finally:
            source.close()


def test_jaeger_v3_request_shapes_and_404_on_empty_search():
    generated = PROFILES["seed"]
    since, until = window(generated)
    with TraceBackend(generated.spans, "jaeger") as server:
        source = JaegerTraceSource(Connection(server.url), "seed")
        assert source.recent_turns(None, until + 3600, until + 7200) == []  # server answers 404
        search = [r for r in server.requests if r.path == "/api/v3/traces"][0]
        assert search.params["query.serviceName"] == "support-bot"
        assert search.params["query.operationName"] == "voice_turn"
        assert search.params["query.startTimeMin"].endswith("Z") and "T" in search.params["query.startTimeMin"]
        assert "query.searchDepth" in search.params
        assert source.api == "v3"
        source.close()


def test_jaeger_old_v3_switches_to_snake_case_once():
    generated = PROFILES["seed"]
    since, until = window(generated)
    with TraceBackend(generated.spans, "jaeger", jaeger_api="v3-snake") as server:
        source = JaegerTraceSource(Connection(server.url), "seed")
        assert len(source.recent_turns(None, since, until)) == 6
        assert len(source.recent_turns(None, since, until)) == 6
        searches = [r.params for r in server.requests if r.path == "/api/v3/traces"]
        assert "query.serviceName" in searches[0]
        assert all("query.service_name" in p for p in searches[1:])
        assert sum("query.serviceName" in p for p in searches) == 1
        source.close()


def test_jaeger_v1_fallback_uses_microseconds():
    generated = PROFILES["seed"]
    since, until = window(generated)
    with TraceBackend(generated.spans, "jaeger", jaeger_api="v1") as server:
        source = JaegerTraceSource(Connection(server.url), "seed")
        assert len(source.recent_turns(None, since, until)) == 6
        assert source.api == "v1"
        search = [r for r in server.requests if r.path == "/api/traces"][0]
        assert search.params["start"] == str(int(since * 1e6))
        assert search.params["end"] == str(int(until * 1e6))
        assert search.params["service"] == "support-bot" and search.params["operation"] == "voice_turn"
        source.close()


def test_tempo_search_params_tenant_and_v2_fallback():
    generated = PROFILES["livekit"]
    since, until = window(generated)
    with TraceBackend(generated.spans, "tempo", tempo_api="v1", tenant="team-a") as server:
        source = TempoTraceSource(Connection(server.url, tenant="team-a"), "livekit")
        assert len(source.recent_turns(None, since, until)) == 6
        search = [r for r in server.requests if r.path == "/api/search"][0]
        assert search.params["start"] == str(int(since)) and search.params["end"] == str(int(until) + 1)
        assert search.params["q"].startswith("{ name =~ ")
        assert "select(" in search.params["q"] and "span.lk.response.ttft" in search.params["q"]
        assert all(r.headers.get("X-Scope-OrgID") == "team-a" for r in server.requests)
        trace_id = generated.turns[0].trace_id
        source.trace(trace_id)
        source.trace(trace_id)
        fetches = [p for p in server.paths() if trace_id in p]
        assert fetches == [f"/api/v2/traces/{trace_id}", f"/api/traces/{trace_id}", f"/api/traces/{trace_id}"]
        source.close()


def test_tempo_without_tenant_is_a_clear_error():
    with TraceBackend(PROFILES["seed"].spans, "tempo", tenant="team-a") as server:
        source = TempoTraceSource(Connection(server.url), "seed")
        with pytest.raises(SourceError) as info:
            source.sessions(None, 0, 10)
        assert str(info.value) == "tempo: HTTP 401 (check credentials/tenant) from /api/search"
        source.close()


def test_bearer_token_is_sent_and_never_shown(monkeypatch):
    monkeypatch.setenv("VT_TRACE_TOKEN", "s3cret-token")
    generated = PROFILES["seed"]
    since, until = window(generated)
    with TraceBackend(generated.spans, "jaeger", token="s3cret-token") as server:
        source = JaegerTraceSource(Connection(server.url, bearer_token_env="VT_TRACE_TOKEN"), "seed")
        assert len(source.recent_turns(None, since, until)) == 6
        assert all(r.headers.get("Authorization") == "Bearer s3cret-token" for r in server.requests)
        assert "s3cret" not in source.name
        source.close()
    with TraceBackend(generated.spans, "jaeger") as server:
        source = JaegerTraceSource(Connection(server.url.replace("http://", "http://user:pw@")), "seed")
        assert len(source.recent_turns(None, since, until)) == 6
        assert "pw" not in source.name and "user" not in source.name
        source.close()
    with TraceBackend(generated.spans, "jaeger", token="other") as server:
        source = JaegerTraceSource(Connection(server.url, bearer_token_env="VT_TRACE_TOKEN"), "seed")
        with pytest.raises(SourceError) as info:
            source.recent_turns(None, since, until)
        assert "s3cret" not in str(info.value) and "401" in str(info.value)
        source.close()


@pytest.mark.parametrize("kind, source_class", [("jaeger", JaegerTraceSource), ("tempo", TempoTraceSource)])
def test_failures_become_one_line_source_errors(kind, source_class):
    with TraceBackend([], kind, broken="500") as server:
        source = source_class(Connection(server.url), "seed")
        with pytest.raises(SourceError, match=r"HTTP 500") as info:
            source.recent_turns(None, 0, 10)
        assert "\n" not in str(info.value)
        source.close()
    with TraceBackend([], kind, broken="garbage") as server:
        source = source_class(Connection(server.url), "seed")
        with pytest.raises(SourceError, match="not JSON"):
            source.trace("a" * 32)
        source.close()
    with TraceBackend([], kind, delay=0.6) as server:
        source = source_class(Connection(server.url, timeout=0.1), "seed")
        with pytest.raises(SourceError, match=r"timed out after 0.1s"):
            source.recent_turns(None, 0, 10)
        source.close()
    with TraceBackend([], kind) as server:
        url = server.url
    source = source_class(Connection(url), "seed")
    with pytest.raises(SourceError, match="cannot reach"):
        source.recent_turns(None, 0, 10)
    with pytest.raises(SourceError, match="is not a trace id"):
        source.trace("not-a-trace-id!")
    source.close()


@pytest.mark.parametrize("api, expected", [("v3", 6), ("v3-snake", 0), ("v1", 0)])
def test_jaeger_trace_summaries_where_present(api, expected):
    generated = PROFILES["seed"]
    since, until = window(generated)
    with TraceBackend(generated.spans, "jaeger", jaeger_api=api) as server:
        source = JaegerTraceSource(Connection(server.url), "seed")
        summaries = source.trace_summaries("support-bot", since, until)
        assert len(summaries) == expected
        if expected:
            assert {s.trace_id for s in summaries} == {t.trace_id for t in generated.turns}
            assert all(s.root_name == "voice_turn" and s.span_count >= 4 for s in summaries)
            assert sum(s.error_count for s in summaries) == 1  # the failed tool call
        assert source.trace_summaries("support-bot", until + 3600, until + 7200) == []
        source.close()


def test_tempo_404_on_empty_search_is_no_data():
    generated = PROFILES["pipecat"]
    since, until = window(generated)
    with TraceBackend(generated.spans, "tempo", empty_search_404=True) as server:
        source = TempoTraceSource(Connection(server.url), None)
        assert source.sessions(None, until + 3600, until + 7200) == []
        assert len(source.sessions(None, since, until)) == 2
        source.close()
