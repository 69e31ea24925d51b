"""Span profiles: how a framework names its turn spans and stage timings.

A :class:`SpanProfile` tells :mod:`voicetop.domain.turns` where each pipeline
stage's timing lives (a span's duration, or a numeric attribute on a span with
a unit scale) and where session id, agent id, interruption, tokens and tool
outcomes are.  Builtins follow DESIGN.md §3: ``seed``, ``livekit``, ``pipecat``.
Users extend them in TOML (``extends = "livekit"`` plus overrides).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

from voicetop.domain.model import STAGES, Span

#: Stages a span can be coloured by in a waterfall (STAGES plus tools).
SPAN_STAGES: tuple[str, ...] = (*STAGES, "tool")

UNIT_SCALES: Mapping[str, float] = {"s": 1000.0, "ms": 1.0, "us": 0.001, "ns": 1e-6}


class ProfileError(ValueError):
    """A bad span profile; the message names the file and key."""


@dataclass(frozen=True)
class StageRule:
    """One way to read a stage timing in ms.

    ``spans`` names the spans to look at (empty: the turn root itself).
    Without ``attr`` the value is the span's duration; with it, the numeric
    attribute times ``scale``.  ``combine`` joins several matching spans:
    ``first`` (earliest), ``sum`` or ``max``.
    """

    spans: tuple[str, ...] = ()
    attr: str | None = None
    scale: float = 1.0
    combine: str = "first"


@dataclass(frozen=True)
class SpanProfile:
    """Naming of one framework's spans (see DESIGN.md §3)."""

    name: str
    turn_roots: tuple[str, ...]
    stages: Mapping[str, tuple[StageRule, ...]]
    #: Spans outside a turn's subtree that still belong to it (LiveKit's
    #: ``user_turn``, a sibling of ``agent_turn``): the latest one starting
    #: before the turn root is attached.
    companions: tuple[str, ...] = ()
    tool_spans: tuple[str, ...] = ()
    tool_name_attrs: tuple[str, ...] = ()
    tool_success_attrs: tuple[str, ...] = ()
    tool_error_attrs: tuple[str, ...] = ()
    interruption_attrs: tuple[str, ...] = ()
    session_attrs: tuple[str, ...] = ()
    agent_attrs: tuple[str, ...] = ()
    room_attrs: tuple[str, ...] = ()
    index_attrs: tuple[str, ...] = ()
    token_attrs: tuple[str, ...] = ()
    #: Span name → waterfall stage colour, beyond what ``stages`` implies.
    span_stages: Mapping[str, str] = field(default_factory=dict)
    #: Span names whose presence identifies this profile (auto-detection).
    markers: tuple[str, ...] = ()
    #: Group-by label → span attributes holding its value, first found wins
    #: (``prompt_version`` → ``prompt.version``); read from a turn's spans and
    #: its ancestors into ``Turn.labels``.
    group_attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def stage_of_span(self, name: str) -> str | None:
        """The stage a span (by name) belongs to, for colouring; None if none."""
        if name in self.span_stages:
            return self.span_stages[name]
        if name in self.tool_spans:
            return "tool"
        for stage in ("stt", "eou", "llm", "ttft", "tts"):
            for rule in self.stages.get(stage, ()):
                if name in rule.spans:
                    return "llm" if stage == "ttft" else stage
        return None

    def attribute_keys(self) -> tuple[str, ...]:
        """Every span attribute this profile reads (for backend ``select``)."""
        keys: list[str] = []
        for rules in self.stages.values():
            keys.extend(r.attr for r in rules if r.attr)
        for group in (
            self.tool_name_attrs, self.tool_success_attrs, self.tool_error_attrs,
            self.interruption_attrs, self.session_attrs, self.agent_attrs,
            self.room_attrs, self.index_attrs, self.token_attrs,
            *self.group_attributes.values(),
        ):
            keys.extend(group)
        return tuple(dict.fromkeys(keys))

    def span_names(self) -> tuple[str, ...]:
        """Every span name this profile reads."""
        names = list(self.turn_roots) + list(self.companions) + list(self.tool_spans)
        for rules in self.stages.values():
            for rule in rules:
                names.extend(rule.spans)
        names.extend(self.span_stages)
        return tuple(dict.fromkeys(names))


def _dur(*spans: str, combine: str = "first") -> StageRule:
    return StageRule(spans=spans, combine=combine)


def _attr(attr: str, *spans: str, unit: str = "ms") -> StageRule:
    return StageRule(spans=spans, attr=attr, scale=UNIT_SCALES[unit])


#: Group-by labels every builtin profile reads from span attributes.
_PROMPT_ATTRS = ("prompt.version", "prompt_version", "gen_ai.prompt.version")
_PROVIDER_ATTRS = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "provider")

