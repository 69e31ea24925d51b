"""The threshold engine: rules, defaults and breach evaluation (DESIGN.md §4)."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Sequence

from voicetop.domain.model import Breach, Series, Severity

DEFAULT_FOR_SECONDS = 300.0


@dataclass(frozen=True)
class Hint:
    """Diagnostic hint: a symptom and what to check first, second, third."""

    symptom: str
    checks: tuple[str, ...]

    def text(self) -> str:
        return _hint_text(self.symptom, self.checks)


@functools.cache  # a breach carries its rule's hint text: thousands of breaches per frame at fleet scale, few hints
def _hint_text(symptom: str, checks: tuple[str, ...]) -> str:
    steps = "; ".join(f"{i}. {c}" for i, c in enumerate(checks, 1))
    return f"{symptom} → check {steps}"


HIGH_LATENCY = Hint("high latency", ("LLM provider status", "token rate limits", "network path"))
POOR_TRANSCRIPTION = Hint(
    "poor transcription", ("audio quality (MOS)", "background noise", "ASR provider")
)
BROKEN_TOOLS = Hint("broken tool calls", ("external API health", "authentication", "timeouts"))
ABANDONMENT = Hint(
    "user abandonment", ("TTFT", "conversation loops", "task completion")
)
SLOW_SPEECH = Hint("slow speech pipeline", ("TTS/STT provider status", "network path", "audio chunking"))
CAPACITY = Hint("capacity squeeze", ("worker count and autoscaling", "stuck sessions", "traffic spike"))
COST_DRIFT = Hint("cost drift", ("prompt version changes", "conversation loops", "model change"))
VERBOSITY_DRIFT = Hint("longer responses", ("prompt version changes", "model change", "max-token settings"))
LOOP_DRIFT = Hint("behaviour drift", ("prompt version changes", "conversation loops", "task completion"))


@dataclass(frozen=True)
class ThresholdRule:
    """Warning and critical limits for one stat key.

    ``direction`` is ``above`` (value > limit breaches) or ``below``.  With
    ``baseline`` set, limits are multiples of the ``<key>_baseline`` series.
    Values are in the stat's native unit (ms, ratio 0–1, score).  ``stat``
    names the series a rule reads when it differs from ``key`` (a drift rule
    next to an absolute one, e.g. ``turns_per_session_drift``).
    """

    key: str
    warning: float
    critical: float
    direction: str = "above"
    for_seconds: float = DEFAULT_FOR_SECONDS
    unit: str = "ms"
    baseline: bool = False
    label: str = ""
    hint: Hint | None = None
    stat: str = ""

    @property
    def series_key(self) -> str:
        """The stat series this rule evaluates."""
        return self.stat or self.key

    def limit(self, severity: Severity) -> float:
        return self.critical if severity is Severity.CRITICAL else self.warning

    def holds(self, value: float, limit: float) -> bool:
        """True when ``value`` is past ``limit`` (NaN never breaches)."""
        if math.isnan(value) or math.isnan(limit):
            return False
        return value > limit if self.direction == "above" else value < limit

    def severity_of(self, value: float | None, baseline: float | None = None) -> Severity:
        """Instant severity of a single value (no ``for`` filter)."""
        if value is None:
            return Severity.OK
        scale = 1.0
        if self.baseline:
            if baseline is None or baseline <= 0:
                return Severity.OK
            scale = baseline
        for severity in (Severity.CRITICAL, Severity.WARNING):
            if self.holds(value, self.limit(severity) * scale):
                return severity
        return Severity.OK


def _rule(key, warning, critical, unit, hint, direction="above", baseline=False, label="", stat=""):
    return ThresholdRule(
        key=key, warning=warning, critical=critical, direction=direction, unit=unit,
        baseline=baseline, label=label or key, hint=hint, stat=stat,
    )


DEFAULT_RULES: tuple[ThresholdRule, ...] = (
    _rule("ttft_p99", 800, 1200, "ms", HIGH_LATENCY, label="LLM TTFT p99"),
    _rule("e2e_p90", 3000, 3500, "ms", HIGH_LATENCY, label="End-to-end p90"),
    _rule("e2e_p99", 4000, 5000, "ms", HIGH_LATENCY, label="End-to-end p99"),
    _rule("stt_p90", 200, 400, "ms", SLOW_SPEECH, label="STT p90"),
    _rule("tts_p90", 150, 300, "ms", SLOW_SPEECH, label="TTS TTFB p90"),
    _rule("eou_p90", 500, 800, "ms", ABANDONMENT, label="EOU delay p90"),
    _rule("wer", 0.05, 0.08, "ratio", POOR_TRANSCRIPTION, label="WER"),
    _rule("mos", 4.3, 3.8, "score", POOR_TRANSCRIPTION, direction="below", label="TTS MOS"),
    _rule("rtf", 0.5, 1.0, "factor", POOR_TRANSCRIPTION, label="STT RTF"),
    _rule("interruption_rate", 0.15, 0.25, "ratio", ABANDONMENT, label="Interruptions"),
    _rule("tool_success_rate", 0.99, 0.95, "ratio", BROKEN_TOOLS, direction="below", label="Tool success"),
    _rule("capacity", 0.80, 0.90, "ratio", CAPACITY, label="Capacity"),
    _rule("turns_per_session", 8, 15, "count", ABANDONMENT, label="Turns/session"),
    _rule("tokens_per_session", 1.5, 2.0, "x", COST_DRIFT, baseline=True, label="Tokens/session"),
    _rule("cost_per_session", 1.5, 2.0, "x", COST_DRIFT, baseline=True, label="Cost/session"),
    # behaviour drift against the baseline (issue #9)
    _rule("tts_chars_per_turn", 1.5, 2.0, "x", VERBOSITY_DRIFT, baseline=True, label="TTS chars/turn"),
    _rule("turns_per_session_drift", 1.5, 2.0, "x", LOOP_DRIFT, baseline=True,
          label="Turns/session drift", stat="turns_per_session"),
    _rule("tool_call_rate", 1.5, 2.0, "x", LOOP_DRIFT, baseline=True, label="Tool calls/turn"),
)

#: Threshold keys that compare a stat with its baseline (drift rules).
DRIFT_KEYS: tuple[str, ...] = tuple(r.key for r in DEFAULT_RULES if r.baseline)

THRESHOLD_KEYS: tuple[str, ...] = tuple(r.key for r in DEFAULT_RULES)


@dataclass(frozen=True)
class ThresholdSet:
    """Fleet-wide rules plus per-agent overrides."""

    rules: Mapping[str, ThresholdRule] = field(
        default_factory=lambda: {r.key: r for r in DEFAULT_RULES}
    )
    per_agent: Mapping[str, Mapping[str, ThresholdRule]] = field(default_factory=dict)
    #: Fleet-wide telephony rules (LiveKit server, SIP; issue #10): never per agent.
    telephony: Mapping[str, ThresholdRule] = field(default_factory=lambda: _telephony_defaults())
    #: agent (None: the fleet and agents without overrides) -> its rules with the series each reads
    _reads: dict[str | None, tuple[tuple[ThresholdRule, str, str | None], ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def for_agent(self, agent_id: str | None) -> Mapping[str, ThresholdRule]:
        if agent_id is None or agent_id not in self.per_agent:
            return self.rules
        merged = dict(self.rules)
        merged.update(self.per_agent[agent_id])
        return merged

    def reads(self, agent_id: str | None) -> tuple[tuple[ThresholdRule, str, str | None], ...]:
        """An agent's rules, each with the series key it reads and its baseline's (None: no baseline)."""
        key = agent_id if agent_id in self.per_agent else None
        found = self._reads.get(key)
        if found is None:
            found = self._reads[key] = tuple(
                (rule, rule.series_key, f"{rule.series_key}_baseline" if rule.baseline else None)
                for rule in self.for_agent(key).values()
            )
        return found

    def rule(self, key: str, agent_id: str | None = None) -> ThresholdRule | None:
        found = self.for_agent(agent_id).get(key)
        return found if found is not None else self.telephony.get(key)

    def with_overrides(
        self, overrides: Mapping[str, Mapping[str, float]], agent_id: str | None = None
    ) -> "ThresholdSet":
        """A copy with some rules' fields replaced (fleet-wide or for one agent)."""
        phone = {k: v for k, v in overrides.items() if agent_id is None and k in self.telephony and k not in self.rules}
        if phone:
            changed_phone = {key: replace(self.telephony[key], **fields) for key, fields in phone.items()}
            updated = replace(self, telephony={**self.telephony, **changed_phone})
            rest = {k: v for k, v in overrides.items() if k not in phone}
            return updated.with_overrides(rest) if rest else updated
        base = self.for_agent(agent_id)
        changed = {key: replace(base[key], **fields) for key, fields in overrides.items()}
        if agent_id is None:
            return ThresholdSet({**self.rules, **changed}, self.per_agent, self.telephony)
        agent_rules = {**self.per_agent.get(agent_id, {}), **changed}
        return ThresholdSet(self.rules, {**self.per_agent, agent_id: agent_rules}, self.telephony)


