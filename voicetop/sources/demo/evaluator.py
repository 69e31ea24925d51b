"""Evaluate every stat key at one instant from the scrape store, as PromQL would.

This mirrors the ``seed`` metric profile (voicetop.profiles.metrics) over the
same data, so a Prometheus scraping ``voicetop demo serve`` gives the same
numbers.  ``by`` is ``agent_id`` per agent and nothing for the fleet::

    <stage>_pNN        histogram_quantile(q, sum by (le, agent_id) (rate(X_bucket[5m])))
    interruption_rate  sum(rate(livekit_interruptions_total[5m])) / sum(rate(livekit_conversation_turns_total[5m]))
    tool_success_rate  sum(rate(livekit_tool_calls_total{outcome="success"}[5m])) / sum(rate(livekit_tool_calls_total[5m]))
    error_rate         sum(rate(livekit_errors_total[5m])) / sum(rate(livekit_requests_total[5m]))
    error_rate_<c>     the same per component label value
    tts_chars_per_turn sum(rate(livekit_tts_characters_total[5m])) / sum(rate(livekit_conversation_turns_total[5m]))
    tool_call_rate     sum(rate(livekit_tool_calls_total[5m])) / sum(rate(livekit_conversation_turns_total[5m]))
    turn_rate          sum(rate(livekit_conversation_turns_total[5m]))
    turns_per_session  sum(rate(livekit_session_turns_sum[15m])) / sum(rate(livekit_session_turns_count[15m]))
    tokens_per_session sum(rate(livekit_tokens_consumed_total[15m])) / sum(rate(livekit_sessions_completed_total[15m]))
    cost_per_session   sum(rate(livekit_session_cost_usd_total[15m])) / sum(rate(livekit_sessions_completed_total[15m]))
    *_baseline         avg_over_time((<the ratio>)[7d:1h])  (hour steps before the first complete
                       reading count with its values: the demo "ran for a week" before)
    wer, mos, rtf      avg(livekit_asr_wer) ...
    active_sessions    sum(livekit_active_sessions); max_sessions likewise
    capacity           sum(livekit_active_sessions) / sum(livekit_max_sessions)
"""

from __future__ import annotations

import math
from bisect import bisect_left
from typing import Iterable, Mapping, Sequence

from voicetop.domain.model import BASELINE_STATS, QUANTILES, STAGES, stage_stat_key
from voicetop.sources.demo.instruments import COMPONENTS, STAGE_METRICS
from voicetop.sources.demo.tsdb import ScrapeStore

RATE_RANGE = 300.0
SESSION_RANGE = 900.0
BASELINE_RANGE = 7 * 86400.0
BASELINE_STEP = 3600.0

Selector = tuple[str, Mapping[str, str]]

#: Ratio stats over the rate window: key -> (numerator, denominator).
_RATIOS: dict[str, tuple[Selector, Selector]] = {
    "interruption_rate": (("livekit_interruptions_total", {}), ("livekit_conversation_turns_total", {})),
    "tool_success_rate": (("livekit_tool_calls_total", {"outcome": "success"}), ("livekit_tool_calls_total", {})),
    "error_rate": (("livekit_errors_total", {}), ("livekit_requests_total", {})),
    "tts_chars_per_turn": (("livekit_tts_characters_total", {}), ("livekit_conversation_turns_total", {})),
    "tool_call_rate": (("livekit_tool_calls_total", {}), ("livekit_conversation_turns_total", {})),
    **{
        f"error_rate_{c}": (("livekit_errors_total", {"component": c}), ("livekit_requests_total", {"component": c}))
        for c in COMPONENTS
    },
}
#: Ratio stats over the session window (sessions are rare events).
_SESSION_RATIOS: dict[str, tuple[Selector, Selector]] = {
    "turns_per_session": (("livekit_session_turns_sum", {}), ("livekit_session_turns_count", {})),
    "tokens_per_session": (("livekit_tokens_consumed_total", {}), ("livekit_sessions_completed_total", {})),
    "cost_per_session": (("livekit_session_cost_usd_total", {}), ("livekit_sessions_completed_total", {})),
}
_GAUGE_AVERAGES = {"wer": "livekit_asr_wer", "mos": "livekit_tts_mos", "rtf": "livekit_stt_rtf"}
_GAUGE_SUMS = {"active_sessions": "livekit_active_sessions", "max_sessions": "livekit_max_sessions"}

AgentValues = dict[str | None, dict[str, float]]


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


