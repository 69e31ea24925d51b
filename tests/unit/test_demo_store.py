"""The demo's scrape store: Prometheus 2.x range selection and rate() extrapolation."""

from __future__ import annotations

import math

import pytest

from voicetop.sources.demo.tsdb import ScrapeStore, extrapolated_rate


def counter_store(step: float = 15.0, per_step: float = 30.0, count: int = 41, start: float = 1000.0) -> ScrapeStore:
    store = ScrapeStore(["c"])
    for i in range(count):
        store.append(start + i * step, [100.0 + i * per_step])
    return store


def test_rate_of_a_steady_counter_is_exact():
    store = counter_store()
    # [5m] at t=1300 holds the samples at 1000..1300 (both ends, Prometheus 2.x).
    assert store.range_rows(1300.0, 300.0) == (0, 20)
    assert store.rates(1300.0, 300.0, [0]) == [pytest.approx(2.0)]


def test_rate_extrapolates_to_the_range_boundaries():
    store = counter_store()
    # At t=1310 the range [1010, 1310] holds samples 1015..1300: 285 s sampled,
    # 5 s to the start and 10 s to the end, both under 1.1 intervals -> extrapolate.
    rate = store.rates(1310.0, 300.0, [0])[0]
    increase = 19 * 30.0
    assert rate == pytest.approx(increase * (285 + 5 + 10) / 285 / 300)


def test_rate_does_not_extrapolate_a_counter_below_zero():
    store = ScrapeStore(["c"])
    store.append(1000.0, [1.0])
    store.append(1015.0, [31.0])
    store.append(1030.0, [61.0])
    # Range [760, 1060]: the zero point is 0.5 s before the first sample, much
    # nearer than the range start, so extrapolation stops there; the end is
    # 30 s away (> 1.1 intervals) so only half an interval is added.
    rate = store.rates(1060.0, 300.0, [0])[0]
    assert rate == pytest.approx(60.0 * (30 + 0.5 + 7.5) / 30 / 300)
    assert rate == pytest.approx(extrapolated_rate(760.0, 1060.0, 1000.0, 1030.0, 3, 1.0, 60.0, 300.0))


def test_rate_needs_two_samples_and_a_series_born_later_starts_at_its_birth():
    store = ScrapeStore(["a"])
    store.append(1000.0, [1.0])
    assert math.isnan(store.rates(1000.0, 300.0, [0])[0])
    column = store.add_column("b")
    store.append(1015.0, [2.0, 10.0])
    store.append(1030.0, [3.0, 40.0])
    store.append(1045.0, [4.0, 70.0])
    a, b = store.rates(1045.0, 300.0, [0, column])
    assert a == pytest.approx(extrapolated_rate(745.0, 1045.0, 1000.0, 1045.0, 4, 1.0, 3.0, 300.0))
    assert b == pytest.approx(extrapolated_rate(745.0, 1045.0, 1015.0, 1045.0, 3, 10.0, 60.0, 300.0))
    assert math.isnan(store.value(0, column))


def test_instant_lookup_honours_the_five_minute_lookback():
    store = counter_store(count=3)
    assert store.instant_row(1029.0) == 1
    assert store.instant_row(1030.0 + 300.0) == 2
    assert store.instant_row(1030.0 + 300.1) is None
    assert store.instant_row(999.0) is None


def test_retention_drops_old_rows_and_appends_must_move_forward():
    store = ScrapeStore(["c"], retention=600.0)
    for i in range(400):
        store.append(i * 15.0, [float(i)])
    assert store.times[-1] - store.times[0] <= 600.0 + 64 * 15.0
    assert store.times[0] >= 399 * 15.0 - 600.0 - 64 * 15.0
    with pytest.raises(ValueError):
        store.append(store.times[-1], [0.0])