def _telephony_defaults() -> dict[str, ThresholdRule]:
    from voicetop.domain.telephony_rules import TELEPHONY_RULES

    return {r.key: r for r in TELEPHONY_RULES}


def _runs(flags: list[bool]) -> Iterable[tuple[int, int]]:
    """Maximal runs of True as (first index, last index).

    ``list.index`` finds each run's ends in C: this runs for every rule of every
    agent on each refresh, over the whole window.
    """
    position, size = 0, len(flags)
    while position < size:
        try:
            start = flags.index(True, position)
        except ValueError:
            return
        try:
            end = flags.index(False, start) - 1
        except ValueError:
            end = size - 1
        yield start, end
        position = end + 1


def evaluate_rule(
    rule: ThresholdRule,
    series: Series,
    agent_id: str | None,
    baseline: Series | None = None,
) -> list[Breach]:
    """Breaches of one rule over one series, warning and critical separately.

    A breach is a maximal run of consecutive steps where the condition holds,
    reported once ``last - first >= for_seconds``; ``until`` is None when the
    run reaches the series' last step.
    """
    if not series.values:
        return []
    values = series.values
    if not rule.baseline and _never_past(rule, values):
        return []
    scales: list[float] | None = None
    if rule.baseline:
        if baseline is None or len(baseline) != len(series):
            return []
        scales = [b if b > 0 else math.nan for b in baseline.values]
    # critical past warning (the usual order): no step past warning, none past critical either
    nested = rule.critical >= rule.warning if rule.direction == "above" else rule.critical <= rule.warning
    breaches: list[Breach] = []
    last_index = len(values) - 1
    for severity in (Severity.WARNING, Severity.CRITICAL):
        limit = rule.limit(severity)
        if scales is not None:
            flags = [rule.holds(v, limit * s) for v, s in zip(values, scales)]
        elif limit != limit:  # a NaN limit never breaches
            continue
        elif rule.direction == "above":  # holds(), inlined: NaN compares false both ways
            flags = [v > limit for v in values]
        else:
            flags = [v < limit for v in values]
        if True not in flags:
            if nested:
                break
            continue
        for first, last in _runs(flags):
            since, end = series.timestamps[first], series.timestamps[last]
            if end - since < rule.for_seconds:
                continue
            run = values[first : last + 1]
            peak = max(run) if rule.direction == "above" else min(run)
            breaches.append(
                Breach(
                    key=rule.key,
                    agent_id=agent_id,
                    severity=severity,
                    value=values[last],
                    threshold=limit * scales[last] if scales is not None else limit,
                    since=since,
                    until=None if last == last_index else end,
                    peak=peak,
                    hint=rule.hint.text() if rule.hint else "",
                )
            )
    return breaches


