"""AlertmanagerSource over httpx.MockTransport: requests sent, answers parsed, errors."""

from __future__ import annotations

import json

import httpx
import pytest

from voicetop.alerting.silence import Matcher, ReadOnlyError, alert_matchers, default_author
from voicetop.config import Config, Connection, Context
from voicetop.domain.model import Alert
from voicetop.sources.alertmanager import (
    AlertmanagerSource,
    alert_from_api,
    alertmanager_source,
    format_time,
    parse_time,
    silence_from_api,
)
from voicetop.sources.base import SourceError

T0 = 1_700_000_000.0


def am_alert(name="VoiceTtftP99High", agent="billing", state="active", silenced=(), inhibited=(), severity="critical"):
    labels = {"alertname": name, "severity": severity}
    if agent:
        labels["agent_id"] = agent
    return {
        "labels": labels,
        "annotations": {"summary": "TTFT high", "runbook": "check provider"},
        "startsAt": "2023-11-14T22:13:20.123456789Z",
        "endsAt": "2023-11-14T22:18:20Z",
        "fingerprint": "abc",
        "receivers": [{"name": "null"}],
        "status": {"state": state, "silencedBy": list(silenced), "inhibitedBy": list(inhibited)},
    }


class Recorder:
    """A MockTransport handler that records requests and replays canned answers."""

    def __init__(self, answers):
        self.answers = answers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[(request.method, request.url.path)]
        if isinstance(answer, Exception):
            raise answer
        return answer


def make(answers, write=False, url="http://am.test:9093", **conn):
    recorder = Recorder(answers)
    source = AlertmanagerSource(
        Connection(url=url, **conn), write=write, transport=httpx.MockTransport(recorder), clock=lambda: T0
    )
    return source, recorder


def test_alerts_are_parsed_with_states_agent_and_start_time():
    body = [
        am_alert(),
        am_alert(name="VoiceWerHigh", agent="sales", state="suppressed", silenced=["s1"], severity="warning"),
        am_alert(name="VoiceMosLow", agent=None, state="suppressed", inhibited=["f"]),
        am_alert(name="X", state="unprocessed"),
        {"labels": {"severity": "critical"}},  # no alertname: dropped
        "garbage",
    ]
    source, recorder = make({("GET", "/api/v2/alerts"): httpx.Response(200, json=body)})
    alerts = source.alerts()
    assert [(a.name, a.state, a.agent_id, a.severity) for a in alerts] == [
        ("VoiceTtftP99High", "firing", "billing", "critical"),
        ("VoiceWerHigh", "silenced", "sales", "warning"),
        ("VoiceMosLow", "inhibited", None, "critical"),
        ("X", "pending", "billing", "critical"),
    ]
    assert all(a.source == "alertmanager" for a in alerts)
    assert alerts[0].annotations["runbook"] == "check provider"
    assert alerts[0].active_at == pytest.approx(T0 + 0.123456, abs=1e-5)
    params = recorder.requests[0].url.params
    assert params["active"] == "true" and params["silenced"] == "true"


def test_create_silence_posts_matchers_times_author_and_comment():
    answers = {("POST", "/api/v2/silences"): httpx.Response(200, json={"silenceID": "abc-123"})}
    source, recorder = make(answers, write=True)
    alert = alert_from_api(am_alert())
    silence_id = source.silence_alert(alert, 1800, "  deploying fix  ", created_by="alice")
    assert silence_id == "abc-123"
    payload = json.loads(recorder.requests[0].content)
    assert payload == {
        "matchers": [
            {"name": "alertname", "value": "VoiceTtftP99High", "isRegex": False, "isEqual": True},
            {"name": "agent_id", "value": "billing", "isRegex": False, "isEqual": True},
        ],
        "startsAt": "2023-11-14T22:13:20.000Z",
        "endsAt": "2023-11-14T22:43:20.000Z",
        "createdBy": "alice",
        "comment": "deploying fix",
    }


def test_author_defaults_to_user_env(monkeypatch):
    monkeypatch.setenv("USER", "bob")
    answers = {("POST", "/api/v2/silences"): httpx.Response(200, json={"silenceID": "x1"})}
    source, recorder = make(answers, write=True)
    source.create_silence((Matcher("alertname", "A"),), 60, "c")
    assert json.loads(recorder.requests[0].content)["createdBy"] == "bob"
    assert default_author({"LOGNAME": "carol"}) == "carol"


def test_read_only_source_refuses_writes_without_sending_anything():
    source, recorder = make({})
    with pytest.raises(ReadOnlyError, match="read-only"):
        source.create_silence((Matcher("alertname", "A"),), 60, "c")
    with pytest.raises(ReadOnlyError):
        source.expire_silence("abc")
    assert recorder.requests == []
    assert isinstance(ReadOnlyError("x"), SourceError)


@pytest.mark.parametrize(
    "duration, comment, problem",
    [(0, "c", "positive"), (-5, "c", "positive"), (8 * 86400, "c", "7 days"), (60, "   ", "comment")],
)
def test_silence_arguments_are_validated(duration, comment, problem):
    source, recorder = make({}, write=True)
    with pytest.raises(SourceError, match=problem):
        source.create_silence((Matcher("alertname", "A"),), duration, comment)
    assert recorder.requests == []


