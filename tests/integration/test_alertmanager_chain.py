"""The whole alerting chain with real servers.

A live exporter (prometheus_client) serves a TTFT incident for ``billing`` (a
healthy ``support`` beside it); Debian's ``prometheus`` scrapes it every second
and evaluates the rules ``voicetop rules --for 1s`` generated; it sends the
alerts to Debian's ``prometheus-alertmanager``.  Then: the alerts are visible
through both APIs, merge into one per (name, agent), a read-only context
cannot silence, and a silence created through the console's source appears in
Alertmanager's ``/api/v2/silences`` and suppresses the alert.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Histogram, start_http_server

from tests.support.servers import (
    LOCALHOST,
    ServerProcess,
    binary,
    free_port,
    http_get,
    require_binary,
    wait_until,
)
from voicetop.alerting.merge import merge_alerts
from voicetop.alerting.silence import ReadOnlyError
from voicetop.cli import build_parser
from voicetop.commands.common import effective_config
from voicetop.config import Connection
from voicetop.sources.alertmanager import AlertmanagerSource, alertmanager_source
from voicetop.sources.prometheus import PrometheusSource

TTFT_BUCKETS = (100, 200, 400, 600, 800, 1000, 1200, 1500, 2000, 3000, 5000)


class AlertmanagerServer(ServerProcess):
    """Debian's ``prometheus-alertmanager`` with a null receiver and no gossip."""

    def __init__(self, workdir: Path) -> None:
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / "alertmanager.yml"
        config.write_text(
            "route:\n  receiver: 'null'\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n"
            "receivers:\n  - name: 'null'\n"
        )
        port = free_port()
        command = [
            binary("prometheus-alertmanager") or "prometheus-alertmanager",
            f"--config.file={config}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address={LOCALHOST}:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
        super().__init__("alertmanager", command, port, "/-/ready", workdir)


class IncidentExporter:
    """A /metrics endpoint where billing's TTFT is ~2 s and support's ~300 ms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.ttft = Histogram(
            "livekit_llm_ttft_ms", "LLM time to first token", ["agent_id", "model"],
            buckets=TTFT_BUCKETS, registry=self.registry,
        )
        self.port = free_port()
        self._stop = threading.Event()
        self._server, _ = start_http_server(self.port, addr=LOCALHOST, registry=self.registry)
        self._thread = threading.Thread(target=self._observe, daemon=True)
        self._thread.start()

    def _observe(self) -> None:
        rng = random.Random(3)
        while not self._stop.is_set():
            self.ttft.labels("billing", "gpt-4o").observe(rng.uniform(1600, 1990))
            self.ttft.labels("support", "gpt-4o").observe(rng.uniform(150, 350))
            self._stop.wait(0.05)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def chain(tmp_path, prometheus_server, monkeypatch):
    require_binary("prometheus-alertmanager")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in ("VOICETOP_CONFIG", "VOICETOP_CONTEXT", "VOICETOP_PROMETHEUS_URL"):
        monkeypatch.delenv(name, raising=False)
    rules = tmp_path / "voicetop-rules.yml"
    made = subprocess.run(
        [sys.executable, "-m", "voicetop", "rules", "--for", "1s", "-o", str(rules)],
        capture_output=True, text=True, timeout=60,
    )
    assert made.returncode == 0, made.stderr
    checked = subprocess.run([require_binary("promtool"), "check", "rules", str(rules)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    am = AlertmanagerServer(tmp_path / "am").start()
    exporter = IncidentExporter()
    config = (
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {rules}\n"
        "alerting:\n  alertmanagers:\n    - static_configs:\n"
        f"        - targets: ['{LOCALHOST}:{am.port}']\n"
        "scrape_configs:\n  - job_name: voicetop\n    static_configs:\n"
        f"      - targets: ['{LOCALHOST}:{exporter.port}']\n"
    )
    prometheus = prometheus_server(config_text=config)
    try:
        yield prometheus, am
    finally:
        exporter.close()
        am.stop()


def _am_api(am, path: str):
    status, body = http_get(am.url + path, timeout=5)
    assert status == 200, body[:300]
    return json.loads(body)


def test_generated_rules_fire_reach_alertmanager_and_a_console_silence_lands(chain, monkeypatch):
    prometheus, am = chain
    prom_source = PrometheusSource(Connection(prometheus.url))
    reader = AlertmanagerSource(Connection(am.url))
    try:
        def firing_in_prometheus():
            found = {(a.name, a.agent_id, a.severity) for a in prom_source.alerts() if a.state == "firing"}
            return found if found else None

        wait_until(lambda: len(firing_in_prometheus() or ()) == 2, timeout=45, what="alerts firing in Prometheus")
        assert firing_in_prometheus() == {
            ("VoiceTtftP99High", "billing", "warning"),
            ("VoiceTtftP99High", "billing", "critical"),
        }

        wait_until(lambda: len(reader.alerts()) == 2, timeout=45, what="alerts in Alertmanager")
        am_alerts = reader.alerts()
        assert {(a.name, a.agent_id, a.severity, a.state) for a in am_alerts} == {
            ("VoiceTtftP99High", "billing", "warning", "firing"),
            ("VoiceTtftP99High", "billing", "critical", "firing"),
        }
        critical = next(a for a in am_alerts if a.severity == "critical")
        assert critical.annotations["runbook"].startswith("high latency → check 1. LLM provider status")
        assert critical.annotations["summary"].startswith("LLM TTFT p99 of billing is ")

        merged = merge_alerts(prom_source.alerts(), am_alerts)
        assert [(a.name, a.agent_id, a.severity, a.source) for a in merged] == [
            ("VoiceTtftP99High", "billing", "critical", "alertmanager")
        ]

        with pytest.raises(ReadOnlyError):
            reader.silence_alert(critical, 600, "read-only must refuse")
        assert _am_api(am, "/api/v2/silences") == []

        # the console's context: --alertmanager URL --write, author from $USER
        monkeypatch.setenv("USER", "oncall-alice")
        args = build_parser().parse_args(["--alertmanager", am.url, "--write"])
        writer = alertmanager_source(effective_config(args))
        assert writer is not None and writer.write
        try:
            silence_id = writer.silence_alert(critical, 1800, "mitigating: provider failover")
        finally:
            writer.close()

        (stored,) = _am_api(am, "/api/v2/silences")
        assert stored["id"] == silence_id
        assert stored["status"]["state"] == "active"
        assert stored["createdBy"] == "oncall-alice"
        assert stored["comment"] == "mitigating: provider failover"
        assert sorted((m["name"], m["value"], m["isRegex"]) for m in stored["matchers"]) == [
            ("agent_id", "billing", False), ("alertname", "VoiceTtftP99High", False)
        ]

        wait_until(
            lambda: {a.state for a in reader.alerts()} == {"silenced"}, timeout=20, what="alerts silenced"
        )
        (listed,) = reader.silences()
        assert listed.id == silence_id and listed.matches({"alertname": "VoiceTtftP99High", "agent_id": "billing"})
        assert not listed.matches({"alertname": "VoiceTtftP99High", "agent_id": "support"})
        assert listed.ends_at - listed.starts_at == pytest.approx(1800, abs=1)
    finally:
        prom_source.close()
        reader.close()


def test_unreachable_alertmanager_is_a_one_line_source_error():
    from voicetop.sources.base import SourceError

    source = AlertmanagerSource(Connection(f"http://{LOCALHOST}:{free_port()}", timeout=2.0))
    try:
        with pytest.raises(SourceError) as caught:
            source.alerts()
    finally:
        source.close()
    assert str(caught.value) == f"alertmanager {source.display_url}: cannot connect"
