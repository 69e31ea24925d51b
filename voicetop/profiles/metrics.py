"""Metric profiles: which PromQL computes each stat key.

The builtin ``seed`` profile follows the metric contract in DESIGN.md §2.  The
trace profile names ``livekit`` and ``pipecat`` use the same metric naming
(those frameworks export little to Prometheus).  A user profile is a TOML
file that extends a builtin one::

    [profile]
    name = "mine"
    extends = "seed"            # builtin to start from
    agent_label = "service"     # label that identifies an agent (default agent_id)
    rate_window = "5m"          # range of rate() for latency and ratios
    session_window = "15m"      # range for per-session ratios (sessions are rare events)
    baseline_range = "7d"       # baselines: avg_over_time(expr[baseline_range:baseline_step])
    baseline_step = "1h"
    success_outcome = "success" # outcome label value of a successful tool call
    max_agents = 500            # topk() limit on per-agent series
    group_labels = ["model", "provider", "prompt_version", "region"]  # `g` regroups by these
    marker_labels = ["model", "prompt_version"]   # value changes become change markers
    traces = "livekit"          # span profile for the trace source (default seed)
    telephony = "livekit-server"  # also read the LiveKit server/SIP metrics (issue #10)

    [labels]                    # other label names: outcome, component
    component = "stage"

    [metrics]                   # rename a metric; scale multiplies the stats it feeds
    ttft = { name = "llm_ttft_seconds", scale = 1000 }   # histogram in seconds -> ms
    wer = { name = "asr_wer_percent", scale = 0.01 }     # percent -> ratio
    turns = "agent_turns_total"

    [promql]                    # raw PromQL per stat key (must keep the agent label)
    wer = 'avg by (service) (asr_wer_percent) / 100'
    mos = { agent = 'avg by (service) (mos)', fleet = 'avg(mos)' }
    ttft = 'histogram_quantile($q, sum by (le, service) (rate(x_bucket[5m])))'  # $q = quantile
    rtf = ''                    # empty: this stat is not available

Histogram roles (``stt eou ttft llm tts e2e session_turns``) take the base
name (``_bucket``/``_sum``/``_count`` are appended).  Every error names the
offending key.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from voicetop.domain.model import BASELINE_STATS, QUANTILES, STAGES, all_stat_keys, stage_stat_key
from voicetop.domain.query_text import string_literal
from voicetop.domain.text import expected_one_of
from voicetop.tomlread import TomlReader

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

HISTOGRAM_ROLES: tuple[str, ...] = STAGES + ("session_turns",)

#: Metric roles of the seed contract (DESIGN.md §2), role -> default name.
SEED_METRICS: Mapping[str, str] = {
    "ttft": "livekit_llm_ttft_ms",
    "llm": "livekit_llm_duration_ms",
    "stt": "livekit_stt_duration_ms",
    "tts": "livekit_tts_ttfb_ms",
    "eou": "livekit_eou_delay_ms",
    "e2e": "livekit_e2e_latency_ms",
    "turns": "livekit_conversation_turns_total",
    "interruptions": "livekit_interruptions_total",
    "tool_calls": "livekit_tool_calls_total",
    "requests": "livekit_requests_total",
    "errors": "livekit_errors_total",
    "wer": "livekit_asr_wer",
    "mos": "livekit_tts_mos",
    "rtf": "livekit_stt_rtf",
    "active_sessions": "livekit_active_sessions",
    "max_sessions": "livekit_max_sessions",
    "sessions_completed": "livekit_sessions_completed_total",
    "session_turns": "livekit_session_turns",
    "tokens": "livekit_tokens_consumed_total",
    "tts_characters": "livekit_tts_characters_total",
    "session_cost": "livekit_session_cost_usd_total",
}

@dataclass(frozen=True)
class ScalarFormula:
    """A scalar stat as arithmetic on per-group sums of one or two inner expressions.

    ``numerator`` and ``denominator`` are PromQL templates (metric roles in
    braces, ``{rw}``/``{sw}`` the rate/session windows, ``{off}`` an optional
    offset).  The stat is ``agg {by} (numerator)`` alone or divided by
    ``sum {by} (denominator)``; with ``zero_numerator`` a group that has the
    denominator but no numerator series counts as 0 (``or … * 0``).  Sums can
    also be done client-side from the per-agent sums (:mod:`voicetop.sources.prometheus.terms`).
    """

    numerator: str
    denominator: str | None = None
    aggregate: str = "sum"  # "sum" or "avg" (avg has no client-side form)
    zero_numerator: bool = False

    def template(self) -> str:
        """The PromQL template, ``{by}`` standing for ``by (…)`` or nothing (fleet)."""
        numerator = f"{self.aggregate} {{by}} ({self.numerator})"
        if self.denominator is None:
            return numerator
        denominator = f"sum {{by}} ({self.denominator})"
        if self.zero_numerator:
            return f"({numerator} or {denominator} * 0) / {denominator}"
        return f"{numerator} / {denominator}"


def _ratio_or_zero(numerator: str, denominator: str) -> ScalarFormula:
    return ScalarFormula(numerator, denominator, zero_numerator=True)


#: Scalar stat -> formula; role names in braces (see :class:`ScalarFormula`).
SCALAR_FORMULAS: Mapping[str, ScalarFormula] = {
    "wer": ScalarFormula("{wer}{off}", aggregate="avg"),
    "mos": ScalarFormula("{mos}{off}", aggregate="avg"),
    "rtf": ScalarFormula("{rtf}{off}", aggregate="avg"),
    "interruption_rate": _ratio_or_zero("rate({interruptions}[{rw}]{off})", "rate({turns}[{rw}]{off})"),
    "tool_success_rate": _ratio_or_zero(
        "rate({tool_calls}{{{outcome}={success}}}[{rw}]{off})", "rate({tool_calls}[{rw}]{off})"
    ),
    "error_rate": _ratio_or_zero("rate({errors}[{rw}]{off})", "rate({requests}[{rw}]{off})"),
    "active_sessions": ScalarFormula("{active_sessions}{off}"),
    "max_sessions": ScalarFormula("{max_sessions}{off}"),
    "capacity": ScalarFormula("{active_sessions}{off}", "{max_sessions}{off}"),
    "turns_per_session": ScalarFormula("rate({session_turns}_sum[{sw}]{off})", "rate({session_turns}_count[{sw}]{off})"),
    "tokens_per_session": ScalarFormula("rate({tokens}[{sw}]{off})", "rate({sessions_completed}[{sw}]{off})"),
    "cost_per_session": ScalarFormula("rate({session_cost}[{sw}]{off})", "rate({sessions_completed}[{sw}]{off})"),
    "tts_chars_per_turn": ScalarFormula("rate({tts_characters}[{rw}]{off})", "rate({turns}[{rw}]{off})"),
    "turn_rate": ScalarFormula("rate({turns}[{rw}]{off})"),
    "tool_call_rate": _ratio_or_zero("rate({tool_calls}[{rw}]{off})", "rate({turns}[{rw}]{off})"),
}

#: Scalar stat -> PromQL template.  ``{by}`` is ``by (agent)`` or empty (fleet),
#: ``{rw}``/``{sw}`` the rate/session windows, ``{off}`` an optional `` offset 1d``
#: (baseline comparison), other names are metric roles or labels.
SCALAR_TEMPLATES: Mapping[str, str] = {key: formula.template() for key, formula in SCALAR_FORMULAS.items()}

#: Per-component error rate: published as ``error_rate_<component>`` stats (the error rate's formula, by component).
COMPONENT_ERROR_PREFIX = "error_rate_"

#: The metric role whose ``scale`` applies to a stat (other roles cancel out in ratios).
SCALED_BY: Mapping[str, str] = {
    **{stage: stage for stage in STAGES},
    "wer": "wer",
    "mos": "mos",
    "rtf": "rtf",
    "turns_per_session": "session_turns",
    "tokens_per_session": "tokens",
    "cost_per_session": "session_cost",
    "tts_chars_per_turn": "tts_characters",
}

#: Labels the agent table can be regrouped by (``g``), unless a profile names others.
GROUP_LABELS: tuple[str, ...] = ("model", "provider", "prompt_version", "region")
#: Labels whose value changes inside the window become change markers.
MARKER_LABELS: tuple[str, ...] = ("model", "prompt_version")
#: The counter whose per-label traffic tells which label values are live.
MARKER_ROLE = "tokens"

_PROFILE_KEYS = {
    "telephony",
    "name", "extends", "agent_label", "rate_window", "session_window", "baseline_range",
    "baseline_step", "success_outcome", "max_agents", "traces", "group_labels", "marker_labels",
    "recording_rules",
}
_LABEL_KEYS = {"outcome", "component"}
_TOP_KEYS = {"profile", "labels", "metrics", "promql"}
_PROMQL_KEYS = set(all_stat_keys()) | set(STAGES)
TRACE_PROFILE_NAMES = ("seed", "livekit", "pipecat")


class ProfileError(ValueError):
    """A bad profile; the message names the file and the offending key."""


@dataclass(frozen=True)
class MetricRef:
    """A metric's name and the factor applied to the stats it feeds."""

    name: str
    scale: float = 1.0