def test_silences_are_listed_newest_first_without_expired():
    body = [
        {"id": "old", "status": {"state": "active"}, "startsAt": "2023-11-14T20:00:00Z",
         "endsAt": "2023-11-15T20:00:00Z", "createdBy": "a", "comment": "c",
         "matchers": [{"name": "alertname", "value": "A", "isRegex": False}]},
        {"id": "new", "status": {"state": "pending"}, "startsAt": "2023-11-14T21:00:00Z",
         "endsAt": "2023-11-15T21:00:00Z", "createdBy": "b", "comment": "d",
         "matchers": [{"name": "agent_id", "value": "x", "isRegex": False, "isEqual": False}]},
        {"id": "gone", "status": {"state": "expired"}, "startsAt": "2023-11-14T22:00:00Z",
         "endsAt": "2023-11-14T22:30:00Z", "matchers": []},
    ]
    source, _ = make({("GET", "/api/v2/silences"): httpx.Response(200, json=body)})
    assert [s.id for s in source.silences()] == ["new", "old"]
    assert [s.id for s in source.silences(include_expired=True)] == ["gone", "new", "old"]
    new = source.silences()[0]
    assert new.matchers == (Matcher("agent_id", "x", False, False),)
    assert new.matches({"agent_id": "y"}) and not new.matches({"agent_id": "x"})


def test_expire_silence_sends_delete_and_rejects_odd_ids():
    answers = {("DELETE", "/api/v2/silence/abc-1"): httpx.Response(200)}
    source, recorder = make(answers, write=True)
    source.expire_silence("abc-1")
    assert recorder.requests[0].method == "DELETE"
    with pytest.raises(SourceError, match="invalid silence id"):
        source.expire_silence("../x")


@pytest.mark.parametrize(
    "answer, expected",
    [
        (httpx.ConnectError("refused"), "cannot connect"),
        (httpx.ReadTimeout("slow"), "timed out after 10s"),
        (httpx.Response(401, text="no"), "HTTP 401 (check credentials)"),
        (httpx.Response(500, text="boom\nwith\x1b[31m escapes"), "HTTP 500: boom with [31m escapes"),
        (httpx.Response(200, text="<html>"), "not JSON"),
        (httpx.Response(200, json={"not": "a list"}), "unexpected answer"),
    ],
)
def test_failures_are_one_line_source_errors_without_credentials(answer, expected):
    source, _ = make({("GET", "/api/v2/alerts"): answer}, url="http://user:hunter2@am.test:9093/?token=s3cret")
    with pytest.raises(SourceError) as caught:
        source.alerts()
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message and "\x1b" not in message
    assert "hunter2" not in message and "s3cret" not in message
    assert message.startswith("alertmanager http://am.test:9093")


def test_bearer_token_and_tenant_headers_are_sent(monkeypatch):
    monkeypatch.setenv("AM_TOKEN", "tok")
    source, recorder = make(
        {("GET", "/api/v2/alerts"): httpx.Response(200, json=[])},
        bearer_token_env="AM_TOKEN", tenant="voice",
    )
    source.alerts()
    headers = recorder.requests[0].headers
    assert headers["authorization"] == "Bearer tok"
    assert headers["x-scope-orgid"] == "voice"


def test_factory_builds_from_context_with_its_write_flag():
    assert alertmanager_source(Config()) is None
    context = Context("prod", alertmanager=Connection("http://am:9093"), write=True)
    source = alertmanager_source(Config(context=context))
    assert source is not None and source.write and source.url == "http://am:9093"
    source.close()


def test_time_helpers_round_trip():
    assert parse_time(format_time(T0 + 0.25)) == pytest.approx(T0 + 0.25)
    assert parse_time("0001-01-01T00:00:00Z") is None
    assert parse_time("not a time") is None
    assert parse_time("2023-11-14T22:13:20+00:00") == T0


def test_silence_from_api_skips_malformed():
    assert silence_from_api({"status": {}}) is None
    assert silence_from_api([1]) is None


def test_alert_matchers_name_and_agent():
    alert = Alert("A", "firing", "critical", None)
    assert alert_matchers(alert) == (Matcher("alertname", "A"),)
    alert = Alert("A", "firing", "critical", "billing")
    assert [m.to_api()["value"] for m in alert_matchers(alert)] == ["A", "billing"]


def test_a_label_that_cannot_be_encoded_is_a_source_error_and_nothing_is_sent():
    """An alert label holding a lone surrogate (JSON allows ``\\ud800``) sent back in a silence's matcher."""
    answers = {("POST", "/api/v2/silences"): httpx.Response(200, json={"silenceID": "abc-123"})}
    source, recorder = make(answers, write=True)
    alert = alert_from_api(am_alert(agent="bill\ud800ing"))
    with pytest.raises(SourceError, match="not sent"):
        source.silence_alert(alert, 1800, "fix", created_by="alice")
    assert recorder.requests == []
