"""Evaluate every stat key at one instant from the scrape store, as PromQL would.

The queries this mirrors (``X`` a stage histogram, ``by`` = ``agent_id`` per
agent, nothing for the fleet)::

    <stage>_pNN        histogram_quantile(q, sum by (le, agent_id) (rate(X_bucket[5m])))
    interruption_rate  sum(rate(livekit_interruptions_total[5m])) / sum(rate(livekit_conversation_turns_total[5m]))
    tool_success_rate  sum(rate(livekit_tool_calls_total{outcome="success"}[5m])) / sum(rate(livekit_tool_calls_total[5m]))
    error_rate         sum(rate(livekit_errors_total[5m])) / sum(rate(livekit_requests_total[5m]))
    turns_per_session  sum(rate(livekit_session_turns_sum[5m])) / sum(rate(livekit_session_turns_count[5m]))
    tokens_per_session sum(rate(livekit_tokens_consumed_total[15m])) / sum(rate(livekit_sessions_completed_total[15m]))
    cost_per_session   sum(rate(livekit_session_cost_usd_total[15m])) / sum(rate(livekit_sessions_completed_total[15m]))
    tts_chars_per_turn sum(rate(livekit_tts_characters_total[5m])) / sum(rate(livekit_conversation_turns_total[5m]))
    turn_rate          sum(rate(livekit_conversation_turns_total[5m]))
    wer, mos, rtf      avg(livekit_asr_wer) ... (the agent's own gauge per agent)
    active_sessions    sum(livekit_active_sessions); max_sessions likewise
    capacity           sum(livekit_active_sessions) / sum(livekit_max_sessions)
    *_baseline         the same ratio over [1h]

Per-session ratios use ``[15m]``: a small agent finishes only ~15 sessions in
5 minutes, too few for a stable ratio against its 1.5x-baseline threshold.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

from voicetop.domain.model import QUANTILES, STAGES, stage_stat_key
from voicetop.domain.stats import histogram_quantile
from voicetop.sources.demo.instruments import STAGE_METRICS
from voicetop.sources.demo.tsdb import ScrapeStore

RATE_RANGE = 300.0
SESSION_RANGE = 900.0
BASELINE_RANGE = 3600.0

#: Ratio stats: key -> (numerator selector, denominator selector).
_RATIOS: Mapping[str, tuple[tuple[str, Mapping[str, str]], tuple[str, Mapping[str, str]]]] = {
    "interruption_rate": (("livekit_interruptions_total", {}), ("livekit_conversation_turns_total", {})),
    "tool_success_rate": (("livekit_tool_calls_total", {"outcome": "success"}), ("livekit_tool_calls_total", {})),
    "error_rate": (("livekit_errors_total", {}), ("livekit_requests_total", {})),
    "turns_per_session": (("livekit_session_turns_sum", {}), ("livekit_session_turns_count", {})),
    "tokens_per_session": (("livekit_tokens_consumed_total", {}), ("livekit_sessions_completed_total", {})),
    "cost_per_session": (("livekit_session_cost_usd_total", {}), ("livekit_sessions_completed_total", {})),
    "tts_chars_per_turn": (("livekit_tts_characters_total", {}), ("livekit_conversation_turns_total", {})),
}
_PER_SESSION = ("tokens_per_session", "cost_per_session")
_GAUGE_AVERAGES = {"wer": "livekit_asr_wer", "mos": "livekit_tts_mos", "rtf": "livekit_stt_rtf"}
_GAUGE_SUMS = {"active_sessions": "livekit_active_sessions", "max_sessions": "livekit_max_sessions"}

StepValues = dict[str | None, dict[str, float]]


def _total(values: Sequence[float], positions: Iterable[int]) -> float:
    """``sum()`` over present series (NaN = absent); NaN when none is present."""
    total, seen = 0.0, False
    for p in positions:
        v = values[p]
        if v == v:
            total += v
            seen = True
    return total if seen else math.nan


def _ratio(num: float, den: float) -> float:
    """PromQL float division: x/0 is ±Inf, 0/0 and absent operands are NaN."""
    if math.isnan(num) or math.isnan(den):
        return math.nan
    if den == 0:
        return math.nan if num == 0 else math.copysign(math.inf, num)
    return num / den


class StatEvaluator:
    """Precomputed column groups per agent; evaluates a step in one pass."""

    def __init__(self, store: ScrapeStore, agent_ids: Sequence[str]) -> None:
        self.store = store
        self.agent_ids = tuple(agent_ids)
        parsed = [(name, dict(labels)) for name, labels in store.columns]
        gauge_names = set(_GAUGE_AVERAGES.values()) | set(_GAUGE_SUMS.values())
        self._rate_columns = [i for i, (name, _) in enumerate(parsed) if name not in gauge_names]
        position = {column: p for p, column in enumerate(self._rate_columns)}

        by_name: dict[tuple[str, str | None], list[int]] = {}
        for i, (name, labels) in enumerate(parsed):
            by_name.setdefault((name, labels.get("agent_id")), []).append(i)
            by_name.setdefault((name, None), []).append(i)

        def select(name: str, agent_id: str | None, **labels: str) -> list[int]:
            return [
                i for i in by_name.get((name, agent_id), ())
                if all(parsed[i][1].get(k) == v for k, v in labels.items())
            ]

        self._plans: dict[str | None, dict] = {}
        for agent_id in self.agent_ids + (None,):
            plan: dict = {"buckets": {}, "ratios": {}, "gauges": {}}
            for stage, metric in STAGE_METRICS.items():
                by_le: dict[float, list[int]] = {}
                for i in select(f"{metric}_bucket", agent_id):
                    by_le.setdefault(float(parsed[i][1]["le"]), []).append(position[i])
                plan["buckets"][stage] = sorted(by_le.items())
            for key, ((num, num_labels), (den, den_labels)) in _RATIOS.items():
                plan["ratios"][key] = (
                    [position[i] for i in select(num, agent_id, **num_labels)],
                    [position[i] for i in select(den, agent_id, **den_labels)],
                )
            plan["turns"] = plan["ratios"]["interruption_rate"][1]
            for key, metric in {**_GAUGE_AVERAGES, **_GAUGE_SUMS}.items():
                plan["gauges"][key] = select(metric, agent_id)
            self._plans[agent_id] = plan
        session_columns: set[int] = set()
        for plan in self._plans.values():
            for key in _PER_SESSION:
                num, den = plan["ratios"][key]
                session_columns.update(self._rate_columns[p] for p in num + den)
        self._session_columns = sorted(session_columns)

    def _sparse_rates(self, t: float, seconds: float) -> list[float]:
        """Rates over ``seconds`` for the per-session columns, NaN elsewhere."""
        found = dict(zip(self._session_columns, self.store.rates(t, seconds, self._session_columns)))
        return [found.get(c, math.nan) for c in self._rate_columns]

    def evaluate(self, t: float) -> StepValues:
        """Every stat of every agent and the fleet (key ``None``) at ``t``."""
        store = self.store
        rates = store.rates(t, RATE_RANGE, self._rate_columns)
        session_rates = self._sparse_rates(t, SESSION_RANGE)
        baseline_rates = self._sparse_rates(t, BASELINE_RANGE)
        row_index = store.instant_row(t)
        row = store.row(row_index) if row_index is not None else None
        out: StepValues = {}
        for agent_id, plan in self._plans.items():
            values: dict[str, float] = {}
            for stage in STAGES:
                # Absent bucket series drop out of the sum, as in PromQL.
                buckets = [(le, _total(rates, positions)) for le, positions in plan["buckets"][stage]]
                buckets = [(le, count) for le, count in buckets if count == count]
                for name, q in QUANTILES:
                    values[stage_stat_key(stage, name)] = histogram_quantile(q, buckets)
            for key, (num, den) in plan["ratios"].items():
                if key in _PER_SESSION:
                    values[key] = _ratio(_total(session_rates, num), _total(session_rates, den))
                    values[f"{key}_baseline"] = _ratio(_total(baseline_rates, num), _total(baseline_rates, den))
                else:
                    values[key] = _ratio(_total(rates, num), _total(rates, den))
            values["turn_rate"] = _total(rates, plan["turns"])
            gauges = {
                key: [row[c] for c in columns if row is not None and c < len(row)]
                for key, columns in plan["gauges"].items()
            }
            for key in _GAUGE_AVERAGES:
                found = gauges[key]
                values[key] = sum(found) / len(found) if found else math.nan
            for key in _GAUGE_SUMS:
                found = gauges[key]
                values[key] = sum(found) if found else math.nan
            values["capacity"] = _ratio(values["active_sessions"], values["max_sessions"])
            out[agent_id] = values
        return out
