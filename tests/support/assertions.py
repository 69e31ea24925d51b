"""Assertions about the canonical incident scenario, shared by backend tests."""

from __future__ import annotations

from voicetop.domain.model import Frame, Severity
from tests.support.scenario import Scenario

#: With rate(…[5m]) the incident stays visible until its last sample leaves the range.
RATE_TAIL = 270.0


def incident_breaches(frame: Frame) -> dict[tuple[str, str | None, Severity], object]:
    return {(b.key, b.agent_id, b.severity): b for b in frame.breaches}


def assert_incident_breaches(frame: Frame, scenario: Scenario, step: float, until_slack: float | None = None) -> None:
    """ttft_p99 of the incident agent (and the fleet) breaches warning and critical
    from ``incident.start`` (within one step) until about ``incident.end + 4.5m``;
    nothing else breaches."""
    incident = scenario.incident
    found = incident_breaches(frame)
    expected = {
        ("ttft_p99", agent, severity)
        for agent in (incident.agent, None)
        for severity in (Severity.WARNING, Severity.CRITICAL)
    }
    assert set(found) == expected, f"unexpected breaches: {sorted(map(str, found))}"
    slack = 2 * step if until_slack is None else until_slack
    for key in expected:
        breach = found[key]
        assert abs(breach.since - incident.start) <= step, (key, breach.since - incident.start)
        assert breach.until is not None
        assert abs(breach.until - (incident.end + RATE_TAIL)) <= slack, (key, breach.until - incident.end)
        assert breach.peak > 1500
        assert breach.threshold == (1200 if key[2] is Severity.CRITICAL else 800)
    billing = frame.agent(incident.agent)
    assert billing is not None and billing.severity is Severity.OK  # the breach is over at the window end
