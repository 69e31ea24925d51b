"""One simulated turn, as the simulator hands it to the span recorder (no OpenTelemetry import)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TurnRecord:
    """Everything one simulated turn did; times in Unix seconds, durations in ms."""

    agent_id: str
    session_id: str
    room: str
    index: int
    start: float
    stt_ms: float
    eou_ms: float
    ttft_ms: float
    llm_ms: float
    tts_ms: float
    e2e_ms: float
    tool: str | None
    tool_ms: float
    tool_outcome: str
    prompt_tokens: int
    completion_tokens: int
    characters: int
    model: str
    stt_provider: str
    tts_provider: str
    interrupted: bool
    error: str | None
    prompt_version: str = ""
