"""An 8-day fleet history with a prompt rollout, as OpenMetrics for promtool backfill.

Two agents, one sample every :data:`STEP` seconds for eight days (modest, so
the backfill takes seconds).  ``support`` is steady throughout.  ``billing``
runs prompt ``v2.3.1`` until ``rollout`` (3 h before the end), then
``v2.4.0``: responses three times longer (completion tokens and TTS
characters per turn ×3) and cost per session ×2.5.  Everything else (turns
per session, tool calls per turn, latency) is unchanged, so only the
verbosity and cost drift rules may fire.

Per step and agent: 8 turns, 2 finished sessions of 4 turns, 3 tool calls;
per turn 1000 prompt tokens, 60 completion tokens, 250 TTS characters; per
session $0.04 (after the rollout: 180 tokens, 750 characters, $0.10).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

STEP = 300.0
DAYS = 8
OLD, NEW = "v2.3.1", "v2.4.0"
MODEL = "gpt-4o-mini"
AGENTS = ("billing", "support")
TTFT_BUCKETS = (200, 400, 600, 1000)
TURN_BUCKETS = (2, 4, 8)

TURNS, SESSIONS, TOOL_CALLS = 8, 2, 3
PROMPT_TOKENS = 1000
COMPLETION = {OLD: 60, NEW: 180}
CHARACTERS = {OLD: 250, NEW: 750}
SESSION_COST = {OLD: 0.04, NEW: 0.10}
#: TTFT observations per step, {bucket upper bound: count} (p99 ≈ 590 ms).
TTFT = {200: 5, 400: 2, 600: 1}


@dataclass(frozen=True)
class DriftScenario:
    start: float
    end: float
    rollout: float
    step: float = STEP

    def timestamps(self) -> list[float]:
        count = int(math.floor((self.end - self.start) / self.step + 1e-9)) + 1
        return [self.start + i * self.step for i in range(count)]

    def version(self, agent: str, t: float) -> str:
        return NEW if agent == "billing" and t >= self.rollout else OLD


def drift_scenario(now: float | None = None) -> DriftScenario:
    """Eight days ending at the last whole ``STEP`` before ``now``; rollout 3 h before the end."""
    now = time.time() if now is None else now
    end = math.floor((now - 60) / 3600) * 3600 + math.floor(((now - 60) % 3600) / STEP) * STEP
    start = end - DAYS * 86400
    return DriftScenario(start=start, end=end, rollout=end - 3 * 3600)


def _labels(**labels: str) -> str:
    return ",".join(f'{k}="{v}"' for k, v in labels.items())


def to_openmetrics(scenario: DriftScenario) -> str:
    """Every series of the scenario (counters keep counting per prompt version)."""
    times = scenario.timestamps()
    families: dict[str, tuple[str, list[str]]] = {}

    def emit(family: str, kind: str, sample: str, labels: str, points: list[tuple[float, float]]) -> None:
        lines = families.setdefault(family, (kind, []))[1]
        lines.extend(f"{sample}{{{labels}}} {value!r} {t:.3f}" for t, value in points)

    for agent in AGENTS:
        for version in sorted({scenario.version(agent, t) for t in times}):
            live = [t for t in times if scenario.version(agent, t) == version]
            base = dict(agent_id=agent, prompt_version=version)

            def counter(per_step: float) -> list[tuple[float, float]]:
                return [(t, per_step * i) for i, t in enumerate(live)]

            emit("livekit_conversation_turns", "counter", "livekit_conversation_turns_total",
                 _labels(**base, outcome="completed"), counter(TURNS))
            emit("livekit_sessions_completed", "counter", "livekit_sessions_completed_total",
                 _labels(**base, outcome="completed"), counter(SESSIONS))
            emit("livekit_tool_calls", "counter", "livekit_tool_calls_total",
                 _labels(**base, tool="lookup", outcome="success"), counter(TOOL_CALLS))
            emit("livekit_tokens_consumed", "counter", "livekit_tokens_consumed_total",
                 _labels(**base, model=MODEL, kind="prompt"), counter(TURNS * PROMPT_TOKENS))
            emit("livekit_tokens_consumed", "counter", "livekit_tokens_consumed_total",
                 _labels(**base, model=MODEL, kind="completion"), counter(TURNS * COMPLETION[version]))
            emit("livekit_tts_characters", "counter", "livekit_tts_characters_total",
                 _labels(**base, provider="cartesia"), counter(TURNS * CHARACTERS[version]))
            emit("livekit_session_cost_usd", "counter", "livekit_session_cost_usd_total",
                 _labels(**base, component="llm"), counter(SESSIONS * SESSION_COST[version]))
            _histogram(emit, "livekit_session_turns", {**base}, live, TURN_BUCKETS, {4: SESSIONS}, 4.0)
            _histogram(emit, "livekit_llm_ttft_ms", {**base, "model": MODEL}, live, TTFT_BUCKETS, TTFT, None)
    lines: list[str] = []
    for family, (kind, samples) in families.items():
        lines.append(f"# TYPE {family} {kind}")
        lines.extend(samples)
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _histogram(emit, family, labels, live, bounds, per_step, observed_value):
    """Cumulative buckets, sum and count; ``observed_value`` None means 0.95 × the bucket bound."""
    count_per_step = sum(per_step.values())
    sum_per_step = sum(n * (observed_value if observed_value is not None else b * 0.95) for b, n in per_step.items())
    for bound in [*bounds, math.inf]:
        in_bucket = sum(n for b, n in per_step.items() if b <= bound)
        le = "+Inf" if bound == math.inf else f"{float(bound)}"
        points = [(t, float(in_bucket * i)) for i, t in enumerate(live)]
        emit(family, "histogram", f"{family}_bucket", _labels(**labels, le=le), points)
    emit(family, "histogram", f"{family}_sum", _labels(**labels), [(t, sum_per_step * i) for i, t in enumerate(live)])
    emit(family, "histogram", f"{family}_count", _labels(**labels), [(t, float(count_per_step * i)) for i, t in enumerate(live)])
