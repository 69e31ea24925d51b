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

    Follows the server's algorithm: linear interpolation inside the bucket that
    holds the rank, the lower bound of the first bucket taken as 0, the second
    highest bound returned when the rank falls in ``+Inf``, and NaN when there
    are no observations or no ``+Inf`` bucket.
    """
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(buckets, key=lambda b: b[0])
    if len(ordered) < 2 or not math.isinf(ordered[-1][0]):
        return math.nan
    # Counts of a rate() can be slightly non-monotonic; Prometheus fixes them up.
    counts: list[float] = []
    running = 0.0
    for _, count in ordered:
        running = max(running, count)
        counts.append(running)
    observations = counts[-1]
    if observations == 0 or math.isnan(observations):
        return math.nan
    rank = q * observations
    index = next(i for i, c in enumerate(counts) if c >= rank)
    if index == len(ordered) - 1:
        return ordered[-2][0]
    if index == 0 and ordered[0][0] <= 0:
        return ordered[0][0]
    bucket_start = 0.0 if index == 0 else ordered[index - 1][0]
    bucket_end = ordered[index][0]
    in_bucket = counts[index]
    if index > 0:
        in_bucket -= counts[index - 1]
        rank -= counts[index - 1]
    if in_bucket == 0:
        return bucket_end
    return bucket_start + (bucket_end - bucket_start) * (rank / in_bucket)
