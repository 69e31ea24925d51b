"""Fuzz the Prometheus source: hostile query_range answers never escape as anything but SourceError.

Two levels: the matrix parser (``parse_matrix``, thousands of cases) and the
whole source (``PrometheusSource.fetch`` → requests hook → prometheus-api-client
→ parser) against a local HTTP server answering the fuzzed bodies with fuzzed
status codes, then the Poller turning the outcome into a Frame.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rel_figures import add
from rel_checks import assert_clear_message
from rel_mutate import hostile_body, mutated_json
from tests.support.canned_http import CannedServer
from voicetop.config import Connection
from voicetop.domain.model import Frame, MetricsResult, Window
from voicetop.domain.thresholds import ThresholdSet
from voicetop.poller import Poller, ViewWindow
from voicetop.profiles.metrics import SEED
from voicetop.sources.base import SourceError
from voicetop.sources.prometheus import PrometheusSource
from voicetop.sources.prometheus.queries import plan_queries

END = 1_760_000_000.0
WINDOW = Window(END - 300, END, 15.0)
QUERIES = plan_queries(SEED)


def matrix_answer() -> dict:
    """A realistic answer to a stage panel query (tagged rows, NaN strings, warnings)."""
    stamps = WINDOW.timestamps()
    rows = []
    for stat in ("ttft_p50", "ttft_p90", "ttft_p95", "ttft_p99"):
        for agent in ("billing", "sales"):
            rows.append({
                "metric": {"vt_stat": stat, "agent_id": agent, "model": "gpt-4o"},
                "values": [[t, f"{400 + i * 3.5}"] for i, t in enumerate(stamps)],
            })
        rows.append({"metric": {"vt_stat": stat, "vt_scope": "fleet"},
                     "values": [[t, "NaN" if i % 5 == 0 else "512.25"] for i, t in enumerate(stamps)]})
    rows.append({"metric": {"vt_stat": "error_rate_llm", "agent_id": "billing", "component": "llm"},
                 "values": [[stamps[0], "+Inf"]]})
    return {"status": "success", "data": {"resultType": "matrix", "result": rows},
            "warnings": ["PromQL info: metric might not be a counter"]}


ERROR_ANSWER = {"status": "error", "errorType": "bad_data", "error": "1:1: parse error: unexpected <EOF>"}
STATUSES = (200, 200, 200, 200, 200, 400, 401, 403, 404, 422, 429, 500, 502, 503, 504, 204, 299, 599)
CONTENT_TYPES = ("application/json", "text/html; charset=utf-8", "text/plain", "application/octet-stream")


def _check_result(result: MetricsResult) -> None:
    assert isinstance(result, MetricsResult)
    count = len(WINDOW.timestamps())
    for stat, per_agent in result.series.items():
        assert isinstance(stat, str)
        for agent, series in per_agent.items():
            assert agent is None or isinstance(agent, str)
            assert len(series.values) == count
            assert all(isinstance(v, float) and (math.isnan(v) or math.isfinite(v)) for v in series.values)
    for message in result.errors.values():
        assert_clear_message(message)


# -- the parser alone ------------------------------------------------------------
@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=mutated_json(matrix_answer()), query=st.sampled_from(QUERIES))
def test_parse_matrix_survives_mutated_answers(doc, query):
    add("fuzz.prometheus")
    rows = doc.get("data", {}).get("result") if isinstance(doc, dict) and isinstance(doc.get("data"), dict) else doc
    try:
        from voicetop.sources.prometheus.queries import parse_matrix

        found = parse_matrix(rows if isinstance(rows, list) else [], query, WINDOW, "agent_id")
    except SourceError as exc:
        assert_clear_message(str(exc))
        return
    _check_result(MetricsResult(window=WINDOW, series=found))


# -- the whole source over HTTP --------------------------------------------------
@pytest.fixture(scope="module")
def canned():
    state = {"status": 200, "type": "application/json", "body": b"{}"}
    server = CannedServer(lambda path, params, headers: (state["status"], state["type"], state["body"]))
    server.state = state
    with server:
        yield server


@pytest.fixture(scope="module")
def source(canned):
    src = PrometheusSource(Connection(url=canned.url, timeout=2.0), SEED)
    yield src
    src.close()


class _Recorder:
    """A MetricsSource wrapper that remembers any non-SourceError escaping ``fetch``."""

    def __init__(self, inner: PrometheusSource) -> None:
        self.inner = inner
        self.name = inner.name
        self.escaped: list[BaseException] = []
        self.errors: list[str] = []

    def now(self) -> float:
        return END

    def fetch(self, window: Window) -> MetricsResult:
        try:
            return self.inner.fetch(window)
        except SourceError as exc:
            self.errors.append(str(exc))
            raise
        except BaseException as exc:
            self.escaped.append(exc)
            raise


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.one_of(hostile_body(matrix_answer()), hostile_body(ERROR_ANSWER)),
    status=st.sampled_from(STATUSES),
    content_type=st.sampled_from(CONTENT_TYPES),
)
def test_prometheus_source_survives_hostile_http_answers(canned, source, body, status, content_type):
    add("fuzz.prometheus")
    canned.state.update(status=status, type=content_type, body=body)
    recorder = _Recorder(source)
    poller = Poller(recorder, ThresholdSet(), lambda f: None, view=ViewWindow(300, 15, at=END))
    frame = poller.poll_once()
    assert recorder.escaped == [], f"non-SourceError escaped the source: {recorder.escaped[0]!r}"
    assert isinstance(frame, Frame)
    for health in frame.health:
        assert_clear_message(health.message)
    for message in recorder.errors:
        assert_clear_message(message)
    if status != 200:
        assert recorder.errors, "a non-200 answer must be a source error"
        assert f"HTTP {status}" in recorder.errors[0]
    for agent in frame.agents:
        assert isinstance(agent.agent_id, str)


def test_known_bad_answers_have_specific_messages(canned, source):
    """The common proxy failures read as what they are."""
    cases = [
        (502, "text/html", b"<html><body>Bad Gateway</body></html>", "HTTP 502 from prometheus: Bad Gateway"),
        (200, "text/html", b"<!DOCTYPE html><html>login</html>", "not a Prometheus API response (HTML page)"),
        (200, "application/json", b"", "not a Prometheus API response (empty body)"),
        (200, "application/json", b'{"status":"success","data":{"resultType":"matrix","result":[', "not a Prometheus API response"),
        (200, "application/json", b'{"status":"success","data":{"result":{"a":1}}}', "not a Prometheus API response"),
        (200, "application/json", b"{" + b'"a":' * 0 + b"[" * 50_000, "not a Prometheus API response"),
        (400, "application/json", json.dumps(ERROR_ANSWER).encode(), "bad_data: 1:1: parse error"),
    ]
    for status, content_type, body, expected in cases:
        canned.state.update(status=status, type=content_type, body=body)
        with pytest.raises(SourceError) as caught:
            source.fetch(WINDOW)
        assert expected in str(caught.value), (body[:60], str(caught.value))
        assert_clear_message(str(caught.value))
