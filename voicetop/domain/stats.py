"""Percentile maths: exact sample percentiles and Prometheus' histogram_quantile."""

from __future__ import annotations

import math
from typing import Iterable, Sequence


def percentile(values: Iterable[float], q: float) -> float | None:
    """Linear-interpolated percentile of samples (q in 0..1), None when empty.

    Matches numpy's default ("linear") method.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} is outside 0..1")
    data = sorted(v for v in values if not math.isnan(v))
    if not data:
        return None
    position = (len(data) - 1) * q
    lower = math.floor(position)
    upper = math.ceil(position)
    if lower == upper:
        return data[lower]
    fraction = position - lower
    return data[lower] + (data[upper] - data[lower]) * fraction


def percentiles(values: Iterable[float], qs: Sequence[float]) -> tuple[float | None, ...]:
    """Several percentiles of the same samples."""
    data = [v for v in values if not math.isnan(v)]
    return tuple(percentile(data, q) for q in qs)


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float:
    """Prometheus' ``histogram_quantile`` over cumulative ``(le, count)`` buckets.

    Follows the server's ``bucketQuantile`` (promql/quantile.go): buckets
    sorted by bound, equal bounds merged, counts forced monotonic, linear
    interpolation inside the bucket that holds the rank, the lower bound of
    the first bucket taken as 0 (or its bound returned when it is ≤ 0), the
    highest finite bound returned when the rank falls in ``+Inf``, and NaN when
    there are no observations, fewer than two buckets or no ``+Inf`` bucket.
    """
    return histogram_quantiles((q,), buckets)[0]


def histogram_quantiles(qs: Sequence[float], buckets: Sequence[tuple[float, float]]) -> tuple[float, ...]:
    """:func:`histogram_quantile` for several quantiles of the same buckets."""
    bounds: list[float] = []
    counts: list[float] = []
    for bound, count in sorted(buckets, key=lambda b: b[0]):
        if bounds and bounds[-1] == bound:
            counts[-1] += count  # coalesce buckets with the same upper bound
        else:
            bounds.append(bound)
            counts.append(count)
    return sorted_histogram_quantiles(qs, bounds, counts)


def sorted_histogram_quantiles(
    qs: Sequence[float], bounds: Sequence[float], counts: Sequence[float]
) -> tuple[float, ...]:
    """Quantiles of buckets whose ``bounds`` are already ascending and distinct.

    The fast path of :func:`histogram_quantiles` (callers that keep buckets in
    bound order skip the sort and merge); ``counts`` is not modified.
    """
    if len(bounds) < 2 or bounds[-1] != math.inf:
        return tuple(_out_of_range(q, math.nan) for q in qs)
    # rate() counts can be slightly non-monotonic; the server takes their envelope
    # (a NaN count compares false both ways and stays, as in Go)
    fixed = list(counts)
    top = fixed[0]
    for i in range(1, len(fixed)):
        count = fixed[i]
        if count > top:
            top = count
        elif count < top:
            fixed[i] = top
    observations = fixed[-1]
    return tuple(
        _quantile(q, bounds, fixed, observations) if 0 <= q <= 1 else _out_of_range(q, math.nan) for q in qs
    )


def _out_of_range(q: float, otherwise: float) -> float:
    """The answer for a NaN, negative or above-one ``q`` (``otherwise`` for a valid one)."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    return otherwise


def _quantile(q: float, bounds: Sequence[float], counts: Sequence[float], observations: float) -> float:
    if observations == 0:
        return math.nan
    rank = q * observations
    last = len(bounds) - 1
    # the first of the finite buckets holding the rank: Go's sort.Search, NaN included
    low, high = 0, last
    while low < high:
        middle = (low + high) // 2
        if counts[middle] >= rank:
            high = middle
        else:
            low = middle + 1
    index = low
    if index == last:
        return bounds[last - 1]  # rank in +Inf: the highest finite bound
    if index == 0 and bounds[0] <= 0:
        return bounds[0]
    if index == 0:
        return bounds[0] * _divide(rank, counts[0])
    start, end = bounds[index - 1], bounds[index]
    return start + (end - start) * _divide(rank - counts[index - 1], counts[index] - counts[index - 1])


def _divide(a: float, b: float) -> float:
    """IEEE division as Go does it: x/0 is ±Inf, 0/0 is NaN."""
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)
