"""Derive turns, their stage timings and sessions from span trees.

A turn is a turn-root span (``voice_turn``, ``agent_turn``, ``turn``…) plus
its descendants (and, for LiveKit, the ``user_turn`` sibling that precedes it).
A trace may hold one turn (seed) or a whole conversation (LiveKit, Pipecat);
a live conversation's root span is not exported yet, so parents may be missing.
Spans from a backend search may carry no parent links at all: then a span
belongs to the turn whose time range contains it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

from voicetop.domain.model import (
    QUANTILES,
    STAGES,
    Session,
    Span,
    StageStats,
    ToolCall,
    Trace,
    Turn,
)
from voicetop.domain.stats import percentile
from voicetop.profiles.spans import SpanProfile, StageRule, detect_profile

#: Slack (ns) when deciding that a span lies inside a turn by time alone.
_CONTAIN_SLACK_NS = 1_000_000


@dataclass(frozen=True)
class TurnSpans:
    """The spans of one turn: its root, members (root first) and stage sources."""

    root: Span
    members: tuple[Span, ...]
    ancestors: tuple[Span, ...]


class _Index:
    """Parent/child lookups over one trace's spans."""

    def __init__(self, trace: Trace) -> None:
        self.by_id: dict[str, Span] = {}
        for span in trace.spans:
            self.by_id.setdefault(span.span_id, span)
        self.spans = tuple(self.by_id.values())
        self.children: dict[str, list[Span]] = defaultdict(list)
        for span in self.spans:
            if span.parent_id and span.parent_id in self.by_id and span.parent_id != span.span_id:
                self.children[span.parent_id].append(span)
        self.linked = any(s.parent_id for s in self.spans)

    def descendants(self, root: Span) -> list[Span]:
        found: list[Span] = []
        stack = [root]
        seen = {root.span_id}
        while stack:
            for child in self.children.get(stack.pop().span_id, ()):
                if child.span_id not in seen:
                    seen.add(child.span_id)
                    found.append(child)
                    stack.append(child)
        return found

    def ancestors(self, span: Span) -> list[Span]:
        chain: list[Span] = []
        seen = {span.span_id}
        current = span
        while current.parent_id and current.parent_id in self.by_id:
            current = self.by_id[current.parent_id]
            if current.span_id in seen:
                break
            seen.add(current.span_id)
            chain.append(current)
        return chain


def turn_roots(trace: Trace, profile: SpanProfile) -> list[Span]:
    """The trace's turn-root spans, oldest first (duplicate ids once)."""
    seen: set[str] = set()
    roots = []
    for span in sorted(trace.spans, key=lambda s: s.start_ns):
        if span.name in profile.turn_roots and span.span_id not in seen:
            seen.add(span.span_id)
            roots.append(span)
    return roots


def _contained(span: Span, root: Span) -> bool:
    return (
        span.start_ns >= root.start_ns - _CONTAIN_SLACK_NS
        and span.end_ns <= root.end_ns + _CONTAIN_SLACK_NS
    )


def _turn_spans(index: _Index, root: Span, roots: Sequence[Span], profile: SpanProfile) -> TurnSpans:
    if index.linked:
        members = index.descendants(root)
    else:
        other_roots = {r.span_id for r in roots}
        members = [s for s in index.spans if s.span_id not in other_roots and _contained(s, root)]
    member_ids = {root.span_id, *(m.span_id for m in members)}
    for name in profile.companions:
        candidates = [
            s for s in index.spans
            if s.name == name and s.span_id not in member_ids and s.start_ns <= root.start_ns
        ]
        if candidates:
            companion = max(candidates, key=lambda s: s.start_ns)
            members.append(companion)
            members.extend(d for d in index.descendants(companion) if d.span_id not in member_ids)
    members.sort(key=lambda s: s.start_ns)
    return TurnSpans(root, (root, *members), tuple(index.ancestors(root)))


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            number = float(value)  # an int beyond a double's range (a hostile attribute) is no number
        except OverflowError:
            return None
        return number if math.isfinite(number) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _rule_value(rule: StageRule, turn: TurnSpans) -> tuple[float, Span] | None:
    """A stage value in ms and the span it came from, or None."""
    if rule.spans:
        candidates = [s for s in turn.members if s.name in rule.spans]
    else:
        candidates = [turn.root]
    picked: list[tuple[float, Span]] = []
    for span in candidates:
        if rule.attr is None:
            picked.append((span.duration_ms, span))
        else:
            number = _number(span.attributes.get(rule.attr))
            if number is not None:
                picked.append((number * rule.scale, span))
    if not picked:
        return None
    if rule.combine == "sum":
        return sum(v for v, _ in picked), picked[0][1]
    if rule.combine == "max":
        return max(picked, key=lambda p: p[0])
    return picked[0]


