"""What the user compares (group-by label, baseline offsets) and how a Frame gets it.

The poller fires :func:`request_extras` with each poll's panel queries: the
grouped stats, the offset baselines and the label values the source supports
(optional methods ``fetch_grouped``, ``fetch_offset``, ``fetch_label_values``);
:func:`enrich` adds their answers to the Frame.  Every extra is best effort: a failure leaves the
Frame as it was and is reported as one extra health line.  Recent turns (from
the trace source) give the group rows trace-derived stage values where the
grouped metrics have none, grouped by the span attributes the profile names.
No Textual here.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Callable, Sequence

from voicetop.domain.compare import (
    DEFAULT_OFFSETS,
    baseline_from_result,
    build_grouping,
    change_markers,
    link_changes,
    trace_stage_stats_by_group,
)
from voicetop.domain.model import Frame, HealthState, MetricsResult, SourceHealth, Turn, Window
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


@dataclass(frozen=True)
class ExtraRequests:
    """The extra requests of one poll, in flight alongside its panel queries."""

    markers: Future | None = None
    grouped: Future | None = None
    offsets: tuple[tuple[float, Future], ...] = ()


def request_extras(
    source: object, window: Window, view: CompareView, submit: Callable[..., Future]
) -> ExtraRequests:
    """Fire the requests ``view`` asks for and ``source`` supports (``submit`` runs them on a pool)."""
    fetch_labels = getattr(source, "fetch_label_values", None)
    fetch_grouped = getattr(source, "fetch_grouped", None)
    fetch_offset = getattr(source, "fetch_offset", None)
    return ExtraRequests(
        markers=submit(fetch_labels, window) if view.markers and fetch_labels is not None else None,
        grouped=submit(fetch_grouped, window, view.group_by) if view.group_by and fetch_grouped is not None else None,
        offsets=tuple(
            (offset, submit(fetch_offset, window, offset)) for offset in view.offsets
        ) if view.baseline and fetch_offset is not None else (),
    )


def enrich(
    frame: Frame,
    source: object,
    result: MetricsResult,
    thresholds: ThresholdSet,
    view: CompareView,
    turns: Sequence[Turn] | None = None,
    extras: ExtraRequests | None = None,
) -> Frame:
    """``frame`` with markers, grouping and baselines as ``view`` asks and ``source`` supports.

    ``extras`` are those requests already in flight (:func:`request_extras`);
    without them they are made here, one after the other.  ``turns`` (recent
    turns, when a trace source gave them) fill the group rows' missing stages
    with trace-derived percentiles (``derived_from="traces"``).
    """
    if extras is None:
        extras = request_extras(source, result.window, view, _run_now)
    problems: list[str] = []
    markers = frame.markers
    if extras.markers is not None:
        try:
            markers = change_markers(extras.markers.result())
        except Exception as exc:  # SourceError or adapter bug: the frame still shows
            problems.append(f"change markers: {_reason(exc)}")
    grouping = None
    if extras.grouped is not None:
        try:
            grouped = extras.grouped.result()
            derived = trace_stage_stats_by_group(turns, view.group_by) if turns else None
            grouping = build_grouping(view.group_by, grouped, result, thresholds, derived)
            grouping = replace(grouping, breaches=link_changes(grouping.breaches, markers))
        except Exception as exc:
            problems.append(f"group by {view.group_by}: {_reason(exc)}")
    baselines = []
    for offset, answer in extras.offsets:
        try:
            baselines.append(baseline_from_result(offset, answer.result()))
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


def _run_now(function: Callable, *args) -> Future:
    """A finished Future of ``function(*args)`` (its exception, if it raised)."""
    future: Future = Future()
    try:
        future.set_result(function(*args))
    except Exception as exc:
        future.set_exception(exc)
    return future


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return text