@dataclass(frozen=True)
class RawQuery:
    """User PromQL for one stat: per agent (keeps the agent label) and fleet-wide."""

    agent: str | None
    fleet: str | None = None
    scale: float = 1.0


@dataclass(frozen=True)
class StatExpr:
    """The final PromQL of one stat key, per agent and for the fleet (None: absent)."""

    key: str
    agent: str | None
    fleet: str | None
    split_label: str | None = None  # publish one stat per value of this label


@dataclass(frozen=True)
class MetricProfile:
    """How stat keys map to PromQL for one naming convention."""

    name: str = "seed"
    agent_label: str = "agent_id"
    labels: Mapping[str, str] = field(default_factory=lambda: {"outcome": "outcome", "component": "component"})
    metrics: Mapping[str, MetricRef] = field(
        default_factory=lambda: {role: MetricRef(name) for role, name in SEED_METRICS.items()}
    )
    promql: Mapping[str, RawQuery] = field(default_factory=dict)
    rate_window: float = 300.0
    session_window: float = 900.0
    baseline_range: float = 7 * 86400.0
    baseline_step: float = 3600.0
    success_outcome: str = "success"
    max_agents: int = 500
    recording_rules: bool = False  # stage and ratio panels read voicetop's recording rules (sources.prometheus.recording)
    traces: str = "seed"
    telephony: str = ""  # telephony profile read next to the agents ("livekit-server")
    source: str = "builtin"
    group_labels: tuple[str, ...] = GROUP_LABELS
    marker_labels: tuple[str, ...] = MARKER_LABELS

    # -- PromQL -----------------------------------------------------------
    def _by(self, *extra: str) -> tuple[str, str]:
        agent = ", ".join((self.agent_label,) + extra)
        fleet = f"by ({', '.join(extra)})" if extra else ""
        return f"by ({agent})", fleet

    def _fill(self, template: str, by: str, offset: float = 0.0) -> str:
        names = {role: ref.name for role, ref in self.metrics.items()}
        return template.format(
            by=by,
            off=_offset(offset),
            rw=promql_duration(self.rate_window),
            sw=promql_duration(self.session_window),
            outcome=self.labels["outcome"],
            success=string_literal(self.success_outcome),
            **names,
        )

    def quantile_expr(
        self, stage: str, q: float, fleet: bool, group: str | None = None, offset: float = 0.0
    ) -> str | None:
        """``histogram_quantile(q, sum by (le, agent) (rate(X_bucket[5m])))`` (scaled).

        ``group`` adds a label to the ``by``; ``offset`` shifts the data back
        (both unavailable for raw PromQL).
        """
        raw = self.promql.get(stage)
        if raw is not None:
            if group or offset:
                return None
            text = raw.fleet if fleet else raw.agent
            return None if not text else _scaled(text.replace("$q", repr(q)), raw.scale)
        ref = self.metrics[stage]
        labels = ["le"] + ([] if fleet else [self.agent_label]) + ([group] if group else [])
        expr = (
            f"histogram_quantile({q!r}, sum by ({', '.join(labels)}) "
            f"(rate({ref.name}_bucket[{promql_duration(self.rate_window)}]{_offset(offset)})))"
        )
        return _scaled(expr, ref.scale)

    def stat_expr(self, key: str, group: str | None = None, offset: float = 0.0) -> StatExpr | None:
        """PromQL of one stat key (stage quantile, scalar or baseline); None when disabled.

        ``group`` keeps that label too (group-by rows); ``offset`` (seconds)
        reads the data that much earlier.  Raw PromQL and baselines have no
        grouped or offset form (None).
        """
        expr = self._stat_expr(key, group, offset)
        if expr is None or (expr.agent is None and expr.fleet is None):
            return None
        return expr

    def label_values_expr(self, label: str) -> str:
        """Per agent and value of ``label``: the traffic of the marker counter (> 0 while live)."""
        name = self.metrics[MARKER_ROLE].name
        return (
            f"sum by ({self.agent_label}, {label}) "
            f"(rate({name}{{{label}!=\"\"}}[{promql_duration(self.rate_window)}])) > 0"
        )

    def _stat_expr(self, key: str, group: str | None = None, offset: float = 0.0) -> StatExpr | None:
        shifted = bool(group or offset)
        if key in self.promql:
            if shifted:
                return None
            raw = self.promql[key]
            return StatExpr(key, _scaled_or_none(raw.agent, raw.scale), _scaled_or_none(raw.fleet, raw.scale))
        stage, _, quantile = key.rpartition("_")
        if stage in STAGES and quantile in dict(QUANTILES):
            q = dict(QUANTILES)[quantile]
            return StatExpr(
                key, self.quantile_expr(stage, q, False, group, offset),
                self.quantile_expr(stage, q, True, group, offset),
            )
        if key.endswith("_baseline") and key[: -len("_baseline")] in BASELINE_STATS:
            base = None if shifted else self.stat_expr(key[: -len("_baseline")])
            if base is None:
                return None
            return StatExpr(key, self._baseline(base.agent), self._baseline(base.fleet))
        template = SCALAR_TEMPLATES.get(key)
        if template is None:
            return None
        by_agent, by_fleet = self._by(*([group] if group else []))
        scale = self.stat_scale(key)
        return StatExpr(
            key, _scaled(self._fill(template, by_agent, offset), scale),
            _scaled(self._fill(template, by_fleet, offset), scale),
        )

    def scalar_formula(self, key: str) -> ScalarFormula | None:
        """The formula of a scalar stat computed from this profile's metrics (None: raw PromQL or no scalar)."""
        if key in self.promql:
            return None
        return SCALAR_FORMULAS.get(key)

    def per_agent_sum(self, inner: str, split_label: str | None = None) -> str:
        """``sum by (<agent>[, split]) (inner)`` for one formula term, without offset."""
        by_agent, _ = self._by(*([split_label] if split_label else []))
        return self._fill("sum {by} (" + inner + ")", by_agent)

    def component_error_expr(self) -> StatExpr | None:
        """Error rate per component, split into ``error_rate_<component>`` stats."""
        if "error_rate" in self.promql:
            return None
        component = self.labels["component"]
        by_agent, by_fleet = self._by(component)
        return StatExpr(
            COMPONENT_ERROR_PREFIX,
            self._fill(SCALAR_TEMPLATES["error_rate"], by_agent),
            self._fill(SCALAR_TEMPLATES["error_rate"], by_fleet),
            split_label=component,
        )

    def _baseline(self, expr: str | None) -> str | None:
        if expr is None:
            return None
        window = f"{promql_duration(self.baseline_range)}:{promql_duration(self.baseline_step)}"
        return f"avg_over_time(({expr})[{window}])"

    def stat_scale(self, key: str) -> float:
        """The factor applied to a scalar stat (its metric role's ``scale``)."""
        role = SCALED_BY.get(key)
        return self.metrics[role].scale if role else 1.0

    def stat_keys(self) -> tuple[str, ...]:
        """The stat keys this profile defines."""
        return tuple(k for k in all_stat_keys() if self.stat_expr(k) is not None)


