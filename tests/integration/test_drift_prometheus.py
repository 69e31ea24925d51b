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
