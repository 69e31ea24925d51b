"""The demo fleet: determinism, PromQL-equal stats, the scripted incidents, the clock."""

from __future__ import annotations

import math
import time

import pytest

from voicetop.domain.frame_builder import build_frame
from voicetop.domain.model import Severity, Window, all_stat_keys
from voicetop.domain.stats import histogram_quantile, percentile
from voicetop.domain.thresholds import ThresholdSet
from voicetop.sources.base import MetricsSource, TraceSource
from voicetop.sources.demo import DemoFleet
from voicetop.sources.demo.incidents import INCIDENTS, LOOP_SECONDS
from voicetop.sources.demo.rollout import PROMPT_ROLLOUT

START = 1_767_225_600.0  # 2026-01-01T00:00Z


def window_at(t: float, length: float = 900.0, step: float = 15.0) -> Window:
    end = math.floor(t / step) * step
    return Window(end - length, end, step)


def frame_at(fleet: DemoFleet, length: float = 900.0):
    window = window_at(fleet.now(), length)
    return build_frame(fleet.metrics.fetch(window), ThresholdSet(), [], created_at=window.end)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.fixture(scope="module")
def launched() -> DemoFleet:
    """A frozen fleet at launch; tests must not advance it."""
    return DemoFleet(seed=7, speed=0, start=START)


def test_construction_and_first_fetch_are_quick():
    began = time.perf_counter()
    fleet = DemoFleet(seed=3, speed=0, start=START)
    built = time.perf_counter()
    fleet.metrics.fetch(window_at(fleet.now()))
    fetched = time.perf_counter()
    fleet.metrics.fetch(window_at(fleet.now()))
    again = time.perf_counter()
    print(f"\ndemo fleet: construction {built - began:.3f}s, first 15m/15s fetch {fetched - built:.3f}s, "
          f"cached fetch {again - fetched:.4f}s")
    assert fetched - began < 10.0  # generous: timing belongs in bench/, this only catches blow-ups


def test_implements_the_source_protocols(launched):
    assert isinstance(launched.metrics, MetricsSource)
    assert isinstance(launched.traces, TraceSource)
    assert launched.metrics.name == "demo" and launched.traces.name == "demo-traces"
    assert launched.metrics.alerts() == []


def test_fetch_publishes_every_stat_for_every_agent_and_the_fleet(launched):
    window = window_at(launched.now())
    result = launched.metrics.fetch(window)
    assert result.agent_ids() == tuple(sorted(launched.agent_ids))
    assert len(launched.agent_ids) == 12
    for key in all_stat_keys():
        for agent in launched.agent_ids + (None,):
            series = result.series[key][agent]
            assert series.timestamps == window.timestamps()
            assert series.last() is not None, (key, agent)
    sessions = result.series["active_sessions"][None].last()
    assert 180 <= sessions <= 400
    assert sessions == sum(result.series["active_sessions"][a].last() for a in launched.agent_ids)


def test_no_data_before_the_history_begins(launched):
    before = Window(START - 4000, START - 2000, 60)
    result = launched.metrics.fetch(before)
    assert all(math.isnan(v) for v in result.series["ttft_p99"]["billing-agent"].values)
    assert all(math.isnan(v) for v in result.series["active_sessions"][None].values)


def test_same_seed_and_start_give_identical_results():
    one = DemoFleet(seed=11, speed=0, start=START)
    two = DemoFleet(seed=11, speed=0, start=START)
    other = DemoFleet(seed=12, speed=0, start=START)
    window = window_at(START)
    a, b, c = (f.metrics.fetch(window) for f in (one, two, other))
    for key in all_stat_keys():
        for agent in one.agent_ids + (None,):
            assert all(map(same, a.series[key][agent].values, b.series[key][agent].values)), (key, agent)
    assert a.series["e2e_p50"]["triage"].values != c.series["e2e_p50"]["triage"].values
    # Advancing in several small steps simulates exactly what one big step does.
    one.advance(100)
    one.advance(200)
    two.advance(300)
    later = window_at(START + 300)
    assert one.metrics.fetch(later).series == two.metrics.fetch(later).series
    assert [t.trace_id for t in one.traces.recent_turns(None, START, START + 300)] == [
        t.trace_id for t in two.traces.recent_turns(None, START, START + 300)
    ]


def test_percentiles_are_histogram_quantile_of_the_raw_bucket_increases(launched):
    t = math.floor(launched.now() / 15) * 15
    result = launched.metrics.fetch(Window(t, t, 15))
    store = launched.store
    lo, hi = store.range_rows(t, 300.0)
    for stage, metric, agent, labels in (
        ("ttft", "livekit_llm_ttft_ms", "billing-agent", {"model": "gpt-4o-mini", "prompt_version": "v1.8.0"}),
        ("stt", "livekit_stt_duration_ms", "support-es", {"provider": "deepgram"}),
        ("e2e", "livekit_e2e_latency_ms", "triage", {}),
    ):
        buckets = []
        for i, (name, pairs) in enumerate(store.columns):
            found = dict(pairs)
            if name == f"{metric}_bucket" and found.pop("agent_id") == agent:
                le = float(found.pop("le"))
                assert found == labels
                buckets.append((le, store.value(hi, i) - store.value(lo, i)))
        assert len(buckets) >= 10
        for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
            expected = histogram_quantile(q, buckets)
            assert result.series[f"{stage}_{name}"][agent].values[-1] == pytest.approx(expected, rel=1e-9)