def promql_duration(seconds: float) -> str:
    """Shortest PromQL duration literal: ``5m``, ``7d``, ``90s``, ``1500ms``."""
    if seconds != int(seconds):
        return f"{int(round(seconds * 1000))}ms"
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def _offset(seconds: float) -> str:
    """`` offset 1d`` (empty for zero)."""
    return f" offset {promql_duration(seconds)}" if seconds else ""


def _scaled(expr: str, scale: float) -> str:
    return expr if scale == 1.0 else f"({expr}) * {scale!r}"


def _scaled_or_none(expr: str | None, scale: float) -> str | None:
    return _scaled(expr, scale) if expr else None


SEED = MetricProfile()

BUILTIN_PROFILES: Mapping[str, MetricProfile] = {
    "seed": SEED,
    # livekit-agents and Pipecat export (almost) no latency metrics: their span
    # profiles differ, their metric naming is the seed contract.
    "livekit": replace(SEED, name="livekit", traces="livekit"),
    "pipecat": replace(SEED, name="pipecat", traces="pipecat"),
    # seed agent metrics plus the LiveKit media server and SIP service (issue #10)
    "livekit-server": replace(SEED, name="livekit-server", traces="livekit", telephony="livekit-server"),
}


# -- TOML ---------------------------------------------------------------------
class _Reader(TomlReader):
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, problem: str) -> ProfileError:
        return ProfileError(f"profile {self.where}: key '{key}': {problem}")

    def keys(self, data: Mapping, allowed: set[str], prefix: str) -> None:
        for key in data:
            if key not in allowed:
                raise self.fail(f"{prefix}.{key}", f"unknown key ({expected_one_of(sorted(allowed), str(key), 'docs/profiles.md')})")

    def name(self, value: Any, key: str, pattern: re.Pattern, what: str) -> str:
        text = self.string(value, key).strip()
        if not pattern.match(text):
            raise self.fail(key, f"not a valid {what}: {text!r}")
        return text

    def duration(self, value: Any, key: str) -> float:
        seconds = super().duration(value, key)
        if seconds <= 0:
            raise self.fail(key, "must be positive")
        return seconds

    def scale(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, "expected a number")
        if not math.isfinite(value) or value == 0:
            raise self.fail(key, "must be a finite, non-zero number")
        return float(value)