def stage_values(turn: TurnSpans, profile: SpanProfile) -> dict[str, tuple[float, Span]]:
    """Each stage's value (ms) and the span that holds it; absent stages omitted."""
    values: dict[str, tuple[float, Span]] = {}
    for stage in STAGES:
        for rule in profile.stages.get(stage, ()):
            found = _rule_value(rule, turn)
            if found is not None:
                values[stage] = found
                break
    return values


def _lookup(keys: Sequence[str], spans: Iterable[Span]) -> object:
    for span in spans:
        for key in keys:
            value = span.attributes.get(key)
            if value is not None and value != "":
                return value
    return None


def _tools(turn: TurnSpans, profile: SpanProfile) -> tuple[ToolCall, ...]:
    calls = []
    for span in turn.members:
        if span.name not in profile.tool_spans:
            continue
        name = _lookup(profile.tool_name_attrs, [span])
        success = _lookup(profile.tool_success_attrs, [span])
        error = span.status_error or _truthy(_lookup(profile.tool_error_attrs, [span]))
        if success is not None and not _truthy(success):
            error = True
        calls.append(ToolCall(str(name) if name is not None else span.name, error, span.duration_ms))
    return tuple(calls)


def turn_labels(spans: Iterable[Span], profile: SpanProfile) -> dict[str, str]:
    """Group-by label values (``prompt_version``, ``model``…) from ``spans``, in
    order (the turn's own spans first, then its ancestors), as the profile names them."""
    spans = list(spans)
    labels = {}
    for label, keys in profile.group_attributes.items():
        value = _lookup(keys, spans)
        if value is not None and not isinstance(value, (dict, list, tuple)):
            labels[label] = str(value)
    return labels


def _turn(trace: Trace, index: _Index, spans: TurnSpans, ordinal: int, profile: SpanProfile) -> Turn:
    root = spans.root
    # Session and agent come from the turn's own spans only: ancestors (e.g. a
    # live session's root) may appear later, and ids must not change then.
    session = _lookup(profile.session_attrs, spans.members)
    agent = _lookup(profile.agent_attrs, spans.members)
    room = _lookup(profile.room_attrs, [*spans.members, *spans.ancestors])
    position = _number(_lookup(profile.index_attrs, [root]))
    tokens = 0
    for span in spans.members:
        for key in profile.token_attrs:
            number = _number(span.attributes.get(key))
            if number is not None:
                tokens += int(number)
    interrupted = any(
        _truthy(span.attributes.get(key))
        for span in spans.members
        for key in profile.interruption_attrs
        if key in span.attributes
    )
    tools = _tools(spans, profile)
    return Turn(
        trace_id=trace.trace_id,
        session_id=str(session) if session is not None else trace.trace_id,
        agent_id=str(agent) if agent is not None else (root.service or "unknown"),
        index=int(position) if position is not None else ordinal,
        start=root.start_ns / 1e9,
        stages={stage: value for stage, (value, _) in stage_values(spans, profile).items()},
        interrupted=interrupted,
        tokens=tokens,
        tool_calls=len(tools),
        tool_errors=sum(1 for t in tools if t.error),
        root_span_id=root.span_id,
        duration_ms=root.duration_ms,
        tools=tools,
        room=str(room) if room is not None else "",
        labels=turn_labels([*spans.members, *spans.ancestors], profile),
    )


def turn_spans(trace: Trace, profile: SpanProfile) -> list[TurnSpans]:
    """The span groups of every turn in ``trace``, oldest first."""
    index = _Index(trace)
    roots = turn_roots(trace, profile)
    return [_turn_spans(index, root, roots, profile) for root in roots]


def derive_turns(trace: Trace, profile: SpanProfile | None = None) -> list[Turn]:
    """Every turn in ``trace`` (profile auto-detected when None), oldest first."""
    profile = profile or detect_profile(trace.spans)
    index = _Index(trace)
    roots = turn_roots(trace, profile)
    return [
        _turn(trace, index, _turn_spans(index, root, roots, profile), ordinal, profile)
        for ordinal, root in enumerate(roots)
    ]


