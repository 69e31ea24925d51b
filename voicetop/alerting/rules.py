"""Generate Prometheus alerting rules from the effective thresholds and profile.

One group per stage or area, a warning and a critical rule per threshold key
(both named ``Voice<Key><High|Low>``, told apart by the ``severity`` label),
``for:`` from the threshold, ``summary`` and ``runbook`` annotations from the
threshold's label and diagnostic hint.  Rules are per agent: the PromQL comes
from the metric profile's per-agent expression (``sum by (le, agent_id)`` for
latency).  Per-agent threshold overrides become their own rules, and the
fleet-wide rule skips those agents.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Protocol

from voicetop.alerting import yaml
from voicetop.domain.model import Severity
from voicetop.domain.query_text import string_literal
from voicetop.domain.thresholds import ThresholdRule, ThresholdSet

#: Rule group of each threshold key (stage groups first, in pipeline order).
GROUPS: Mapping[str, tuple[str, ...]] = {
    "voicetop-stt": ("stt_p90",),
    "voicetop-eou": ("eou_p90",),
    "voicetop-llm": ("ttft_p99",),
    "voicetop-tts": ("tts_p90",),
    "voicetop-e2e": ("e2e_p90", "e2e_p99"),
    "voicetop-quality": ("wer", "mos", "rtf"),
    "voicetop-conversation": ("interruption_rate", "turns_per_session"),
    "voicetop-tools": ("tool_success_rate",),
    "voicetop-capacity": ("capacity",),
    "voicetop-cost": ("tokens_per_session", "cost_per_session"),
    "voicetop-drift": ("tts_chars_per_turn", "turns_per_session_drift", "tool_call_rate"),
}
#: Per-node rules of the telephony thresholds (LiveKit server/SIP, issue #10).
TELEPHONY_GROUP = "voicetop-telephony"
OTHER_GROUP = "voicetop-other"
KEY_LABEL = "voicetop_key"
#: Set on rules made from a per-agent threshold override (names the agent).
OVERRIDE_LABEL = "voicetop_override"


class StatExprLike(Protocol):
    agent: str | None


class ExprProvider(Protocol):
    """What rule generation needs from a metric profile."""

    agent_label: str

    def stat_expr(self, key: str) -> StatExprLike | None: ...


@dataclass(frozen=True)
class AlertRule:
    alert: str
    expr: str
    for_seconds: float
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    def to_data(self) -> dict:
        data: dict = {"alert": self.alert, "expr": self.expr, "for": prom_duration(self.for_seconds)}
        data["labels"] = dict(self.labels)
        data["annotations"] = dict(self.annotations)
        return data


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: tuple[AlertRule, ...]
    interval: float | None = None

    def to_data(self) -> dict:
        data: dict = {"name": self.name}
        if self.interval is not None:
            data["interval"] = prom_duration(self.interval)
        data["rules"] = [rule.to_data() for rule in self.rules]
        return data


@dataclass(frozen=True)
class RuleSet:
    """Generated groups, plus the keys skipped because the profile lacks them."""

    groups: tuple[RuleGroup, ...]
    skipped: tuple[str, ...] = ()

    def rules(self) -> tuple[AlertRule, ...]:
        return tuple(rule for group in self.groups for rule in group.rules)

    def to_yaml(self, header: str = "") -> str:
        return yaml.dump({"groups": [group.to_data() for group in self.groups]}, header)


def prom_duration(seconds: float) -> str:
    """A Prometheus duration: ``0s``, ``90s``, ``5m``, ``1h30m``, ``250ms``."""
    if seconds < 0:
        raise ValueError("negative duration")
    millis = int(round(seconds * 1000))
    if millis % 1000:
        return f"{millis}ms"
    whole = millis // 1000
    if whole == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def alert_name(rule: ThresholdRule) -> str:
    """``ttft_p99`` → ``VoiceTtftP99High``; below-rules end in ``Low``."""
    words = "".join(part.capitalize() for part in rule.key.split("_"))
    return f"Voice{words}{'High' if rule.direction == 'above' else 'Low'}"


def number(value: float) -> str:
    """A PromQL/human number without float noise: 1200, 0.95, 1.5."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.10g}"


def _agents_vector(agents: Iterable[str], label: str) -> str:
    """A constant vector with one series per agent, for ``and``/``unless on``."""
    parts = [
        f"label_replace(vector(1), {string_literal(label)}, {string_literal(agent)}, \"\", \"\")"
        for agent in sorted(agents)
    ]
    return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"


def _limit_text(rule: ThresholdRule, limit: float) -> str:
    if rule.baseline:
        return f"{number(limit)}× its baseline"
    if rule.unit == "ratio":
        return f"{number(round(limit * 100, 6))}%"
    if rule.unit == "ms":
        return f"{number(limit)} ms"
    return number(limit)


def _value_template(rule: ThresholdRule) -> str:
    if rule.unit == "ratio":
        return "{{ $value | humanizePercentage }}"
    if rule.unit == "ms":
        return "{{ $value | humanize }} ms"
    return "{{ $value | humanize }}"


def _summary(rule: ThresholdRule, severity: Severity, limit: float, agent_label: str, prefix: str = "") -> str:
    relation = "above" if rule.direction == "above" else "below"
    return (
        f"{rule.label or rule.key} of {prefix}{{{{ $labels.{agent_label} }}}} is {_value_template(rule)} "
        f"({severity.word}: {relation} {_limit_text(rule, limit)} for {prom_duration(rule.for_seconds)})"
    )


