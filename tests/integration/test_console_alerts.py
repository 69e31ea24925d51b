"""Alerts and silences in the console, against real servers (issue #6 item 3).

Debian's ``prometheus`` evaluates two rules (one firing at once, one pending
for an hour); Debian's ``prometheus-alertmanager`` receives alerts posted
through its v2 API.  The console shows both sources' alerts in the breach
panel, one row per (name, agent); ``m`` on an alert opens the silence dialog
and the silence it creates is read back from Alertmanager's
``/api/v2/silences``; a read-only context refuses without sending anything.
"""

from __future__ import annotations

import json
import time

import pytest
from test_alertmanager_chain import AlertmanagerServer
from textual.widgets import Input

from tests.support.servers import http_get, http_post, require_binary
from voicetop.cli import build_parser
from voicetop.commands.common import effective_config
from voicetop.sources.alertmanager import format_time
from voicetop.ui.app import VoicetopApp
from voicetop.ui.screens.fleet import FleetScreen
from voicetop.ui.screens.silence import SilenceDialog
from voicetop.ui.widgets.breaches import BreachPanel, BreachTable
from voicetop.ui.widgets.header import FleetHeader

demo = pytest.importorskip("voicetop.sources.demo")

FROZEN_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z

RULES = """groups:
  - name: console-alerts
    interval: 1s
    rules:
      - alert: VoiceE2EP99High
        expr: vector(1)
        labels: {severity: critical, agent_id: billing-agent}
        annotations: {summary: "E2E p99 of billing-agent is 6.1s"}
      - alert: VoiceWerHigh
        expr: vector(1)
        for: 1h
        labels: {severity: warning, agent_id: support-es}
"""


