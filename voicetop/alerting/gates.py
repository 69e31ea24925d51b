"""Deploy gates: ``ttft_p99 <= 1200`` evaluated over a window of metrics.

A gate's value is the stat **at the window's end**: with the default 5 m
window and the profile's 5 m rate range that is "the p99 over the last five
minutes", which is what a deploy gate asks.  (The command asks the source for
a rate range equal to the window when it can.)  The worst value over the
window is reported too, for information only.

A gate with no data at the window's end is an error, never a pass.  Exit
codes: 1 when any gate fails, else 2 when any gate has no data, else 0.

Telephony stats (``packet_loss``, ``jitter_p95``, … from the ``livekit-server``
profile, issue #10) are gated fleet-wide, whatever ``--agent`` says.  The
``--critical`` telephony gates are optional: skipped when the source reads no
telephony at all (a profile without it), but "no data" when it does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Iterable, Mapping, Sequence

from voicetop.domain.model import (
    BASELINE_STATS,
    QUANTILES,
    SCALAR_STATS,
    STAGE_LABELS,
    STAGES,
    MetricsResult,
    Series,
    Window,
)
from voicetop.domain.telephony import DERIVED as TELEPHONY_DERIVED
from voicetop.domain.telephony import STATS as TELEPHONY_STATS
from voicetop.domain.telephony import with_derived
from voicetop.domain.text import expected_one_of
from voicetop.domain.thresholds import ThresholdSet

PASS, FAIL, NO_DATA = "pass", "fail", "no data"
EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


class GateError(ValueError):
    """A gate that cannot be parsed (unknown key, bad number)."""


@dataclass(frozen=True)
class Gate:
    """``key`` must stay at or under (``max``) or at or over (``min``) ``limit``.

    ``limit`` is in the stat's native unit (ms, ratio 0–1, score).
    """

    key: str
    limit: float
    direction: str = "max"
    label: str = ""
    unit: str = "ms"
    from_thresholds: bool = False  # --critical: per-agent overrides apply
    baseline: bool = False  # drift gate: ``limit`` is a factor of ``<key>_baseline``
    optional: bool = False  # skipped (not "no data") when the source has no series for it at all

    @property
    def telephony(self) -> bool:
        """A LiveKit server/SIP stat: gated fleet-wide."""
        return self.key in TELEPHONY_STATS

    def passes(self, value: float) -> bool:
        return value <= self.limit if self.direction == "max" else value >= self.limit

    def worst(self, values: Iterable[float]) -> float | None:
        finite = [v for v in values if not math.isnan(v)]
        if not finite:
            return None
        return max(finite) if self.direction == "max" else min(finite)

    @property
    def operator(self) -> str:
        return "<=" if self.direction == "max" else ">="


@dataclass(frozen=True)
class GateResult:
    gate: Gate
    agent_id: str | None
    value: float | None
    worst: float | None
    status: str
    reason: str = ""

    @property
    def passed(self) -> bool:
        return self.status == PASS


@dataclass(frozen=True)
class GateReport:
    window: Window
    results: tuple[GateResult, ...]

    @property
    def exit_code(self) -> int:
        statuses = {r.status for r in self.results}
        if FAIL in statuses:
            return EXIT_FAIL
        if NO_DATA in statuses or not self.results:
            return EXIT_ERROR
        return EXIT_PASS

    def failed(self) -> tuple[GateResult, ...]:
        return tuple(r for r in self.results if r.status == FAIL)

    def missing(self) -> tuple[GateResult, ...]:
        return tuple(r for r in self.results if r.status == NO_DATA)


# -- building gates -----------------------------------------------------------
def gate_keys() -> tuple[str, ...]:
    """Every stat key a gate may name (baselines excluded)."""
    stage_keys = tuple(f"{s}_{q}" for s in STAGES for q, _ in QUANTILES)
    return stage_keys + tuple(SCALAR_STATS) + tuple(TELEPHONY_STATS)


def stat_unit(key: str) -> str:
    if key in TELEPHONY_STATS:
        return TELEPHONY_STATS[key][1]
    return SCALAR_STATS.get(key, "ms")


def stat_label(key: str, thresholds: ThresholdSet | None = None) -> str:
    rule = (thresholds or ThresholdSet()).rule(key)
    if rule is not None and rule.label and rule.label != key:
        return rule.label
    if key in TELEPHONY_STATS:
        return TELEPHONY_STATS[key][0]
    stage, _, quantile = key.rpartition("_")
    if stage in STAGE_LABELS:
        return f"{STAGE_LABELS[stage]} {quantile}"
    return key.replace("_", " ").capitalize()


def parse_number(text: str, what: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise GateError(f"{what}: not a number: {text!r}") from None
    if not math.isfinite(value):
        raise GateError(f"{what}: not a finite number: {text!r}")
    return value


def make_gate(
    key: str, value: float, direction: str, *, percent: bool | None = None,
    thresholds: ThresholdSet | None = None,
) -> Gate:
    """A gate on ``key``; ratio stats take ``value`` in percent unless ``percent=False``."""
    if key not in gate_keys():
        raise GateError(f"unknown gate key {key!r} ({expected_one_of(gate_keys(), key, 'voicetop check --help')})")
    if direction not in ("max", "min"):
        raise GateError(f"gate direction must be max or min, not {direction!r}")
    unit = stat_unit(key)
    if unit == "ratio" and percent is not False:
        if not 0 <= value <= 100:
            raise GateError(f"{key}: {value:g} is not a percentage (0–100)")
        value = value / 100.0
    return Gate(key, value, direction, stat_label(key, thresholds), unit)


def parse_assignment(text: str, direction: str, thresholds: ThresholdSet | None = None) -> Gate:
    """``KEY=VALUE`` from ``--max``/``--min`` (ratio stats in percent)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise GateError(f"--{direction} {text!r}: expected KEY=VALUE, e.g. stt_p90=400")
    key = key.strip().replace("-", "_")
    value = parse_number(raw.strip(), f"--{direction} {key}")
    return make_gate(key, value, direction, thresholds=thresholds)


