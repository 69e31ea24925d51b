"""The demo's prompt rollout: one agent switches prompt version mid-timeline (issue #9).

``outbound-sales`` runs prompt ``v2.3.1`` until :data:`ROLLOUT_OFFSET` seconds
after launch (negative: before it, inside the synthesised history), then
``v2.4.0``, whose answers are about three times longer: more completion
tokens, more TTS characters, longer LLM responses and about 2.5× the cost per
session.  Every other agent keeps its :data:`DEFAULT_VERSION`.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_VERSION = "v1.8.0"
#: Seconds after launch; -14 min leaves a drift breach that has lasted its 5 min at launch.
ROLLOUT_OFFSET = -840.0


@dataclass(frozen=True)
class Rollout:
    agent_id: str
    old: str
    new: str
    offset: float = ROLLOUT_OFFSET
    completion_factor: float = 3.0

    def versions(self, agent_id: str) -> tuple[str, ...]:
        return (self.old, self.new) if agent_id == self.agent_id else (DEFAULT_VERSION,)


PROMPT_ROLLOUT = Rollout("outbound-sales", "v2.3.1", "v2.4.0")


class PromptVersions:
    """Which prompt version an agent runs at simulated time ``t``."""

    def __init__(self, launch: float, rollout: Rollout = PROMPT_ROLLOUT) -> None:
        self.rollout = rollout
        self.at = launch + rollout.offset

    def version(self, agent_id: str, t: float) -> str:
        if agent_id != self.rollout.agent_id:
            return DEFAULT_VERSION
        return self.rollout.new if t >= self.at else self.rollout.old

    def completion_factor(self, agent_id: str, t: float) -> float:
        rolled = agent_id == self.rollout.agent_id and t >= self.at
        return self.rollout.completion_factor if rolled else 1.0