@pytest.fixture(autouse=True)
def clean_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in ("VOICETOP_CONFIG", "VOICETOP_CONTEXT", "VOICETOP_PROMETHEUS_URL", "VOICETOP_ALERTMANAGER_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("USER", "oncall-alice")


@pytest.fixture
def alertmanager(tmp_path):
    require_binary("prometheus-alertmanager")
    server = AlertmanagerServer(tmp_path / "am").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fleet():
    fleet = demo.DemoFleet(seed=7, speed=0, start=FROZEN_START)
    yield fleet
    fleet.metrics.close()
    fleet.traces.close()


def post_alert(am, name: str, agent: str, severity: str, summary: str = "") -> None:
    now = time.time()
    alert = {
        "labels": {"alertname": name, "agent_id": agent, "severity": severity},
        "annotations": {"summary": summary or f"{name} on {agent}", "runbook": "check the provider status"},
        "startsAt": format_time(now - 60),
        "endsAt": format_time(now + 3600),
    }
    status, body = http_post(f"{am.url}/api/v2/alerts", json.dumps([alert]).encode(), "application/json", 10)
    assert status == 200, body[:300]


def am_get(am, path: str):
    status, body = http_get(am.url + path, timeout=5)
    assert status == 200, body[:300]
    return json.loads(body)


def console_config(*flags: str):
    return effective_config(build_parser().parse_args(list(flags)))


def alert_rows(app) -> dict[tuple[str, str], tuple[str, str]]:
    """(name, agent) → (state cell, source cell) of the alert rows on the fleet screen."""
    panel = app.screen.query_one(BreachPanel)
    table = panel.query_one(BreachTable)
    rows = {}
    for key, alert in panel.alerts.items():
        rows[(alert.name, alert.agent_id)] = (
            table.get_cell(key, "severity").plain, table.get_cell(key, "value").plain,
        )
    return rows


def messages(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def wait_for(pilot, predicate, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if predicate():
            return
    raise AssertionError(f"timed out waiting for {what}")


async def cursor_to_alert(pilot, name: str) -> None:
    """Tab into the breach panel and move down to the alert's row, by key presses."""
    app = pilot.app
    panel = app.screen.query_one(BreachPanel)
    await pilot.press("tab")
    await wait_for(pilot, lambda: isinstance(app.focused, BreachTable), timeout=5, what="breach table focus")
    for _ in range(60):
        alert = panel.selected_alert()
        if alert is not None and alert.name == name:
            return
        await pilot.press("down")
    raise AssertionError(f"no row for alert {name}")


async def test_breach_panel_shows_prometheus_and_alertmanager_alerts_once_each(
    alertmanager, prometheus_server, tmp_path
):
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    prometheus = prometheus_server(
        config_text=f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {rules}\n"
    )
    post_alert(alertmanager, "VoiceE2EP99High", "billing-agent", "critical")  # same as a Prometheus alert
    post_alert(alertmanager, "VoiceMosLow", "triage", "warning")
    config = console_config("--prometheus", prometheus.url, "--alertmanager", alertmanager.url, "--refresh", "0.3")
    from voicetop.sources.factory import metrics_source

    metrics = metrics_source(config)
    app = VoicetopApp(metrics=metrics, traces=None, config=config)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: len(alert_rows(app)) == 3, timeout=40, what="three alert rows")
            rows = alert_rows(app)
            assert rows == {
                ("VoiceE2EP99High", "billing-agent"): ("⚑ FIRING", "alertmanager critical"),
                ("VoiceWerHigh", "support-es"): ("… PENDING", "prometheus warning"),
                ("VoiceMosLow", "triage"): ("⚑ FIRING", "alertmanager warning"),
            }
            title = app.screen.query_one("#breach-title").render().plain
            assert "alerts 2 firing, 1 pending" in title
            header = app.screen.query_one(FleetHeader).render().plain
            assert "[alertmanager OK]" in header and "[prometheus OK]" in header
            silence_key = app.screen.active_bindings["m"]
            assert silence_key.binding.description == "Silence" and silence_key.enabled

            await cursor_to_alert(pilot, "VoiceE2EP99High")
            hint = app.screen.query_one("#breach-hint").render().plain
            assert hint.startswith("Alert from alertmanager: VoiceE2EP99High on billing-agent")
            assert "check the provider status" in hint

            alertmanager.stop()  # Alertmanager gone: its badge says so, Prometheus' alerts stay
            await wait_for(
                pilot, lambda: "alertmanager STALE" in app.screen.query_one(FleetHeader).render().plain,
                timeout=20, what="alertmanager stale badge",
            )
            assert ("VoiceWerHigh", "support-es") in alert_rows(app)
    finally:
        metrics.close()


async def test_m_on_an_alert_creates_a_silence_in_alertmanager(alertmanager, fleet):
    post_alert(alertmanager, "VoiceTtftP99High", "billing-agent", "critical")
    config = console_config("--demo", "--alertmanager", alertmanager.url, "--write", "--refresh", "0.3")
    assert config.context.write
    app = VoicetopApp(metrics=fleet.metrics, traces=fleet.traces, config=config)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: ("VoiceTtftP99High", "billing-agent") in alert_rows(app), what="alert row")
        assert alert_rows(app)[("VoiceTtftP99High", "billing-agent")][0] == "⚑ FIRING"
        await cursor_to_alert(pilot, "VoiceTtftP99High")

        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, SilenceDialog), timeout=5, what="silence dialog")
        dialog = app.screen
        duration = dialog.query_one("#silence-duration", Input)
        comment = dialog.query_one("#silence-comment", Input)
        assert duration.value == "1h" and app.focused is comment
        assert "created by oncall-alice" in "\n".join(s.render().plain for s in dialog.query("Static"))

        await pilot.press("enter")  # no comment yet: refused inside the dialog
        assert isinstance(app.screen, SilenceDialog)
        assert "needs a comment" in dialog.query_one("#silence-error").render().plain

        await pilot.press(*"failover")
        duration.value = "for ever"
        await pilot.press("enter")
        assert isinstance(app.screen, SilenceDialog)
        assert dialog.query_one("#silence-error").render().plain.startswith("duration: ")
        assert app.focused is duration

        duration.value = "30m"
        await pilot.press("enter")  # duration → comment
        assert app.focused is comment
        await pilot.press(*" INC-42")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen), timeout=5, what="dialog closed")
        await wait_for(pilot, lambda: app.last_silence_id is not None, timeout=20, what="silence created")
        silence_id = app.last_silence_id
        await wait_for(
            pilot, lambda: any(m.startswith(f"silence {silence_id} created for VoiceTtftP99High (billing-agent)")
                               for m in messages(app)), what="success notification",
        )
        await wait_for(
            pilot, lambda: alert_rows(app).get(("VoiceTtftP99High", "billing-agent"), ("",))[0] == "∅ SILENCED",
            timeout=20, what="alert shown silenced",
        )

    (stored,) = am_get(alertmanager, "/api/v2/silences")
    assert stored["id"] == silence_id
    assert stored["createdBy"] == "oncall-alice"
    assert stored["comment"] == "failover INC-42"
    assert stored["status"]["state"] == "active"
    assert sorted((m["name"], m["value"], m["isRegex"]) for m in stored["matchers"]) == [
        ("agent_id", "billing-agent", False), ("alertname", "VoiceTtftP99High", False),
    ]
    from voicetop.sources.alertmanager import parse_time

    assert parse_time(stored["endsAt"]) - parse_time(stored["startsAt"]) == pytest.approx(1800, abs=2)


async def test_read_only_console_refuses_to_silence_and_sends_nothing(alertmanager, fleet):
    post_alert(alertmanager, "VoiceTtftP99High", "billing-agent", "critical")
    config = console_config("--demo", "--alertmanager", alertmanager.url, "--refresh", "0.3")
    assert not config.context.write
    app = VoicetopApp(metrics=fleet.metrics, traces=fleet.traces, config=config)
    sent: list[str] = []
    app.alertmanager._client.event_hooks["request"].append(lambda request: sent.append(request.method))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: ("VoiceTtftP99High", "billing-agent") in alert_rows(app), what="alert row")
        await cursor_to_alert(pilot, "VoiceTtftP99High")
        await pilot.press("m")
        await wait_for(pilot, lambda: any("read-only context" in m for m in messages(app)), what="refusal")
        await pilot.pause(0.3)
        assert isinstance(app.screen, FleetScreen)
        (refusal,) = [m for m in messages(app) if "read-only" in m]
        assert refusal == "read-only context: start with --write or set write = true to create silences"
        assert app.last_silence_id is None
    assert sent and set(sent) == {"GET"}  # it polled alerts, and never wrote
    assert am_get(alertmanager, "/api/v2/silences") == []


def test_a_bad_alertmanager_setting_is_a_one_line_usage_error(tmp_path):
    from voicetop.cli import UsageError

    with pytest.raises(UsageError) as bad_url:
        VoicetopApp(metrics=None, config=console_config("--demo", "--alertmanager", "ftp://am.example"))
    assert str(bad_url.value) == "contexts.default.alertmanager: not an http(s) URL: ftp://am.example"
