"""PrometheusSource against a local server answering canned (mostly broken) responses.

The happy path against real Prometheus/VictoriaMetrics lives in tests/integration;
these cover the unhappy paths: HTML pages, 401/403/429/5xx, non-JSON, NaN/Inf,
empty vectors, partial failure, timeouts, headers, alerts.
"""

from __future__ import annotations

import math
import re
import time

import pytest

from tests.support.canned_http import CannedServer, json_body, matrix
from voicetop.config import Connection
from voicetop.domain.model import HealthState, Window
from voicetop.domain.thresholds import ThresholdSet
from voicetop.poller import Poller, ViewWindow
from voicetop.profiles.metrics import SEED
from voicetop.sources.base import SourceError
from voicetop.sources.prometheus import PrometheusSource
from voicetop.sources.prometheus.queries import plan_queries

WINDOW = Window(1_700_000_000, 1_700_000_060, 15)
TAG = re.compile(r'"vt_stat", "([a-z0-9_]+)", "", ""\)(, "vt_scope")?')
BUCKETS = "sum by (le, agent_id)"


def fleet_answer(agents, value="1.5"):
    """A responder that answers every tagged stat for ``agents`` and the fleet, and
    bucket-rate queries with every observation above ``value`` (all quantiles = value)."""

    def respond(path, params, headers):
        if path != "/api/v1/query_range":
            return 404, "text/plain", b"not found"
        rows = []
        if params["query"].startswith(BUCKETS):
            for agent in agents:
                for le, count in ((value, "0"), ("+Inf", "2")):
                    rows.append(({"agent_id": agent, "le": le}, [(t, count) for t in WINDOW.timestamps()]))
        for stat, fleet in TAG.findall(params["query"]):
            if fleet:
                labels = {"vt_stat": stat, "vt_scope": "fleet"}
                rows.append((labels, [(t, value) for t in WINDOW.timestamps()]))
            else:
                for agent in agents:
                    rows.append(({"vt_stat": stat, "agent_id": agent}, [(t, value) for t in WINDOW.timestamps()]))
        return 200, "application/json", matrix(rows)

    return respond


def source_for(server, **kwargs) -> PrometheusSource:
    return PrometheusSource(Connection(url=server.url, **kwargs), SEED)


@pytest.mark.parametrize(
    "status, content_type, body, reason",
    [
        (200, "text/html", b"<!DOCTYPE html><html><body>Login</body></html>", "not a Prometheus API response (HTML page)"),
        (200, "text/plain", b"hello, world", "not a Prometheus API response (not JSON)"),
        (200, "application/json", b'{"unexpected": true}', "not a Prometheus API response (unexpected JSON)"),
        (200, "application/json", b"", "not a Prometheus API response (empty body)"),
        (401, "text/plain", b"no", "HTTP 401 from prometheus: Unauthorized — check the token, basic auth or tenant"),
        (403, "text/plain", b"no", "HTTP 403 from prometheus: Forbidden — check the token, basic auth or tenant"),
        (429, "text/plain", b"slow down", "HTTP 429 from prometheus: Too Many Requests"),
        (503, "text/html", b"<html><h1>503</h1></html>", "HTTP 503 from prometheus: Service Unavailable"),
        (502, "text/html", b"<html>bad gateway</html>", "HTTP 502 from prometheus: Bad Gateway"),
        (
            422, "application/json",
            json_body({"status": "error", "errorType": "execution", "error": "query timed out\nin stage"}),
            "HTTP 422 from prometheus: Unprocessable Entity (execution: query timed out in stage)",
        ),
    ],
)
def test_garbage_answers_raise_one_clear_line(status, content_type, body, reason):
    with CannedServer(lambda p, q, h: (status, content_type, body)) as server:
        source = source_for(server)
        try:
            with pytest.raises(SourceError) as info:
                source.fetch(WINDOW)
        finally:
            source.close()
    assert str(info.value) == reason
    assert "\n" not in str(info.value)
    assert len(server.requests) == len(plan_queries(SEED))  # no silent retries


def test_secrets_never_appear_in_errors(monkeypatch):
    monkeypatch.setenv("VT_TEST_TOKEN", "super-secret-token")
    with CannedServer(lambda p, q, h: (401, "text/plain", b"bad token super-secret-token")) as server:
        url = server.url.replace("http://", "http://user:pw-secret@")
        source = PrometheusSource(Connection(url=url, bearer_token_env="VT_TEST_TOKEN", tenant="acme"), SEED)
        try:
            with pytest.raises(SourceError) as info:
                source.fetch(WINDOW)
        finally:
            source.close()
        _, _, headers = server.requests[0]
    assert headers["authorization"] == "Bearer super-secret-token"
    assert headers["x-scope-orgid"] == "acme"
    assert "secret" not in str(info.value) and "secret" not in repr(source)


