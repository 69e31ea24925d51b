"""merge_alerts: one alert per (name, agent), the worst and most definite wins."""

from __future__ import annotations

from voicetop.alerting.merge import merge_alerts
from voicetop.domain.model import Alert


def alert(name, agent, severity="warning", state="firing", source="prometheus", at=100.0):
    return Alert(name, state, severity, agent, {"alertname": name}, {}, at, source)


def test_same_alert_from_both_sources_appears_once_preferring_alertmanager():
    prom = [alert("TtftHigh", "billing", "critical", at=100.0)]
    am = [alert("TtftHigh", "billing", "critical", source="alertmanager", at=130.0)]
    merged = merge_alerts(prom, am)
    assert len(merged) == 1
    assert merged[0].source == "alertmanager"
    assert merged[0].active_at == 100.0  # the earliest start is kept


def test_different_agents_and_names_stay_apart():
    merged = merge_alerts(
        [alert("TtftHigh", "billing"), alert("TtftHigh", "sales"), alert("WerHigh", "billing")],
        [alert("TtftHigh", None, source="alertmanager")],
    )
    assert {(a.name, a.agent_id) for a in merged} == {
        ("TtftHigh", "billing"), ("TtftHigh", "sales"), ("WerHigh", "billing"), ("TtftHigh", None)
    }


def test_worst_severity_wins_over_source_and_state():
    merged = merge_alerts(
        [alert("TtftHigh", "billing", "critical", state="pending")],
        [alert("TtftHigh", "billing", "warning", source="alertmanager")],
    )
    assert [(a.severity, a.state, a.source) for a in merged] == [("critical", "pending", "prometheus")]


def test_firing_beats_pending_and_silenced_state_comes_from_alertmanager():
    merged = merge_alerts(
        [alert("A", "x", state="pending"), alert("A", "x", state="firing")],
        [alert("B", "x", state="silenced", source="alertmanager")],
    )
    states = {a.name: a.state for a in merged}
    assert states == {"A": "firing", "B": "silenced"}


def test_sorted_firing_first_then_severity_then_name():
    merged = merge_alerts(
        [
            alert("Z", "a", "warning"),
            alert("P", "a", "critical", state="pending"),
            alert("A", "a", "warning"),
            alert("M", "a", "critical"),
        ]
    )
    assert [a.name for a in merged] == ["M", "A", "Z", "P"]


def test_empty_inputs():
    assert merge_alerts([], []) == ()
