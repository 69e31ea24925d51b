"""The livekit-server profile against a real Prometheus holding backfilled LiveKit server/SIP metrics.

Names, types and ``le`` strings are the servers' own (tests/support/telephony_scenario.py).
Covers every telephony panel (fleet and per node), the default thresholds, the
hidden-when-absent behaviour and the STT/WER media-quality correlation.
"""

from __future__ import annotations

import re

import pytest

from tests.support.servers import PrometheusServer, backfill, require_binary
from tests.support.telephony_scenario import agent_families, telephony_families, telephony_scenario, to_openmetrics
from voicetop.config import Connection
from voicetop.domain.frame_builder import build_frame
from voicetop.domain.model import Severity, Window
from voicetop.domain.telephony import PANELS
from voicetop.domain.thresholds import ThresholdSet
from voicetop.profiles.metrics import BUILTIN_PROFILES, SEED
from voicetop.sources.prometheus import PrometheusSource
from voicetop.sources.prometheus.queries import plan_queries

LIVEKIT_SERVER = BUILTIN_PROFILES["livekit-server"]


def _start(tmp_path_factory, name: str, text: str) -> PrometheusServer:
    require_binary("promtool")
    require_binary("prometheus")
    work = tmp_path_factory.mktemp(name)
    backfill(text, work / "tsdb", work)
    return PrometheusServer(work / "prom", tsdb=work / "tsdb").start()


@pytest.fixture(scope="module")
def tele(tmp_path_factory, scenario):
    ts = telephony_scenario(scenario)
    server = _start(tmp_path_factory, "tele", to_openmetrics(agent_families(ts) + telephony_families(ts)))
    server.ts = ts
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tele_no_sip(tmp_path_factory, scenario):
    ts = telephony_scenario(scenario, sip=False, quality=False)
    server = _start(tmp_path_factory, "tele-nosip", to_openmetrics(telephony_families(ts)))
    server.ts = ts
    yield server
    server.stop()


def fetch_frame(server, start: float, end: float, profile=LIVEKIT_SERVER, step: float = 30.0):
    source = PrometheusSource(Connection(server.url, timeout=10), profile)
    try:
        result = source.fetch(Window(start, end, step))
    finally:
        source.close()
    return result, build_frame(result, ThresholdSet(), [], created_at=end)


def at(series, t: float) -> float:
    return series.values[series.timestamps.index(t)]


def test_the_server_metrics_are_stored_with_the_servers_names_and_le_strings(tele):
    end = tele.ts.base.end  # the backfill's last sample: "now" may be past the lookback
    les = {row["metric"]["le"] for row in tele.query("livekit_jitter_us_bucket", end)}
    assert {"1000", "10000", "1e+06", "+Inf"} <= les
    assert {"0", "0.1", "100"} <= {row["metric"]["le"] for row in tele.query("livekit_packet_loss_percent_bucket", end)}
    assert {"0", "1", "2", "+Inf"} == {row["metric"]["le"] for row in tele.query("sum by (le) (livekit_quality_rating_bucket)", end)}
    assert tele.query("livekit_sip_invite_requests", end) and not tele.query("livekit_sip_invite_requests_total", end)
    assert {r["metric"]["node_type"] for r in tele.query("livekit_room_total", end)} == {"SERVER"}


def test_every_panel_fleet_and_per_node_in_a_constant_number_of_queries(tele):
    ts = tele.ts
    t0 = ts.base.start
    healthy, incident = t0 + 1800, t0 + 4500  # the incident is steady over the whole rate window at T0+75m
    result, frame = fetch_frame(tele, t0 + 1500, t0 + 5400)
    assert result.queries == len(plan_queries(SEED)) + 5
    assert result.errors == {}
    tel = frame.telephony
    assert tel is not None and tel.panels() == tuple(PANELS)
    assert [n.node_id for n in tel.nodes] == ["nd-a", "nd-b", "sip-1"]
    fleet, nd_a, nd_b = tel.fleet, tel.node("nd-a"), tel.node("nd-b")
    expected = {  # (healthy, incident)
        "rooms": (60, 60), "participants": (120, 120), "tracks_published": (120, 120),
        "join_success_rate": (1.0, 5 / 7), "packet_loss_in": (0.002, 0.041), "packet_loss_out": (0.002, 0.002),
        "packet_loss": (0.002, 0.041), "jitter_p95": (9.55, 48.0), "rtt_p95": (97.5, 475.0),
        "quality_poor": (0.0, 0.05), "quality_good": (0.2, 0.25), "quality_excellent": (0.8, 0.65),
        "quality_lost": (0.0, 0.05), "poor_quality_share": (0.0, 0.1), "quality_score_p50": (4.375, 3.25),
        "sip_calls_active": (12, 12), "sip_invite_error_rate": (0.0, 1 / 3),
    }
    for key, (good, bad) in expected.items():
        series = fleet.series[key]
        assert at(series, healthy) == pytest.approx(good, abs=1e-9), key
        assert at(series, incident) == pytest.approx(bad, abs=1e-9), key
    assert at(nd_a.series["rooms"], healthy) == 40 and at(nd_b.series["rooms"], healthy) == 20
    assert at(nd_b.series["participants"], healthy) == 40
    assert at(nd_b.series["packet_loss_in"], incident) == pytest.approx(0.08)
    assert at(nd_a.series["packet_loss_in"], incident) == pytest.approx(0.002)
    assert at(nd_b.series["join_success_rate"], incident) == pytest.approx(1 / 3)  # 1 of 2 connects, 1 signal failure
    assert at(tel.node("sip-1").series["sip_invite_error_rate"], incident) == pytest.approx(1 / 3)