def _quantiles(buckets: Sequence[tuple[float, float]]) -> list[float]:
    """``histogram_quantile`` at every :data:`QUANTILES` level over buckets sorted by bound.

    The same algorithm as :func:`voicetop.domain.stats.histogram_quantile`
    (which the tests compare against), with the monotonic fix-up done once.
    """
    if len(buckets) < 2 or not math.isinf(buckets[-1][0]):
        return [math.nan] * len(QUANTILES)
    counts: list[float] = []
    running = 0.0
    for _, count in buckets:
        running = max(running, count)
        counts.append(running)
    observations = counts[-1]
    if observations == 0 or math.isnan(observations):
        return [math.nan] * len(QUANTILES)
    out = []
    for _, q in QUANTILES:
        rank = q * observations
        index = bisect_left(counts, rank)  # the first bucket holding the rank (counts never fall)
        if index == len(buckets) - 1:
            out.append(buckets[-2][0])
            continue
        if index == 0 and buckets[0][0] <= 0:
            out.append(buckets[0][0])
            continue
        bucket_start = 0.0 if index == 0 else buckets[index - 1][0]
        bucket_end = buckets[index][0]
        in_bucket = counts[index]
        if index > 0:
            in_bucket -= counts[index - 1]
            rank -= counts[index - 1]
        if in_bucket == 0:  # only when the rank is 0 (a subnormal total underflows): Go's 0/0
            out.append(math.nan)
            continue
        out.append(bucket_start + (bucket_end - bucket_start) * (rank / in_bucket))
    return out


class _Plan:
    """Where one agent's (or the fleet's) series sit in the rate vector / row."""

    def __init__(self) -> None:
        self.buckets: dict[str, list[tuple[float, list[int]]]] = {}
        self.ratios: dict[str, tuple[list[int], list[int]]] = {}
        self.session_ratios: dict[str, tuple[list[int], list[int]]] = {}
        self.turns: list[int] = []
        self.gauges: dict[str, list[int]] = {}


