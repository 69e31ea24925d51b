"""Faults between voicetop and a real Prometheus: a soak through a fault proxy, kill/restart,
and a trace backend that is down while metrics work.

The soak plays phases of delay, reset, truncation, 5xx, HTML and stalls through
``tests.support.fault_proxy.FaultProxy`` in front of Debian's Prometheus on the
backfilled incident scenario, polling through the real Poller and
PrometheusSource, and checks every frame: STALE with a clear reason (and the last
good agents) during a fault, OK again within two refresh cycles after it, no
crash, no thread leak, bounded memory.
"""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest

from rel_checks import assert_clear_message
from rel_figures import add, note
from tests.support.fault_proxy import FaultProxy
from tests.support.servers import PrometheusServer, free_port, require_binary
from voicetop.config import Connection
from voicetop.domain.model import SCALAR_STATS, STAGES, HealthState
from voicetop.domain.thresholds import ThresholdSet
from voicetop.poller import Poller, ViewWindow
from voicetop.profiles.metrics import parse_profile
from voicetop.sources.base import SIDE_REQUESTS
from voicetop.sources.jaeger import JaegerTraceSource
from voicetop.sources.prometheus import PrometheusSource
from voicetop.ui.widgets.header import health_badge

pytestmark = pytest.mark.integration

#: A lean profile for the soak: TTFT and E2E percentiles and capacity (3 queries a cycle),
#: the same code path as the full seed profile at a quarter of the cost.
_KEEP = ("ttft", "e2e", "capacity", "active_sessions", "max_sessions")
_OFF = [key for key in (*STAGES, *SCALAR_STATS) if key not in _KEEP]
SOAK_PROFILE = parse_profile("[profile]\nname = 'soak'\n[promql]\n" + "\n".join(f"{k} = ''" for k in _OFF))
AGENTS = ["billing", "sales", "support"]

#: What a fault looks like in the health message.
EXPECTED = {
    "reset": ("connection reset",),
    "truncate": ("response cut short", "connection reset"),
    "http500": ("HTTP 500 from prometheus",),
    "http502": ("HTTP 502 from prometheus",),
    "http503": ("HTTP 503 from prometheus",),
    "html": ("not a Prometheus API response (HTML page)",),
    "stall": ("did not answer within",),
}
ROUND = [
    ("ok", 30), ("delay", 5), ("reset", 20), ("ok", 5), ("truncate", 20), ("ok", 5),
    ("http503", 20), ("ok", 5), ("html", 20), ("ok", 5), ("http500", 10), ("ok", 5),
    ("http502", 10), ("ok", 5), ("stall", 1), ("ok", 5),
]
MIN_CYCLES = 2000