def _never_past(rule: ThresholdRule, values: Sequence[float]) -> bool:
    """True when no value is past either limit: the usual case, told by one ``max``/``min`` in C.

    ``max`` skips NaN except in first place (a NaN best is never replaced), so
    a NaN answer only means "look value by value".
    """
    if rule.direction == "above":
        extreme = max(values)
        return extreme == extreme and not extreme > rule.warning and not extreme > rule.critical
    extreme = min(values)
    return extreme == extreme and not extreme < rule.warning and not extreme < rule.critical


def evaluate(
    thresholds: ThresholdSet,
    series_by_key: Mapping[str, Series],
    agent_id: str | None,
) -> list[Breach]:
    """All breaches for one agent (or the fleet) over its stat series."""
    found: list[Breach] = []
    for rule, key, baseline_key in thresholds.reads(agent_id):
        series = series_by_key.get(key)
        if series is None:
            continue
        baseline = series_by_key.get(baseline_key) if baseline_key is not None else None
        found.extend(evaluate_rule(rule, series, agent_id, baseline))
    return found


def instant_severity(
    thresholds: ThresholdSet, agent_id: str | None, values: Mapping[str, float | None]
) -> dict[str, Severity]:
    """Per-key severity of current values, for colouring table cells."""
    result: dict[str, Severity] = {}
    for key, rule in thresholds.for_agent(agent_id).items():
        baseline = values.get(f"{rule.series_key}_baseline") if rule.baseline else None
        result[key] = rule.severity_of(values.get(rule.series_key), baseline)
    return result