def test_url_userinfo_becomes_basic_auth_and_is_never_shown():
    with CannedServer(lambda p, q, h: (503, "text/plain", b"down")) as server:
        source = PrometheusSource(Connection(url=server.url.replace("http://", "http://bob:hunter2@")), SEED)
        try:
            with pytest.raises(SourceError) as info:
                source.fetch(WINDOW)
        finally:
            source.close()
        _, _, headers = server.requests[0]
    assert headers["authorization"] == "Basic Ym9iOmh1bnRlcjI="
    assert source.url == server.url and "hunter2" not in repr(source)
    assert str(info.value) == "HTTP 503 from prometheus: Service Unavailable"


def test_connection_refused_is_one_line_with_redacted_url():
    with CannedServer(lambda p, q, h: (200, "application/json", b"{}")) as server:
        url = server.url
    source = PrometheusSource(Connection(url=url.replace("http://", "http://bob:hunter2@")), SEED)
    try:
        with pytest.raises(SourceError) as info:
            source.fetch(WINDOW)
    finally:
        source.close()
    assert str(info.value) == f"cannot reach prometheus at {url}: connection refused"


def test_timeout_is_reported_quickly():
    def slow(path, params, headers):
        time.sleep(1.5)
        return 200, "application/json", matrix([])

    with CannedServer(slow) as server:
        source = source_for(server, timeout=0.3)
        started = time.monotonic()
        try:
            with pytest.raises(SourceError, match=r"did not answer within 0\.3s"):
                source.fetch(WINDOW)
        finally:
            source.close()
        assert time.monotonic() - started < 1.4


def test_nan_inf_become_nan_and_points_align_to_the_window():
    def respond(path, params, headers):
        values = [(1_700_000_000, "NaN"), (1_700_000_015, "+Inf"), (1_700_000_030, "-Inf"), (1_700_000_060, "2.5")]
        return 200, "application/json", matrix([({"vt_stat": "wer", "agent_id": "a"}, values)])

    with CannedServer(respond) as server:
        source = source_for(server)
        try:
            result = source.fetch(WINDOW)
        finally:
            source.close()
        _, params, _ = server.requests[0]
    series = result.series["wer"]["a"]
    assert series.timestamps == WINDOW.timestamps()
    assert [math.isnan(v) for v in series.values] == [True, True, True, True, False]
    assert series.last() == 2.5
    assert params["start"] == "1700000000.000" and params["end"] == "1700000060.000" and params["step"] == "15"


def test_empty_vectors_are_no_data_not_errors():
    with CannedServer(lambda p, q, h: (200, "application/json", matrix([]))) as server:
        source = source_for(server)
        try:
            result = source.fetch(WINDOW)
        finally:
            source.close()
    assert result.series == {} and result.errors == {}
    assert result.queries == len(plan_queries(SEED))


def test_query_count_does_not_grow_with_agents():
    counts = []
    for agents in (["a"], [f"agent-{i}" for i in range(300)]):
        with CannedServer(fleet_answer(agents)) as server:
            source = source_for(server)
            try:
                result = source.fetch(WINDOW)
            finally:
                source.close()
        assert result.agent_ids() == tuple(sorted(agents))
        assert result.series["ttft_p99"][None].last() == 1.5
        counts.append(len(server.requests))
    assert counts[0] == counts[1] == len(plan_queries(SEED))


def test_partial_failure_marks_stats_stale_keeps_last_good_and_recovers():
    healthy = fleet_answer(["a", "b"])
    broken = {"on": False}

    def respond(path, params, headers):
        if broken["on"] and "livekit_asr_wer" in params.get("query", ""):
            return 503, "text/html", b"<html>down</html>"
        return healthy(path, params, headers)

    with CannedServer(respond) as server:
        source = source_for(server)
        poller = Poller(source, ThresholdSet(), lambda f: None, view=ViewWindow(60, 15, at=WINDOW.end))
        try:
            ok = poller.poll_once()
            assert ok.health[0].state is HealthState.OK
            broken["on"] = True
            partial = poller.poll_once()
            health = partial.health[0]
            assert health.state is HealthState.STALE
            for stat in ("wer", "mos", "rtf"):
                assert f"{stat}: HTTP 503 from prometheus: Service Unavailable (showing data from" in health.message
            # the failed panel still shows its last good values, the others are fresh
            assert partial.agent("a").scalar("wer") == 1.5
            assert partial.agent("a").stat("ttft_p99") == 1.5
            broken["on"] = False
            recovered = poller.poll_once()
            assert recovered.health[0].state is HealthState.OK and recovered.health[0].message == ""
        finally:
            source.close()