def critical_gates(thresholds: ThresholdSet, keys: Sequence[str] | None = None) -> tuple[Gate, ...]:
    """Gates at the critical limits of the (fleet-wide) thresholds; baseline rules skipped.

    Telephony thresholds become optional gates (skipped when the source reads no telephony).
    """
    gates = []
    for key, rule in (*thresholds.rules.items(), *thresholds.telephony.items()):
        if rule.baseline or (keys is not None and key not in keys) or key not in gate_keys():
            continue
        direction = "max" if rule.direction == "above" else "min"
        phone = key in TELEPHONY_STATS
        gates.append(Gate(key, rule.critical, direction, stat_label(key, thresholds), stat_unit(key), not phone,
                          optional=phone))
    return tuple(gates)


def telephony_series(result: MetricsResult, key: str) -> dict[str | None, Series]:
    """A telephony stat per node (None = fleet), derived ones (``packet_loss``) computed."""
    by_node: dict[str | None, dict[str, Series]] = {}
    for stat, per_node in result.telephony.items():
        for node, series in per_node.items():
            by_node.setdefault(node, {})[stat] = series
    out = {}
    for node, series in by_node.items():
        found = with_derived(series).get(key)
        if found is not None:
            out[node] = found
    return out


def make_drift_gate(key: str, factor: float, thresholds: ThresholdSet | None = None) -> Gate:
    """``key`` must stay at or under ``factor`` × its baseline (issue #9)."""
    if key not in BASELINE_STATS:
        raise GateError(f"no baseline for {key!r} (drift gates: {', '.join(BASELINE_STATS)})")
    if not factor > 0:
        raise GateError(f"--drift {key}: the factor must be positive, not {factor:g}")
    return Gate(key, factor, "max", f"{stat_label(key, thresholds)} / baseline", "x", baseline=True)