def derive_turn(trace: Trace, profile: SpanProfile | None = None) -> Turn | None:
    """The (first) turn of a one-turn trace, or None when it has no turn root."""
    turns = derive_turns(trace, profile)
    return turns[0] if turns else None


def turns_from_traces(traces: Iterable[Trace], profile: SpanProfile | None = None) -> list[Turn]:
    """All turns of many traces, oldest first, each (trace, root span) once."""
    seen: set[tuple[str, str]] = set()
    turns: list[Turn] = []
    for trace in traces:
        for turn in derive_turns(trace, profile):
            key = (turn.trace_id, turn.root_span_id)
            if key not in seen:
                seen.add(key)
                turns.append(turn)
    turns.sort(key=lambda t: (t.start, t.index))
    return turns


def turn_subtree(trace: Trace, turn: Turn, profile: SpanProfile | None = None) -> Trace:
    """The spans of one turn of a multi-turn trace (the whole trace if not found)."""
    profile = profile or detect_profile(trace.spans)
    for spans in turn_spans(trace, profile):
        if spans.root.span_id == turn.root_span_id:
            return Trace(trace.trace_id, spans.members)
    return trace


def trace_stage_stats(turns: Iterable[Turn]) -> dict[str, StageStats]:
    """Per-stage p50/p90/p95/p99 over turns (stages with no samples omitted)."""
    samples: dict[str, list[float]] = defaultdict(list)
    for turn in turns:
        for stage, value in turn.stages.items():
            if stage in STAGES and value is not None and math.isfinite(value):
                samples[stage].append(value)
    return {
        stage: StageStats(
            stage=stage,
            derived_from="traces",
            **{name: percentile(samples[stage], q) for name, q in QUANTILES},
        )
        for stage in STAGES
        if samples.get(stage)
    }


def trace_stage_stats_by_agent(turns: Iterable[Turn]) -> dict[str | None, dict[str, StageStats]]:
    """:func:`trace_stage_stats` per agent, plus the fleet under ``None``."""
    turns = list(turns)
    by_agent: dict[str, list[Turn]] = defaultdict(list)
    for turn in turns:
        by_agent[turn.agent_id].append(turn)
    result: dict[str | None, dict[str, StageStats]] = {None: trace_stage_stats(turns)}
    for agent_id, items in by_agent.items():
        result[agent_id] = trace_stage_stats(items)
    return result


def sessions_from_turns(turns: Iterable[Turn]) -> list[Session]:
    """Turns grouped into sessions, most recently active first."""
    grouped: dict[str, list[Turn]] = defaultdict(list)
    for turn in turns:
        grouped[turn.session_id].append(turn)
    sessions = []
    for session_id, items in grouped.items():
        items.sort(key=lambda t: (t.start, t.index))
        e2e = [t.stages["e2e"] for t in items if "e2e" in t.stages]
        last = items[-1]
        sessions.append(
            Session(
                session_id=session_id,
                agent_id=last.agent_id,
                room=next((t.room for t in reversed(items) if t.room), ""),
                started=items[0].start,
                last_seen=max(t.start + t.duration_ms / 1000 for t in items),
                turns=len(items),
                last_e2e_ms=last.stages.get("e2e"),
                worst_e2e_ms=max(e2e) if e2e else None,
                interruptions=sum(1 for t in items if t.interrupted),
                tokens=sum(t.tokens for t in items),
            )
        )
    sessions.sort(key=lambda s: s.last_seen, reverse=True)
    return sessions


def stage_sources(trace: Trace, profile: SpanProfile) -> dict[str, dict[str, float]]:
    """Span id → {stage: value ms} for the spans that hold a turn's stage values."""
    sources: dict[str, dict[str, float]] = defaultdict(dict)
    for spans in turn_spans(trace, profile):
        for stage, (value, span) in stage_values(spans, profile).items():
            sources[span.span_id][stage] = value
    return dict(sources)


__all__ = [
    "TurnSpans",
    "derive_turn",
    "derive_turns",
    "sessions_from_turns",
    "stage_sources",
    "stage_values",
    "trace_stage_stats",
    "trace_stage_stats_by_agent",
    "turn_labels",
    "turn_roots",
    "turn_spans",
    "turns_from_traces",
    "turn_subtree",
]