def test_percentiles_roughly_match_the_true_sample_percentiles():
    fleet = DemoFleet(seed=5, speed=0, start=START)
    fleet.advance(300)  # every turn of the last 5 minutes now has spans
    t = math.floor(fleet.now() / 15) * 15
    result = fleet.metrics.fetch(Window(t, t, 15))
    for agent in ("triage", "support-en", "restaurant-orders"):
        turns = fleet.traces.recent_turns(agent, t - 300, t, limit=10_000)
        assert len(turns) > 100
        for stage, q, name in (("ttft", 0.5, "p50"), ("e2e", 0.5, "p50"), ("e2e", 0.9, "p90"), ("eou", 0.9, "p90")):
            true = percentile([turn.stages[stage] for turn in turns], q)
            estimate = result.series[f"{stage}_{name}"][agent].values[-1]
            assert estimate == pytest.approx(true, rel=0.25), (agent, stage, name)


def test_at_launch_a_critical_and_a_warning_breach_have_lasted_five_minutes(launched):
    frame = frame_at(launched)
    now = frame.window.end
    lasting = {b.severity for b in frame.active_breaches() if b.duration(now) >= 300}
    assert {Severity.CRITICAL, Severity.WARNING} <= lasting
    keys = {(b.agent_id, b.key, b.severity) for b in frame.active_breaches() if b.duration(now) >= 300}
    assert ("billing-agent", "ttft_p99", Severity.CRITICAL) in keys
    assert ("support-es", "stt_p90", Severity.WARNING) in keys


def test_launch_breaches_stay_active_for_another_minute():
    fleet = DemoFleet(seed=7, speed=0, start=START)
    fleet.advance(75)
    frame = frame_at(fleet)
    keys = {(b.agent_id, b.key, b.severity) for b in frame.active_breaches()}
    assert ("billing-agent", "ttft_p99", Severity.CRITICAL) in keys
    assert ("support-es", "stt_p90", Severity.WARNING) in keys


def test_healthy_agents_never_breach(launched):
    incident_agents = {i.agent_id for i in INCIDENTS} | {PROMPT_ROLLOUT.agent_id}  # the rollout drifts
    fleet = DemoFleet(seed=9, speed=0, start=START)
    for f in (launched, fleet):
        for length in (1800.0,):
            frame = frame_at(f, length)
            healthy = [b for b in frame.breaches if b.agent_id is not None and b.agent_id not in incident_agents]
            assert healthy == []
    fleet.advance(LOOP_SECONDS)
    frame = frame_at(fleet, 900.0)
    assert [b for b in frame.breaches if b.agent_id not in incident_agents | {None}] == []
    agent = frame.agent("triage")
    assert agent.stat("ttft_p99") < 800 and agent.stat("stt_p90") < 200 and agent.stat("tts_p90") < 150
    assert agent.scalar("capacity") < 0.8 and agent.scalar("tool_success_rate") > 0.99


def test_advance_moves_the_incident_loop():
    fleet = DemoFleet(seed=7, speed=0, start=START)
    fleet.advance(270)
    frame = frame_at(fleet)
    active = {(b.agent_id, b.key, b.severity) for b in frame.active_breaches()}
    assert ("booking", "tool_success_rate", Severity.CRITICAL) in active
    assert ("support-en", "capacity", Severity.CRITICAL) in active
    assert not any(agent == "billing-agent" for agent, _, _ in active)
    timeouts = frame.agent("booking").series["tool_success_rate"]
    assert min(timeouts.finite_values()) < 0.95
    # One loop later the LLM slowdown is back.
    fleet.advance(LOOP_SECONDS - 270)
    again = {(b.agent_id, b.key, b.severity) for b in frame_at(fleet).active_breaches()}
    assert ("billing-agent", "ttft_p99", Severity.CRITICAL) in again


def test_clock_is_frozen_at_speed_zero_and_runs_faster_at_higher_speed():
    frozen = DemoFleet(seed=1, speed=0, start=START, history=120)
    assert frozen.now() == START
    assert frozen.advance(42.5) == pytest.approx(START + 42.5)
    assert frozen.now() == pytest.approx(START + 42.5)
    with pytest.raises(ValueError):
        frozen.advance(-1)
    fast = DemoFleet(seed=1, speed=200, start=START, history=120)
    t0 = fast.now()
    time.sleep(0.1)
    assert fast.now() - t0 >= 15.0  # 0.1 s of wall time is >= 20 s simulated
    live = DemoFleet(seed=1, history=60)
    assert abs(live.now() - time.time()) < 5.0


def test_fetch_only_evaluates_new_steps():
    fleet = DemoFleet(seed=2, speed=0, start=START, history=900)
    window = window_at(fleet.now())
    fleet.metrics.fetch(window)
    before = fleet.metrics.evaluations
    fleet.metrics.fetch(window)
    assert fleet.metrics.evaluations == before
    fleet.advance(30)
    fleet.metrics.fetch(window_at(fleet.now()))
    assert fleet.metrics.evaluations == before + 2


def test_fewer_or_more_agents():
    small = DemoFleet(seed=1, speed=0, start=START, agents=3, history=300)
    assert small.agent_ids == ("billing-agent", "support-en", "support-es")
    big = DemoFleet(seed=1, speed=0, start=START, agents=14, history=60)
    assert len(set(big.agent_ids)) == 14 and "billing-agent-2" in big.agent_ids
    with pytest.raises(ValueError):
        DemoFleet(agents=0)
