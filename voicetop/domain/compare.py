"""Compare and drift (issue #9): group-by rows, baseline deltas and change markers.

Pure functions over MetricsResults and Frames; no I/O.

- Group-by: a source answers the stats per (agent, label value) and per label
  value fleet-wide, keyed ``"<agent>\\x1f<value>"`` (fleet: ``"\\x1f<value>"``).
  :func:`build_grouping` turns that into :class:`Grouping` rows with breaches
  evaluated against the agent's own thresholds and baselines.
- Baselines: the same stats ``offset`` seconds earlier, on today's timestamps;
  :func:`compare_agent` gives value, delta and a ↑/↓ glyph per stat.
- Change markers: the set of live values of ``model``/``prompt_version`` per
  agent, step by step; a value that appears next to (or instead of) the old
  ones is a change ("prompt v2.3.1 → v2.4.0 at 14:02").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Iterable, Mapping, Sequence

from voicetop.domain.frame_builder import agent_stats
from voicetop.domain.model import (
    AgentStats,
    Baseline,
    Breach,
    ChangeMarker,
    GroupStats,
    Grouping,
    MetricsResult,
    Series,
    StageStats,
    Turn,
)
from voicetop.domain.thresholds import ThresholdSet, evaluate

#: Separates agent and label value in group keys.
GROUP_SEP = "\x1f"
#: Default baseline offsets: the same window a day and a week earlier.
DEFAULT_OFFSETS: tuple[float, ...] = (86400.0, 7 * 86400.0)
#: A change explains a breach that began up to this long after it.
LINK_LOOKBACK = 3600.0
#: Human names of marker labels.
LABEL_NAMES: Mapping[str, str] = {"prompt_version": "prompt", "model": "model", "provider": "provider"}
#: Relative changes smaller than this read as "no change" (=).
FLAT = 0.02


# -- group-by -------------------------------------------------------------------
def group_key(agent_id: str | None, value: str) -> str:
    return f"{agent_id or ''}{GROUP_SEP}{value}"


def split_group_key(key: str) -> tuple[str | None, str]:
    """``"billing\\x1fv2"`` → ("billing", "v2"); a fleet group has agent None."""
    agent, _, value = key.partition(GROUP_SEP)
    return (agent or None), value


def trace_stage_stats_by_group(turns: Iterable[Turn], label: str) -> dict[str, dict[str, StageStats]]:
    """Trace-derived stage percentiles per group, keyed like grouped metrics:
    ``group_key(agent, value)`` per agent and ``group_key(None, value)`` fleet-wide.

    A turn's value is ``turn.labels[label]`` (read from its span attributes by
    the span profile); turns without it are left out.
    """
    from voicetop.domain.turns import trace_stage_stats

    by_key: dict[str, list[Turn]] = {}
    for turn in turns:
        value = turn.labels.get(label)
        if not value:
            continue
        by_key.setdefault(group_key(turn.agent_id, value), []).append(turn)
        by_key.setdefault(group_key(None, value), []).append(turn)
    found = {key: trace_stage_stats(items) for key, items in by_key.items()}
    return {key: stages for key, stages in found.items() if stages}


def build_grouping(
    label: str,
    grouped: MetricsResult,
    base: MetricsResult | None,
    thresholds: ThresholdSet,
    derived: Mapping[str, Mapping[str, StageStats]] | None = None,
) -> Grouping:
    """Group rows with their breaches; rows without a label value are dropped.

    Drift rules compare each group with its agent's (or the fleet's) baseline
    from ``base``: a prompt version whose cost doubled breaches, its
    predecessor does not.  ``derived`` (trace-derived stages per group key, see
    :func:`trace_stage_stats_by_group`) fills the stages a group's metrics
    lack; groups seen only in traces get a row too.
    """
    derived = derived or {}
    keys = sorted(
        {k for per_key in grouped.series.values() for k in per_key if k and split_group_key(k)[1]}
        | {k for k in derived if split_group_key(k)[1]},
        key=lambda k: (split_group_key(k)[0] is not None, split_group_key(k)[0] or "", split_group_key(k)[1]),
    )
    groups: list[GroupStats] = []
    breaches: list[Breach] = []
    for key in keys:
        agent_id, value = split_group_key(key)
        series = dict(grouped.for_agent(key))
        if base is not None:
            for stat, found in base.for_agent(agent_id).items():
                if stat.endswith("_baseline"):
                    series.setdefault(stat, found)
        name = f"{label}={value}"
        found_breaches = [replace(b, group=name) for b in evaluate(thresholds, series, agent_id)]
        breaches.extend(found_breaches)
        stats = agent_stats(agent_id, series, found_breaches, derived.get(key))
        groups.append(GroupStats(label, value, agent_id, stats))
    breaches.sort(key=lambda b: (not b.active, -int(b.severity), -b.since))
    return Grouping(label, tuple(groups), tuple(breaches))


# -- baseline comparison ----------------------------------------------------------
@dataclass(frozen=True)
class StatDelta:
    """One stat now and at a baseline offset."""

    key: str
    now: float | None
    then: float | None

    @property
    def delta(self) -> float | None:
        if self.now is None or self.then is None:
            return None
        return self.now - self.then

    @property
    def ratio(self) -> float | None:
        """now / then (None when unknown or then is 0)."""
        if self.now is None or self.then is None or self.then == 0:
            return None
        return self.now / self.then

    @property
    def direction(self) -> int:
        """+1 up, -1 down, 0 flat or unknown."""
        delta = self.delta
        if delta is None:
            return 0
        scale = max(abs(self.then or 0.0), abs(self.now or 0.0))
        if scale == 0 or abs(delta) <= FLAT * scale:
            return 0
        return 1 if delta > 0 else -1

    def glyph(self, ascii_only: bool = False) -> str:
        if ascii_only:
            return {1: "^", -1: "v", 0: "="}[self.direction]
        return {1: "↑", -1: "↓", 0: "="}[self.direction]


def offset_label(seconds: float) -> str:
    """``1d``, ``7d``, ``6h``, ``30m``, ``90s``."""
    whole = int(round(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def compare_agent(agent: AgentStats, baseline: Baseline, keys: Iterable[str]) -> dict[str, StatDelta]:
    """Each stat's latest value now and in the baseline window."""
    then_series = baseline.for_agent(agent.agent_id)
    found: dict[str, StatDelta] = {}
    for key in keys:
        then = then_series.get(key)
        found[key] = StatDelta(key, agent.stat(key), then.last() if then is not None else None)
    return found


