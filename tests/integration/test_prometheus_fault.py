"""Kill Prometheus mid-run: the poller's frame goes STALE with age and reason, then recovers."""

from __future__ import annotations

import shutil
import time

from tests.support.assertions import assert_incident_breaches
from voicetop.config import Connection
from voicetop.domain.model import HealthState
from voicetop.domain.thresholds import ThresholdSet
from voicetop.poller import Poller, ViewWindow
from voicetop.profiles.metrics import SEED
from voicetop.sources.prometheus import PrometheusSource

STEP = 15.0


def test_kill_and_restart_gives_stale_then_ok(prometheus_server, backfilled_tsdb, scenario, tmp_path):
    tsdb = tmp_path / "tsdb"
    shutil.copytree(backfilled_tsdb, tsdb)
    server = prometheus_server(tsdb=tsdb)
    source = PrometheusSource(Connection(url=server.url, timeout=3.0), SEED)
    view = ViewWindow(length=3600, step=STEP, at=scenario.incident.start + 2400)
    poller = Poller(source, ThresholdSet(), lambda f: None, view=view)
    try:
        first = poller.poll_once()
        assert first.health[0].state is HealthState.OK
        assert_incident_breaches(first, scenario, STEP)

        server.kill()
        time.sleep(1.1)
        started = time.monotonic()
        stale = poller.poll_once()
        assert time.monotonic() - started < 3.0  # no silent client retries against a dead server
        health = stale.health[0]
        assert health.state is HealthState.STALE
        assert health.message == f"cannot reach prometheus at {server.url}: connection refused"
        assert health.age(stale.created_at) >= 1.0
        assert poller.failures == 1
        # the last good data is still there, breaches and all
        assert [a.agent_id for a in stale.agents] == ["billing", "sales", "support"]
        assert_incident_breaches(stale, scenario, STEP)

        server.start()
        recovered = poller.poll_once()
        assert recovered.health[0].state is HealthState.OK
        assert recovered.health[0].message == ""
        assert poller.failures == 0
        assert_incident_breaches(recovered, scenario, STEP)
    finally:
        source.close()


def test_unreachable_from_the_start_is_an_error_not_stale(prometheus_server):
    server = prometheus_server()
    url = server.url
    server.kill()
    source = PrometheusSource(Connection(url=url, timeout=2.0), SEED)
    try:
        frame = Poller(source, ThresholdSet(), lambda f: None).poll_once()
    finally:
        source.close()
    assert frame.health[0].state is HealthState.ERROR
    assert "connection refused" in frame.health[0].message
    assert frame.health[0].last_ok is None
    assert frame.agents == ()