def test_alerts_are_parsed():
    payload = {
        "status": "success",
        "data": {"alerts": [
            {
                "labels": {"alertname": "VoiceTTFTHigh", "severity": "critical", "agent_id": "billing"},
                "annotations": {"summary": "TTFT p99 high"},
                "state": "firing",
                "activeAt": "2023-11-14T22:13:20.123456789Z",
                "value": "1.9e+03",
            },
            "junk",
        ]},
    }
    with CannedServer(lambda p, q, h: (200, "application/json", json_body(payload))) as server:
        source = source_for(server)
        try:
            alerts = source.alerts()
        finally:
            source.close()
        assert server.requests[0][0] == "/api/v1/alerts"
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.name, alert.state, alert.severity, alert.agent_id) == ("VoiceTTFTHigh", "firing", "critical", "billing")
    assert alert.annotations == {"summary": "TTFT p99 high"}
    assert alert.active_at == pytest.approx(1_700_000_000.123, abs=0.001)


def test_alerts_failure_is_a_source_error():
    with CannedServer(lambda p, q, h: (404, "text/plain", b"404 page not found")) as server:
        source = source_for(server)
        try:
            with pytest.raises(SourceError, match="HTTP 404 from prometheus: Not Found"):
                source.alerts()
        finally:
            source.close()


def test_closed_source_refuses_to_fetch():
    with CannedServer(lambda p, q, h: (200, "application/json", matrix([]))) as server:
        source = source_for(server)
        source.close()
        source.close()  # idempotent
        with pytest.raises(SourceError, match="closed"):
            source.fetch(WINDOW)


def test_a_byte_identical_answer_is_not_decoded_again_and_a_changed_one_is(monkeypatch):
    import voicetop.sources.prometheus.source as source_module

    decoded = []
    real_decode = source_module.decode_answer

    def counting_decode(rows, query, *args):
        decoded.append(query.name)
        return real_decode(rows, query, *args)

    monkeypatch.setattr(source_module, "decode_answer", counting_decode)
    value = ["1.5"]
    answer = lambda path, params, headers: fleet_answer(["a", "b"], value[0])(path, params, headers)  # noqa: E731
    with CannedServer(answer) as server:
        source = source_for(server)
        try:
            source.fetch(WINDOW)  # the whole window
            first = source.fetch(WINDOW)  # the cache asks for the last step again
            after_first = len(decoded)
            again = source.fetch(WINDOW)  # the same step again: the same bytes come back
            after_again = len(decoded)
            value[0] = "2.5"
            changed = source.fetch(WINDOW)
        finally:
            source.close()
    panels = [q for q in plan_queries(SEED) if not q.period]
    assert after_first >= len(panels)
    assert after_again == after_first  # nothing decoded: every answer was the last one again
    # the new value changes the bucket and tagged answers; the term panels' (empty) answers stay the same
    assert sorted(decoded[after_again:]) == sorted([q.name for q in panels if q.histogram] + ["quality"])
    assert again.series == first.series and again.errors == {}
    assert changed.series["ttft_p99"]["a"].last() == 2.5 and first.series["ttft_p99"]["a"].last() == 1.5


@pytest.mark.parametrize("configured, asked", [
    ({}, "identity"),  # loopback: gzip would only cost CPU on both ends
    ({"Accept-Encoding": "gzip"}, "gzip"),  # e.g. an SSH tunnel to localhost: the connection's header wins
])
def test_a_loopback_prometheus_is_asked_for_uncompressed_answers_unless_configured(configured, asked):
    with CannedServer(fleet_answer(["a"])) as server:
        assert server.url.startswith("http://127.0.0.1:")
        source = source_for(server, headers=configured)
        try:
            source.fetch(WINDOW)
        finally:
            source.close()
        assert {headers["accept-encoding"] for _, _, headers in server.requests} == {asked}


@pytest.mark.parametrize("url, loopback", [
    ("http://localhost:9090", True), ("http://127.0.0.1:9090", True), ("http://127.3.2.1", True),
    ("http://[::1]:9090/prom", True), ("https://vm.localhost", True),
    ("http://prometheus:9090", False), ("http://10.0.0.7:9090", False), ("https://prom.example.com", False),
    ("http://[::ffff:10.0.0.1]", False), ("not a url", False), ("http://[bad", False),
])
def test_is_loopback_reads_the_host_without_a_lookup(url, loopback):
    from voicetop.sources.prometheus.http import answer_encoding, is_loopback

    assert is_loopback(url) is loopback
    assert answer_encoding(url, {}) == ("identity" if loopback else None)
    assert answer_encoding(url, {"accept-encoding": "br"}) is None