def test_default_thresholds_breach_in_the_incident(tele):
    t0 = tele.ts.base.start
    _, frame = fetch_frame(tele, t0 + 3000, t0 + 5400)
    found = {(b.key, b.severity) for b in frame.breaches if b.agent_id is None and not b.node and b.key in ThresholdSet().telephony}
    assert found == {
        ("packet_loss", Severity.WARNING), ("packet_loss", Severity.CRITICAL),
        ("jitter_p95", Severity.WARNING), ("rtt_p95", Severity.WARNING),
        ("poor_quality_share", Severity.WARNING),  # 10 %: above 5 %, below 15 %
        ("join_success_rate", Severity.WARNING), ("join_success_rate", Severity.CRITICAL),
        ("sip_invite_error_rate", Severity.WARNING), ("sip_invite_error_rate", Severity.CRITICAL),
    }
    loss = next(b for b in frame.breaches if b.key == "packet_loss" and b.severity is Severity.CRITICAL)
    assert tele.ts.incident_start <= loss.since <= tele.ts.incident_start + 300
    assert loss.until is not None and loss.until <= tele.ts.incident_end + 300
    assert loss.peak == pytest.approx(0.041)
    assert re.match(r"worst node nd-b [78]\.\d% · poor media quality → check 1\. network path", loss.hint)
    stricter = ThresholdSet().with_overrides({"rtt_p95": {"critical": 400.0}})
    result, _ = fetch_frame(tele, t0 + 3000, t0 + 5400)
    again = build_frame(result, stricter, [], created_at=t0 + 5400)
    assert ("rtt_p95", Severity.CRITICAL) in {(b.key, b.severity) for b in again.breaches}


def test_wer_breach_names_packet_loss_when_media_degraded_and_not_otherwise(tele):
    t0 = tele.ts.base.start
    _, frame = fetch_frame(tele, t0 + 600, t0 + 5400)
    support = next(b for b in frame.breaches if b.key == "wer" and b.agent_id == "support")
    assert support.hint.startswith("media quality is the likely cause: packet loss")
    assert re.search(r"packet loss \d\.\d% > 1\.0% \(worst node nd-b \d\.\d%\)", support.hint)
    assert "telephony over the breach: loss in" in support.hint and "jitter p95" in support.hint
    assert support.hint.endswith("3. ASR provider")
    sales = next(b for b in frame.breaches if b.key == "wer" and b.agent_id == "sales")
    assert sales.hint.startswith("media quality is not the likely cause (telephony over the breach: loss in 0.2%, out 0.2%")
    ttft = next(b for b in frame.breaches if b.key == "ttft_p99")
    assert "media quality" not in ttft.hint


def test_missing_families_hide_their_panels_without_errors(tele_no_sip, backfilled_prometheus):
    t0 = tele_no_sip.ts.base.start
    result, frame = fetch_frame(tele_no_sip, t0 + 3000, t0 + 5400)
    assert result.errors == {}
    assert frame.telephony.panels() == ("rooms", "joins", "loss", "jitter", "rtt")
    assert "sip_invite_error_rate" not in {b.key for b in frame.breaches}
    # a Prometheus with agents only: no telephony at all, nothing fails
    result, frame = fetch_frame(backfilled_prometheus, t0 + 3000, t0 + 5400)
    assert result.errors == {} and result.telephony == {} and frame.telephony is None
    assert frame.agents  # the agent panels still work


