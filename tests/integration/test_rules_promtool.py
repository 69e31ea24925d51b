"""Generated rules against Debian's promtool and Prometheus on the incident scenario.

- ``promtool check rules`` on every generated variant (and via /dev/stdin);
- ``promtool test rules``: the rules, with their real ``for: 5m``, fire exactly
  the TTFT alerts for ``billing`` on the scenario's incident data, with the
  rendered summary, and nothing else fires before or during the incident;
- every generated expression, queried on the backfilled Prometheus, is empty
  on a healthy window and returns only the TTFT rules for ``billing`` during
  the incident.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.scenario import families
from tests.support.servers import require_binary
from voicetop.alerting.rules import KEY_LABEL, build_rules
from voicetop.domain.thresholds import DEFAULT_RULES, ThresholdSet
from voicetop.profiles.metrics import SEED, parse_profile
from tests.support.user_config import no_user_config  # noqa: F401 (autouse)


def promtool(*args: str, stdin: str | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [require_binary("promtool"), *args], input=stdin, capture_output=True, text=True, timeout=120, cwd=cwd
    )


def voicetop(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "voicetop", *args], capture_output=True, text=True, timeout=60, **kwargs
    )


def test_cli_output_piped_into_promtool_check_rules_dev_stdin():
    require_binary("promtool")
    made = voicetop("rules")
    assert made.returncode == 0, made.stderr
    checked = promtool("check", "rules", "/dev/stdin", stdin=made.stdout)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {2 * len(DEFAULT_RULES)} rules found" in checked.stdout


def test_every_variant_passes_promtool(tmp_path):
    config = tmp_path / "voicetop.toml"
    config.write_text(
        "[thresholds]\n"
        'ttft_p99 = { warning = 900, critical = 1300, for = "90s" }\n'
        "[thresholds.agents.billing]\n"
        "ttft_p99 = [1000, 1500]\n"
        'wer = { critical = 10, for = "0s" }\n'
        '[thresholds.agents."we\\"ird\\\\agent"]\n'
        "ttft_p99 = [700, 1000]\n"
    )
    profile = tmp_path / "custom.toml"
    profile.write_text(
        '[profile]\nagent_label = "service"\nrate_window = "2m"\n'
        "[metrics]\nttft = { name = \"llm_ttft_seconds\", scale = 1000 }\n"
        "[promql]\nrtf = ''\n"
    )
    variants = {
        "default": ["rules"],
        "overrides": ["rules", "--config", str(config)],
        "profile": ["rules", "--profile", str(profile)],
        "critical-fast": ["rules", "--severity", "critical", "--for", "0s", "--interval", "1s", "--group-prefix", "t-"],
    }
    for name, args in variants.items():
        target = tmp_path / f"{name}.yml"
        made = voicetop(*args, "-o", str(target))
        assert made.returncode == 0, (name, made.stderr)
        checked = promtool("check", "rules", str(target))
        assert checked.returncode == 0, (name, checked.stdout + checked.stderr)
        assert "SUCCESS" in checked.stdout, name
    assert "unless on (agent_id)" in (tmp_path / "overrides.yml").read_text()


def _window_series(scenario, first: float, last: float) -> list[dict]:
    """Input series for ``promtool test rules``: the scenario's samples in [first, last]."""
    series = []
    for name, kind, _, items in families(scenario):
        for item in items:
            if kind == "histogram":
                suffix, labels, points = item
                metric = name + suffix
            else:
                labels, points = item
                metric = name + ("_total" if kind == "counter" else "")
            values = [v for t, v in points if first <= t <= last]
            selector = ",".join(f'{k}="{v}"' for k, v in labels.items())
            series.append({"series": f"{metric}{{{selector}}}", "values": " ".join(f"{v:g}" for v in values)})
    return series


