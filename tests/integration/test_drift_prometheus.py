"""Compare and drift against Debian's prometheus on an 8-day promtool backfill (issue #9).

``billing`` rolls out prompt v2.4.0 three hours before the end of the data:
cost per session ×2.5, TTS characters per turn ×3.  The acceptance: grouping
billing by prompt version isolates v2.4.0, and the cost drift breach names
the change with its moment.
"""

from __future__ import annotations

import time

import pytest

from tests.support.drift_scenario import NEW, OLD, drift_scenario, to_openmetrics
from tests.support.servers import PrometheusServer, backfill, require_binary
from voicetop.compare_view import CompareView
from voicetop.config import Connection
from voicetop.domain.compare import compare_agent, marker_text
from voicetop.domain.model import Severity
from voicetop.domain.thresholds import ThresholdSet
from voicetop.poller import Poller, ViewWindow
from voicetop.profiles.metrics import SEED
from voicetop.sources.prometheus import PrometheusSource

WINDOW = 6 * 3600.0
STEP = 300.0


@pytest.fixture(scope="module")
def drift_prometheus(tmp_path_factory):
    require_binary("promtool")
    require_binary("prometheus")
    scenario = drift_scenario()
    work = tmp_path_factory.mktemp("drift")
    backfill(to_openmetrics(scenario), work / "tsdb", work)
    server = PrometheusServer(work / "prom", tsdb=work / "tsdb")
    server.scenario = scenario
    with server:
        yield server


@pytest.fixture(scope="module")
def source(drift_prometheus):
    found = PrometheusSource(Connection(url=drift_prometheus.url), SEED)
    yield found
    found.close()


def poll(source, scenario, compare: CompareView, at: float | None = None):
    poller = Poller(source, ThresholdSet(), lambda frame: None,
                    view=ViewWindow(length=WINDOW, step=STEP, at=at or scenario.end))
    poller.set_compare(compare)
    return poller.poll_once()


@pytest.fixture(scope="module")
def frame(source, drift_prometheus):
    return poll(source, drift_prometheus.scenario, CompareView(group_by="prompt_version", baseline=True))


def drift_breaches(breaches, agent="billing"):
    return {(b.key, b.severity): b for b in breaches if b.agent_id == agent}


def test_acceptance_grouping_by_prompt_version_isolates_the_version_whose_cost_doubled(frame, drift_prometheus):
    scenario = drift_prometheus.scenario
    rows = {g.value: g for g in frame.grouping.for_agent("billing")}
    assert set(rows) == {OLD, NEW}
    new_cost = rows[NEW].stats.series["cost_per_session"]
    old_cost = rows[OLD].stats.series["cost_per_session"]
    assert new_cost.last() == pytest.approx(0.10)
    before = old_cost.timestamps.index(scenario.rollout - 3600)
    assert old_cost.values[before] == pytest.approx(0.04)
    assert new_cost.last() / old_cost.values[before] >= 2.0
    # the group breaches name the version; its predecessor never breaches
    groups = {(b.group, b.key, b.severity) for b in frame.grouping.breaches if b.agent_id == "billing"}
    assert (f"prompt_version={NEW}", "cost_per_session", Severity.CRITICAL) in groups
    assert not [g for g in groups if g[0] == f"prompt_version={OLD}"]
    # the agent's drift breach names the change and its moment
    breach = drift_breaches(frame.breaches)[("cost_per_session", Severity.CRITICAL)]
    assert breach.active and breach.change is not None
    assert (breach.change.old, breach.change.new, breach.change.label) == (OLD, NEW, "prompt_version")
    assert abs(breach.change.at - scenario.rollout) <= STEP
    moment = time.strftime("%H:%M", time.localtime(breach.change.at))
    assert marker_text(breach.change) == f"prompt {OLD} → {NEW} at {moment}"
    assert scenario.rollout <= breach.since <= scenario.rollout + 900


def test_only_the_drifted_stats_breach(frame):
    billing = drift_breaches(frame.breaches)
    assert {key for key, _ in billing} == {"cost_per_session", "tts_chars_per_turn"}
    assert ("tts_chars_per_turn", Severity.CRITICAL) in billing
    assert drift_breaches(frame.breaches, "support") == {}
    assert frame.agent("billing").severity is Severity.CRITICAL


def test_change_markers_mark_the_rollout_only(frame, drift_prometheus):
    (marker,) = frame.markers
    assert (marker.agent_id, marker.label, marker.old, marker.new) == ("billing", "prompt_version", OLD, NEW)
    assert abs(marker.at - drift_prometheus.scenario.rollout) <= STEP