def _rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_soak_through_fault_proxy(rel_prometheus, rel_scenario):
    at = rel_scenario.incident.start + 600
    with FaultProxy(rel_prometheus.port, delay=0.05, stall=1.0) as proxy:
        source = PrometheusSource(Connection(url=proxy.url, timeout=0.4), SOAK_PROFILE)
        assert [q.name for q in source.queries] == ["stage:ttft", "stage:e2e", "capacity"]
        poller = Poller(source, ThresholdSet(), lambda f: None, view=ViewWindow(300, 15, at=at))
        cycles = 0
        recoveries = []
        threads_before = threading.active_count()
        rss_warm = None
        started = time.monotonic()
        try:
            while cycles < MIN_CYCLES:
                for mode, count in ROUND:
                    proxy.set_mode(mode)
                    after_fault, recovered = 0, False
                    for _ in range(count):
                        frame = poller.poll_once()
                        cycles += 1
                        health = frame.health[0]
                        assert_clear_message(health.message)
                        assert [a.agent_id for a in frame.agents] == AGENTS, (mode, health)
                        badge = health_badge(health, frame.created_at)
                        if mode in EXPECTED:
                            assert health.state is HealthState.STALE, (mode, health)
                            assert any(e in health.message for e in EXPECTED[mode]), (mode, health.message)
                            assert badge.startswith("prometheus STALE"), badge
                        else:
                            after_fault += 1
                            if health.state is HealthState.OK:
                                if not recovered:
                                    recoveries.append(after_fault)
                                    recovered = True
                                assert badge == "prometheus OK"
                            else:
                                assert after_fault < 2, f"not recovered {after_fault} cycles after the fault: {health}"
                    if cycles == 200:
                        rss_warm = _rss_bytes()
                if rss_warm is None:
                    rss_warm = _rss_bytes()
            elapsed = time.monotonic() - started
            growth = _rss_bytes() - rss_warm
            threads_after = threading.active_count()
        finally:
            source.close()
        faults = sum(n for mode, n in proxy.injected.items() if mode not in ("ok", "delay"))
    assert growth < 20 * 2**20, f"RSS grew {growth / 2**20:.1f} MB over the soak"
    # bounded, not growing with cycles: the source's query pool, the poller's side-request pool
    # (alerts, change markers) and the proxy's handlers
    assert threads_after <= threads_before + 10 + SIDE_REQUESTS, f"threads {threads_before} → {threads_after}"
    add("soak cycles survived", cycles)
    add("faults injected (requests)", faults)
    note("soak", f"{cycles} cycles in {elapsed:.0f}s, RSS growth {growth / 2**20:.1f} MB, "
                 f"recovery ≤ {max(recoveries)} cycle(s) after each fault, faults by mode "
                 + ", ".join(f"{m}={n}" for m, n in sorted(proxy.injected.items())))


def test_threaded_poller_recovers_within_two_refresh_intervals(rel_prometheus, rel_scenario):
    """Backoff while the proxy fails must not delay recovery past two refresh intervals."""
    refresh = 0.15
    frames = []
    got = threading.Condition()

    def on_frame(frame):
        with got:
            frames.append((time.monotonic(), frame.health[0]))
            got.notify_all()

    at = rel_scenario.incident.start + 600
    with FaultProxy(rel_prometheus.port) as proxy:
        source = PrometheusSource(Connection(url=proxy.url, timeout=0.5), SOAK_PROFILE)
        poller = Poller(source, ThresholdSet(), on_frame, refresh=refresh, view=ViewWindow(300, 15, at=at), seed=1)
        poller.start()
        try:
            _wait(got, frames, lambda: frames and frames[-1][1].state is HealthState.OK)
            proxy.set_mode("http503")
            time.sleep(3.0)  # ~20 refresh intervals of failures: backoff has grown
            assert frames[-1][1].state is HealthState.STALE
            assert poller.failures >= 3
            proxy.set_mode("ok")
            fault_end = time.monotonic()
            _wait(got, frames, lambda: frames[-1][1].state is HealthState.OK and frames[-1][0] > fault_end)
            recovered = next(t for t, h in frames if t > fault_end and h.state is HealthState.OK) - fault_end
        finally:
            poller.stop()
            source.close()
    assert recovered <= 2 * refresh + 0.25, f"recovered {recovered:.2f}s after the fault ended (refresh {refresh}s)"
    note("recovery (threaded poller)", f"{recovered:.2f}s after a 3s 503 phase at refresh {refresh}s")


