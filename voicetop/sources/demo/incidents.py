"""The scripted incident loop of the demo fleet.

Four incidents repeat every :data:`LOOP_SECONDS` of simulated time.  The loop is
anchored so that the fleet launches :data:`LAUNCH_PHASE` seconds into it: by
then the LLM slowdown (critical) and the STT degradation (warning) have been
breaching for over five minutes and go on for more than another minute, while
the tool timeouts and the capacity squeeze are building up; a few minutes
later those two are the reported breaches.
"""

from __future__ import annotations

from dataclasses import dataclass

LOOP_SECONDS = 600.0
LAUNCH_PHASE = 360.0


@dataclass(frozen=True)
class Incident:
    """A degradation of one agent during ``[begin, end)`` of the loop.

    ``begin`` may be negative and ``end`` beyond the loop: phases wrap around.
    """

    kind: str
    agent_id: str
    begin: float
    end: float
    title: str
    ramp: float = 30.0

    def intensity(self, phase: float) -> float:
        """0..1: ramps up over ``ramp`` seconds, holds, then ramps down."""
        into = (phase - self.begin) % LOOP_SECONDS
        length = self.end - self.begin
        if into >= length:
            return 0.0
        return max(0.0, min(1.0, into / self.ramp, (length - into) / self.ramp))


INCIDENTS: tuple[Incident, ...] = (
    Incident("llm_slowdown", "billing-agent", -45.0, 180.0, "LLM provider slowdown", ramp=10.0),
    Incident("stt_degradation", "support-es", -60.0, 200.0, "STT degradation, rising WER"),
    Incident("tool_timeouts", "booking", 210.0, 450.0, "tool timeouts"),
    Incident("capacity_squeeze", "support-en", 200.0, 720.0, "capacity squeeze", ramp=40.0),
)


@dataclass(frozen=True)
class Effects:
    """How incidents bend one agent's behaviour at one moment."""

    ttft_factor: float = 1.0
    stall_probability: float = 0.0
    stt_factor: float = 1.0
    wer_add: float = 0.0
    rtf_add: float = 0.0
    mos_add: float = 0.0
    tool_timeout_probability: float = 0.0
    interruption_add: float = 0.0
    sessions_factor: float = 1.0
    packet_loss_pct: float = 0.0  # extra packet loss on the agent's media node (issue #10)
    jitter_ms: float = 0.0  # extra jitter on that node


HEALTHY = Effects()
#: The STT degradation is a network impairment: packet loss (and jitter) on the
#: agent's media node, and the WER it causes per percent of loss.
STT_LOSS_PCT = 5.0
STT_JITTER_MS = 32.0
WER_PER_LOSS_PCT = 0.012


def _effects(kind: str, level: float) -> Effects:
    if kind == "llm_slowdown":
        return Effects(
            ttft_factor=1.0 + 3.0 * level, stall_probability=0.12 * level,
            interruption_add=0.04 * level,
        )
    if kind == "stt_degradation":
        loss = STT_LOSS_PCT * level
        return Effects(
            stt_factor=1.0 + 1.4 * level, wer_add=WER_PER_LOSS_PCT * loss, rtf_add=0.2 * level,
            mos_add=-0.05 * level, packet_loss_pct=loss, jitter_ms=STT_JITTER_MS * level,
        )
    if kind == "tool_timeouts":
        return Effects(tool_timeout_probability=0.4 * level)
    if kind == "capacity_squeeze":
        return Effects(sessions_factor=1.0 + 1.5 * level)
    raise ValueError(f"unknown incident kind {kind!r}")


class Timeline:
    """Maps simulated time to incident effects; ``anchor`` is phase 0 of a loop."""

    def __init__(self, launch: float, incidents: tuple[Incident, ...] = INCIDENTS) -> None:
        self.anchor = launch - LAUNCH_PHASE
        self.incidents = incidents
        self._by_agent: dict[str, list[Incident]] = {}
        for incident in incidents:
            self._by_agent.setdefault(incident.agent_id, []).append(incident)

    def phase(self, t: float) -> float:
        return (t - self.anchor) % LOOP_SECONDS

    def effects(self, agent_id: str, t: float) -> Effects:
        """Effects of the incident under way on ``agent_id`` at ``t`` (HEALTHY when none)."""
        phase = self.phase(t)
        for incident in self._by_agent.get(agent_id, ()):
            level = incident.intensity(phase)
            if level > 0:
                return _effects(incident.kind, level)
        return HEALTHY

    def active(self, t: float) -> list[tuple[Incident, float]]:
        """Incidents with a non-zero intensity at ``t``."""
        phase = self.phase(t)
        levels = [(incident, incident.intensity(phase)) for incident in self.incidents]
        return [(incident, level) for incident, level in levels if level > 0]