SEED = SpanProfile(
    name="seed",
    turn_roots=("voice_turn",),
    stages={
        "stt": (_attr("stt.duration_ms", "stt_processing"), _dur("stt_processing")),
        "eou": (_attr("eou.delay_ms"),),
        "ttft": (_attr("llm.ttft_ms"), _attr("llm.ttft_ms", "llm_inference")),
        "llm": (_dur("llm_inference", combine="sum"),),
        "tts": (_attr("tts.ttfb_ms", "tts_synthesis"), _dur("tts_synthesis")),
        "e2e": (_attr("e2e.latency_ms"), _dur()),
    },
    tool_spans=("tool_invocation",),
    tool_name_attrs=("tool.name",),
    tool_success_attrs=("tool.success",),
    interruption_attrs=("turn.interrupted",),
    session_attrs=("session.id",),
    agent_attrs=("agent.id",),
    room_attrs=("room.name",),
    index_attrs=("turn.index",),
    token_attrs=("llm.prompt_tokens", "llm.completion_tokens"),
    markers=("voice_turn", "stt_processing", "llm_inference", "tts_synthesis"),
    group_attributes={
        "prompt_version": _PROMPT_ATTRS,
        "model": ("llm.model", "gen_ai.request.model", "model"),
        "provider": _PROVIDER_ATTRS,
    },
)

LIVEKIT = SpanProfile(
    name="livekit",
    turn_roots=("agent_turn",),
    companions=("user_turn",),
    stages={
        "stt": (_attr("lk.transcription_delay", "user_turn", unit="s"),),
        "eou": (
            _attr("lk.end_of_turn_delay", "user_turn", unit="s"),
            _dur("eou_detection"),
        ),
        "ttft": (_attr("lk.response.ttft", "llm_node", unit="s"),),
        "llm": (_dur("llm_request", combine="sum"), _dur("llm_node", combine="sum")),
        "tts": (_attr("lk.response.ttfb", "tts_node", unit="s"),),
        "e2e": (_attr("lk.e2e_latency", unit="s"),),
    },
    tool_spans=("function_tool",),
    tool_name_attrs=("lk.function_tool.name",),
    tool_error_attrs=("lk.function_tool.is_error",),
    interruption_attrs=("lk.interrupted",),
    session_attrs=("gen_ai.conversation.id", "lk.room_sid", "lk.session_id"),
    agent_attrs=("lk.agent_name",),
    room_attrs=("lk.room_name",),
    index_attrs=("lk.turn_index",),
    token_attrs=("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"),
    span_stages={"user_turn": "stt", "eou_detection": "eou", "tts_request": "tts"},
    markers=("agent_turn", "user_turn", "llm_node", "tts_node", "agent_session"),
    group_attributes={
        "prompt_version": (*_PROMPT_ATTRS, "lk.prompt_version"),
        "model": ("gen_ai.request.model", "lk.llm.model", "model"),
        "provider": (*_PROVIDER_ATTRS, "lk.llm.provider"),
    },
)

PIPECAT = SpanProfile(
    name="pipecat",
    turn_roots=("turn",),
    stages={
        "stt": (_attr("metrics.ttfb", "stt", unit="s"), _dur("stt")),
        "ttft": (_attr("metrics.ttfb", "llm", unit="s"),),
        "llm": (_dur("llm", combine="sum"),),
        "tts": (_attr("metrics.ttfb", "tts", unit="s"),),
        "e2e": (_attr("turn.user_bot_latency_seconds", unit="s"),),
    },
    interruption_attrs=("turn.was_interrupted",),
    session_attrs=("conversation.id",),
    index_attrs=("turn.number",),
    token_attrs=("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"),
    markers=("turn", "conversation", "stt", "llm", "tts"),
    group_attributes={
        "prompt_version": _PROMPT_ATTRS,
        "model": ("gen_ai.request.model", "model"),
        "provider": _PROVIDER_ATTRS,
    },
)

BUILTIN_PROFILES: Mapping[str, SpanProfile] = {p.name: p for p in (SEED, LIVEKIT, PIPECAT)}


def builtin_profile(name: str) -> SpanProfile:
    try:
        return BUILTIN_PROFILES[name]
    except KeyError:
        known = ", ".join(BUILTIN_PROFILES)
        raise ProfileError(f"unknown span profile '{name}' (builtins: {known})") from None


def detect_profile(
    spans: Iterable[Span], candidates: Iterable[SpanProfile] = BUILTIN_PROFILES.values()
) -> SpanProfile:
    """The profile whose turn roots and marker spans best match ``spans``.

    A profile needs at least one of its turn-root spans to score; ties go to
    the earlier candidate.  Falls back to ``seed``.
    """
    names = {s.name for s in spans}
    best, best_score = SEED, 0
    for profile in candidates:
        if not names.intersection(profile.turn_roots):
            continue
        score = 10 + len(names.intersection(profile.markers))
        if score > best_score:
            best, best_score = profile, score
    return best


# --- TOML --------------------------------------------------------------------

_TUPLE_FIELDS = {
    f.name for f in fields(SpanProfile)
    if f.name not in ("name", "stages", "span_stages", "group_attributes")
}
_PROFILE_KEYS = _TUPLE_FIELDS | {"name", "extends", "stages", "span_stages", "group_attributes"}
_RULE_KEYS = {"span", "spans", "attr", "unit", "scale", "combine"}
_COMBINES = ("first", "sum", "max")


