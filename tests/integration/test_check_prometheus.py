"""``voicetop check`` against Debian's Prometheus on the backfilled incident, and on snapshot files.

Exit codes: 1 during the incident (naming ttft_p99), 0 on a healthy window,
2 on a window without data and on an unreachable URL.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.servers import free_port
from voicetop.cli import main
from voicetop.config import Connection
from voicetop.domain.timeparse import rfc3339
from voicetop.domain.thresholds import ThresholdSet
from voicetop.poller import Poller, ViewWindow
from voicetop.sources.prometheus import PrometheusSource
from tests.support.user_config import no_user_config  # noqa: F401 (autouse)

GUIDE = ["--ttft-p99", "1200", "--p90-max", "3500", "--p99-max", "5000", "--wer-max", "8", "--success-rate", "95"]


def check(prometheus_url: str, *args: str) -> tuple[int, dict]:
    """Run the real CLI in a subprocess; (exit code, parsed --json output)."""
    done = subprocess.run(
        [sys.executable, "-m", "voicetop", "check", "--prometheus", prometheus_url, "--json", *args],
        capture_output=True, text=True, timeout=60,
    )
    doc = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, doc | {"stderr": done.stderr}


def test_acceptance_incident_fails_naming_the_gate_and_healthy_window_passes(backfilled_prometheus, capsys):
    scenario = backfilled_prometheus.scenario
    during = rfc3339(scenario.incident.start + 600)
    assert main(["check", "--prometheus", backfilled_prometheus.url, "--at", during, *GUIDE]) == 1
    out = capsys.readouterr().out
    assert "FAIL: 1 of 5 gates failed: ttft_p99 (fleet)" in out
    failing = [line for line in out.splitlines() if line.endswith("FAIL")]
    assert len(failing) == 1 and failing[0].startswith("LLM TTFT p99")

    healthy = rfc3339(scenario.incident.start - 600)
    assert main(["check", "--prometheus", backfilled_prometheus.url, "--at", healthy, *GUIDE]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "PASS: all 5 gates hold"


def test_json_values_per_agent_during_the_incident(backfilled_prometheus):
    scenario = backfilled_prometheus.scenario
    code, doc = check(
        backfilled_prometheus.url, "--at", rfc3339(scenario.incident.start + 600), "--each-agent",
        "--ttft-p99", "1200", "--wer-max", "8", "--success-rate", "95",
    )
    assert code == 1, doc["stderr"]
    rows = {(g["key"], g["agent_id"]): g for g in doc["gates"]}
    assert set(rows) == {(k, a) for k in ("ttft_p99", "wer", "tool_success_rate") for a in scenario.agents}
    assert rows[("ttft_p99", "billing")]["status"] == "fail"
    assert rows[("ttft_p99", "billing")]["value"] == pytest.approx(1995.0)
    for agent in ("sales", "support"):
        assert rows[("ttft_p99", agent)]["status"] == "pass"
        assert rows[("ttft_p99", agent)]["value"] < 800
    assert rows[("wer", "billing")]["value"] == pytest.approx(0.03)
    assert rows[("tool_success_rate", "sales")]["value"] == pytest.approx(1.0)


def test_rate_range_follows_the_window(backfilled_prometheus):
    """Two minutes after the incident ends, a 5 m gate still sees it; a 1 m gate does not."""
    scenario = backfilled_prometheus.scenario
    at = rfc3339(scenario.incident.end + 120)
    code, doc = check(backfilled_prometheus.url, "--at", at, "--ttft-p99", "1200")
    assert code == 1 and doc["gates"][0]["value"] > 1200
    code, doc = check(backfilled_prometheus.url, "--at", at, "--window", "1m", "--ttft-p99", "1200")
    assert code == 0, doc
    assert doc["gates"][0]["value"] < 800
    assert doc["window"]["start"] == rfc3339(scenario.incident.end + 60)


def test_window_without_data_exits_2(backfilled_prometheus):
    scenario = backfilled_prometheus.scenario
    code, doc = check(backfilled_prometheus.url, "--at", rfc3339(scenario.start - 3600), *GUIDE)
    assert code == 2
    assert {g["status"] for g in doc["gates"]} == {"no data"}
    assert doc["verdict"].startswith("ERROR: no data for ttft_p99 (fleet)")


def test_unreachable_prometheus_exits_2_with_one_line():
    url = f"http://127.0.0.1:{free_port()}"
    code, doc = check(url, "--ttft-p99", "1200")
    assert code == 2
    lines = doc["stderr"].strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voicetop check: ") and "127.0.0.1" in lines[0]


def _snapshot(prometheus, at: float, path) -> None:
    from voicetop.export.writer import write_snapshot

    source = PrometheusSource(Connection(prometheus.url))
    try:
        poller = Poller(source, ThresholdSet(), lambda frame: None, view=ViewWindow(900, 15, at))
        frame = poller.poll_once()
    finally:
        source.close()
    write_snapshot(frame, out=path, markdown=False)


def test_check_on_snapshot_files(backfilled_prometheus, tmp_path, capsys):
    scenario = backfilled_prometheus.scenario
    bad, good = tmp_path / "incident.json", tmp_path / "healthy.json"
    _snapshot(backfilled_prometheus, scenario.incident.start + 600, bad)
    _snapshot(backfilled_prometheus, scenario.incident.start - 600, good)
    assert main(["check", str(bad), "--ttft-p99", "1200", "--wer-max", "8"]) == 1
    assert "ttft_p99 (fleet)" in capsys.readouterr().out.splitlines()[-1]
    assert main(["check", "--snapshot", str(good), "--ttft-p99", "1200", "--wer-max", "8"]) == 0
    capsys.readouterr()
    assert main(["check", str(good), "--at", rfc3339(scenario.start), "--ttft-p99", "1200"]) == 2
    assert "no data" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "missing.json"), "--ttft-p99", "1200"]) == 2


def test_check_on_victoria_metrics(victoria, capsys):
    scenario = victoria.scenario
    during = rfc3339(scenario.incident.start + 600)
    assert main(["check", "--prometheus", victoria.url, "--at", during, "--ttft-p99", "1200", "--wer-max", "8"]) == 1
    assert "ttft_p99 (fleet)" in capsys.readouterr().out.splitlines()[-1]
    healthy = rfc3339(scenario.incident.start - 600)
    assert main(["check", "--prometheus", victoria.url, "--at", healthy, "--ttft-p99", "1200", "--wer-max", "8"]) == 0
