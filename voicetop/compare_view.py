"""What the user compares (group-by label, baseline offsets) and how a Frame gets it.

The poller calls :func:`enrich` after each good poll: it asks the source for
the grouped stats, the offset baselines and the label values it supports
(optional methods ``fetch_grouped``, ``fetch_offset``, ``fetch_label_values``)
and adds them to the Frame.  Every extra is best effort: a failure leaves the
Frame as it was and is reported as one extra health line.  Recent turns (from
the trace source) give the group rows trace-derived stage values where the
grouped metrics have none, grouped by the span attributes the profile names.
No Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from voicetop.domain.compare import (
    DEFAULT_OFFSETS,
    baseline_from_result,
    build_grouping,
    change_markers,
    link_changes,
    trace_stage_stats_by_group,
)
from voicetop.domain.model import Frame, HealthState, MetricsResult, SourceHealth, Turn
from voicetop.domain.thresholds import ThresholdSet


@dataclass(frozen=True)
class CompareView:
    """``group_by`` a label (None: per agent); ``baseline`` on compares with ``offsets``."""

    group_by: str | None = None
    baseline: bool = False
    offsets: tuple[float, ...] = DEFAULT_OFFSETS
    markers: bool = True


def group_labels(source: object) -> tuple[str, ...]:
    """The labels a source can regroup by (empty when it cannot)."""
    if not hasattr(source, "fetch_grouped"):
        return ()
    labels = getattr(source, "group_labels", None)
    return tuple(labels()) if callable(labels) else ()


def enrich(
    frame: Frame,
    source: object,
    result: MetricsResult,
    thresholds: ThresholdSet,
    view: CompareView,
    turns: Sequence[Turn] | None = None,
) -> Frame:
    """``frame`` with markers, grouping and baselines as ``view`` asks and ``source`` supports.

    ``turns`` (recent turns, when a trace source gave them) fill the group rows'
    missing stages with trace-derived percentiles (``derived_from="traces"``).
    """
    problems: list[str] = []
    markers = frame.markers
    fetch_labels = getattr(source, "fetch_label_values", None)
    if view.markers and fetch_labels is not None:
        try:
            markers = change_markers(fetch_labels(result.window))
        except Exception as exc:  # SourceError or adapter bug: the frame still shows
            problems.append(f"change markers: {_reason(exc)}")
    grouping = None
    fetch_grouped = getattr(source, "fetch_grouped", None)
    if view.group_by and fetch_grouped is not None:
        try:
            grouped = fetch_grouped(result.window, view.group_by)
            derived = trace_stage_stats_by_group(turns, view.group_by) if turns else None
            grouping = build_grouping(view.group_by, grouped, result, thresholds, derived)
            grouping = replace(grouping, breaches=link_changes(grouping.breaches, markers))
        except Exception as exc:
            problems.append(f"group by {view.group_by}: {_reason(exc)}")
    baselines = []
    fetch_offset = getattr(source, "fetch_offset", None)
    if view.baseline and fetch_offset is not None:
        for offset in view.offsets:
            try:
                baselines.append(baseline_from_result(offset, fetch_offset(result.window, offset)))
            except Exception as exc:
                problems.append(f"baseline: {_reason(exc)}")
                break
    health = frame.health
    if problems:
        name = f"{getattr(source, 'name', 'metrics')} compare"
        health = health + (SourceHealth(name, HealthState.ERROR, "; ".join(problems)[:300], None, frame.created_at),)
    return replace(
        frame,
        markers=markers,
        breaches=link_changes(frame.breaches, markers),
        grouping=grouping,
        baselines=tuple(baselines),
        health=health,
    )


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return text