def baseline_from_result(offset: float, result: MetricsResult) -> Baseline:
    """A Baseline from a source's offset answer (already on today's timestamps)."""
    agents = {agent for per_agent in result.series.values() for agent in per_agent}
    return Baseline(offset, {agent: result.for_agent(agent) for agent in agents})


# -- change markers --------------------------------------------------------------------
def label_changes(agent_id: str | None, label: str, values: Mapping[str, Series]) -> list[ChangeMarker]:
    """Markers where a value of ``label`` starts reporting traffic after others did.

    ``values`` maps each label value to a series that is positive while the
    value is live (NaN or 0 otherwise), all on the same timestamps.  The old
    side names the values that went away, or (during a rollout, while both
    report) the ones live just before.  A single value never changes into
    another, so it has none.
    """
    if len(values) < 2:
        return []
    stamps = next(iter(values.values())).timestamps
    names = list(values)
    # live per value and step: NaN > 0 is false; steps past a short series are not live
    flags = [[sample > 0 for sample in values[name].values[: len(stamps)]] for name in names]
    for column in flags:
        column.extend([False] * (len(stamps) - len(column)))
    markers: list[ChangeMarker] = []
    previous: frozenset[str] = frozenset()
    seen_any = False
    for index, at in enumerate(stamps):
        live = frozenset(name for name, column in zip(names, flags) if column[index])
        added = live - previous
        if added and seen_any and previous:
            gone = previous - live
            old = ", ".join(sorted(gone or previous))
            for new in sorted(added):
                markers.append(ChangeMarker(agent_id, label, old, new, at))
        if live:
            seen_any = True
            previous = live
    return markers


def change_markers(label_values: Mapping[str, Mapping[str, Series]]) -> tuple[ChangeMarker, ...]:
    """Markers of every agent and label from ``{label: {group key: series}}``."""
    markers: list[ChangeMarker] = []
    for label, per_key in label_values.items():
        by_agent: dict[str | None, dict[str, Series]] = {}
        for key, series in per_key.items():
            agent_id, value = split_group_key(key)
            if agent_id is not None and value:
                by_agent.setdefault(agent_id, {})[value] = series
        for agent_id in sorted(by_agent):
            markers.extend(label_changes(agent_id, label, by_agent[agent_id]))
    markers.sort(key=lambda m: (m.at, m.agent_id or "", m.label))
    return tuple(markers)


def marker_for(breach: Breach, markers: Sequence[ChangeMarker]) -> ChangeMarker | None:
    """The change that most plausibly set off ``breach``: the agent's latest
    change at most :data:`LINK_LOOKBACK` before it began (or during its first
    rate window), preferring one whose new value is the breaching group's."""
    if breach.agent_id is None:
        return None
    candidates = [
        m for m in markers
        if m.agent_id == breach.agent_id and breach.since - LINK_LOOKBACK <= m.at <= breach.since + 300.0
    ]
    if not candidates:
        return None
    if breach.group:
        label, _, value = breach.group.partition("=")
        matching = [m for m in candidates if m.label == label and m.new == value]
        if matching:
            return max(matching, key=lambda m: m.at)
    return max(candidates, key=lambda m: m.at)


def link_changes(breaches: Iterable[Breach], markers: Sequence[ChangeMarker]) -> tuple[Breach, ...]:
    """Breaches with ``change`` set where a label change preceded them."""
    if not markers:
        return tuple(breaches)
    return tuple(
        replace(b, change=found) if (found := marker_for(b, markers)) is not None else b
        for b in breaches
    )


def marker_text(marker: ChangeMarker, with_time: bool = True) -> str:
    """``prompt v2.3.1 → v2.4.0 at 14:02`` (local time)."""
    name = LABEL_NAMES.get(marker.label, marker.label)
    text = f"{name} {marker.old} → {marker.new}"
    if with_time:
        text += f" at {time.strftime('%H:%M', time.localtime(marker.at))}"
    return text


def parse_offsets(text: str) -> tuple[float, ...]:
    """``"1d,7d"`` → (86400.0, 604800.0); raises ValueError on a bad or non-positive item."""
    from voicetop.domain.timeparse import parse_duration

    offsets = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        seconds = parse_duration(item)
        if seconds <= 0:
            raise ValueError(f"baseline offset must be positive: {item!r}")
        offsets.append(float(seconds))
    if not offsets:
        raise ValueError("no baseline offset given")
    return tuple(offsets)