def _wait(cond: threading.Condition, frames, predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with cond:
        while not predicate():
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out; last health {frames[-1][1] if frames else None}"
            cond.wait(remaining)


def test_prometheus_killed_and_restarted(tmp_path, rel_tsdb, rel_scenario):
    require_binary("prometheus")
    tsdb = tmp_path / "tsdb"
    shutil.copytree(rel_tsdb, tsdb)
    server = PrometheusServer(tmp_path / "prom", tsdb=tsdb).start()
    refresh = 0.2
    frames = []
    got = threading.Condition()

    def on_frame(frame):
        with got:
            frames.append((time.monotonic(), frame.health[0], [a.agent_id for a in frame.agents]))
            got.notify_all()

    at = rel_scenario.incident.start + 600
    source = PrometheusSource(Connection(url=server.url, timeout=1.0), SOAK_PROFILE)
    poller = Poller(source, ThresholdSet(), on_frame, refresh=refresh, view=ViewWindow(300, 15, at=at))
    poller.start()
    try:
        _wait(got, frames, lambda: frames and frames[-1][1].state is HealthState.OK)
        server.kill()
        _wait(got, frames, lambda: frames[-1][1].state is HealthState.STALE)
        _, health, agents = frames[-1]
        assert health.message == f"cannot reach prometheus at {server.url}: connection refused"
        assert agents == AGENTS  # the last good data stays on screen
        time.sleep(1.5)
        server.start()  # same port, same TSDB
        ready = time.monotonic()
        _wait(got, frames, lambda: frames[-1][1].state is HealthState.OK and frames[-1][0] > ready, timeout=15)
        recovered = next(t for t, h, _ in frames if t > ready and h.state is HealthState.OK) - ready
        assert frames[-1][2] == AGENTS
    finally:
        poller.stop()
        source.close()
        server.stop()
    assert recovered <= 2 * refresh + 0.5, f"recovered {recovered:.2f}s after Prometheus was ready again"
    add("faults injected (kill/restart)", 1)
    note("recovery (kill/restart)", f"{recovered:.2f}s after the restarted Prometheus was ready, refresh {refresh}s")


def test_trace_backend_down_while_metrics_work(rel_prometheus, rel_scenario):
    """EOU has no metric here, so the poller asks the traces: they fail, the metrics still show."""
    profile = parse_profile("[profile]\nname = 'no-eou'\n[promql]\neou = ''\n")
    dead = f"http://127.0.0.1:{free_port()}"
    source = PrometheusSource(Connection(url=rel_prometheus.url, timeout=5.0), profile)
    traces = JaegerTraceSource(Connection(url=dead, timeout=1.0))
    at = rel_scenario.incident.start + 600
    poller = Poller(source, ThresholdSet(), lambda f: None, view=ViewWindow(900, 15, at=at), traces=traces)
    try:
        frame = poller.poll_once()
    finally:
        source.close()
        traces.close()
    metrics_health, trace_health = frame.health
    assert metrics_health.state is HealthState.OK
    assert trace_health.state is HealthState.ERROR
    assert trace_health.message == f"jaeger: cannot reach {dead} (ConnectError)"
    assert_clear_message(trace_health.message)
    assert [a.agent_id for a in frame.agents] == AGENTS
    assert frame.agent("billing").stage_value("ttft", "p99") > 1200  # the incident is on screen
    assert any(b.key == "ttft_p99" and b.agent_id == "billing" for b in frame.breaches)
    add("faults injected (trace backend down)", 1)


def test_fault_schedule_plays_phases_in_time(rel_prometheus, rel_scenario):
    """``run_schedule``: reset, then an HTML login page, then healthy again — each seen by the console."""
    seen = []
    got = threading.Condition()

    def on_frame(frame):
        with got:
            seen.append(frame.health[0])
            got.notify_all()

    at = rel_scenario.incident.start + 600
    with FaultProxy(rel_prometheus.port) as proxy:
        source = PrometheusSource(Connection(url=proxy.url, timeout=1.0), SOAK_PROFILE)
        poller = Poller(source, ThresholdSet(), on_frame, refresh=0.1, view=ViewWindow(300, 15, at=at))
        poller.start()
        try:
            _wait(got, [(0, h) for h in seen], lambda: seen and seen[-1].state is HealthState.OK)
            proxy.run_schedule([("reset", 0.8), ("html", 0.8), ("ok", 0.1)])
            time.sleep(1.7)
            proxy.stop_schedule()
            _wait(got, [(0, h) for h in seen], lambda: seen[-1].state is HealthState.OK)
        finally:
            poller.stop()
            source.close()
    messages = [h.message for h in seen if h.state is HealthState.STALE]
    assert any("connection reset" in m for m in messages), messages
    assert any("HTML page" in m for m in messages), messages
    assert proxy.mode == "ok" and proxy.injected["reset"] and proxy.injected["html"]