def _condition(rule: ThresholdRule, expr: str, baseline: str | None, limit: float) -> str:
    operator = ">" if rule.direction == "above" else "<"
    if rule.baseline:
        return f"({expr}) {operator} {number(limit)} * ({baseline})"
    return f"({expr}) {operator} {number(limit)}"


def _rules_for_key(
    key: str, thresholds: ThresholdSet, profile: ExprProvider, severities: tuple[Severity, ...]
) -> list[AlertRule] | None:
    rule = thresholds.rules.get(key)
    series_key = rule.series_key if rule is not None else key
    stat = profile.stat_expr(series_key)
    expr = stat.agent if stat is not None else None
    if not expr or rule is None:
        return None
    baseline = None
    if rule.baseline:
        base_stat = profile.stat_expr(f"{series_key}_baseline")
        baseline = base_stat.agent if base_stat is not None else None
        if not baseline:
            return None
    label = profile.agent_label
    overrides = {agent: rules[key] for agent, rules in thresholds.per_agent.items() if key in rules}
    variants: list[tuple[ThresholdRule, str, str | None]] = []
    fleet_filter = f" unless on ({label}) {_agents_vector(overrides, label)}" if overrides else ""
    variants.append((rule, fleet_filter, None))
    for agent in sorted(overrides):
        variants.append((overrides[agent], f" and on ({label}) {_agents_vector([agent], label)}", agent))
    found = []
    for variant, scope, override in variants:
        labels = {KEY_LABEL: key} if override is None else {KEY_LABEL: key, OVERRIDE_LABEL: override}
        for severity in severities:
            limit = variant.limit(severity)
            condition = _condition(variant, expr, baseline, limit)
            annotations = {"summary": _summary(variant, severity, limit, label)}
            if variant.hint is not None:
                annotations["runbook"] = variant.hint.text()
            found.append(
                AlertRule(
                    alert=alert_name(variant),
                    expr=f"({condition}){scope}" if scope else condition,
                    for_seconds=variant.for_seconds,
                    labels={"severity": severity.word, **labels},
                    annotations=annotations,
                )
            )
    return found


def build_rules(
    thresholds: ThresholdSet,
    profile: ExprProvider,
    *,
    severities: tuple[Severity, ...] = (Severity.WARNING, Severity.CRITICAL),
    interval: float | None = None,
    for_seconds: float | None = None,
    group_prefix: str = "",
) -> RuleSet:
    """Alerting rules for every threshold key the profile can compute.

    ``for_seconds`` overrides every rule's ``for``; ``interval`` sets the
    groups' evaluation interval (default: Prometheus' global one).
    """
    if for_seconds is not None:
        thresholds = _with_for(thresholds, for_seconds)
    grouped = {name: keys for name, keys in GROUPS.items()}
    known = {key for keys in GROUPS.values() for key in keys}
    extra = tuple(key for key in thresholds.rules if key not in known)
    if extra:
        grouped[OTHER_GROUP] = extra
    groups: list[RuleGroup] = []
    skipped: list[str] = []
    for name, keys in grouped.items():
        rules: list[AlertRule] = []
        for key in keys:
            if key not in thresholds.rules:
                continue
            made = _rules_for_key(key, thresholds, profile, severities)
            if made is None:
                skipped.append(key)
            else:
                rules.extend(made)
        if rules:
            groups.append(RuleGroup(f"{group_prefix}{name}", tuple(rules), interval))
    phone = telephony_rules(thresholds, getattr(profile, "telephony", ""), severities, for_seconds)
    if phone:
        groups.append(RuleGroup(f"{group_prefix}{TELEPHONY_GROUP}", phone, interval))
    return RuleSet(tuple(groups), tuple(skipped))


def telephony_rules(
    thresholds: ThresholdSet, telephony: str, severities: tuple[Severity, ...], for_seconds: float | None = None
) -> tuple[AlertRule, ...]:
    """Per-node rules for the telephony thresholds when the profile reads telephony
    (``telephony = "livekit-server"``); the PromQL is the telephony profile's."""
    from voicetop.profiles.telephony import TELEPHONY_PROFILES

    found = TELEPHONY_PROFILES.get(telephony) if telephony else None
    if found is None:
        return ()
    label = found.node_label
    rules = []
    for key, rule in thresholds.telephony.items():
        if for_seconds is not None:
            rule = replace(rule, for_seconds=for_seconds)
        for severity in severities:
            limit = rule.limit(severity)
            annotations = {"summary": _summary(rule, severity, limit, label, "node ")}
            if rule.hint is not None:
                annotations["runbook"] = rule.hint.text()
            rules.append(AlertRule(
                alert=alert_name(rule), expr=_condition(rule, found.node_expr(key), None, limit),
                for_seconds=rule.for_seconds, labels={"severity": severity.word, KEY_LABEL: key},
                annotations=annotations,
            ))
    return tuple(rules)


def _with_for(thresholds: ThresholdSet, seconds: float) -> ThresholdSet:
    result = thresholds.with_overrides({key: {"for_seconds": seconds} for key in thresholds.rules})
    for agent, rules in thresholds.per_agent.items():
        result = result.with_overrides({key: {"for_seconds": seconds} for key in rules}, agent)
    return result


__all__ = [
    "AlertRule", "ExprProvider", "GROUPS", "KEY_LABEL", "RuleGroup", "RuleSet", "TELEPHONY_GROUP",
    "alert_name", "build_rules", "prom_duration", "telephony_rules",
]