def test_without_the_profile_no_telephony_query_runs(tele):
    t0 = tele.ts.base.start
    result, frame = fetch_frame(tele, t0 + 3000, t0 + 5400, profile=SEED)
    assert result.queries == len(plan_queries(SEED)) and frame.telephony is None


# -- check gates and generated rules on the same data (issue #10 follow-up) ----------------------
def _query(server, expr: str, at: float) -> list:
    import json
    from urllib.parse import urlencode

    from tests.support.servers import http_get

    status, body = http_get(f"{server.url}/api/v1/query?{urlencode({'query': expr, 'time': at})}", timeout=10)
    assert status == 200, body[:300]
    return json.loads(body)["data"]["result"]


def test_generated_telephony_rules_fire_per_node_in_the_incident_only(tele):
    from voicetop.alerting.rules import TELEPHONY_GROUP, build_rules

    ts = tele.ts
    group = next(g for g in build_rules(ThresholdSet(), LIVEKIT_SERVER).groups if g.name == TELEPHONY_GROUP)
    firing: dict[tuple[str, str, str], float] = {}
    for rule in group.rules:
        assert _query(tele, rule.expr, ts.incident_start - 600) == [], rule.alert  # healthy
        for row in _query(tele, rule.expr, ts.incident_start + 900):
            firing[(rule.labels["voicetop_key"], rule.labels["severity"], row["metric"]["node_id"])] = float(row["value"][1])
    assert set(firing) == {
        ("packet_loss", "warning", "nd-b"), ("packet_loss", "critical", "nd-b"),
        ("jitter_p95", "warning", "nd-b"), ("rtt_p95", "warning", "nd-b"),
        ("poor_quality_share", "warning", "nd-b"), ("poor_quality_share", "critical", "nd-b"),
        ("join_success_rate", "warning", "nd-b"), ("join_success_rate", "critical", "nd-b"),
        ("sip_invite_error_rate", "warning", "sip-1"), ("sip_invite_error_rate", "critical", "sip-1"),
    }
    assert firing[("packet_loss", "critical", "nd-b")] == pytest.approx(0.08)
    assert firing[("poor_quality_share", "critical", "nd-b")] == pytest.approx(0.2)
    assert firing[("join_success_rate", "critical", "nd-b")] == pytest.approx(1 / 3)
    assert firing[("sip_invite_error_rate", "critical", "sip-1")] == pytest.approx(1 / 3)


def test_per_node_breaches_match_the_rules(tele):
    t0 = tele.ts.base.start
    _, frame = fetch_frame(tele, t0 + 3000, t0 + 5400)
    per_node = {(b.key, b.severity.word, b.node) for b in frame.breaches if b.node}
    assert per_node == {
        ("packet_loss", "warning", "nd-b"), ("packet_loss", "critical", "nd-b"),
        ("jitter_p95", "warning", "nd-b"), ("rtt_p95", "warning", "nd-b"),
        ("poor_quality_share", "warning", "nd-b"), ("poor_quality_share", "critical", "nd-b"),
        ("join_success_rate", "warning", "nd-b"), ("join_success_rate", "critical", "nd-b"),
        ("sip_invite_error_rate", "warning", "sip-1"), ("sip_invite_error_rate", "critical", "sip-1"),
    }
    loss = next(b for b in frame.breaches if b.node == "nd-b" and b.key == "packet_loss" and b.severity is Severity.CRITICAL)
    assert loss.agent_id is None and loss.scope == "node nd-b" and loss.peak == pytest.approx(0.08)
    assert tele.ts.incident_start <= loss.since <= tele.ts.incident_start + 300 and loss.until is not None


def _check(server, *args: str):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "voicetop", "check", "--prometheus", server.url, *args],
        capture_output=True, text=True, timeout=60,
    )


