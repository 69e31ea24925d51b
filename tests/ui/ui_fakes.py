"""A small deterministic MetricsSource for UI tests (no network, no threads)."""

from __future__ import annotations

import math
import threading

from voicetop.domain.model import STAGES, Alert, MetricsResult, Series, Window, stage_stat_key

#: Base latency (ms) per stage at p50; quantiles scale it.
BASE_MS = {"stt": 90, "eou": 250, "ttft": 300, "llm": 900, "tts": 80, "e2e": 1500}
QUANTILE_SCALE = {"p50": 1.0, "p90": 1.6, "p95": 1.9, "p99": 2.4}
AGENTS = ("billing-en", "support-de", "sales-fr", "triage-es", "booking-it")


def agent_value(agent: str | None, key: str, t: float) -> float:
    """A smooth, deterministic value; two agents breach on purpose.

    ``support-de`` has a critical TTFT p99 (~1500 ms > 1200) for the whole
    window; ``sales-fr`` has a warning E2E p90 (~3200 ms, between 3000 and 3500).
    """
    wiggle = 1.0 + 0.05 * math.sin(t / 120.0 + len(agent or "") + len(key))
    stage, _, quantile = key.rpartition("_")
    if stage in BASE_MS and quantile in QUANTILE_SCALE:
        value = BASE_MS[stage] * QUANTILE_SCALE[quantile] * wiggle
        if agent == "support-de" and stage == "ttft":
            value *= 2.1
        if agent == "sales-fr" and stage == "e2e" and quantile == "p90":
            value = 3200 * wiggle ** 0.2
        return value
    scalars = {
        "wer": 0.03, "mos": 4.5, "rtf": 0.2, "interruption_rate": 0.08, "tool_success_rate": 0.998,
        "active_sessions": 6, "max_sessions": 20, "capacity": 0.3, "turns_per_session": 5,
        "tokens_per_session": 1800, "cost_per_session": 0.04, "tokens_per_session_baseline": 1700,
        "cost_per_session_baseline": 0.04,
    }
    return float(scalars[key])


class FakeMetrics:
    """Answers ``fetch`` from :func:`agent_value`; its clock only moves when told."""

    name = "metrics"

    def __init__(self, now: float = 1_760_000_000.0, agents: tuple[str, ...] = AGENTS) -> None:
        self._now = now
        self.agents = list(agents)
        self.fetches = 0
        self.fail_with: Exception | None = None
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def fetch(self, window: Window) -> MetricsResult:
        with self._lock:
            self.fetches += 1
        if self.fail_with is not None:
            raise self.fail_with
        stamps = window.timestamps()
        agents = tuple(self.agents)  # one fleet per answer, even if a test swaps it mid-fetch
        keys = [stage_stat_key(s, q) for s in STAGES for q in QUANTILE_SCALE]
        keys += ["wer", "mos", "rtf", "interruption_rate", "tool_success_rate", "active_sessions",
                 "max_sessions", "capacity", "turns_per_session", "tokens_per_session", "cost_per_session",
                 "tokens_per_session_baseline", "cost_per_session_baseline"]
        series: dict[str, dict[str | None, Series]] = {}
        for key in keys:
            per_agent = {}
            for agent in (None, *agents):
                values = tuple(agent_value(agent, key, t) for t in stamps)
                if agent is None and key in ("active_sessions", "max_sessions"):
                    values = tuple(v * len(agents) for v in values)
                per_agent[agent] = Series(stamps, values)
            series[key] = per_agent
        return MetricsResult(window=window, series=series, queries=len(keys))

    def alerts(self) -> list[Alert]:
        return []

    def close(self) -> None:
        pass
