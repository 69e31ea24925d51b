"""PrometheusSource against Debian's prometheus on a promtool-backfilled TSDB."""

from __future__ import annotations

import math

import pytest

from tests.support.assertions import assert_incident_breaches
from voicetop.cli import build_parser
from voicetop.commands.common import effective_config, view_window
from voicetop.config import Connection
from voicetop.domain.frame_builder import build_frame
from voicetop.domain.model import HealthState, Window, all_stat_keys
from voicetop.domain.thresholds import ThresholdSet
from voicetop.domain.timeparse import rfc3339
from voicetop.poller import Poller
from voicetop.profiles.metrics import SEED, parse_profile
from voicetop.sources.factory import metrics_source
from voicetop.sources.prometheus import PrometheusSource
from voicetop.sources.prometheus.queries import plan_queries
from tests.support.user_config import no_user_config  # noqa: F401 (autouse)

STEP = 15.0


def incident_window(scenario) -> Window:
    end = scenario.incident.start + 2400  # 40 min after the incident began
    return Window(end - 3600, end, STEP)


def test_at_window_through_cli_factory_and_poller_reports_the_incident(backfilled_prometheus):
    scenario = backfilled_prometheus.scenario
    at = scenario.incident.start + 2400
    args = build_parser().parse_args(
        ["--prometheus", backfilled_prometheus.url, "--at", rfc3339(at), "--window", "60m", "--step", "15s"]
    )
    config = effective_config(args)
    source = metrics_source(config)
    try:
        view = view_window(args, config, source.now())
        poller = Poller(source, config.context.thresholds, lambda frame: None, view=view)
        frame = poller.poll_once()
    finally:
        source.close()
    assert frame.mode == "at"
    assert frame.window == Window(at - 3600, at, STEP)
    assert [h.state for h in frame.health] == [HealthState.OK]
    assert [a.agent_id for a in frame.agents] == ["billing", "sales", "support"]
    assert_incident_breaches(frame, scenario, STEP)


def test_every_seed_stat_has_the_scenario_values(backfilled_prometheus):
    scenario = backfilled_prometheus.scenario
    source = PrometheusSource(Connection(url=backfilled_prometheus.url), SEED)
    try:
        result = source.fetch(incident_window(scenario))
    finally:
        source.close()
    assert result.errors == {}
    assert result.queries == len(plan_queries(SEED)) == 13
    for key in all_stat_keys():
        assert set(result.series[key]) == {None, "billing", "sales", "support"}, key
        for series in result.series[key].values():
            assert len(series) == 241, key
            if not key.endswith("_baseline"):  # hourly baseline points may predate the data
                assert all(not math.isnan(v) for v in series.values), key
    last = {key: result.series[key]["sales"].last() for key in all_stat_keys()}
    assert last["ttft_p50"] == pytest.approx(200)
    assert last["ttft_p99"] == pytest.approx(590)
    assert last["e2e_p90"] == pytest.approx(1800)
    assert last["stt_p90"] == pytest.approx(130)
    assert last["wer"] == pytest.approx(0.03)
    assert last["mos"] == pytest.approx(4.5)
    assert last["capacity"] == pytest.approx(0.3)
    assert last["interruption_rate"] == pytest.approx(0.05)
    assert last["tool_success_rate"] == pytest.approx(1.0)
    assert last["error_rate"] == pytest.approx(0.0)
    assert last["turns_per_session"] == pytest.approx(5.0)
    assert last["tokens_per_session"] == pytest.approx(2000)
    assert last["tokens_per_session_baseline"] == pytest.approx(2000)
    assert last["cost_per_session"] == pytest.approx(0.04)
    assert last["tts_chars_per_turn"] == pytest.approx(100)
    assert last["turn_rate"] == pytest.approx(2 / 15)
    assert result.series["active_sessions"][None].last() == pytest.approx(9)
    assert result.series["error_rate_llm"]["billing"].last() == pytest.approx(0.0)
    # the incident itself: billing's p99 during it is in the 1500-2000 ms bucket
    during = result.series["ttft_p99"]["billing"]
    index = during.timestamps.index(scenario.incident.start + 600)
    assert 1500 < during.values[index] <= 2000


def test_user_profile_with_raw_promql_scale_and_disabled_stat(backfilled_prometheus):
    scenario = backfilled_prometheus.scenario
    profile = parse_profile(
        """
        [profile]
        name = "ops"
        [metrics]
        ttft = { name = "livekit_llm_ttft_ms", scale = 0.001 }   # pretend: show seconds
        [promql]
        wer = { agent = 'avg by (agent_id) (livekit_asr_wer) * 100', fleet = 'max(livekit_asr_wer)' }
        mos = ''
        """,
        "ops.toml",
    )
    source = PrometheusSource(Connection(url=backfilled_prometheus.url), profile)
    try:
        result = source.fetch(incident_window(scenario))
    finally:
        source.close()
    assert result.errors == {}
    assert "mos" not in result.series
    assert result.series["wer"]["billing"].last() == pytest.approx(3.0)
    assert result.series["wer"][None].last() == pytest.approx(0.03)
    assert result.series["ttft_p50"]["billing"].last() == pytest.approx(0.2)
    # one extra query for the raw stat, still independent of the number of agents
    assert result.queries == 14


def test_bad_raw_promql_fails_only_its_stat(backfilled_prometheus):
    scenario = backfilled_prometheus.scenario
    profile = parse_profile("[promql]\nrtf = 'avg by (agent_id) (livekit_stt_rtf'\n", "bad.toml")
    source = PrometheusSource(Connection(url=backfilled_prometheus.url), profile)
    try:
        result = source.fetch(incident_window(scenario))
    finally:
        source.close()
    assert set(result.errors) == {"rtf"}
    assert result.errors["rtf"].startswith("HTTP 400 from prometheus: Bad Request (bad_data: ")
    assert "rtf" not in result.series
    assert result.series["wer"]["billing"].last() == pytest.approx(0.03)
    frame = build_frame(result, ThresholdSet(), (), created_at=0.0)
    assert frame.agent("billing").scalar("rtf") is None