def test_check_gates_the_telephony_keys(tele, tmp_path, monkeypatch):
    from voicetop.domain.timeparse import rfc3339

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in ("VOICETOP_CONFIG", "VOICETOP_CONTEXT", "VOICETOP_PROMETHEUS_URL"):
        monkeypatch.delenv(name, raising=False)
    ts = tele.ts
    gates = ("--profile", "livekit-server", "--max", "packet_loss=2", "--max", "jitter_p95=60",
             "--min", "join_success_rate=99")
    during = _check(tele, "--at", rfc3339(ts.incident_start + 900), *gates)
    assert during.returncode == 1, during.stdout + during.stderr
    assert "FAIL: 2 of 3 gates failed: packet_loss (fleet) 4.10% > 2%, join_success_rate (fleet) 71.43% < 99%" in during.stdout
    healthy = _check(tele, "--at", rfc3339(ts.incident_start - 600), *gates)
    assert healthy.returncode == 0 and healthy.stdout.splitlines()[-1] == "PASS: all 3 gates hold"
    critical = _check(tele, "--at", rfc3339(ts.incident_start + 900), "--profile", "livekit-server", "--critical")
    failing = [line for line in critical.stdout.splitlines() if line.endswith("FAIL")]
    assert critical.returncode == 1
    assert any(line.startswith("Packet loss ") for line in failing) and any(line.startswith("SIP invite errors ") for line in failing)
    # the seed profile reads no telephony: --critical does not report (or fail on) telephony gates
    seed = _check(tele, "--at", rfc3339(ts.incident_start - 600), "--profile", "seed", "--critical", "--json")
    import json

    keys = {g["key"] for g in json.loads(seed.stdout)["gates"]}
    assert "ttft_p99" in keys and not keys & set(ThresholdSet().telephony)


def test_check_names_a_stat_with_invalid_promql_on_stderr(tele, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    profile = tmp_path / "bad.toml"
    profile.write_text("[profile]\nname = 'bad'\n[promql]\nwer = 'avg by (agent_id) (livekit_asr_wer'\n")
    done = _check(tele, "--profile", str(profile), "--at", str(tele.ts.incident_start), "--wer-max", "8", "--ttft-p99", "1")
    assert done.returncode == 2  # not 1, although ttft_p99 fails: a gated stat could not be queried
    assert re.search(r"^WER\s+wer\s+fleet .*NO DATA \(HTTP 400 from prometheus: Bad Request \(bad_data: .*parse error", done.stdout, re.M), done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voicetop check: stat wer: HTTP 400 from prometheus"), done.stderr
    assert "parse error: unclosed left parenthesis" in lines[0]


def test_telephony_rules_pass_promtool_and_respect_for_in_promtool_test_rules(tmp_path, scenario):
    import json
    import subprocess

    from tests.support.servers import require_binary
    from voicetop.alerting.rules import build_rules

    promtool = require_binary("promtool")
    rules = build_rules(ThresholdSet(), LIVEKIT_SERVER)
    (tmp_path / "rules.yml").write_text(rules.to_yaml())
    checked = subprocess.run([promtool, "check", "rules", "rules.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and f"SUCCESS: {len(rules.rules())} rules found" in checked.stdout, checked.stdout + checked.stderr
    ts = telephony_scenario(scenario)
    first, last = ts.incident_start - 1200, ts.incident_start + 900
    series = []
    for _, _, samples in telephony_families(ts):
        for name, labels, points in samples:
            values = [v for t, v in points if first <= t <= last]
            selector = ",".join(f'{k}="{v}"' for k, v in labels.items())
            series.append({"series": f"{name}{{{selector}}}", "values": " ".join(f"{v:g}" for v in values)})
    start = ts.incident_start - first  # seconds from the first sample to the incident

    def loss_alerts(*severities: str) -> list[dict]:
        return [{"exp_labels": {"alertname": "VoicePacketLossHigh", "node_id": "nd-b", "severity": s, "voicetop_key": "packet_loss"},
                 "exp_annotations": {
                     "summary": f"Packet loss of node nd-b is 8% ({s}: above {1 if s == 'warning' else 3}% for 5m)",
                     "runbook": "poor media quality → check 1. network path between callers and the LiveKit node; "
                                "2. node CPU and bandwidth; 3. TURN/UDP reachability"}}
                for s in severities]

    tests = [
        {"eval_time": f"{start - 300:g}s", "alertname": "VoicePacketLossHigh", "exp_alerts": []},  # healthy
        {"eval_time": f"{start + 240:g}s", "alertname": "VoicePacketLossHigh", "exp_alerts": []},  # holds, for: 5m not yet
        {"eval_time": f"{start + 840:g}s", "alertname": "VoicePacketLossHigh", "exp_alerts": loss_alerts("warning", "critical")},
    ]
    spec = {"rule_files": ["rules.yml"], "evaluation_interval": "15s",
            "tests": [{"interval": f"{ts.base.step:g}s", "input_series": series, "alert_rule_test": tests}]}
    (tmp_path / "test.yml").write_text(json.dumps(spec))
    done = subprocess.run([promtool, "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
