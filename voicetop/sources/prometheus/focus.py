"""Focused reads: the agents on screen get a new evaluation first, the whole fleet right after.

With recording rules, a refresh that finds a new evaluation reads every agent's
recorded series again.  At 1,000 agents that is about a second, and its cost
follows the series Prometheus reads, not the rows it sends.  A console shows a
few dozen agents.  At that scale the poller first asks each recorded panel for
only those agents' missing steps (an ``agent=~"…"`` matcher, the fleet's series
too), lays the answers over the last full read and shows that frame; the full
read follows at once and replaces it (:meth:`.PrometheusSource.fetch_focus`,
:meth:`voicetop.poller.Poller.poll_focused`).

Agents outside the focus keep their last full read's series as they were (a
step older, their own timestamps): their newest values and active breaches
stay as they were shown, rather than gaining a gap at the new step.
"""

from __future__ import annotations

import math
from typing import Collection, Iterable, Mapping

from voicetop.domain.model import Series, Window
from voicetop.domain.query_text import string_literal, regex_alternatives
from voicetop.sources.prometheus.matrix import Columns
from voicetop.sources.prometheus.queries import PanelQuery

#: A focused read is worth sending only for a window this many steps from the last full read.
FOCUS_STEPS = 3
#: ... and for at most this many agents (a tall terminal's rows; more is no longer "a few").
FOCUS_AGENTS = 200


def agent_matcher(label: str, agents: Iterable[str]) -> str:
    """A label matcher selecting exactly ``agents`` (their text taken literally, not as regex)."""
    return f"{label}=~{string_literal(regex_alternatives(sorted(set(agents))))}"


def focused_promql(query: PanelQuery, matcher: str) -> str | None:
    """The query's PromQL for the agents ``matcher`` selects (:func:`agent_matcher`) and the fleet;
    None for a query not reading recordings."""
    if query.recorded is not None:
        return query.recorded.recording.selector(query.recorded.max_agents, matcher)
    if query.recorded_stats is not None:
        return query.recorded_stats.promql(matcher)
    return None


def overlay(
    base: Mapping[str, Mapping[str | None, Series]],
    window: Window,
    answers: Iterable[tuple[Collection[str], tuple[float, ...], Columns]],
    focus: Collection[str],
) -> tuple[dict[str, dict[str | None, Series]], frozenset[str | None]]:
    """``base`` with the focus agents and the fleet brought to ``window`` in the answered stats,
    and the agents (None: the fleet) whose series changed.

    ``answers`` are the focused queries' spans: the stat keys the query reads,
    the span's timestamps and its decoded columns (split stats appear as
    columns).  A focus agent (or the fleet) keeps its base values at the steps
    still in ``window`` and takes each answer's values at its steps (NaN where
    the answer has no point for it).  Every other series stays the very same
    object.
    """
    timestamps = window.timestamps()
    size = len(timestamps)
    series = {stat: dict(per_agent) for stat, per_agent in base.items()}
    changed: set[str | None] = set()
    by_stat: dict[str, list[tuple[tuple[float, ...], Mapping[str | None, list[float | None]]]]] = {}
    for stats, span_times, columns in answers:
        for stat in set(stats).union(columns):
            by_stat.setdefault(stat, []).append((span_times, columns.get(stat, {})))
    for stat, spans in by_stat.items():
        per_agent = series.setdefault(stat, {})
        owners: set[str | None] = {None, *focus}
        for _, answered in spans:
            owners.update(answered)
        for agent in owners:
            old = per_agent.get(agent)
            if old is None and all(agent not in answered for _, answered in spans):
                continue
            changed.add(agent)
            values = _laid_over(old, window, size)
            for span_times, answered in spans:
                column = answered.get(agent)
                for at, timestamp in enumerate(span_times):
                    index = round((timestamp - window.start) / window.step)
                    if 0 <= index < size:
                        value = None if column is None else column[at]
                        values[index] = math.nan if value is None else value
            if any(value == value for value in values):
                per_agent[agent] = Series(timestamps, tuple(values))
            else:
                per_agent.pop(agent, None)
        if not per_agent:
            del series[stat]
    return series, frozenset(changed)


def _laid_over(old: Series | None, window: Window, size: int) -> list[float]:
    """``old``'s values at the steps of ``window`` they share (NaN elsewhere); ``old`` is on the
    window's grid (:meth:`.PrometheusSource.fetch_focus` reads only such windows)."""
    values = [math.nan] * size
    if old is None or not old.timestamps:
        return values
    shift = round((old.timestamps[0] - window.start) / window.step)
    low, high = max(0, shift), min(size, shift + len(old.values))
    if low < high:
        values[low:high] = old.values[low - shift:high - shift]
    return values