class StatEvaluator:
    """Precomputed column groups per agent; evaluates one step in one pass."""

    def __init__(self, store: ScrapeStore, agent_ids: Sequence[str], group_label: str | None = None) -> None:
        self.store = store
        self.group_label = group_label
        parsed = [(name, dict(labels)) for name, labels in store.columns]
        if group_label is None:
            self.agent_ids = tuple(agent_ids)
        else:  # group-by rows (issue #9): "agent\x1fvalue" and fleet-wide "\x1fvalue"
            self.agent_ids = tuple(sorted({k for _, labels in parsed for k in self._keys_of(labels)} - {None}))
        gauge_names = set(_GAUGE_AVERAGES.values()) | set(_GAUGE_SUMS.values())
        self._rate_columns = [i for i, (name, _) in enumerate(parsed) if name not in gauge_names]
        self._position = position = {column: p for p, column in enumerate(self._rate_columns)}
        by_name: dict[tuple[str, str | None], list[int]] = {}
        for i, (name, labels) in enumerate(parsed):
            for key in self._keys_of(labels):
                by_name.setdefault((name, key), []).append(i)

        def select(selector: Selector, agent_id: str | None) -> list[int]:
            name, labels = selector
            return [
                i for i in by_name.get((name, agent_id), ())
                if all(parsed[i][1].get(k) == v for k, v in labels.items())
            ]

        def positions(selector: Selector, agent_id: str | None) -> list[int]:
            return [position[i] for i in select(selector, agent_id)]

        self._plans: dict[str | None, _Plan] = {}
        session_columns: set[int] = set()
        rate_baseline_columns: set[int] = set()
        plan_keys = self.agent_ids + (None,) if group_label is None else self.agent_ids
        for agent_id in plan_keys:
            plan = _Plan()
            for stage, metric in STAGE_METRICS.items():
                by_le: dict[float, list[int]] = {}
                for i in select((f"{metric}_bucket", {}), agent_id):
                    by_le.setdefault(float(parsed[i][1]["le"]), []).append(position[i])
                plan.buckets[stage] = sorted(by_le.items())
            for key, (num, den) in _RATIOS.items():
                plan.ratios[key] = (positions(num, agent_id), positions(den, agent_id))
            for key, (num, den) in _SESSION_RATIOS.items():
                plan.session_ratios[key] = (positions(num, agent_id), positions(den, agent_id))
                session_columns.update(select(num, agent_id) + select(den, agent_id))
            for key in BASELINE_STATS:
                if key in _RATIOS:
                    num, den = _RATIOS[key]
                    rate_baseline_columns.update(select(num, agent_id) + select(den, agent_id))
            plan.turns = positions(("livekit_conversation_turns_total", {}), agent_id)
            for key, metric in {**_GAUGE_AVERAGES, **_GAUGE_SUMS}.items():
                plan.gauges[key] = select((metric, {}), agent_id)
            self._plans[agent_id] = plan
        self._session_columns = sorted(session_columns)
        self._rate_baseline_columns = sorted(rate_baseline_columns)
        self._quantile_keys = {stage: [stage_stat_key(stage, name) for name, _ in QUANTILES] for stage in STAGES}
        self._hourly: dict[float, AgentValues] = {}
        self._averaged: dict[tuple[float, int, int], AgentValues] = {}
        self._first_reading: tuple[float, AgentValues] | None = None

    def _keys_of(self, labels: Mapping[str, str]) -> tuple[str | None, ...]:
        """The rows a series feeds: its agent and the fleet, or its group rows."""
        if self.group_label is None:
            return (labels.get("agent_id"), None)
        value = labels.get(self.group_label)
        if not value:
            return ()
        return (f"{labels.get('agent_id', '')}\x1f{value}", f"\x1f{value}")

    def _spread(self, columns: Sequence[int], values: Sequence[float]) -> list[float]:
        """A rate vector (``_rate_columns`` order) with ``values`` at ``columns``, NaN elsewhere."""
        rates = [math.nan] * len(self._rate_columns)
        position = self._position
        for column, value in zip(columns, values):
            rates[position[column]] = value
        return rates

    # -- per-session ratios and their baselines -----------------------------
    def _session_values(self, t: float) -> AgentValues:
        """The session-window ratios of every agent and the fleet at ``t``."""
        rates = self._spread(self._session_columns, self.store.rates(t, SESSION_RANGE, self._session_columns))
        return {
            agent_id: {
                key: _ratio(_total(rates, num), _total(rates, den))
                for key, (num, den) in plan.session_ratios.items()
            }
            for agent_id, plan in self._plans.items()
        }

    def _baseline_values(self, t: float) -> AgentValues:
        """Every baseline stat's ratio at ``t``: session ratios plus rate-window ones."""
        values = self._session_values(t)
        columns = self._rate_baseline_columns
        rates = self._spread(columns, self.store.rates(t, RATE_RANGE, columns))
        for agent_id, plan in self._plans.items():
            for key in BASELINE_STATS:
                if key in plan.ratios:
                    num, den = plan.ratios[key]
                    values[agent_id][key] = _ratio(_total(rates, num), _total(rates, den))
        return values

    def _hour(self, h: float) -> AgentValues:
        found = self._hourly.get(h)
        if found is None:
            found = self._baseline_values(h)
            last = self.store.last_time
            if last is not None and h <= last:
                self._hourly[h] = found
        return found

    def _baselines(self, t: float) -> AgentValues:
        """``avg_over_time(ratio[7d:1h])``: the ratio at hour-aligned steps, averaged.

        The demo has been "running for a week" at its first complete reading:
        hour steps before that reading count with its values (so a rollout in
        the short synthesised history drifts against the earlier norm).
        """
        if not self.store.times:
            return {}
        if self._first_reading is None:
            first = self.store.times[0] + SESSION_RANGE
            if t >= first:
                self._first_reading = (first, self._baseline_values(first))
        steps = []
        assumed = 0
        newest = h = math.floor(t / BASELINE_STEP) * BASELINE_STEP
        while h >= t - BASELINE_RANGE - 1e-9:
            if self._first_reading is not None and h < self._first_reading[0]:
                assumed += 1
            elif h >= self.store.times[0]:
                steps.append(h)
            h -= BASELINE_STEP
        # Neighbouring steps average the same hours: reuse the average once they are all stored.
        key = (newest, len(steps), assumed)
        found = self._averaged.get(key)
        if found is not None:
            return found
        hours = [self._hour(h) for h in steps]
        if assumed:
            hours.extend([self._first_reading[1]] * assumed)
        out: AgentValues = {}
        for agent_id in self._plans:
            out[agent_id] = {}
            for key in BASELINE_STATS:
                present = [v[agent_id][key] for v in hours if not math.isnan(v[agent_id][key])]
                out[agent_id][key] = sum(present) / len(present) if present else math.nan
        if all(h in self._hourly for h in steps):
            self._averaged[key] = out
        return out

    # -- one step -----------------------------------------------------------
    def evaluate(self, t: float) -> AgentValues:
        """Every stat of every agent and the fleet (key ``None``) at ``t``."""
        store = self.store
        rates = store.rates(t, RATE_RANGE, self._rate_columns)
        sessions = self._session_values(t)
        baselines = self._baselines(t) if self.group_label is None else {}
        row_index = store.instant_row(t)
        row = store.row(row_index) if row_index is not None else None
        bounds = store.range_rows(t, RATE_RANGE)
        any_rate = bounds is not None and bounds[1] > bounds[0]  # else every rate is NaN
        out: AgentValues = {}
        for agent_id, plan in self._plans.items():
            values: dict[str, float] = {}
            for stage in STAGES:
                # Absent bucket series drop out of the sum, as in PromQL.
                buckets = [(le, _total(rates, positions)) for le, positions in plan.buckets[stage]] if any_rate else []
                buckets = [(le, count) for le, count in buckets if count == count]
                for key, value in zip(self._quantile_keys[stage], _quantiles(buckets)):
                    values[key] = value
            for key, (num, den) in plan.ratios.items():
                values[key] = _ratio(_total(rates, num), _total(rates, den)) if any_rate else math.nan
            values.update(sessions[agent_id])
            for key in BASELINE_STATS:
                values[f"{key}_baseline"] = baselines.get(agent_id, {}).get(key, math.nan)
            values["turn_rate"] = _total(rates, plan.turns) if any_rate else math.nan
            for key, columns in plan.gauges.items():
                found = [row[c] for c in columns if c < len(row)] if row is not None else []
                if not found:
                    values[key] = math.nan
                elif key in _GAUGE_AVERAGES:
                    values[key] = sum(found) / len(found)
                else:
                    values[key] = sum(found)
            values["capacity"] = _ratio(values["active_sessions"], values["max_sessions"])
            out[agent_id] = values
        return out