def _metric_ref(reader: _Reader, value: Any, key: str) -> MetricRef:
    if isinstance(value, str):
        data: dict = {"name": value}
    else:
        data = reader.table(value, key)
        reader.keys(data, {"name", "scale"}, key)
    if "name" not in data:
        raise reader.fail(key, "missing 'name'")
    name = reader.name(data["name"], f"{key}.name", _METRIC_NAME, "metric name")
    role = key.split(".")[-1]
    if role in HISTOGRAM_ROLES and name.endswith("_bucket"):
        name = name[: -len("_bucket")]
    scale = reader.scale(data["scale"], f"{key}.scale") if "scale" in data else 1.0
    if scale != 1.0 and role not in SCALED_BY.values():
        raise reader.fail(f"{key}.scale", "this metric only appears in ratios; a scale would cancel out")
    return MetricRef(name, scale)


def _raw_query(reader: _Reader, value: Any, key: str) -> RawQuery:
    if isinstance(value, str):
        return RawQuery(agent=value.strip() or None)
    data = reader.table(value, key)
    reader.keys(data, {"agent", "fleet", "scale"}, key)
    agent = reader.string(data.get("agent", ""), f"{key}.agent").strip() or None
    fleet = reader.string(data.get("fleet", ""), f"{key}.fleet").strip() or None
    scale = reader.scale(data["scale"], f"{key}.scale") if "scale" in data else 1.0
    return RawQuery(agent, fleet, scale)


