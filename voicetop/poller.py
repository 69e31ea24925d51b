"""Poll a metrics source into Frames: poll, then re-arm (never overlapping).

The poller owns one background thread per source.  It knows nothing of the
UI: frames go to a callback (the App marshals them onto its thread).  Failures
keep the last good data, marked stale with its age and the reason, and retry
with jittered exponential backoff until the source recovers.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable

from voicetop.compare_view import CompareView, enrich, request_extras
from voicetop.domain.frame_builder import FrameBuilder
from voicetop.domain.model import (
    QUANTILES,
    STAGES,
    Frame,
    HealthState,
    MetricsResult,
    SourceHealth,
    StageStats,
    Window,
    stage_stat_key,
)
from voicetop.domain.thresholds import ThresholdSet
from voicetop.gc_pause import collection_paused, hold_until_shown
from voicetop.sources.base import SIDE_REQUESTS, MetricsSource, SourceError, TraceSource

if TYPE_CHECKING:
    from voicetop.alerting.feed import AlertLister

#: How many recent turns feed trace-derived stage percentiles.
TRACE_TURN_LIMIT = 2000
#: Trace-derived stats are re-fetched at most this often (seconds).
TRACE_REFRESH = 15.0

MAX_BACKOFF = 60.0
#: Full polls slower than this (seconds) are preceded by a frame of the agents on screen (:meth:`Poller.poll_focused`).
FOCUS_AFTER = 0.25
#: ... judged over this many full polls (those between two evaluations are quick: nothing to read).
FOCUS_MEMORY = 60
#: Backoff never waits more than this many refresh intervals, so a backend that
#: comes back shows OK within two refreshes (issue #8), however long it was down.
MAX_BACKOFF_INTERVALS = 2.0


@dataclass(frozen=True)
class ViewWindow:
    """What the user is looking at: live, or a window ending at ``at``."""

    length: float = 900.0
    step: float = 15.0
    at: float | None = None

    def resolve(self, now: float) -> Window:
        end = self.at if self.at is not None else now
        end = math.floor(end / self.step) * self.step
        return Window(end - self.length, end, self.step)

    @property
    def live(self) -> bool:
        return self.at is None


def backoff_delay(failures: int, base: float, rng: random.Random) -> float:
    """Backoff from ``base`` doubling per failure, capped at two refresh intervals
    (and a minute), jittered down by up to 20 % so polls of many consoles spread out."""
    delay = min(MAX_BACKOFF, base * (2 ** max(0, failures - 1)), MAX_BACKOFF_INTERVALS * base)
    return delay * rng.uniform(0.8, 1.0)


class Poller:
    """Turns a :class:`MetricsSource` into a stream of Frames."""

    def __init__(
        self,
        source: MetricsSource,
        thresholds: ThresholdSet,
        on_frame: Callable[[Frame], None],
        *,
        refresh: float = 2.0,
        view: ViewWindow = ViewWindow(),
        context: str = "default",
        mode: str | None = None,
        seed: int | None = None,
        traces: TraceSource | None = None,
        alertmanager: AlertLister | None = None,
    ) -> None:
        self.source = source
        self.traces = traces
        self.alertmanager = alertmanager
        self.thresholds = thresholds
        self.on_frame = on_frame
        self.refresh = refresh
        self.view = view
        self.context = context
        self._mode = mode
        self._rng = random.Random(seed)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._paused = False
        self._thread: threading.Thread | None = None
        self._last_result: MetricsResult | None = None
        self._last_ok: float | None = None
        self._trace_cache: tuple[Window, object, object, SourceHealth | None] | None = None
        self._alertmanager_last: tuple[float, tuple] | None = None
        self.compare = CompareView()
        #: The agents on screen (set by the console on its thread): while full polls take longer than
        #: FOCUS_AFTER, each is preceded by a frame with just these brought up to date.
        self.focus: frozenset[str] = frozenset()
        self._full_polls_took: deque[float] = deque(maxlen=FOCUS_MEMORY)
        self._last_frame: Frame | None = None  # the last full poll's frame (a focused one starts from it)
        self._last_derived: dict[str | None, dict[str, StageStats]] | None = None
        self._frames = FrameBuilder()  # re-evaluates only agents whose series changed
        self._side = ThreadPoolExecutor(max_workers=SIDE_REQUESTS, thread_name_prefix="poll-side")
        self.failures = 0
        self.polls = 0
        #: Keep the collector paused after a poll until the frame's consumer calls
        #: ``gc_pause.release_held`` (a console, once the frame is on screen).
        self.hold_collection = False

    # -- control -------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"poll-{self.source.name}", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def paused(self) -> bool:
        return self._paused

    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        if not paused:
            self._wake.set()

    def set_view(self, view: ViewWindow) -> None:
        """Change the window (time travel) and poll again at once."""
        with self._lock:
            self.view = view
        self._wake.set()

    def refresh_now(self) -> None:
        self._wake.set()

    def set_compare(self, compare: CompareView) -> None:
        """Change group-by / baseline comparison (issue #9) and poll again at once."""
        with self._lock:
            self.compare = compare
        self._wake.set()

    # -- polling -------------------------------------------------------
    def poll_once(self) -> Frame:
        """One synchronous poll; never raises for source failures.

        The alerts and compare requests go out together with the panel
        queries, so a poll takes about as long as its slowest request.
        """
        started = time.monotonic()
        with collection_paused():  # its acyclic garbage is freed by reference counting
            frame = self._last_frame = self._poll()
            self._full_polls_took.append(time.monotonic() - started)
            if self.hold_collection:  # the console collects once the frame is on screen
                hold_until_shown()
            return frame

    def poll_focused(self) -> Frame | None:
        """The last full poll's frame with the agents on screen (``focus``) brought to the current
        window, when full polls are slow (one of the last FOCUS_MEMORY over FOCUS_AFTER: a large
        fleet, where a new evaluation takes a second to read whole) and the source can read
        just those agents (``fetch_focus``: a new evaluation of its recording rules landed); None
        otherwise.  Health, alerts and change markers stay the last full poll's: the full poll
        follows at once and refreshes them."""
        fetch_focus = getattr(self.source, "fetch_focus", None)
        last, focus = self._last_frame, self.focus
        with self._lock:
            view, compare = self.view, self.compare
        slow = max(self._full_polls_took, default=0.0) > FOCUS_AFTER
        if fetch_focus is None or not focus or last is None or not slow or compare.group_by or compare.baseline:
            return None
        if last.health and last.health[0].state is not HealthState.OK:
            return None  # a failing or stale source: the full poll says how it stands
        now = self.source.now()
        with collection_paused():
            try:
                result = fetch_focus(view.resolve(now), focus)
            except Exception:  # a source bug: the full poll runs as ever
                return None
            if result is None:
                return None
            frame = self._frames.build(
                result, self.thresholds, last.health, created_at=now, mode=last.mode, alerts=last.alerts,
                context=self.context, derived_stages=self._last_derived,
            )
            if self.hold_collection:
                hold_until_shown()
        return replace(frame, markers=last.markers, partial=True)

    def _poll(self) -> Frame:
        with self._lock:
            view, compare = self.view, self.compare
        now = self.source.now()
        window = view.resolve(now)
        self.polls += 1
        fetch_alerts = getattr(self.source, "alerts", None)
        alerts = self._side.submit(fetch_alerts) if fetch_alerts is not None else None
        extras = request_extras(self.source, window, compare, self._side.submit)
        try:
            result = self.source.fetch(window)
        except SourceError as exc:
            return self._failed(str(exc), window, now, view)
        except Exception as exc:  # a source bug must not kill the console
            return self._failed(f"{type(exc).__name__}: {exc}", window, now, view)
        self.failures = 0
        self._last_result = result
        self._last_ok = now
        state = HealthState.STALE if result.errors else HealthState.OK
        message = "; ".join(f"{k}: {v}" for k, v in sorted(result.errors.items()))
        health = SourceHealth(self.source.name, state, message, now, now)
        derived, trace_health, turns = self._trace_derived(result, now, compare.group_by is not None)
        self._last_derived = derived
        frame = self._frame(result, health, now, view, derived, trace_health, alerts)
        return enrich(frame, self.source, result, self.thresholds, compare, turns, extras)

    def _trace_derived(self, result: MetricsResult, now: float, grouping: bool = False):
        """Stage percentiles from recent turns for stages the metrics lack, the
        trace source's health, and the turns themselves when a group-by wants them
        (group rows take trace-derived stages where their metrics have none)."""
        missing = missing_stages(result)
        if self.traces is None or not (missing or grouping):
            return None, None, None
        window = result.window
        cached = self._trace_cache
        if cached is None or not _close_enough(cached[0], window):
            cached = (window, *self._fetch_trace_stats(window, now))
            self._trace_cache = cached
        _, turns, by_agent, health = cached
        derived = None
        if by_agent is not None and missing:
            derived = {
                agent: {stage: stats for stage, stats in stages.items() if stage in missing}
                for agent, stages in by_agent.items()
            }
        return derived, health, (turns if grouping else None)

    def _fetch_trace_stats(self, window: Window, now: float):
        """Recent turns, their per-agent stage stats, and the trace source's health."""
        from voicetop.domain.turns import trace_stage_stats_by_agent

        assert self.traces is not None
        try:
            turns = self.traces.recent_turns(None, window.start, window.end, TRACE_TURN_LIMIT)
        except Exception as exc:  # SourceError or an adapter bug: metrics still show
            reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            return None, None, SourceHealth(self.traces.name, HealthState.ERROR, reason, None, now)
        by_agent = trace_stage_stats_by_agent(turns)
        return tuple(turns), by_agent, SourceHealth(self.traces.name, HealthState.OK, "", now, now)

    def _failed(self, reason: str, window: Window, now: float, view: ViewWindow) -> Frame:
        self.failures += 1
        state = HealthState.STALE if self._last_result is not None else HealthState.ERROR
        health = SourceHealth(self.source.name, state, reason.splitlines()[0][:300], self._last_ok, now)
        result = self._last_result or MetricsResult(window=window, series={})
        return self._frame(result, health, now, view)

    def _frame(
        self,
        result: MetricsResult,
        health: SourceHealth,
        now: float,
        view: ViewWindow,
        derived: dict[str | None, dict[str, StageStats]] | None = None,
        trace_health: SourceHealth | None = None,
        fetched_alerts: Future | None = None,
    ) -> Frame:
        alerts = ()
        if fetched_alerts is not None and health.state is HealthState.OK:
            try:
                alerts = tuple(fetched_alerts.result())
            except Exception:  # alerts are best-effort; metrics still show
                alerts = ()
        mode = self._mode or ("live" if view.live else "at")
        healths = (health,) if trace_health is None else (health, trace_health)
        if self.alertmanager is not None:
            alerts, am_health = self._alertmanager_alerts(alerts, now)
            healths += (am_health,)
        return self._frames.build(
            result, self.thresholds, healths, created_at=now, mode=mode, alerts=alerts,
            context=self.context, derived_stages=derived,
        )

    def _alertmanager_alerts(self, prometheus_alerts: tuple, now: float):
        """Prometheus' alerts merged with Alertmanager's (one per name and agent),
        and Alertmanager's health; its failure never hides Prometheus' alerts."""
        from voicetop.alerting.feed import gather_alerts
        from voicetop.alerting.merge import merge_alerts

        feed = gather_alerts(None, self.alertmanager)
        name = getattr(self.alertmanager, "name", "alertmanager")
        if feed.errors:  # keep the last good answer, marked stale
            reason = feed.errors[0].splitlines()[0][:300]
            state = HealthState.STALE if self._alertmanager_last is not None else HealthState.ERROR
            last_ok, kept = self._alertmanager_last or (None, ())
            health = SourceHealth(name, state, reason, last_ok, now)
        else:
            kept = feed.alerts
            self._alertmanager_last = (now, kept)
            health = SourceHealth(name, HealthState.OK, "", now, now)
        return merge_alerts(prometheus_alerts, kept), health

    def _deliver(self, frame: Frame) -> bool:
        """Hand a frame to the receiver; False once the poller is stopping (the receiver may be gone)."""
        if self._stop.is_set():
            return False
        try:
            self.on_frame(frame)
        except Exception:  # the receiver went away (app closing)
            return not self._stop.is_set()
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._paused:
                focused = self.poll_focused()
                if focused is not None and not self._deliver(focused):
                    break
                if not self._deliver(self.poll_once()):
                    break
            delay = self.refresh
            if self.failures:
                delay = backoff_delay(self.failures, self.refresh, self._rng)
            self._wake.wait(delay)
            self._wake.clear()


def _close_enough(cached: Window, window: Window) -> bool:
    """A cached trace window still serves: same length, end within TRACE_REFRESH."""
    return cached.duration == window.duration and abs(window.end - cached.end) <= TRACE_REFRESH


def missing_stages(result: MetricsResult) -> set[str]:
    """Stages for which the metrics hold no value at all (any agent, any quantile)."""
    missing = set()
    for stage in STAGES:
        keys = [stage_stat_key(stage, q) for q, _ in QUANTILES]
        if not any(
            series.finite_values()
            for key in keys
            for series in result.series.get(key, {}).values()
        ):
            missing.add(stage)
    return missing


def with_health(frame: Frame, health: SourceHealth) -> Frame:
    """A frame with one source's health replaced (or added)."""
    others = tuple(h for h in frame.health if h.name != health.name)
    return replace(frame, health=others + (health,))


def wall_clock() -> float:
    return time.time()
