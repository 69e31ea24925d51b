"""Panels read from voicetop's recording rules equal the panels computed from raw series.

The rules of ``voicetop rules --recording`` are evaluated by Debian's promtool
(``tsdb create-blocks-from rules``) over the canonical scenario and over the
term panels' awkward cases, into a copy of their TSDBs; a real Prometheus
serves them.  Every stat, per agent, fleet and component, must then equal
what the same source computes without the rules (itself held equal to the
server's own PromQL by test_prometheus_quantiles/test_prometheus_terms).

Prometheus (and promtool) evaluate a rule group at a fixed offset within its
interval, hashed from the group, so a recorded value at a step is the one
evaluated up to an interval before it.  The comparisons therefore use a
window shifted onto the evaluation times, where both must agree exactly.
"""

from __future__ import annotations

import math
import shutil
from contextlib import contextmanager
from dataclasses import replace
from typing import Iterator

import pytest

from tests.integration.test_prometheus_incremental import incident_window
from tests.integration.test_prometheus_terms import MINUTES, START, STEP, edge_openmetrics
from tests.support.server_answers import fetch_once, server_rows
from tests.support.servers import (
    PrometheusServer,
    VictoriaServer,
    backfill,
    recorded_prometheus,
    require_binary,
)
from voicetop.domain.model import MetricsResult, Window
from voicetop.profiles.metrics import SEED
from voicetop.sources.prometheus.queries import plan_queries, profile_recording_rules
from voicetop.sources.prometheus.source import NO_RECORDINGS, OLD_RECORDINGS

RECORDING = replace(SEED, recording_rules=True)
BLOCK = 7200.0  # promtool's block length: its rules backfill writes each block apart


def _recorded_server(work, tsdb, start: float, end: float) -> PrometheusServer:
    return recorded_prometheus(profile_recording_rules(RECORDING), work, tsdb, start, end, interval=STEP)


#: Tokens per session with a zero denominator (agent e: tokens, no completed session) among three agents.
ZERO_DENOMINATOR = {
    'livekit_requests_total{agent_id="a",component="llm"}': 6,
    'livekit_tokens_consumed_total{agent_id="a"}': 30,
    'livekit_sessions_completed_total{agent_id="a"}': 1,
    'livekit_tokens_consumed_total{agent_id="b"}': 20,
    'livekit_sessions_completed_total{agent_id="b"}': 2,
    'livekit_tokens_consumed_total{agent_id="e"}': 50,
    'livekit_sessions_completed_total{agent_id="e"}': 0,
}


@pytest.fixture(scope="module")
def recorded_zero_denominator(tmp_path_factory):
    require_binary("promtool")
    work = tmp_path_factory.mktemp("recorded-zero")
    backfill(edge_openmetrics(ZERO_DENOMINATOR), work / "tsdb", work)
    with _recorded_server(work, work / "tsdb", START, START + 60 * MINUTES) as server:
        yield server


@pytest.fixture(scope="module")
def recorded_edges(tmp_path_factory):
    require_binary("promtool")
    work = tmp_path_factory.mktemp("recorded-edges")
    backfill(edge_openmetrics(), work / "tsdb", work)
    with _recorded_server(work, work / "tsdb", START, START + 60 * MINUTES) as server:
        yield server


def on_evaluations(server: PrometheusServer, window: Window) -> Window:
    """``window`` shifted back onto the rules' evaluation times (less than a step)."""
    name = "agent_id_component:livekit_requests_total:rate5m"
    rows = server.query(f"{name}[{STEP:g}s]", at=window.end)
    evaluated = max(float(t) for row in rows for t, _ in row["values"])
    lag = window.end - evaluated
    assert 0 <= lag < STEP
    return Window(window.start - lag, window.end - lag, window.step)


def missed_evaluations(server: PrometheusServer, window: Window) -> frozenset[float]:
    """Steps of ``window`` (on the evaluation times) at which the backfill wrote no recorded sample.

    promtool's rules backfill evaluates each 2-hour block from the block's first
    whole second, after ending the block before at its last whole second, so an
    evaluation in the last second before a block boundary (one offset in 15, a
    hash of the rule file's path) is never written.  A recorded read there takes
    the evaluation before it; a live Prometheus has no such gap.
    """
    name = "agent_id_component:livekit_requests_total:rate5m"
    rows = server.query(f"{name}[{window.duration + STEP:g}s]", at=window.end)
    written = {round(float(t), 3) for row in rows for t, _ in row["values"]}
    missed = frozenset(t for t in window.timestamps() if round(t, 3) not in written)
    assert all(0 < math.ceil(t / BLOCK) * BLOCK - t < 1 for t in missed), sorted(missed)  # only at boundaries
    return missed