def test_baseline_deltas_a_day_and_a_week_earlier(frame):
    assert [b.offset for b in frame.baselines] == [86400.0, 7 * 86400.0]
    for baseline in frame.baselines:
        billing = compare_agent(frame.agent("billing"), baseline, ["cost_per_session", "turns_per_session", "ttft_p99"])
        cost = billing["cost_per_session"]
        assert cost.then == pytest.approx(0.04) and cost.now == pytest.approx(0.10)
        assert cost.delta == pytest.approx(0.06) and cost.ratio == pytest.approx(2.5)
        assert cost.glyph() == "↑"
        assert billing["turns_per_session"].glyph() == "="
        assert billing["ttft_p99"].then == pytest.approx(billing["ttft_p99"].now)
        support = compare_agent(frame.agent("support"), baseline, ["cost_per_session"])
        assert support["cost_per_session"].glyph() == "="
        # the baseline series sit on today's timestamps, for sparkline overlays
        assert baseline.for_agent("billing")["cost_per_session"].timestamps == frame.window.timestamps()


def test_configurable_offset_reads_that_much_earlier(source, drift_prometheus):
    scenario = drift_prometheus.scenario
    frame = poll(source, scenario, CompareView(baseline=True, offsets=(2 * 3600.0,)), at=scenario.end)
    (baseline,) = frame.baselines
    then = baseline.for_agent("billing")["cost_per_session"]
    # two hours back from the end is one hour after the rollout: new cost; earlier steps: old cost
    assert then.last() == pytest.approx(0.10)
    assert then.values[0] == pytest.approx(0.04)


def test_group_by_model_fleet_wide_and_missing_label(source, drift_prometheus):
    scenario = drift_prometheus.scenario
    frame = poll(source, scenario, CompareView(group_by="model"))
    fleet = {g.value: g for g in frame.grouping.for_agent(None)}
    assert set(fleet) == {"gpt-4o-mini"}
    assert fleet["gpt-4o-mini"].stats.stat("ttft_p99") == pytest.approx(590, rel=0.02)
    # cost counters carry no model label: the model rows have no cost
    assert fleet["gpt-4o-mini"].stats.scalar("cost_per_session") is None
    region = poll(source, scenario, CompareView(group_by="region"))
    assert region.grouping.groups == ()


def check(url, at, *gates):
    from voicetop.cli import main

    return main(["check", "--prometheus", url, "--at", str(at), "--window", "15m", "--step", "5m", *gates])


def test_check_drift_gates(drift_prometheus, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-voicetop-test")
    monkeypatch.delenv("VOICETOP_CONFIG", raising=False)
    url, end = drift_prometheus.url, drift_prometheus.scenario.end
    assert check(url, end, "--drift", "cost_per_session=2", "--agent", "billing") == 1
    out = capsys.readouterr().out
    assert "billing" in out and "× baseline" in out
    assert check(url, end, "--drift", "cost_per_session=2", "--agent", "support") == 0
    capsys.readouterr()
    # every drift threshold at its critical factor, per agent: billing's cost and verbosity fail
    assert check(url, end, "--drift-gates", "--each-agent", "--json") == 1
    import json

    report = json.loads(capsys.readouterr().out)
    failed = {(g["key"], g["agent_id"]) for g in report["gates"] if g["status"] == "fail"}
    assert failed == {("cost_per_session", "billing"), ("tts_chars_per_turn", "billing")}
    # before the rollout every drift gate holds
    assert check(url, drift_prometheus.scenario.rollout - 3600, "--drift-gates", "--each-agent") == 0


def instant(server, promql: str, at: float) -> list:
    import json
    from urllib.parse import quote

    from tests.support.servers import http_get

    status, body = http_get(f"{server.url}/api/v1/query?query={quote(promql)}&time={at}", timeout=10)
    assert status == 200, body[:300]
    return json.loads(body)["data"]["result"]


def test_generated_drift_rules_fire_for_the_drifted_agent_only(drift_prometheus):
    from voicetop.alerting.rules import KEY_LABEL, build_rules

    ruleset = build_rules(ThresholdSet(), SEED)
    assert ruleset.skipped == ()
    by_key = {(r.labels[KEY_LABEL], r.labels["severity"]): r for r in ruleset.rules()}
    for key in ("tts_chars_per_turn", "turns_per_session_drift", "tool_call_rate", "cost_per_session"):
        assert (key, "critical") in by_key
    end = drift_prometheus.scenario.end
    fired = {
        key: sorted(row["metric"]["agent_id"] for row in instant(drift_prometheus, rule.expr, end))
        for (key, severity), rule in by_key.items() if severity == "critical" and rule in ruleset.rules()
        and key in ("cost_per_session", "tts_chars_per_turn", "turns_per_session_drift", "tool_call_rate", "tokens_per_session")
    }
    assert fired == {"cost_per_session": ["billing"], "tts_chars_per_turn": ["billing"],
                     "turns_per_session_drift": [], "tool_call_rate": [], "tokens_per_session": []}
