"""Client-side stage quantiles and incremental windows against Debian's prometheus.

The source fetches one bucket-rate query per histogram and computes the
quantiles itself; they must equal the server's own ``histogram_quantile`` on
the same data.  Later refreshes ask only for the steps they lack; the result
must equal a fresh source's whole-window answer.
"""

from __future__ import annotations

import math

import pytest

from voicetop.config import Connection
from voicetop.domain.model import QUANTILES, STAGES, Window, stage_stat_key
from voicetop.profiles.metrics import SEED, parse_profile
from voicetop.sources.prometheus import PrometheusSource
from voicetop.sources.prometheus.increments import SETTLE
from tests.support.server_answers import fetch_once, server_matrix

STEP = 15.0


def incident_window(scenario, shift: float = 0.0) -> Window:
    end = scenario.incident.start + 1200 + shift  # the incident is under way
    return Window(end - 1800, end, STEP)


def assert_same(ours, theirs: dict[float, float], what: str) -> None:
    values = dict(zip(ours.timestamps, ours.values))
    for timestamp, value in values.items():
        expected = theirs.get(timestamp, math.nan)
        if math.isnan(expected):
            assert math.isnan(value), (what, timestamp)
        else:
            assert value == pytest.approx(expected, rel=1e-9, abs=1e-9), (what, timestamp)
    assert set(theirs) <= set(values), what


def test_client_side_quantiles_equal_the_servers_histogram_quantile(backfilled_prometheus):
    url = backfilled_prometheus.url
    window = incident_window(backfilled_prometheus.scenario)
    result = fetch_once(url, SEED, window)
    assert result.errors == {}
    compared = 0
    for stage in STAGES:
        metric = SEED.metrics[stage].name
        for quantile, q in QUANTILES:
            key = stage_stat_key(stage, quantile)
            agents = server_matrix(url, f"histogram_quantile({q}, sum by (le, agent_id) (rate({metric}_bucket[5m])))", window)
            fleet = server_matrix(url, f"histogram_quantile({q}, sum by (le) (rate({metric}_bucket[5m])))", window)
            assert set(result.series[key]) == set(agents) | {None}, key
            for agent, theirs in agents.items():
                assert_same(result.series[key][agent], theirs, f"{key} {agent}")
            assert_same(result.series[key][None], fleet[None], f"{key} fleet")
            compared += 1
    assert compared == len(STAGES) * len(QUANTILES)
    # the incident shows: billing's TTFT p99 in the 1500-2000 ms bucket
    assert 1500 < result.series["ttft_p99"]["billing"].last() <= 2000


def test_client_side_topk_keeps_the_servers_agents_per_step(backfilled_prometheus):
    url = backfilled_prometheus.url
    window = incident_window(backfilled_prometheus.scenario)
    profile = parse_profile("[profile]\nmax_agents = 1\n", "top1.toml")
    result = fetch_once(url, profile, window)
    expected = server_matrix(
        url, "topk(1, histogram_quantile(0.99, sum by (le, agent_id) (rate(livekit_llm_ttft_ms_bucket[5m]))))", window
    )
    ours = {agent: s for agent, s in result.series["ttft_p99"].items() if agent is not None}
    assert "billing" in ours  # the incident's agent tops the table
    # at every step the same single value is kept (agents tied on it may differ)
    for timestamp in window.timestamps():
        kept = [v for s in ours.values() for t, v in zip(s.timestamps, s.values) if t == timestamp and not math.isnan(v)]
        theirs = [values[timestamp] for values in expected.values() if timestamp in values]
        assert kept == pytest.approx(theirs, rel=1e-9), timestamp