def assert_same_result(ours: MetricsResult, theirs: MetricsResult, skip: frozenset[float] = frozenset()) -> int:
    """The same stats and agents, NaN for NaN, equal values elsewhere (but at the ``skip`` steps);
    returns the series compared."""
    assert ours.errors == {} and theirs.errors == {}
    assert set(ours.series) == set(theirs.series)
    compared = 0
    for key, per_agent in theirs.series.items():
        assert set(ours.series[key]) == set(per_agent), key
        for agent, expected in per_agent.items():
            got = ours.series[key][agent]
            assert got.timestamps == expected.timestamps
            for timestamp, mine, value in zip(got.timestamps, got.values, expected.values):
                if timestamp in skip:
                    continue
                if math.isnan(value):
                    assert math.isnan(mine), (key, agent, timestamp, mine)
                else:
                    assert mine == pytest.approx(value, rel=1e-9, abs=1e-12), (key, agent, timestamp)
            compared += 1
    return compared


def recorded_lines(server: PrometheusServer, window: Window) -> str:
    """The server's recorded series over ``window`` (and 10 minutes before it: the step cache may
    ask for a little before) as Prometheus exposition lines with timestamps."""
    reach = Window(window.start - 600, window.end, window.step)
    lines = []
    for labels, values in server_rows(server.url, '{__name__=~".*:.*"}', reach):
        name = labels.pop("__name__")
        text = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
        lines.extend(f"{name}{{{text}}} {value!r} {round(t * 1000)}" for t, value in values.items())
    return "\n".join(lines) + "\n"


@contextmanager
def victoria_with_recordings(server: PrometheusServer, work, window: Window) -> Iterator[VictoriaServer]:
    """A VictoriaMetrics holding ``server``'s recorded series around ``window``, imported as they are."""
    with VictoriaServer(work) as victoria:
        victoria.import_prometheus(recorded_lines(server, window))
        yield victoria


def test_scenario_from_recordings_equals_the_computed_panels(recorded_scenario):
    window = on_evaluations(recorded_scenario, incident_window(recorded_scenario.scenario))
    recorded = fetch_once(recorded_scenario.url, RECORDING, window)
    computed = fetch_once(recorded_scenario.url, SEED, window)
    stage_keys = {key for query in plan_queries(RECORDING) if query.recorded for key in query.stats}
    assert stage_keys <= set(recorded.series)
    assert recorded.series["ttft_p99"]["billing"].last() > 1200  # the incident shows through the rules
    assert assert_same_result(recorded, computed, missed_evaluations(recorded_scenario, window)) > 100


def test_the_server_keeps_the_top_agents_of_each_recorded_quantile(recorded_scenario):
    """With fewer places than agents, the recorded stage panels send and keep the same top
    values per step as the computed ones (tied agents may differ, their values may not)."""
    window = on_evaluations(recorded_scenario, incident_window(recorded_scenario.scenario))
    recorded = fetch_once(recorded_scenario.url, replace(RECORDING, max_agents=2), window)
    computed = fetch_once(recorded_scenario.url, replace(SEED, max_agents=2), window)
    stage_queries = [query for query in plan_queries(replace(RECORDING, max_agents=2)) if query.recorded]
    missed = missed_evaluations(recorded_scenario, window)
    for query in stage_queries:
        steps: dict[float, int] = {}
        for labels, values in server_rows(recorded_scenario.url, query.promql, window):
            if labels.get("agent_id") and labels["quantile"] == "0.99":
                for t in values:
                    steps[t] = steps.get(t, 0) + 1
        assert steps and max(steps.values()) == 2, query.name  # three agents, two places: cut on the server
        _assert_same_tops(recorded, computed, query.stats, window, missed)


def test_the_server_keeps_the_top_agents_of_each_recorded_stat(recorded_scenario):
    """The ratio panels' recorded stats too: two places per stat (per component pair for the
    split error rate), cut on the server, and the same top values as the computed panels."""
    window = on_evaluations(recorded_scenario, incident_window(recorded_scenario.scenario))
    recorded = fetch_once(recorded_scenario.url, replace(RECORDING, max_agents=2), window)
    computed = fetch_once(recorded_scenario.url, replace(SEED, max_agents=2), window)
    stat_queries = [query for query in plan_queries(replace(RECORDING, max_agents=2)) if query.recorded_stats]
    assert {query.name for query in stat_queries} == {"conversation", "tools", "errors", "capacity", "cost"}
    missed = missed_evaluations(recorded_scenario, window)
    for query in stat_queries:
        rows: dict[tuple[str, float], int] = {}
        for labels, values in server_rows(recorded_scenario.url, query.promql, window):
            if labels.get("agent_id"):
                for t in values:
                    rows[labels["__name__"], t] = rows.get((labels["__name__"], t), 0) + 1
        assert rows and max(rows.values()) == 2, query.name  # cut per name on the server
        keys = [key for key in computed.series if key in query.stats or key.startswith(query.split_prefix or "\0")]
        _assert_same_tops(recorded, computed, keys, window, missed)


def _assert_same_tops(recorded: MetricsResult, computed: MetricsResult, keys, window: Window, missed) -> None:
    for key in keys:
        assert key in recorded.series, key
        for index, t in enumerate(window.timestamps()):
            if t in missed:
                continue
            kept = [_top(result, key, index) for result in (recorded, computed)]
            assert len(kept[0]) <= 2 and kept[0] == pytest.approx(kept[1], rel=1e-9), (key, t)


