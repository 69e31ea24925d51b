"""The demo's history in two parts: the recent minutes first, the earlier part spliced in front."""

from __future__ import annotations

import math
import random
from types import SimpleNamespace

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from voicetop.commands.console import _complete_demo_history
from voicetop.domain.model import QUANTILES, Window, all_stat_keys
from voicetop.domain.stats import histogram_quantile
from voicetop.sources.demo import DemoFleet
from voicetop.sources.demo.evaluator import _quantiles
from voicetop.sources.demo.history import RECENT_SECONDS
from voicetop.sources.demo.instruments import GAUGE_METRICS
from voicetop.sources.demo.tsdb import ScrapeStore

START = 1_767_225_600.0  # 2026-01-01T00:00Z
WINDOW = Window(START - 900, START, 15)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def counter_columns(fleet: DemoFleet) -> list[int]:
    return [i for i, (name, _) in enumerate(fleet.store.columns) if name not in GAUGE_METRICS]


def turns_in_registry(fleet: DemoFleet) -> float:
    return sum(
        sample.value for family in fleet.registry.collect() if family.name == "livekit_conversation_turns"
        for sample in family.samples if sample.name.endswith("_total")
    )


@pytest.fixture(scope="module")
def complete() -> DemoFleet:
    return DemoFleet(seed=7, speed=0, start=START)


def test_a_deferred_fleet_has_the_recent_minutes_only_and_its_first_window_has_data():
    fleet = DemoFleet(seed=7, speed=0, start=START, defer_history=True)
    assert not fleet.history_complete
    assert fleet.store.times[0] > START - RECENT_SECONDS
    result = fleet.metrics.fetch(WINDOW)
    for agent in fleet.agent_ids:
        assert result.series["e2e_p90"][agent].last() > 0
        assert result.series["active_sessions"][agent].last() > 0
    assert math.isnan(result.series["e2e_p90"]["triage"].values[0])  # before the recent minutes
    assert fleet.span_store.turns() == []  # spans wait for the earlier history


def test_completing_later_gives_exactly_the_fleet_built_at_once(complete):
    deferred = DemoFleet(seed=7, speed=0, start=START, defer_history=True)
    deferred.metrics.fetch(WINDOW)  # a first frame before the earlier history
    deferred.complete_history()
    assert deferred.history_complete
    assert deferred.store.times == complete.store.times
    assert all(deferred.store.row(i) == complete.store.row(i) for i in range(len(complete.store)))
    assert deferred.telephony.store.times == complete.telephony.store.times
    a, b = deferred.metrics.fetch(WINDOW), complete.metrics.fetch(WINDOW)
    for key in all_stat_keys():
        for agent in complete.agent_ids + (None,):
            assert all(map(same, a.series[key][agent].values, b.series[key][agent].values)), (key, agent)
    assert [t.trace_id for _, t, _ in deferred.span_store.turns()] == [t.trace_id for _, t, _ in complete.span_store.turns()]
    assert turns_in_registry(deferred) == turns_in_registry(complete)


def test_live_time_may_pass_before_the_history_completes():
    waited = DemoFleet(seed=4, speed=0, start=START, defer_history=True)
    waited.advance(90)
    waited.metrics.fetch(Window(START - 810, START + 90, 15))
    waited.complete_history()
    at_once = DemoFleet(seed=4, speed=0, start=START)
    at_once.advance(90)
    later = Window(START - 810, START + 90, 15)
    a, b = waited.metrics.fetch(later).series, at_once.metrics.fetch(later).series
    # Float totals (sums, costs) got the earlier history's totals added after
    # the live increments instead of before: equal up to the last bit.
    for key, per_agent in b.items():
        for agent, series in per_agent.items():
            for x, y in zip(a[key][agent].values, series.values):
                assert same(x, y) or x == pytest.approx(y, rel=1e-9), (key, agent)
    assert [t.trace_id for _, t, _ in waited.span_store.turns()] == [t.trace_id for _, t, _ in at_once.span_store.turns()]


def test_counters_stay_monotonic_across_the_seam_and_the_registry_holds_the_whole_history(complete):
    store = complete.store
    for column in counter_columns(complete):
        values = [store.value(i, column) for i in range(len(store))]
        assert all(b >= a for a, b in zip(values, values[1:])), store.columns[column]
    assert turns_in_registry(complete) > 10_000  # 30 minutes of turns, not just the recent ones
    live = complete.instruments.read()
    last = store.row(len(store) - 1)
    assert all(live[c] >= last[c] for c in counter_columns(complete))


def test_rates_are_continuous_across_the_seam(complete):
    result = complete.metrics.fetch(Window(START - 900, START, 15))
    for agent in ("triage", "it-helpdesk", None):
        rates = result.series["turn_rate"][agent].values
        assert all(math.isfinite(r) and r > 0 for r in rates)
        mean = sum(rates) / len(rates)
        assert max(rates) < 1.6 * mean and min(rates) > 0.6 * mean, (agent, rates)


def test_trace_queries_complete_the_history_first():
    fleet = DemoFleet(seed=7, speed=0, start=START, defer_history=True)
    turns = fleet.traces.recent_turns(None, START - 600, START, limit=10_000)
    assert fleet.history_complete
    assert min(t.start for t in turns) < START - RECENT_SECONDS  # tail-sampled turns of the earlier part


def test_the_console_completes_the_history_after_the_first_frame_is_painted():
    fleet = DemoFleet(seed=7, speed=0, start=START, history=600, defer_history=True)
    refreshed = []
    app = SimpleNamespace(
        is_running=True,
        frames_applied=1,
        call_from_thread=lambda fn, callback: fn(callback),
        call_after_refresh=lambda callback: callback(),
        poller=SimpleNamespace(refresh_now=lambda: refreshed.append(True)),
    )
    _complete_demo_history(app, fleet)
    assert fleet.history_complete and refreshed == [True]


def test_store_prepend_and_shift():
    store = ScrapeStore(["a", "b"], retention=100.0)
    store.append(50.0, [1.0, 5.0])
    store.append(65.0, [2.0, 6.0])
    store.shift([10.0, 0.0])
    store.prepend([-80.0, 20.0, 35.0], [[0.0, 1.0], [0.5, 3.0], [1.0, 4.0]])
    assert store.times == [20.0, 35.0, 50.0, 65.0]  # -80 is beyond the retention
    assert [store.value(i, 0) for i in range(4)] == [0.5, 1.0, 11.0, 12.0]
    assert [store.value(i, 1) for i in range(4)] == [3.0, 4.0, 5.0, 6.0]
    with pytest.raises(ValueError):
        store.prepend([70.0], [[0.0, 0.0]])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=0, max_size=14), st.booleans())
@example(counts=[0.0, 5e-324], with_inf=True)  # the median's rank underflows to 0: Go's 0/0 is NaN
def test_quantiles_equal_histogram_quantile(counts, with_inf):
    bounds = sorted(random.Random(len(counts)).sample(range(1, 10_000), len(counts)))
    buckets = [(float(b), c) for b, c in zip(bounds, counts)]
    if with_inf and buckets:
        buckets[-1] = (math.inf, buckets[-1][1])
    expected = [histogram_quantile(q, buckets) for _, q in QUANTILES]
    assert all(map(same, _quantiles(buckets), expected))
