"""A deterministic fleet history with a known incident, as OpenMetrics or Prometheus text.

:func:`incident_scenario` is the canonical test scenario: three agents over
the last two hours at 15 s resolution, every series of the seed metric
contract (DESIGN.md §2), healthy everywhere except one incident — agent
``billing``'s LLM TTFT jumps to 1.5–2 s from ``T0+60m`` to ``T0+80m``, so its
``ttft_p99`` breaches warning and critical from exactly ``incident.start``.

Render it with :func:`to_openmetrics` (for ``promtool tsdb create-blocks-from
openmetrics``) or :func:`to_prometheus_text` (VictoriaMetrics'
``/api/v1/import/prometheus``; timestamps in ms).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Iterator

#: Histogram buckets (upper bounds) of the seed contract.
BUCKETS = {
    "ttft": (100, 200, 400, 600, 800, 1000, 1200, 1500, 2000, 3000, 5000),
    "llm": (100, 200, 400, 600, 800, 1000, 1200, 1500, 2000, 3000, 5000),
    "stt": (50, 100, 150, 200, 300, 400, 600, 1000, 2000),
    "tts": (50, 100, 150, 200, 300, 400, 600, 1000, 2000),
    "eou": (100, 200, 300, 500, 800, 1000, 1500, 2000),
    "e2e": (500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000, 7500, 10000),
    "session_turns": (1, 2, 4, 6, 8, 10, 15, 20),
}
HISTOGRAMS = {
    "ttft": ("livekit_llm_ttft_ms", {"model": "gpt-4o"}),
    "llm": ("livekit_llm_duration_ms", {"model": "gpt-4o"}),
    "stt": ("livekit_stt_duration_ms", {"provider": "deepgram"}),
    "tts": ("livekit_tts_ttfb_ms", {"provider": "cartesia"}),
    "eou": ("livekit_eou_delay_ms", {}),
    "e2e": ("livekit_e2e_latency_ms", {}),
    "session_turns": ("livekit_session_turns", {}),
}
#: Observations per 15 s step, as {bucket upper bound: count} (healthy values).
HEALTHY = {
    "ttft": {100: 4, 200: 6, 400: 6, 600: 4},  # p99 ≈ 590 ms (< 800 warning)
    "llm": {400: 5, 800: 10, 1200: 5},
    "stt": {50: 5, 100: 10, 150: 5},  # p90 ≈ 140 ms
    "tts": {50: 8, 100: 10, 150: 2},  # p90 = 100 ms
    "eou": {100: 5, 200: 10, 300: 5},  # p90 ≈ 260 ms
    "e2e": {1000: 5, 1500: 10, 2000: 5},  # p90 ≈ 1900 ms, p99 ≈ 1990 ms
}
#: During an incident every observation of the stage lands here.
INCIDENT = {"ttft": {2000: 20}, "e2e": {5000: 20}, "stt": {600: 20}, "tts": {400: 20}, "eou": {1000: 20}, "llm": {3000: 20}}

AGENTS = ("billing", "sales", "support")


@dataclass(frozen=True)
class Incident:
    """Stage ``stage`` of ``agent`` is slow for samples in [start, end)."""

    agent: str
    stage: str
    start: float
    end: float


@dataclass(frozen=True)
class Scenario:
    """A fleet history: samples at ``start + k*step`` for ``start <= t <= end``."""

    start: float
    end: float
    step: float = 15.0
    agents: tuple[str, ...] = AGENTS
    incidents: tuple[Incident, ...] = ()
    gauges: dict = field(default_factory=lambda: {
        "livekit_asr_wer": 0.03, "livekit_tts_mos": 4.5, "livekit_stt_rtf": 0.2,
        "livekit_active_sessions": 3.0, "livekit_max_sessions": 10.0,
    })

    def timestamps(self) -> list[float]:
        count = int(math.floor((self.end - self.start) / self.step + 1e-9)) + 1
        return [self.start + i * self.step for i in range(count)]

    def incident_for(self, agent: str, stage: str, t: float) -> Incident | None:
        for incident in self.incidents:
            if incident.agent == agent and incident.stage == stage and incident.start <= t < incident.end:
                return incident
        return None

    @property
    def incident(self) -> Incident:
        """The first (usually only) incident."""
        return self.incidents[0]


def incident_scenario(now: float | None = None, hours: float = 2.0, step: float = 15.0) -> Scenario:
    """The canonical scenario: ``billing`` TTFT incident from T0+60m to T0+80m.

    T0 = ``now - hours`` rounded down to a whole minute; samples until
    ``T0 + hours`` (just before now).
    """
    now = time.time() if now is None else now
    start = math.floor((now - hours * 3600) / 60) * 60
    end = start + hours * 3600 - 60
    incident = Incident("billing", "ttft", start + 3600, start + 4800)
    return Scenario(start=start, end=end, step=step, incidents=(incident,))


# -- samples -------------------------------------------------------------------
Family = tuple[str, str, str, list[tuple[dict, list[tuple[float, float]]]]]  # name, type, help, series


def _label_text(labels: dict) -> str:
    return ",".join(f'{k}="{v}"' for k, v in labels.items())


def families(scenario: Scenario) -> list[Family]:
    """Every metric family as (name, type, help, [(labels, [(t, value)])])."""
    times = scenario.timestamps()
    result: list[Family] = []
    for role, (name, extra) in HISTOGRAMS.items():
        series = []
        for agent in scenario.agents:
            labels = {"agent_id": agent, **extra}
            series.extend(_histogram_series(scenario, role, agent, labels, times))
        result.append((name, "histogram", f"{role} latency", series))
    counters = [
        ("livekit_conversation_turns", lambda a, i: 2.0 * i, [{"outcome": "completed"}]),
        ("livekit_interruptions", lambda a, i: float(i // 10), [{}]),
        ("livekit_tool_calls", lambda a, i: 2.0 * i, [{"tool": "lookup", "outcome": "success"}]),
        ("livekit_tool_calls", lambda a, i: 0.0, [{"tool": "lookup", "outcome": "error"}]),
        ("livekit_requests", lambda a, i: 2.0 * i, [{"component": c} for c in ("stt", "llm", "tts", "tool")]),
        ("livekit_errors", lambda a, i: 0.0, [{"component": c} for c in ("stt", "llm", "tts", "tool")]),
        ("livekit_sessions_completed", lambda a, i: float(i // 4), [{"outcome": "completed"}]),
        ("livekit_tokens_consumed", lambda a, i: 400.0 * i, [{"model": "gpt-4o", "kind": "prompt"}]),
        ("livekit_tokens_consumed", lambda a, i: 100.0 * i, [{"model": "gpt-4o", "kind": "completion"}]),
        ("livekit_tts_characters", lambda a, i: 200.0 * i, [{"provider": "cartesia"}]),
        ("livekit_session_cost_usd", lambda a, i: 0.01 * i, [{"component": "llm"}]),
    ]
    merged: dict[str, list] = {}
    for name, value_of, label_sets in counters:
        for agent in scenario.agents:
            for extra in label_sets:
                points = [(t, value_of(agent, i)) for i, t in enumerate(times)]
                merged.setdefault(name, []).append(({"agent_id": agent, **extra}, points))
    for name, series in merged.items():
        result.append((name, "counter", name.replace("_", " "), series))
    for name, value in scenario.gauges.items():
        series = [({"agent_id": agent}, [(t, value) for t in times]) for agent in scenario.agents]
        result.append((name, "gauge", name.replace("_", " "), series))
    return result


def _histogram_series(scenario, role, agent, labels, times):
    bounds = BUCKETS[role]
    cumulative = {b: 0.0 for b in bounds}
    total_sum = 0.0
    total_count = 0.0
    buckets: dict[float, list] = {b: [] for b in bounds}
    sums, counts = [], []
    for i, t in enumerate(times):
        if i > 0:
            if role == "session_turns":
                observed = {6: 1} if i % 4 == 0 else {}
                value_of = {6: 5.0}
            else:
                incident = scenario.incident_for(agent, role, t)
                observed = INCIDENT[role] if incident else HEALTHY[role]
                value_of = {b: b * 0.95 for b in bounds}
            for bound, count in observed.items():
                for b in bounds:
                    if b >= bound:
                        cumulative[b] += count
                total_sum += count * value_of[bound]
                total_count += count
        for b in bounds:
            buckets[b].append((t, cumulative[b]))
        sums.append((t, total_sum))
        counts.append((t, total_count))
    series = [({**labels, "le": _le(b)}, buckets[b]) for b in bounds]
    series.append(({**labels, "le": "+Inf"}, counts))
    return [("_bucket", lbl, pts) for lbl, pts in series] + [("_sum", labels, sums), ("_count", labels, counts)]


def _le(bound: float) -> str:
    return f"{float(bound)}"


def _samples(family: Family) -> Iterator[tuple[str, dict, list]]:
    name, kind, _, series = family
    for item in series:
        if kind == "histogram":
            suffix, labels, points = item
            yield name + suffix, labels, points
        elif kind == "counter":
            labels, points = item
            yield name + "_total", labels, points
        else:
            labels, points = item
            yield name, labels, points


def to_openmetrics(scenario: Scenario) -> str:
    """OpenMetrics text (seconds timestamps) ending in ``# EOF``, for promtool backfill."""
    lines: list[str] = []
    for family in families(scenario):
        name, kind, help_text, _ = family
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for sample_name, labels, points in _samples(family):
            label_text = _label_text(labels)
            for t, value in points:
                lines.append(f"{sample_name}{{{label_text}}} {value!r} {t:.3f}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def to_prometheus_text(scenario: Scenario) -> str:
    """Prometheus exposition text with millisecond timestamps (VictoriaMetrics import)."""
    lines: list[str] = []
    for family in families(scenario):
        for sample_name, labels, points in _samples(family):
            label_text = _label_text(labels)
            for t, value in points:
                lines.append(f"{sample_name}{{{label_text}}} {value!r} {int(round(t * 1000))}")
    return "\n".join(lines) + "\n"
