"""Poller with an Alertmanager: merged, deduplicated alerts and Alertmanager's own health."""

from __future__ import annotations

from voicetop.domain.model import Alert, HealthState, MetricsResult, Series
from voicetop.domain.thresholds import ThresholdSet
from voicetop.poller import Poller, ViewWindow
from voicetop.sources.base import SourceError


class PromLike:
    """A metrics source with one healthy agent and the alerts Prometheus reports."""

    name = "prometheus"

    def __init__(self, alerts):
        self._alerts = alerts

    def now(self):
        return 10_000.0

    def fetch(self, window):
        ts = window.timestamps()
        return MetricsResult(window, {"ttft_p99": {"a": Series(ts, tuple(500.0 for _ in ts))}})

    def alerts(self):
        return list(self._alerts)


class AlertmanagerLike:
    """Answers like AlertmanagerSource.alerts(), or fails like it (SourceError)."""

    name = "alertmanager"

    def __init__(self, alerts):
        self.answer = alerts
        self.fail: str | None = None
        self.calls = 0

    def alerts(self):
        self.calls += 1
        if self.fail:
            raise SourceError(self.fail)
        return list(self.answer)


def alert(name, agent, severity, state="firing", source="prometheus"):
    return Alert(name, state, severity, agent, {"alertname": name}, {}, 9_000.0, source)


def poll(prom_alerts, am):
    poller = Poller(PromLike(prom_alerts), ThresholdSet(), lambda f: None, view=ViewWindow(600, 15),
                    alertmanager=am)
    return poller, poller.poll_once()


def test_alerts_from_both_sources_merge_one_per_name_and_agent():
    am = AlertmanagerLike([alert("TtftHigh", "billing", "critical", source="alertmanager"),
                           alert("MosLow", "triage", "warning", source="alertmanager")])
    _, frame = poll([alert("TtftHigh", "billing", "warning"), alert("TtftHigh", "billing", "critical"),
                     alert("WerHigh", "support", "warning", state="pending")], am)
    assert [(a.name, a.agent_id, a.severity, a.state, a.source) for a in frame.alerts] == [
        ("TtftHigh", "billing", "critical", "firing", "alertmanager"),
        ("MosLow", "triage", "warning", "firing", "alertmanager"),
        ("WerHigh", "support", "warning", "pending", "prometheus"),
    ]
    assert [(h.name, h.state) for h in frame.health] == [("prometheus", HealthState.OK), ("alertmanager", HealthState.OK)]


def test_failing_alertmanager_keeps_its_last_alerts_stale_and_prometheus_alerts_show():
    am = AlertmanagerLike([alert("MosLow", "triage", "warning", source="alertmanager")])
    poller, first = poll([alert("WerHigh", "support", "warning")], am)
    am.fail = "alertmanager http://127.0.0.1:1: cannot connect"
    second = poller.poll_once()
    health = second.health[-1]
    assert (health.name, health.state, health.message) == ("alertmanager", HealthState.STALE, am.fail)
    assert health.last_ok == first.created_at
    assert {a.name for a in second.alerts} == {"MosLow", "WerHigh"}


def test_alertmanager_down_from_the_start_is_an_error_badge_not_a_crash():
    am = AlertmanagerLike([])
    am.fail = "alertmanager http://127.0.0.1:1: cannot connect"
    _, frame = poll([alert("WerHigh", "support", "warning")], am)
    health = frame.health[-1]
    assert (health.name, health.state, health.last_ok) == ("alertmanager", HealthState.ERROR, None)
    assert [a.name for a in frame.alerts] == ["WerHigh"]


def test_without_alertmanager_the_frame_is_unchanged():
    poller = Poller(PromLike([alert("A", "x", "warning"), alert("A", "x", "critical")]), ThresholdSet(),
                    lambda f: None, view=ViewWindow(600, 15))
    frame = poller.poll_once()
    assert len(frame.alerts) == 2  # raw Prometheus list; the panel deduplicates for display
    assert [h.name for h in frame.health] == ["prometheus"]
