"""The backfilled incident loaded into Debian's victoria-metrics gives the same breaches."""

from __future__ import annotations

import pytest

from tests.support.assertions import assert_incident_breaches
from voicetop.config import Connection
from voicetop.domain.model import HealthState
from voicetop.domain.thresholds import ThresholdSet
from voicetop.poller import Poller, ViewWindow
from voicetop.profiles.metrics import SEED
from voicetop.sources.prometheus import PrometheusSource

STEP = 15.0


def poll_incident(url: str, scenario):
    source = PrometheusSource(Connection(url=url), SEED)
    view = ViewWindow(length=3600, step=STEP, at=scenario.incident.start + 2400)
    try:
        return Poller(source, ThresholdSet(), lambda f: None, view=view).poll_once()
    finally:
        source.close()


def test_victoria_reports_the_incident(victoria):
    frame = poll_incident(victoria.url, victoria.scenario)
    assert [h.state for h in frame.health] == [HealthState.OK], frame.health
    assert [a.agent_id for a in frame.agents] == ["billing", "sales", "support"]
    assert_incident_breaches(frame, victoria.scenario, STEP)


def test_victoria_and_prometheus_agree(victoria, backfilled_prometheus):
    assert victoria.scenario == backfilled_prometheus.scenario
    from_vm = poll_incident(victoria.url, victoria.scenario)
    from_prom = poll_incident(backfilled_prometheus.url, backfilled_prometheus.scenario)

    def key(frame):
        return sorted((b.key, b.agent_id or "", int(b.severity)) for b in frame.breaches)

    assert key(from_vm) == key(from_prom)
    for vm_breach, prom_breach in zip(
        sorted(from_vm.breaches, key=lambda b: (b.key, b.agent_id or "", b.severity)),
        sorted(from_prom.breaches, key=lambda b: (b.key, b.agent_id or "", b.severity)),
    ):
        assert abs(vm_breach.since - prom_breach.since) <= STEP
        assert abs(vm_breach.until - prom_breach.until) <= 2 * STEP
    for stat in ("ttft_p50", "e2e_p90", "stt_p90", "wer", "capacity", "tokens_per_session"):
        assert from_vm.agent("sales").stat(stat) == pytest.approx(from_prom.agent("sales").stat(stat)), stat