def parse_profile(text: str, where: str = "<text>") -> MetricProfile:
    """Parse a TOML metric profile; errors name the file and key."""
    reader = _Reader(where)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile {where}: invalid TOML: {exc}") from None
    for key in data:
        if key not in _TOP_KEYS:
            raise reader.fail(key, f"unknown section ({expected_one_of(sorted(_TOP_KEYS), str(key), 'docs/profiles.md')})")
    head = reader.table(data.get("profile", {}), "profile")
    reader.keys(head, _PROFILE_KEYS, "profile")
    base_name = reader.string(head.get("extends", "seed"), "profile.extends")
    if base_name not in BUILTIN_PROFILES:
        raise reader.fail("profile.extends", f"no builtin profile {base_name!r} (known: {', '.join(BUILTIN_PROFILES)})")
    base = BUILTIN_PROFILES[base_name]
    changes: dict[str, Any] = {"source": where, "name": reader.string(head.get("name", Path(where).stem), "profile.name")}
    if "agent_label" in head:
        changes["agent_label"] = reader.name(head["agent_label"], "profile.agent_label", _LABEL_NAME, "label name")
    for key in ("rate_window", "session_window", "baseline_range", "baseline_step"):
        if key in head:
            changes[key] = reader.duration(head[key], f"profile.{key}")
    if "success_outcome" in head:
        changes["success_outcome"] = reader.string(head["success_outcome"], "profile.success_outcome")
    if "max_agents" in head:
        value = head["max_agents"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise reader.fail("profile.max_agents", "expected a positive integer")
        changes["max_agents"] = value
    if "recording_rules" in head:
        if not isinstance(head["recording_rules"], bool):
            raise reader.fail("profile.recording_rules", "expected true or false")
        changes["recording_rules"] = head["recording_rules"]
    for key in ("group_labels", "marker_labels"):
        if key in head:
            value = head[key]
            if not isinstance(value, list):
                raise reader.fail(f"profile.{key}", "expected a list of label names")
            changes[key] = tuple(
                reader.name(item, f"profile.{key}", _LABEL_NAME, "label name") for item in value
            )
    if "traces" in head:
        traces = reader.string(head["traces"], "profile.traces")
        if traces not in TRACE_PROFILE_NAMES:
            raise reader.fail("profile.traces", f"expected one of: {', '.join(TRACE_PROFILE_NAMES)}")
        changes["traces"] = traces
    if "telephony" in head:
        telephony = reader.string(head["telephony"], "profile.telephony")
        if telephony not in ("", "livekit-server"):
            raise reader.fail("profile.telephony", "expected \"livekit-server\" or \"\" (none)")
        changes["telephony"] = telephony
    labels = dict(base.labels)
    label_table = reader.table(data.get("labels", {}), "labels")
    reader.keys(label_table, _LABEL_KEYS, "labels")
    for key, value in label_table.items():
        labels[key] = reader.name(value, f"labels.{key}", _LABEL_NAME, "label name")
    changes["labels"] = labels
    metrics = dict(base.metrics)
    metric_table = reader.table(data.get("metrics", {}), "metrics")
    reader.keys(metric_table, set(SEED_METRICS), "metrics")
    for role, value in metric_table.items():
        metrics[role] = _metric_ref(reader, value, f"metrics.{role}")
    changes["metrics"] = metrics
    promql = dict(base.promql)
    promql_table = reader.table(data.get("promql", {}), "promql")
    reader.keys(promql_table, _PROMQL_KEYS, "promql")
    for key, value in promql_table.items():
        promql[key] = _raw_query(reader, value, f"promql.{key}")
    changes["promql"] = promql
    return replace(base, **changes)


def load_profile(name_or_path: str) -> MetricProfile:
    """A builtin profile by name, or a TOML profile file by path."""
    if name_or_path in BUILTIN_PROFILES:
        return BUILTIN_PROFILES[name_or_path]
    path = Path(name_or_path).expanduser()
    if not path.suffix and not path.exists():
        raise ProfileError(
            f"profile: key 'profile': no builtin profile {name_or_path!r} "
            f"(known: {', '.join(BUILTIN_PROFILES)}) and no such file"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(f"profile {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"profile {path}: cannot read: {exc}") from None
    return parse_profile(text, str(path))


__all__ = [
    "BUILTIN_PROFILES", "MetricProfile", "MetricRef", "ProfileError", "RawQuery", "SEED",
    "StatExpr", "load_profile", "parse_profile", "stage_stat_key",
]
