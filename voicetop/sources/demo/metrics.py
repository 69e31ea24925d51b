"""The demo's MetricsSource: range queries over the fleet's own scrape store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voicetop.domain.model import Alert, MetricsResult, Series, Window, all_stat_keys
from voicetop.sources.demo.evaluator import AgentValues, StatEvaluator
from voicetop.sources.demo.telephony_eval import TelephonyEvaluator

if TYPE_CHECKING:
    from voicetop.sources.demo.fleet import DemoFleet


class DemoMetricsSource:
    """Implements :class:`voicetop.sources.base.MetricsSource` for a DemoFleet.

    A step's values never change once the store holds a scrape at or after it,
    so each evaluated step is cached; a live poll only evaluates the new steps.
    """

    name = "demo"

    def __init__(self, fleet: "DemoFleet") -> None:
        self._fleet = fleet
        self._evaluator = StatEvaluator(fleet.store, fleet.agent_ids)
        self._cache: dict[float, AgentValues] = {}
        self._telephony = TelephonyEvaluator(fleet.telephony)  # LiveKit server/SIP nodes (issue #10)
        self._group_evaluators: dict[str, StatEvaluator] = {}
        self._last: MetricsResult | None = None  # the latest fetch, when all its steps are cached
        self._label_values: tuple | None = None  # (key, answer) of the latest fetch_label_values
        self._generation = 0  # bumped when the history changes under the caches
        self.evaluations = 0

    def now(self) -> float:
        return self._fleet.now()

    def history_changed(self) -> None:
        """Older scrapes were put in front of the store: forget every evaluated step."""
        self._evaluator = StatEvaluator(self._fleet.store, self._fleet.agent_ids)
        self._cache.clear()
        self._telephony = TelephonyEvaluator(self._fleet.telephony)
        self._group_evaluators.clear()
        self._last = None
        self._label_values = None
        self._generation += 1

    def fetch(self, window: Window) -> MetricsResult:
        stamps = window.timestamps()
        with self._fleet.lock:
            self._fleet.now()  # simulate up to the current time first
            # The previous fetch of this window, whose steps are all still cached, is
            # the answer (a 1 s refresh moves a 15 s window only every 15th poll).
            last = self._last
            if last is not None and last.window == window and self._cached(stamps):
                return last
            steps = [self._step(t) for t in stamps]
            self._trim()
            telephony = self._telephony.series(window)
            generation = self._generation
        agents = self._fleet.agent_ids + (None,)
        keys = all_stat_keys()
        keys += tuple(k for k in (steps[0][None] if steps else {}) if k not in keys)
        series = {
            key: {agent: Series(stamps, tuple(step[agent][key] for step in steps)) for agent in agents}
            for key in keys
        }
        result = MetricsResult(window=window, series=series, queries=len(keys), telephony=telephony)
        with self._fleet.lock:
            if generation == self._generation:
                self._last = result if self._cached(stamps) else None
        return result

    def _cached(self, stamps) -> bool:
        return all(round(t, 3) in self._cache for t in stamps) and self._telephony.cached(stamps)

    def _step(self, t: float) -> AgentValues:
        key = round(t, 3)
        found = self._cache.get(key)
        if found is None:
            found = self._evaluator.evaluate(t)
            self.evaluations += 1
            last = self._fleet.store.last_time
            if last is not None and t <= last:
                self._cache[key] = found
        return found

    def _trim(self) -> None:
        last = self._fleet.store.last_time
        if last is None or len(self._cache) < 2048:
            return
        horizon = last - self._fleet.store.retention
        for key in [k for k in self._cache if k < horizon]:
            del self._cache[key]

    # -- compare and drift (issue #9): see .compare ------------------------
    def fetch_grouped(self, window: Window, label: str) -> MetricsResult:
        from voicetop.sources.demo.compare import fetch_grouped

        return fetch_grouped(self, window, label)

    def fetch_offset(self, window: Window, offset: float) -> MetricsResult:
        from voicetop.sources.demo.compare import fetch_offset

        return fetch_offset(self, window, offset)

    def fetch_label_values(self, window: Window) -> dict[str, dict[str, Series]]:
        from voicetop.sources.demo.compare import fetch_label_values

        return fetch_label_values(self, window)

    def baseline_offsets(self) -> tuple[float, ...]:
        """The demo keeps two hours: compare with 20 minutes earlier."""
        return (1200.0,)

    def group_labels(self) -> tuple[str, ...]:
        from voicetop.sources.demo.compare import DEMO_GROUP_LABELS

        return DEMO_GROUP_LABELS

    def alerts(self) -> list[Alert]:
        """The demo has no Alertmanager: breaches come from the threshold engine."""
        return []

    def close(self) -> None:
        return None
