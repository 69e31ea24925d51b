"""Event-driven simulation of the demo fleet's sessions and turns.

Sessions arrive per agent (rate steered towards the agent's typical live
session count), run a few turns each and end.  Every turn is recorded through
the agent's prometheus_client children, exactly as a real agent would record
it, and handed to a span callback: every turn from ``spans_from`` on, and
slow or failed ones from ``sampled_from`` on (like a tail-sampling collector).  A tick every ``scrape_interval`` seconds
updates the gauges and calls ``on_scrape``.

Events are processed strictly in time order from one seeded RNG, so the result
depends only on the seed and the start time, not on how time is advanced.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from dataclasses import replace
from statistics import NormalDist
from typing import Callable, Sequence

from voicetop.sources.demo.catalog import (
    STT_USD_PER_SECOND,
    TTS_USD_PER_1K_CHARS,
    AgentSpec,
    llm_price,
)
from voicetop.sources.demo.incidents import Timeline
from voicetop.sources.demo.instruments import AgentInstruments, Instruments
from voicetop.sources.demo.rollout import PROMPT_ROLLOUT, PromptVersions
from voicetop.sources.demo.records import TurnRecord

SCRAPE_INTERVAL = 15.0  # Prometheus' default scrape interval
TURN_GAP_SECONDS = 40.0
FIRST_TURN_SECONDS = (4.0, 12.0)
GOODBYE_SECONDS = (2.0, 8.0)
MEAN_TURNS = 5.0
MAX_QUEUED_CALLS = 10
TOOL_TIMEOUT_MS = 3000.0
WER_WINDOW = 300.0
QUALITY_WINDOW = 60.0
ERROR_PROBABILITY = {"stt": 0.0005, "llm": 0.001, "tts": 0.0005}
#: Tail sampling: older history turns get spans only past these (the default
#: warning thresholds), so incidents show in waterfalls without the cost of
#: tracing every history turn.
SLOW_MS = {"e2e": 3000.0, "ttft": 800.0, "stt": 200.0, "tts": 150.0}

#: Standard normal quantiles, clamped to [-3, 2.6] so healthy latencies have a
#: bounded tail; indexed by 12 random bits (cheaper than random.gauss).
_Z_BITS = 12
_inv_cdf = NormalDist().inv_cdf
_Z = tuple(min(2.6, max(-3.0, _inv_cdf((i + 0.5) / 2**_Z_BITS))) for i in range(2**_Z_BITS))

# Event kinds, in the order simultaneous events are processed.
_TURN, _END, _ARRIVAL, _TICK = 0, 1, 2, 3


def _tail_sampled(stt: float, ttft: float, tts: float, e2e: float, tool_outcome: str, error: str | None) -> bool:
    """Turns a tail-sampling policy keeps even before ``spans_from``: slow or failed ones."""
    return (
        e2e > SLOW_MS["e2e"] or ttft > SLOW_MS["ttft"] or stt > SLOW_MS["stt"] or tts > SLOW_MS["tts"]
        or tool_outcome != "success" or error is not None
    )


class RollingMean:
    """Mean of the samples of the last ``window`` seconds."""

    __slots__ = ("window", "_samples", "_total")

    def __init__(self, window: float) -> None:
        self.window = window
        self._samples: deque[tuple[float, float]] = deque()
        self._total = 0.0

    def add(self, t: float, value: float) -> None:
        self._samples.append((t, value))
        self._total += value

    def mean(self, t: float) -> float | None:
        samples = self._samples
        while samples and samples[0][0] < t - self.window:
            self._total -= samples.popleft()[1]
        return self._total / len(samples) if samples else None


class _Session:
    __slots__ = ("session_id", "room", "turns", "done")

    def __init__(self, session_id: str, room: str, turns: int, done: int = 0) -> None:
        self.session_id = session_id
        self.room = room
        self.turns = turns
        self.done = done


class _Agent:
    """Run-time state of one agent."""

    def __init__(self, spec: AgentSpec, instruments: AgentInstruments) -> None:
        self.spec = spec
        self.m = instruments
        self.active = 0
        self.queued = 0  # callers waiting for a free slot while at capacity
        self.sessions_started = 0
        self.wer = RollingMean(WER_WINDOW)
        self.mos = RollingMean(QUALITY_WINDOW)
        self.rtf = RollingMean(QUALITY_WINDOW)
        self.prompt_price, self.completion_price = llm_price(spec.model)
        self.mean_session_seconds = (
            sum(FIRST_TURN_SECONDS) / 2 + (MEAN_TURNS - 1) * TURN_GAP_SECONDS * math.exp(0.3**2 / 2)
            + sum(GOODBYE_SECONDS) / 2
        )


class Simulator:
    """Advances the fleet through simulated time, event by event."""

    def __init__(
        self,
        specs: Sequence[AgentSpec],
        instruments: Instruments,
        timeline: Timeline,
        seed: int,
        begin: float,
        on_scrape: Callable[[float], None],
        on_turn: Callable[[TurnRecord], None],
        spans_from: float,
        sampled_from: float | None = None,
        versions: PromptVersions | None = None,
        warm_at_target: bool = False,
    ) -> None:
        self.rng = random.Random(seed)
        self.warm_at_target = warm_at_target
        self.versions = versions or PromptVersions(begin, replace(PROMPT_ROLLOUT, offset=math.inf))
        self.timeline = timeline
        self.on_scrape = on_scrape
        self.on_turn = on_turn
        self.spans_from = spans_from
        self.sampled_from = spans_from if sampled_from is None else sampled_from
        self.time = begin
        self.agents = [_Agent(spec, instruments.agent(spec.agent_id)) for spec in specs]
        self._queue: list[tuple[float, int, int, object]] = []
        self._seq = 0
        first_tick = math.floor(begin / SCRAPE_INTERVAL) * SCRAPE_INTERVAL + SCRAPE_INTERVAL
        self._push(first_tick, _TICK, None)
        for index, agent in enumerate(self.agents):
            self._warm_start(index, agent, begin)
            self._schedule_arrival(index, begin)

    # -- event queue ------------------------------------------------------
    def _push(self, t: float, kind: int, payload: object) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (t, kind, self._seq, payload))

    def run_until(self, t: float) -> None:
        """Process every event up to and including time ``t``."""
        queue = self._queue
        while queue and queue[0][0] <= t:
            when, kind, _, payload = heapq.heappop(queue)
            self.time = when
            if kind == _TURN:
                self._turn(when, *payload)
            elif kind == _END:
                self._end(when, *payload)
            elif kind == _ARRIVAL:
                self._arrival(when, payload)
            else:
                self._tick(when)
        self.time = max(self.time, t)

    # -- sessions -----------------------------------------------------------
    def _new_session(self, agent: _Agent, turns: int, done: int = 0) -> _Session:
        agent.sessions_started += 1
        short = agent.spec.agent_id.split("-")[0][:8]
        session_id = f"{short}-{self.rng.getrandbits(48):012x}"
        room = f"room-{short}-{agent.sessions_started:05d}"
        agent.active += 1
        agent.m.active_sessions.set(agent.active)
        return _Session(session_id, room, turns, done)

    def _draw_turns(self) -> int:
        return max(1, min(12, round(self.rng.gauss(MEAN_TURNS, 1.5))))

    def _warm_start(self, index: int, agent: _Agent, t: float) -> None:
        """Sessions already running when the simulation begins: the agent's typical
        count, or with ``warm_at_target`` the count its incidents steer towards
        (capped by capacity), as when resuming a history already under way."""
        rng = self.rng
        count = agent.spec.sessions
        if self.warm_at_target:
            count = min(agent.spec.max_sessions, round(self._target(agent, t)))
        for _ in range(count):
            turns = self._draw_turns()
            session = self._new_session(agent, turns, done=rng.randrange(turns))
            self._push(t + rng.uniform(0.5, TURN_GAP_SECONDS), _TURN, (index, session))

    def _target(self, agent: _Agent, t: float) -> float:
        effects = self.timeline.effects(agent.spec.agent_id, t)
        return agent.spec.sessions * effects.sessions_factor

    def _schedule_arrival(self, index: int, t: float) -> None:
        agent = self.agents[index]
        target = self._target(agent, t)
        # Steer the arrival rate towards the target number of live sessions.
        steer = min(4.0, max(0.1, 1.0 + 1.5 * (target - agent.active) / max(target, 1.0)))
        rate = target / agent.mean_session_seconds * steer
        self._push(t + self.rng.expovariate(rate), _ARRIVAL, index)

    def _arrival(self, t: float, index: int) -> None:
        agent = self.agents[index]
        if agent.active < agent.spec.max_sessions:
            self._admit(t, index, agent)
        elif agent.queued < MAX_QUEUED_CALLS:
            agent.queued += 1
        self._schedule_arrival(index, t)

    def _admit(self, t: float, index: int, agent: _Agent) -> None:
        session = self._new_session(agent, self._draw_turns())
        self._push(t + self.rng.uniform(*FIRST_TURN_SECONDS), _TURN, (index, session))

    def _end(self, t: float, index: int, session: _Session) -> None:
        agent = self.agents[index]
        agent.active -= 1
        m = agent.m
        m.use_version(self.versions.version(agent.spec.agent_id, t))
        m.active_sessions.set(agent.active)
        outcome = "completed" if session.done >= session.turns else "abandoned"
        m.sessions_completed[outcome].inc()
        m.session_turns.observe(session.done)
        if agent.queued:
            agent.queued -= 1
            self._admit(t, index, agent)

    # -- turns ----------------------------------------------------------
    def _turn(self, t: float, index: int, session: _Session) -> None:
        agent = self.agents[index]
        spec, m, rng = agent.spec, agent.m, self.rng
        fx = self.timeline.effects(spec.agent_id, t)
        m.use_version(self.versions.version(spec.agent_id, t))
        random_, bits, exp = rng.random, rng.getrandbits, math.exp

        def z() -> float:
            return _Z[bits(_Z_BITS)]

        stt = spec.stt_ms * fx.stt_factor * exp(0.22 * z())
        eou = spec.eou_ms * exp(0.2 * z())
        ttft = spec.ttft_ms * fx.ttft_factor * exp(0.2 * z())
        if fx.stall_probability and random_() < fx.stall_probability:
            ttft = rng.uniform(4500.0, 8000.0)
        completion = max(5, round(spec.completion_tokens * self.versions.completion_factor(spec.agent_id, t) * exp(0.35 * z())))
        prompt = spec.prompt_tokens + 150 * session.done + rng.randrange(100)
        llm = ttft + completion / spec.tokens_per_second * 1000.0
        tts = spec.tts_ms * exp(0.2 * z())
        tool, tool_ms, tool_outcome = None, 0.0, "success"
        if random_() < spec.tool_probability:
            tool = spec.tools[0] if random_() < 0.6 else spec.tools[1]
            if fx.tool_timeout_probability and random_() < fx.tool_timeout_probability:
                tool_ms, tool_outcome = TOOL_TIMEOUT_MS, "timeout"
            else:
                tool_ms = 180.0 * exp(0.4 * z())
        overhead = 40.0 * exp(0.3 * z())
        e2e = max(stt, eou) + tool_ms + ttft + tts + overhead
        interrupted = random_() < spec.interruption_probability + fx.interruption_add
        error = None
        for component, probability in ERROR_PROBABILITY.items():
            if random_() < probability:
                error = component
        characters = round(completion * rng.uniform(3.8, 4.6))
        speech_seconds = rng.uniform(1.5, 6.0)

        m.stt.observe(stt)
        m.eou.observe(eou)
        m.ttft.observe(ttft)
        m.llm.observe(llm)
        m.tts.observe(tts)
        m.e2e.observe(e2e)
        m.turns["interrupted" if interrupted else "error" if error else "completed"].inc()
        if interrupted:
            m.interruptions.inc()
        requests = m.requests
        requests["stt"].inc()
        requests["llm"].inc()
        requests["tts"].inc()
        if tool is not None:
            requests["tool"].inc()
            m.tool_calls[(tool, tool_outcome)].inc()
            if tool_outcome != "success":
                m.errors["tool"].inc()
        if error is not None:
            m.errors[error].inc()
        m.tokens["prompt"].inc(prompt)
        m.tokens["completion"].inc(completion)
        m.tts_chars.inc(characters)
        m.cost["stt"].inc(speech_seconds * STT_USD_PER_SECOND)
        m.cost["llm"].inc(prompt / 1000 * agent.prompt_price + completion / 1000 * agent.completion_price)
        m.cost["tts"].inc(characters / 1000 * TTS_USD_PER_1K_CHARS)
        agent.wer.add(t, max(0.0, spec.wer * rng.uniform(0.6, 1.4) + fx.wer_add * rng.uniform(0.7, 1.3)))
        agent.mos.add(t, spec.mos + fx.mos_add + 0.08 * z())
        agent.rtf.add(t, spec.rtf * fx.stt_factor ** 0.5 * rng.uniform(0.8, 1.2) + fx.rtf_add)

        if t >= self.spans_from or (t >= self.sampled_from and _tail_sampled(stt, ttft, tts, e2e, tool_outcome, error)):
            span_ms = max(e2e, max(stt, eou) + tool_ms + llm)
            self.on_turn(TurnRecord(
                spec.agent_id, session.session_id, session.room, session.done, t - span_ms / 1000.0,
                stt, eou, ttft, llm, tts, e2e, tool, tool_ms, tool_outcome, prompt, completion,
                characters, spec.model, spec.stt_provider, spec.tts_provider, interrupted, error,
                prompt_version=self.versions.version(spec.agent_id, t),
            ))
        session.done += 1
        if session.done < session.turns and not (interrupted and random_() < 0.1):
            gap = TURN_GAP_SECONDS * exp(0.3 * z())
            self._push(t + gap, _TURN, (index, session))
        else:
            self._push(t + rng.uniform(*GOODBYE_SECONDS), _END, (index, session))

    # -- scrape tick ------------------------------------------------------
    def _tick(self, t: float) -> None:
        for agent in self.agents:
            for rolling, gauge in ((agent.wer, agent.m.wer), (agent.mos, agent.m.mos), (agent.rtf, agent.m.rtf)):
                value = rolling.mean(t)
                if value is not None:
                    gauge.set(value)
        self.on_scrape(t)
        self._push(t + SCRAPE_INTERVAL, _TICK, None)
