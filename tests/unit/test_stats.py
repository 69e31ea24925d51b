"""Percentile maths: sample percentiles and Prometheus' histogram_quantile."""

import math

import pytest

from voicetop.domain.stats import (
    histogram_quantile,
    histogram_quantiles,
    percentile,
    percentiles,
    sorted_histogram_quantiles,
)

INF = math.inf


def test_percentile_linear_interpolation_matches_numpy_default():
    data = [15, 20, 35, 40, 50]
    assert percentile(data, 0.0) == 15
    assert percentile(data, 1.0) == 50
    assert percentile(data, 0.5) == 35
    assert percentile(data, 0.4) == pytest.approx(29.0)  # numpy.percentile(data, 40)
    assert percentile(data, 0.9) == pytest.approx(46.0)


def test_percentile_ignores_nan_and_handles_empty():
    assert percentile([], 0.5) is None
    assert percentile([math.nan], 0.5) is None
    assert percentile([math.nan, 7.0], 0.99) == 7.0
    assert percentiles([1, 2, 3, 4], (0.5, 0.99)) == (2.5, pytest.approx(3.97))


def test_percentile_rejects_out_of_range_quantile():
    with pytest.raises(ValueError):
        percentile([1, 2], 1.5)


def test_histogram_quantile_interpolates_inside_bucket():
    # 100 observations: 50 in (0,100], 40 in (100,200], 10 in (200,400]
    buckets = [(100, 50), (200, 90), (400, 100), (INF, 100)]
    assert histogram_quantile(0.5, buckets) == pytest.approx(100.0)
    assert histogram_quantile(0.9, buckets) == pytest.approx(200.0)
    assert histogram_quantile(0.95, buckets) == pytest.approx(300.0)
    assert histogram_quantile(0.25, buckets) == pytest.approx(50.0)


def test_histogram_quantile_rank_in_inf_bucket_returns_second_highest_bound():
    buckets = [(100, 10), (200, 20), (INF, 100)]
    assert histogram_quantile(0.99, buckets) == 200


def test_histogram_quantile_edge_cases_follow_prometheus():
    assert math.isnan(histogram_quantile(0.5, [(100, 0), (INF, 0)]))
    assert math.isnan(histogram_quantile(0.5, [(100, 5), (200, 10)]))  # no +Inf bucket
    assert math.isnan(histogram_quantile(0.5, [(INF, 10)]))  # fewer than two buckets
    assert histogram_quantile(-0.1, [(100, 5), (INF, 5)]) == -INF
    assert histogram_quantile(1.1, [(100, 5), (INF, 5)]) == INF
    # unordered input and non-monotonic counts are fixed up like the server does
    assert histogram_quantile(0.5, [(INF, 10), (200, 9), (100, 10)]) == pytest.approx(50.0)


def test_histogram_quantile_agrees_with_true_percentile_on_fine_buckets():
    samples = [i * 1.0 for i in range(1, 1001)]
    bounds = list(range(10, 1001, 10)) + [INF]
    buckets = [(b, sum(1 for s in samples if s <= b)) for b in bounds]
    for q in (0.5, 0.9, 0.99):
        assert histogram_quantile(q, buckets) == pytest.approx(percentile(samples, q), abs=10)


def test_histogram_quantile_merges_equal_bounds_and_divides_like_go():
    # equal upper bounds are one bucket (summed), as the server's coalesceBuckets does
    assert histogram_quantile(0.5, [(100, 5), (100, 5), (INF, 10)]) == pytest.approx(50.0)
    # two +Inf rows are one +Inf bucket: the rank falls in it, the highest finite bound is returned
    assert histogram_quantile(0.99, [(100, 1), (INF, 1), (INF, 5)]) == 100
    # q = 0 with an empty first bucket: 0/0 is NaN in Go, not an error
    assert math.isnan(histogram_quantile(0.0, [(100, 0), (INF, 5)]))
    # a first bucket with a bound ≤ 0 returns that bound
    assert histogram_quantile(0.1, [(-5, 3), (10, 6), (INF, 6)]) == -5


def test_histogram_quantiles_answers_several_quantiles_at_once():
    buckets = [(100, 50), (200, 90), (400, 100), (INF, 100)]
    assert histogram_quantiles((0.5, 0.9, 0.95, -1, 2), buckets) == pytest.approx((100.0, 200.0, 300.0, -INF, INF))
    assert sorted_histogram_quantiles((0.25,), [100, 200, INF], [50, 90, 100]) == pytest.approx((50.0,))