def _top(result: MetricsResult, key: str, index: int) -> list[float]:
    """The agents' values of ``key`` at step ``index``, highest first."""
    values = [series.values[index] for agent, series in result.series[key].items() if agent is not None]
    return sorted((v for v in values if not math.isnan(v)), reverse=True)


def test_term_edge_cases_from_recordings_equal_the_computed_panels(recorded_edges):
    window = on_evaluations(recorded_edges, Window(START + 600, START + 1800, STEP))
    recorded = fetch_once(recorded_edges.url, RECORDING, window)
    computed = fetch_once(recorded_edges.url, SEED, window)
    assert {"error_rate_llm", "capacity", "tool_success_rate"} <= set(computed.series)
    assert assert_same_result(recorded, computed) > 20


def test_a_zero_denominator_ranks_last_in_the_servers_top_agents(recorded_zero_denominator):
    """x/0 is recorded as NaN, not +Inf: the server's topk then keeps the agents with values, as
    the computed panels do (NaN ranks last there), instead of the agent without sessions."""
    window = on_evaluations(recorded_zero_denominator, Window(START + 1200, START + 1800, STEP))
    missed = missed_evaluations(recorded_zero_denominator, window)
    two = {"recorded": replace(RECORDING, max_agents=2), "computed": replace(SEED, max_agents=2)}
    results = {name: fetch_once(recorded_zero_denominator.url, profile, window) for name, profile in two.items()}
    for name, result in results.items():
        tokens = result.series["tokens_per_session"]
        assert set(tokens) == {"a", "b", None}, name
        for agent, expected in (("a", 30.0), ("b", 10.0)):
            values = dict(zip(tokens[agent].timestamps, tokens[agent].values))
            assert all(values[t] == pytest.approx(expected) for t in window.timestamps() if t not in missed), name
    assert assert_same_result(results["recorded"], results["computed"], missed) > 5
    whole = fetch_once(recorded_zero_denominator.url, RECORDING, window).series["tokens_per_session"]
    assert all(math.isnan(value) for value in whole["e"].values)  # recorded, as NaN
    assert whole[None].last() == pytest.approx(100 / 3)  # the fleet's sums


def test_recording_profile_without_the_rules_names_the_fix(backfilled_prometheus):
    window = incident_window(backfilled_prometheus.scenario)
    result = fetch_once(backfilled_prometheus.url, RECORDING, window)
    assert result.errors["ttft_p99"] == NO_RECORDINGS
    assert result.errors["error_rate"] == NO_RECORDINGS
    assert "wer" in result.series and "wer" not in result.errors  # the quality panel reads raw series


def test_rules_without_the_stat_rules_name_the_fix(tmp_path, backfilled_tsdb, scenario):
    """Rules from before the stats were recorded (the terms and quantiles only): the ratio panels
    say to load the current rules instead of showing nothing; the stage panels read as before."""
    stat_records = {
        name for query in plan_queries(RECORDING) if query.recorded_stats
        for recording in query.recorded_stats.recordings for name, _ in recording.rules
    }
    older = [rule for rule in profile_recording_rules(RECORDING) if rule["record"] not in stat_records]
    assert stat_records and len(older) < len(profile_recording_rules(RECORDING))
    shutil.copytree(backfilled_tsdb, tmp_path / "tsdb")
    with recorded_prometheus(older, tmp_path, tmp_path / "tsdb", scenario.start, scenario.end, STEP) as server:
        window = on_evaluations(server, incident_window(scenario))
        result = fetch_once(server.url, RECORDING, window)
    ratio_stats = {key for query in plan_queries(RECORDING) if query.recorded_stats for key in query.stats}
    assert {key for key, reason in result.errors.items() if reason == OLD_RECORDINGS} == ratio_stats
    assert "ttft_p99" not in result.errors and result.series["ttft_p99"]["billing"].last() > 1200
    for key in ("active_sessions", "turn_rate"):  # a single term's stat is the term's own series per agent:
        assert None not in result.series[key] and len(result.series[key]) == 3  # only the fleet's is missing


def test_victoria_metrics_serves_the_recorded_series_alike(recorded_scenario, tmp_path):
    """The name-regex reads work on VictoriaMetrics too (recorded series imported as they are)."""
    require_binary("victoria-metrics")
    window = on_evaluations(recorded_scenario, incident_window(recorded_scenario.scenario))
    with victoria_with_recordings(recorded_scenario, tmp_path / "vm", window) as victoria:
        from_vm = fetch_once(victoria.url, RECORDING, window)
    from_prometheus = fetch_once(recorded_scenario.url, RECORDING, window)
    recorded_stats = {key for query in plan_queries(RECORDING) if query.reads_recordings for key in query.stats}
    ours = {key: per_agent for key, per_agent in from_vm.series.items() if key in recorded_stats}
    theirs = {key: per_agent for key, per_agent in from_prometheus.series.items() if key in recorded_stats}
    assert len(theirs) > 20
    missed = missed_evaluations(recorded_scenario, window)  # VictoriaMetrics may look back otherwise there
    compared = assert_same_result(replace(from_vm, series=ours), replace(from_prometheus, series=theirs), missed)
    assert compared > 80