def test_rules_fire_on_the_incident_data_in_promtool_test_rules(tmp_path, scenario):
    require_binary("promtool")
    ruleset = build_rules(ThresholdSet(), SEED)
    (tmp_path / "rules.yml").write_text(ruleset.to_yaml())
    step = scenario.step
    first = scenario.incident.start - 30 * 60  # 30 healthy minutes, then the incident
    last = scenario.incident.start + 15 * 60
    during = 10 * 60 + 30 * 60  # ten minutes into the incident, relative to the first sample
    healthy = 25 * 60
    names = sorted({rule.alert for rule in ruleset.rules()})
    expected_during = [
        {
            "exp_labels": {"alertname": "VoiceTtftP99High", "agent_id": "billing", "severity": severity, KEY_LABEL: "ttft_p99"},
            "exp_annotations": {
                "summary": f"LLM TTFT p99 of billing is 1.995k ms ({severity}: above {limit} ms for 5m)",
                "runbook": "high latency → check 1. LLM provider status; 2. token rate limits; 3. network path",
            },
        }
        for severity, limit in (("warning", 800), ("critical", 1200))
    ]
    alert_tests = []
    for name in names:
        alert_tests.append({"eval_time": f"{healthy}s", "alertname": name, "exp_alerts": []})
        alert_tests.append(
            {"eval_time": f"{during}s", "alertname": name, "exp_alerts": expected_during if name == "VoiceTtftP99High" else []}
        )
    # four minutes into the incident the condition holds but `for: 5m` has not elapsed
    alert_tests.append({"eval_time": f"{30 * 60 + 240}s", "alertname": "VoiceTtftP99High", "exp_alerts": []})
    test_file = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "15s",
        "tests": [
            {
                "interval": f"{step:g}s",
                "input_series": _window_series(scenario, first, last),
                "alert_rule_test": alert_tests,
            }
        ],
    }
    (tmp_path / "test.yml").write_text(json.dumps(test_file))  # JSON is YAML
    done = promtool("test", "rules", "test.yml", cwd=tmp_path)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "SUCCESS" in done.stdout


def test_each_expression_on_backfilled_prometheus(backfilled_prometheus):
    scenario = backfilled_prometheus.scenario
    server = backfilled_prometheus
    ruleset = build_rules(ThresholdSet(), SEED)
    during = scenario.incident.start + 600
    before = scenario.incident.start - 600
    firing_during = set()
    from urllib.parse import urlencode

    from tests.support.servers import http_get

    def query(expr: str, at: float) -> list:
        status, body = http_get(f"{server.url}/api/v1/query?{urlencode({'query': expr, 'time': at})}", timeout=10)
        assert status == 200, body[:300]
        return json.loads(body)["data"]["result"]

    for rule in ruleset.rules():
        assert query(rule.expr, before) == [], (rule.alert, rule.labels["severity"])
        for row in query(rule.expr, during):
            firing_during.add((rule.alert, rule.labels["severity"], row["metric"].get("agent_id")))
            assert float(row["value"][1]) == pytest.approx(1995.0)
    assert firing_during == {
        ("VoiceTtftP99High", "warning", "billing"),
        ("VoiceTtftP99High", "critical", "billing"),
    }


def test_custom_profile_rules_are_valid_promql(tmp_path):
    profile = parse_profile('[profile]\nagent_label = "service"\n[metrics]\nwer = { name = "asr_wer_percent", scale = 0.01 }\n', "p.toml")
    (tmp_path / "r.yml").write_text(build_rules(ThresholdSet(), profile).to_yaml())
    checked = promtool("check", "rules", str(tmp_path / "r.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_recording_rules_pass_promtool_for_a_custom_profile(tmp_path):
    require_binary("promtool")
    profile = tmp_path / "p.toml"
    profile.write_text(
        '[profile]\nagent_label = "service"\nrate_window = "2m"\nrecording_rules = true\n'
        '[labels]\noutcome = "result"\n[promql]\nstt = \'histogram_quantile($q, sum by (le, service) (rate(x_bucket[5m])))\'\n'
    )
    made = voicetop("rules", "--recording", "--profile", str(profile), "--group-prefix", "prod-")
    assert made.returncode == 0, made.stderr
    checked = promtool("check", "rules", "/dev/stdin", stdin=made.stdout)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert 'name: "prod-voicetop-recording"' in made.stdout
    assert "service_le:livekit_llm_ttft_ms_bucket:rate2m" in made.stdout
    assert "x_bucket" not in made.stdout  # a raw PromQL stage is read as written, not recorded
    assert 'service:livekit_tool_calls_total_result_success:rate2m' in made.stdout
