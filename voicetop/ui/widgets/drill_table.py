"""Shared pieces of the drill-down tables: sortable keyed table, threshold marks,
trace-source calls made safe for worker threads."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, ClassVar, Generic, TypeVar

from textual.worker import Worker, WorkerState

from voicetop.domain.model import Severity, StageStats
from voicetop.domain.text import safe_text
from voicetop.domain.thresholds import ThresholdSet
from voicetop.sources.base import SourceError
from voicetop.ui.format import Palette, fmt_number
from voicetop.ui.widgets.keyed_table import KeyedTable, SortCell

T = TypeVar("T")

#: Suffix marking a stage value computed from recent turns' spans, not metrics.
TRACE_DERIVED_MARK = "ᵗ"
TRACE_DERIVED_ASCII = "~"
TRACE_DERIVED_LEGEND = "trace-derived (percentile of recent turns' spans)"


@dataclass(frozen=True)
class Fetched(Generic[T]):
    """What a worker-thread call gave: a value, or a short safe error line."""

    value: T | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def fetch(call: Callable[[], T]) -> Fetched[T]:
    """Run ``call`` (in a worker thread), turning every failure into a one-line reason.

    SourceError messages are already short and credential-free; anything else is
    reported by its type only, since its text may hold URLs or secrets.
    """
    try:
        return Fetched(call())
    except SourceError as exc:
        return Fetched(error=safe_text(str(exc), 120) or "backend error")
    except Exception as exc:  # noqa: BLE001 - a broken source must not kill the UI
        return Fetched(error=f"unexpected {type(exc).__name__} from the trace source")


class FetchWorkerMixin:
    """For a screen or widget whose thread workers (group ``WORKER_GROUP``)
    return :class:`Fetched`: hands each finished result to ``_apply`` and
    clears ``_loading`` when a worker ends, however it ends."""

    WORKER_GROUP: ClassVar[str]
    #: Shown when the worker itself raised (``fetch`` already catches source errors).
    WORKER_FAILED: ClassVar[str] = "could not load from the trace source"
    _loading = False

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != self.WORKER_GROUP or worker.node is not self:
            return
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self._loading = False
        if event.state is WorkerState.SUCCESS:
            self._apply(worker.result)
        elif event.state is WorkerState.ERROR:
            self._apply(Fetched(error=self.WORKER_FAILED))

    def _apply(self, result: Fetched) -> None:
        """Show a worker's result (or its failure)."""
        raise NotImplementedError(f"{type(self).__name__} must define _apply")


def stage_severity(
    stage: str, value: float | None, thresholds: ThresholdSet, agent_id: str | None
) -> tuple[Severity, str]:
    """Worst severity of one turn's stage value against that stage's percentile
    limits (``tts`` → ``tts_p90``, ``e2e`` → ``e2e_p90``/``e2e_p99`` …), and the
    rule key that decided it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Severity.OK, ""
    worst, worst_key = Severity.OK, ""
    for key, rule in thresholds.for_agent(agent_id).items():
        if not key.startswith(f"{stage}_p") or rule.baseline:
            continue
        severity = rule.severity_of(value)
        if severity > worst:
            worst, worst_key = severity, key
    return worst, worst_key


def ms_cell(
    stage: str, value: float | None, thresholds: ThresholdSet, agent_id: str | None, palette: Palette
) -> SortCell:
    """A right-aligned millisecond cell, marked with a glyph and colour past a limit."""
    severity, _ = stage_severity(stage, value, thresholds, agent_id)
    mark = f" {palette.glyph(severity)}" if severity else "  "
    return right(fmt_number(value, "ms", with_unit=False) + mark, palette.style(severity), value)


def right(text: str, style: str = "", sort_key: Any = None) -> SortCell:
    cell = SortCell(text, style, sort_key)
    cell.justify = "right"
    return cell


def stat_text(stats: StageStats | None, quantile: str, ascii_glyphs: bool = False) -> str:
    """A stage percentile in ms, suffixed ``ᵗ`` (or ``~``) when trace-derived."""
    value = None if stats is None else stats.quantile(quantile)
    text = fmt_number(value, "ms", with_unit=False)
    if value is not None and stats is not None and stats.derived_from == "traces":
        text += TRACE_DERIVED_ASCII if ascii_glyphs else TRACE_DERIVED_MARK
    return text


def clock_seconds(ts: float) -> str:
    """UTC wall time ``03:12:45Z``."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%H:%M:%SZ")


def age_text(seconds: float) -> str:
    """``42s``, ``7m05s``, ``2h03m``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class DrillTable(KeyedTable):
    """A keyed table with htop-like ``s``/``S`` sorting and a sort note."""

    def __init__(self, labels: dict[str, str], sort_column: str, reverse: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.labels = labels
        self.sort_column = sort_column
        self.sort_reverse = reverse

    def sort_note(self, ascii_arrows: bool = False) -> str:
        arrow = ("v" if ascii_arrows else "▼") if self.sort_reverse else ("^" if ascii_arrows else "▲")
        return f"sort {self.labels.get(self.sort_column or '', '?')}{arrow}"


#: How far back the drill-down screens look for turns (seconds of source time).
TRACE_WINDOW_SECONDS = 900.0


def trace_window_end(app) -> float:
    """The end of the trace window: the viewed frame's end when time-travelling,
    else the metrics source's clock (the demo's runs faster than real time).
    Call it from a worker thread: a source clock may do work."""
    frame = getattr(app, "frame", None)
    if frame is not None and frame.mode != "live":
        return frame.window.end
    return app.metrics.now()
