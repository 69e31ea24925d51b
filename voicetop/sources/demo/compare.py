"""Group-by, offset baselines and label values for the demo fleet (issue #9).

The same answers a Prometheus scraping ``voicetop demo serve`` gives for the
queries of :mod:`voicetop.sources.prometheus.compare`, computed from the
fleet's scrape store: grouped stats via a :class:`StatEvaluator` keyed by
``agent\\x1fvalue``, offsets by evaluating earlier steps (NaN before the
history begins), label values from the token counter's rate.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from voicetop.domain.compare import GROUP_SEP
from voicetop.domain.model import MetricsResult, Series, Window, all_stat_keys
from voicetop.sources.demo.evaluator import RATE_RANGE, StatEvaluator

if TYPE_CHECKING:
    from voicetop.sources.demo.metrics import DemoMetricsSource

#: Labels the demo's series carry, for ``g``.
DEMO_GROUP_LABELS = ("model", "provider", "prompt_version")
MARKER_LABELS = ("model", "prompt_version")
MARKER_METRIC = "livekit_tokens_consumed_total"


def _result(window: Window, stamps, steps, keys_of_rows) -> MetricsResult:
    keys = [k for k in all_stat_keys() if not k.endswith("_baseline")]
    series = {
        key: {row: Series(window.timestamps(), tuple(step[row].get(key, math.nan) for step in steps)) for row in keys_of_rows}
        for key in keys
    }
    return MetricsResult(window=window, series=series, queries=1)


def fetch_grouped(source: "DemoMetricsSource", window: Window, label: str) -> MetricsResult:
    fleet = source._fleet  # noqa: SLF001 - same package
    with fleet.lock:
        fleet.now()
        evaluator = source._group_evaluators.get(label)  # noqa: SLF001
        if evaluator is None:
            evaluator = StatEvaluator(fleet.store, fleet.agent_ids, group_label=label)
            source._group_evaluators[label] = evaluator  # noqa: SLF001
        steps = [evaluator.evaluate(t) for t in window.timestamps()]
    return _result(window, window.timestamps(), steps, evaluator.agent_ids)


def fetch_offset(source: "DemoMetricsSource", window: Window, offset: float) -> MetricsResult:
    """The window ``offset`` seconds earlier, on this window's timestamps."""
    earlier = window.shifted(-offset)
    result = source.fetch(earlier)
    stamps = window.timestamps()
    return MetricsResult(
        window=window,
        series={
            key: {row: Series(stamps, s.values) for row, s in per_row.items()}
            for key, per_row in result.series.items() if not key.endswith("_baseline")
        },
        queries=result.queries,
    )


def fetch_label_values(source: "DemoMetricsSource", window: Window) -> dict[str, dict[str, Series]]:
    """Per marker label: ``agent\\x1fvalue`` → rate of the token counter (> 0 while live)."""
    fleet = source._fleet  # noqa: SLF001
    with fleet.lock:
        fleet.now()
        store = fleet.store
        # The answer only changes with the window or a new scrape (polls come every second).
        cache_key = (window, len(store), store.last_time, store.times[0] if len(store) else None)
        cached = source._label_values  # noqa: SLF001
        if cached is not None and cached[0] == cache_key:
            return cached[1]
        groups: dict[tuple[str, str], list[int]] = {}
        for index, (name, pairs) in enumerate(store.columns):
            if name != MARKER_METRIC:
                continue
            labels = dict(pairs)
            for label in MARKER_LABELS:
                if labels.get(label):
                    groups.setdefault((label, f"{labels['agent_id']}{GROUP_SEP}{labels[label]}"), []).append(index)
        columns = sorted({c for found in groups.values() for c in found})
        position = {c: i for i, c in enumerate(columns)}
        stamps = window.timestamps()
        rates = [store.rates(t, RATE_RANGE, columns) for t in stamps]
    out: dict[str, dict[str, Series]] = {}
    for (label, key), found in groups.items():
        values = []
        for row in rates:
            present = [row[position[c]] for c in found if not math.isnan(row[position[c]])]
            values.append(sum(present) if present else math.nan)
        out.setdefault(label, {})[key] = Series(stamps, tuple(values))
    source._label_values = (cache_key, out)  # noqa: SLF001
    return out