@pytest.mark.parametrize("shift", [STEP, -STEP, 4 * STEP], ids=["live", "back", "four-steps"])
def test_later_refreshes_fetch_only_new_steps_and_equal_a_full_fetch(backfilled_prometheus, shift):
    url = backfilled_prometheus.url
    first = incident_window(backfilled_prometheus.scenario)
    moved = incident_window(backfilled_prometheus.scenario, shift)
    source = PrometheusSource(Connection(url=url), SEED)
    fresh = PrometheusSource(Connection(url=url), SEED)
    try:
        source.fetch(first)
        spans = {(float(r.start), float(r.end)) for r in source.last_requests if r.step == "15"}  # in chunks
        assert min(a for a, _ in spans) == first.start and max(b for _, b in spans) == first.end
        assert sum((b - a) / STEP + 1 for a, b in spans) == len(first.timestamps())
        incremental = source.fetch(moved)
        requests = source.last_requests
        full = fresh.fetch(moved)
    finally:
        source.close()
        fresh.close()
    new = (moved.end - abs(shift) + STEP, moved.end) if shift > 0 else (moved.start, moved.start - shift - STEP)
    stepped = [r for r in requests if r.step == "15"]  # the baselines ask once an hour (step 3600)
    assert len(stepped) == len([q for q in source.queries if not q.period])
    assert {(r.start, r.end) for r in stepped} == {(f"{new[0]:.3f}", f"{new[1]:.3f}")}
    hours = {math.floor(t / 3600) for t in moved.timestamps()} - {math.floor(t / 3600) for t in first.timestamps()}
    assert {r.start for r in requests if r.step == "3600"} == {f"{h * 3600:.3f}" for h in sorted(hours)[:1]}
    assert incremental.errors == full.errors == {}
    assert full.series["tokens_per_session_baseline"]  # the held baselines are compared too
    assert set(incremental.series) == set(full.series)
    assert_same_series(incremental, full)


def test_held_baselines_equal_the_servers_answer_at_every_step(backfilled_prometheus):
    """avg_over_time(x[7d:1h]) fetched once an hour and held equals the server's value at each 15 s step."""
    url = backfilled_prometheus.url
    end = backfilled_prometheus.scenario.incident.start + 1200
    end -= end % 3600 - 900  # a window that crosses a whole hour
    window = Window(end - 1800, end, STEP)
    source = PrometheusSource(Connection(url=url), SEED)
    try:
        result = source.fetch(window)
        held = [r for r in source.last_requests if r.step == "3600"]
    finally:
        source.close()
    assert [(float(r.start), float(r.end)) for r in held] == [(end - 900 - 3600, end - 900)]
    compared = 0
    for stat in ("tokens_per_session", "cost_per_session", "turns_per_session"):
        expr = SEED.stat_expr(f"{stat}_baseline")
        for scope, promql in ((None, expr.fleet), ("agents", expr.agent)):
            theirs = server_matrix(url, promql, window)
            for agent, values in theirs.items():
                ours = result.series[f"{stat}_baseline"][agent if scope else None]
                assert_same(ours, values, (stat, agent))
                compared += 1
    assert compared > 6


@pytest.mark.parametrize("server", ["backfilled_prometheus", "victoria"])
def test_a_live_step_reads_the_step_settled_since_and_the_new_one_and_equals_a_full_fetch(request, server):
    """Two points, a minute apart, with one range query (VictoriaMetrics aligns only long ranges)."""
    backend = request.getfixturevalue(server)
    url = backend.url
    first = incident_window(backend.scenario)
    moved = incident_window(backend.scenario, STEP)
    source = PrometheusSource(Connection(url=url), SEED)
    fresh = PrometheusSource(Connection(url=url), SEED)
    clock = [first.end]
    source.now = lambda: clock[0]  # a live console: the window ends now, the last minute is unsettled
    try:
        source.fetch(first)
        source.fetch(first)  # between two steps: the newest step only
        assert {(r.start, r.end, r.step) for r in source.last_requests if r.step != "3600"} == {
            (f"{first.end:.3f}", f"{first.end:.3f}", "15")}
        clock[0] = moved.end
        incremental = source.fetch(moved)
        requests = [r for r in source.last_requests if r.step != "3600"]
        full = fresh.fetch(moved)
    finally:
        source.close()
        fresh.close()
    settled_since = moved.end - SETTLE  # the step that left the last minute
    assert len(requests) == len([q for q in source.queries if not q.period])
    assert {(r.start, r.end, r.step) for r in requests} == {
        (f"{settled_since:.3f}", f"{moved.end:.3f}", f"{moved.end - settled_since:g}")}
    assert incremental.errors == full.errors == {}
    assert_same_series(incremental, full)  # the server's data does not change: the same values


def assert_same_series(incremental, full) -> None:
    """Every stat and agent of ``full`` has the same timestamps and values (NaN alike) in ``incremental``."""
    for stat, per_agent in full.series.items():
        assert set(incremental.series[stat]) == set(per_agent), stat
        for agent, series in per_agent.items():
            ours = incremental.series[stat][agent]
            assert ours.timestamps == series.timestamps
            assert [None if math.isnan(v) else v for v in ours.values] == pytest.approx(
                [None if math.isnan(v) else v for v in series.values], rel=1e-12
            ), (stat, agent)