def _strings(value: Any, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ProfileError(f"{where}: key '{key}': expected a string or a list of strings")


def _rule(data: Any, key: str, where: str) -> StageRule:
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: key '{key}': expected a table")
    for name in data:
        if name not in _RULE_KEYS:
            raise ProfileError(
                f"{where}: unknown key '{key}.{name}' (expected one of: {', '.join(sorted(_RULE_KEYS))})"
            )
    spans = _strings(data.get("spans", data.get("span", [])), f"{key}.span", where)
    attr = data.get("attr")
    if attr is not None and not isinstance(attr, str):
        raise ProfileError(f"{where}: key '{key}.attr': expected a string")
    unit = data.get("unit", "ms")
    if unit not in UNIT_SCALES:
        raise ProfileError(f"{where}: key '{key}.unit': expected one of: {', '.join(UNIT_SCALES)}")
    scale = data.get("scale", UNIT_SCALES[unit])
    if isinstance(scale, bool) or not isinstance(scale, (int, float)):
        raise ProfileError(f"{where}: key '{key}.scale': expected a number")
    combine = data.get("combine", "first")
    if combine not in _COMBINES:
        raise ProfileError(f"{where}: key '{key}.combine': expected one of: {', '.join(_COMBINES)}")
    return StageRule(spans=spans, attr=attr, scale=float(scale), combine=combine)


def profile_from_mapping(
    data: Mapping[str, Any], where: str, known: Mapping[str, SpanProfile] = BUILTIN_PROFILES
) -> SpanProfile:
    """A profile from a parsed TOML table; unknown keys raise naming the key."""
    for key in data:
        if key not in _PROFILE_KEYS:
            raise ProfileError(
                f"{where}: unknown key '{key}' (expected one of: {', '.join(sorted(_PROFILE_KEYS))})"
            )
    parent_name = data.get("extends", "seed")
    if not isinstance(parent_name, str) or parent_name not in known:
        raise ProfileError(
            f"{where}: key 'extends': unknown profile {parent_name!r} (known: {', '.join(known)})"
        )
    base = known[parent_name]
    changes: dict[str, Any] = {"name": str(data.get("name", f"{parent_name}+custom"))}
    for key in _TUPLE_FIELDS:
        if key in data:
            changes[key] = _strings(data[key], key, where)
    if "stages" in data:
        stages = data["stages"]
        if not isinstance(stages, dict):
            raise ProfileError(f"{where}: key 'stages': expected a table")
        merged = dict(base.stages)
        for stage, value in stages.items():
            if stage not in STAGES:
                raise ProfileError(
                    f"{where}: unknown key 'stages.{stage}' (expected one of: {', '.join(STAGES)})"
                )
            items = value if isinstance(value, list) else [value]
            merged[stage] = tuple(_rule(v, f"stages.{stage}", where) for v in items)
        changes["stages"] = merged
    if "span_stages" in data:
        table = data["span_stages"]
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise ProfileError(f"{where}: key 'span_stages': expected a table of strings")
        for span_name, stage in table.items():
            if stage not in SPAN_STAGES:
                raise ProfileError(
                    f"{where}: key 'span_stages.{span_name}': expected one of: {', '.join(SPAN_STAGES)}"
                )
        changes["span_stages"] = {**base.span_stages, **table}
    if "group_attributes" in data:
        table = data["group_attributes"]
        if not isinstance(table, dict):
            raise ProfileError(f"{where}: key 'group_attributes': expected a table of label = attribute(s)")
        changes["group_attributes"] = {
            **base.group_attributes,
            **{label: _strings(attrs, f"group_attributes.{label}", where) for label, attrs in table.items()},
        }
    return replace(base, **changes)


def profile_from_toml(text: str, where: str = "<profile>") -> SpanProfile:
    """A profile from TOML text: the ``[spans]`` table if present, else the top level.

    Other top-level tables (e.g. a metric profile's ``[metrics]``) are left to
    their own readers.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{where}: invalid TOML: {exc}") from None
    table = data.get("spans")
    if isinstance(table, dict):
        table = dict(table)
        for shared in ("name", "extends"):
            if shared in data and shared not in table:
                table[shared] = data[shared]
    else:
        table = {
            k: v for k, v in data.items()
            if not isinstance(v, dict) or k in ("stages", "span_stages", "group_attributes")
        }
    return profile_from_mapping(table, where)


def load_span_profile(spec: str | None) -> SpanProfile | None:
    """``None`` (auto-detect), a builtin name, or a path to a TOML profile file."""
    if spec is None or spec == "" or spec == "auto":
        return None
    if spec in BUILTIN_PROFILES:
        return BUILTIN_PROFILES[spec]
    path = Path(spec).expanduser()
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ProfileError(f"{path}: cannot read profile: {exc.strerror or exc}") from None
        return profile_from_toml(text, str(path))
    return builtin_profile(spec)
