"""``voicetop snapshot`` headless against Debian's Prometheus holding the backfilled
incident (and the local Jaeger-speaking trace backend), then replay of the file."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.otel_traces import seed_sessions
from tests.support.trace_server import TraceBackend
from voicetop.cli import main
from voicetop.domain.model import Severity
from voicetop.domain.timeparse import rfc3339
from voicetop.export import load_snapshot
from voicetop.export.timefmt import from_rfc3339
from voicetop.poller import Poller, ViewWindow
from voicetop.sources.snapshot import replay_sources
from tests.support.user_config import no_user_config  # noqa: F401 (autouse)

STEP = 15.0


@pytest.fixture
def traces_during_incident(backfilled_prometheus):
    """Seed-profile turns of agent ``billing`` a few minutes into the incident."""
    incident = backfilled_prometheus.scenario.incident
    generated = seed_sessions(
        agent_id="billing", sessions=2, turns=3, start_ns=int((incident.start + 120) * 1e9)
    )
    with TraceBackend(generated.spans, "jaeger") as server:
        yield server, generated


def test_headless_snapshot_lists_the_incident_and_replays_it(backfilled_prometheus, traces_during_incident, tmp_path, capsys):
    scenario = backfilled_prometheus.scenario
    incident = scenario.incident
    trace_server, generated = traces_during_incident
    at = incident.start + 600  # ten minutes into the incident, as a relative time
    relative = f"-{round(time.time() - at)}s"
    out = tmp_path / "out.json"
    code = main([
        "snapshot", "--prometheus", backfilled_prometheus.url,
        "--traces", trace_server.url, "--traces-kind", "jaeger",
        "--at", relative, "--window", "15m", "--step", "15s", "--history", "30m", "-o", str(out),
    ])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"wrote {out}, {out.with_suffix('.md')}, {out.with_suffix('.svg')}" in captured.out
    doc = json.loads(out.read_text())
    assert doc["schema"] == "voicetop.snapshot/1"
    end = from_rfc3339(doc["window"]["end"])
    assert abs(end - at) <= 2 * STEP and from_rfc3339(doc["window"]["start"]) == end - 900
    assert doc["source"]["metrics"] == {"kind": "prometheus", "url": backfilled_prometheus.url}
    assert doc["source"]["traces"]["kind"] == "jaeger"

    listed = {(b["key"], b["agent_id"], b["severity"]): b for b in doc["breaches"]}
    for agent in ("billing", None):
        for severity in ("warning", "critical"):
            breach = listed[("ttft_p99", agent, severity)]
            assert abs(from_rfc3339(breach["since"]) - incident.start) <= STEP
            assert breach["until"] is None
    assert {key for key, _, _ in listed} == {"ttft_p99"}, "only the incident breaches"
    billing = next(a for a in doc["agents"] if a["agent_id"] == "billing")
    assert billing["stages"]["ttft"]["p99"] > 1200
    assert [a["agent_id"] for a in doc["agents"]] == ["billing", "sales", "support"]

    assert len(doc["turns"]) == len(generated.turns)
    slowest = doc["turns"][0]
    assert slowest["stages"]["e2e"] == max(t.stages["e2e"] for t in generated.turns)
    assert slowest["spans"] and {s["name"] for s in slowest["spans"]} >= {"voice_turn", "llm_inference"}
    assert {s["session_id"] for s in doc["sessions"]} == {t.session_id for t in generated.turns}

    report = out.with_suffix(".md").read_text()
    assert "| `ttft_p99` | billing | ✖ critical |" in report
    assert "**high latency** → check first: LLM provider status" in report
    assert "voice_turn" in report
    svg = out.with_suffix(".svg").read_text()
    assert svg.startswith("<svg") and "billing" in svg

    # voicetop open: the same breaches and stage numbers through the normal Poller.
    snapshot = load_snapshot(out)
    metrics, traces = replay_sources(snapshot)
    assert metrics.data_start == end - 1800, "--history keeps 30 minutes for the time cursor"
    replayed = Poller(
        metrics, snapshot.thresholds, lambda f: None, view=ViewWindow(900, STEP, metrics.now()), mode="replay"
    ).poll_once()
    assert replayed.mode == "replay"
    key = lambda b: (b.key, b.agent_id, b.severity, b.since, b.until, b.value)  # noqa: E731
    assert sorted(map(key, replayed.breaches), key=repr) == sorted(map(key, snapshot.breaches), key=repr)
    assert replayed.agent("billing").stage_value("ttft", "p99") == billing["stages"]["ttft"]["p99"]
    earlier = Poller(
        metrics, snapshot.thresholds, lambda f: None, view=ViewWindow(900, STEP, end - 900), mode="replay"
    ).poll_once()
    assert not [b for b in earlier.breaches if b.severity is Severity.CRITICAL], "before the incident"
    assert traces.trace(slowest["trace_id"]).root().name == "voice_turn"


def test_headless_snapshot_before_the_incident_has_no_breaches(backfilled_prometheus, tmp_path, capsys):
    incident = backfilled_prometheus.scenario.incident
    out = tmp_path / "calm.json"
    code = main([
        "snapshot", "--prometheus", backfilled_prometheus.url, "--at", rfc3339(incident.start - 600),
        "--window", "15m", "-o", str(out), "--no-svg", "--no-markdown",
    ])
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calm.json"]
    doc = json.loads(out.read_text())
    assert doc["breaches"] == [] and doc["turns"] == []
    assert [h["state"] for h in doc["health"]] == ["ok"]


def test_refuses_to_overwrite_then_force(backfilled_prometheus, tmp_path, capsys):
    out = tmp_path / "x.json"
    out.write_text("precious")
    args = ["snapshot", "--prometheus", backfilled_prometheus.url, "--window", "5m", "-o", str(out), "--no-svg"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err and "--force" in err
    assert out.read_text() == "precious" and sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]
    assert main(args + ["--force"]) == 0
    assert load_snapshot(out).window.duration == 300
