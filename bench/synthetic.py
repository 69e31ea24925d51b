"""In-memory sources for the UI benches: N agents of moving metrics, S live sessions."""

from __future__ import annotations

import math
import random

from voicetop.domain.model import (
    QUANTILES,
    STAGES,
    Alert,
    MetricsResult,
    Series,
    Session,
    Trace,
    Turn,
    Window,
    stage_stat_key,
)

BASE_MS = {"stt": 120, "eou": 260, "ttft": 450, "llm": 900, "tts": 110, "e2e": 1700}
SCALE = {"p50": 1.0, "p90": 1.6, "p95": 1.9, "p99": 2.5}
SCALARS = {"wer": 0.04, "mos": 4.4, "rtf": 0.2, "interruption_rate": 0.07, "tool_success_rate": 0.99,
           "active_sessions": 12.0, "max_sessions": 40.0, "capacity": 0.3}
START = 1_760_000_000.0


def value(agent: int, key: str, t: float) -> float:
    """Smooth, deterministic and different per agent and key."""
    wiggle = 1.0 + 0.2 * math.sin(t / 97.0 + agent * 0.7 + len(key))
    stage, _, quantile = key.rpartition("_")
    if stage in BASE_MS and quantile in SCALE:
        return BASE_MS[stage] * SCALE[quantile] * wiggle * (1.0 + 0.15 * (agent % 7))
    return SCALARS[key] * wiggle


class MovingMetrics:
    """A MetricsSource whose clock moves ``step`` seconds per :meth:`fetch` (or stands still)."""

    name = "synthetic"

    def __init__(self, agents: int = 12, step: float = 15.0, advance: bool = True) -> None:
        self.agents = agents
        self.step = step
        self.advance = advance
        self.clock = START
        self._last: MetricsResult | None = None

    def now(self) -> float:
        return self.clock

    def fetch(self, window: Window) -> MetricsResult:
        if self.advance:
            self.clock += self.step
        if self._last is not None and self._last.window == window:
            return self._last  # same window as the last poll: same answer (a live console between steps)
        self._last = self._compute(window)
        return self._last

    def _compute(self, window: Window) -> MetricsResult:
        times = window.timestamps()
        keys = [stage_stat_key(s, q) for s in STAGES for q, _ in QUANTILES] + list(SCALARS)
        series: dict[str, dict[str | None, Series]] = {}
        for key in keys:
            per_agent = {}
            for agent in range(self.agents):
                per_agent[f"agent-{agent:04d}"] = Series(times, tuple(value(agent, key, t) for t in times))
            per_agent[None] = Series(times, tuple(value(0, key, t) for t in times))
            series[key] = per_agent
        return MetricsResult(window=window, series=series)

    def alerts(self) -> list[Alert]:
        return []

    def close(self) -> None:
        pass


class ManySessions:
    """A TraceSource listing ``count`` live sessions of one agent; a tenth change per call."""

    name = "synthetic-traces"

    def __init__(self, count: int, agent_id: str = "agent-0000", seed: int = 5) -> None:
        self.agent_id = agent_id
        self.calls = 0
        self._rng = random.Random(seed)
        self._sessions = [
            Session(f"sess-{i:06d}", agent_id, f"room-{i % 977:04d}", START - 600 + i % 600, START, 1 + i % 40,
                    900.0 + (i * 37) % 3000, 1200.0 + (i * 53) % 5000, i % 3, 400 + (i * 31) % 9000)
            for i in range(count)
        ]

    def sessions(self, agent_id, since, until, limit=500) -> list[Session]:
        self.calls += 1
        rng = self._rng
        for _ in range(len(self._sessions) // 10):
            i = rng.randrange(len(self._sessions))
            old = self._sessions[i]
            e2e = rng.uniform(700, 6000)
            self._sessions[i] = Session(old.session_id, old.agent_id, old.room, old.started, until, old.turns + 1,
                                        e2e, max(e2e, old.worst_e2e_ms or 0.0), old.interruptions, old.tokens + 350)
        return self._sessions[:limit]

    def turns(self, session_id, since, until) -> list[Turn]:
        return []

    def recent_turns(self, agent_id, since, until, limit=500) -> list[Turn]:
        return []

    def trace(self, trace_id: str) -> Trace:
        raise KeyError(trace_id)

    def close(self) -> None:
        pass