def parse_drift(text: str, thresholds: ThresholdSet | None = None) -> Gate:
    """``KEY=FACTOR`` from ``--drift``, e.g. ``cost_per_session=2``."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise GateError(f"--drift {text!r}: expected KEY=FACTOR, e.g. cost_per_session=2")
    key = key.strip().replace("-", "_")
    return make_drift_gate(key, parse_number(raw.strip(), f"--drift {key}"), thresholds)


def drift_gates(thresholds: ThresholdSet) -> tuple[Gate, ...]:
    """Every baseline threshold as a drift gate at its critical factor."""
    gates = []
    for rule in thresholds.rules.values():
        if rule.baseline and rule.direction == "above" and rule.series_key in BASELINE_STATS:
            gates.append(replace(make_drift_gate(rule.series_key, rule.critical, thresholds), label=rule.label or rule.key))
    return tuple(gates)


def drift_series(result: MetricsResult, key: str) -> dict[str | None, Series]:
    """``key / key_baseline`` step by step, per agent (NaN where either is missing or the baseline ≤ 0)."""
    values = result.series.get(key, {})
    baselines = result.series.get(f"{key}_baseline", {})
    out: dict[str | None, Series] = {}
    for agent, series in values.items():
        base = baselines.get(agent)
        if base is None or len(base) != len(series):
            continue
        ratios = tuple(
            v / b if not (math.isnan(v) or math.isnan(b)) and b > 0 else math.nan
            for v, b in zip(series.values, base.values)
        )
        out[agent] = Series(series.timestamps, ratios)
    return out


# -- evaluation ---------------------------------------------------------------
def value_at_end(series: Series, window: Window) -> float | None:
    """The series' value at the window's last step (half a step of slack)."""
    for timestamp, value in zip(reversed(series.timestamps), reversed(series.values)):
        if timestamp > window.end + window.step / 2:
            continue
        if timestamp < window.end - window.step / 2:
            return None
        return None if math.isnan(value) else value
    return None


def _in_window(series: Series, window: Window) -> list[float]:
    return [
        v for t, v in zip(series.timestamps, series.values)
        if window.start - window.step / 2 <= t <= window.end + window.step / 2
    ]


def evaluate_gate(
    gate: Gate, series: Series | None, window: Window, agent_id: str | None, reason: str = ""
) -> GateResult:
    if series is None:
        return GateResult(gate, agent_id, None, None, NO_DATA, reason or "no series")
    value = value_at_end(series, window)
    worst = gate.worst(_in_window(series, window))
    if value is None:
        return GateResult(gate, agent_id, None, worst, NO_DATA, reason or "no value at the window end")
    return GateResult(gate, agent_id, value, worst, PASS if gate.passes(value) else FAIL)


def _for_agent(gate: Gate, agent_id: str | None, thresholds: ThresholdSet | None) -> Gate:
    """A threshold-derived gate with the agent's own critical limit, if it has one."""
    if not gate.from_thresholds or thresholds is None or agent_id is None:
        return gate
    rule = thresholds.rule(gate.key, agent_id)
    return gate if rule is None else replace(gate, limit=rule.critical)


def evaluate_gates(
    result: MetricsResult,
    gates: Sequence[Gate],
    *,
    agents: Sequence[str] | None = None,
    each_agent: bool = False,
    window: Window | None = None,
    thresholds: ThresholdSet | None = None,
) -> GateReport:
    """Evaluate gates for the fleet (default), the named agents, or every agent.

    With ``each_agent`` an agent without data for a key is skipped; the key is
    "no data" only when no agent has it.  ``thresholds`` supplies per-agent
    limits for gates made by :func:`critical_gates`.
    """
    window = window or result.window
    results: list[GateResult] = []
    for gate in gates:
        if gate.telephony:
            per_agent: Mapping[str | None, Series] = telephony_series(result, gate.key)
        else:
            per_agent = drift_series(result, gate.key) if gate.baseline else result.series.get(gate.key, {})
        parts = (gate.key, f"{gate.key}_baseline", *TELEPHONY_DERIVED.get(gate.key, ()))
        reason = next((result.errors[k] for k in parts if result.errors.get(k)), "")
        if gate.optional and not per_agent and not reason:
            continue  # e.g. --critical's telephony gates against a profile without telephony
        if gate.telephony:  # fleet-wide: never per agent
            results.append(evaluate_gate(gate, per_agent.get(None), window, None, reason))
        elif each_agent:
            found = [
                evaluate_gate(_for_agent(gate, a, thresholds), per_agent[a], window, a)
                for a in sorted(a for a in per_agent if a is not None)
            ]
            found = [r for r in found if r.status != NO_DATA]
            results.extend(found or [GateResult(gate, None, None, None, NO_DATA, reason or "no agent has data")])
        elif agents:
            results.extend(
                evaluate_gate(_for_agent(gate, a, thresholds), per_agent.get(a), window, a, reason) for a in agents
            )
        else:
            results.append(evaluate_gate(gate, per_agent.get(None), window, None, reason))
    return GateReport(window, tuple(results))
