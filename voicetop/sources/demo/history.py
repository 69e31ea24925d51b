"""The demo's earlier history, simulated apart from the recent minutes before launch.

A :class:`DemoFleet` simulates only the last :data:`RECENT_SECONDS` before
launch through its live instruments (on the RNG of :func:`recent_seed`), which
is all the first frame needs.  The history before that is simulated here on
the fleet's seed (same agents, incident timeline and prompt rollout) into
throw-away instruments and media nodes; the fleet then puts its rows in front
of the recent ones and adds its totals to every live counter and histogram, so
counters stay monotonic across the seam exactly as if one agent process had
run all along.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Sequence

from voicetop.sources.demo.catalog import AgentSpec
from voicetop.sources.demo.incidents import Timeline
from voicetop.sources.demo.instruments import Instruments
from voicetop.sources.demo.rollout import PromptVersions
from voicetop.sources.demo.simulator import Simulator
from voicetop.sources.demo.records import TurnRecord
from voicetop.sources.demo.telephony import DemoTelephony
from voicetop.sources.demo.tsdb import ScrapeStore

#: Simulated before the first frame: a 5-minute rate() window and two scrapes.
RECENT_SECONDS = 330.0


def recent_seed(seed: int) -> int:
    """The RNG seed of the recent part (distinct from the earlier history's ``seed``)."""
    return random.Random(f"voicetop-demo-recent-{seed}").getrandbits(32)


@dataclass(frozen=True)
class EarlierHistory:
    """What the fleet did between ``begin`` and ``end`` (the start of the recent part)."""

    instruments: Instruments
    store: ScrapeStore
    telephony: DemoTelephony
    sampled_turns: tuple[TurnRecord, ...]  # tail-sampled turns, oldest first


def simulate_earlier(
    specs: Sequence[AgentSpec],
    timeline: Timeline,
    versions: PromptVersions,
    seed: int,
    begin: float,
    end: float,
    sampled_from: float,
) -> EarlierHistory:
    """Simulate ``[begin, end]`` into fresh instruments, keeping slow or failed turns for spans."""
    instruments = Instruments(specs)
    store = ScrapeStore(instruments.columns, retention=math.inf)
    telephony = DemoTelephony(specs, instruments.registry, timeline, seed)
    turns: list[TurnRecord] = []

    def scrape(t: float) -> None:
        store.append(t, instruments.read())
        telephony.scrape(t, store)

    simulator = Simulator(
        specs, instruments, timeline, seed, begin=begin, on_scrape=scrape,
        on_turn=turns.append, spans_from=math.inf, sampled_from=sampled_from, versions=versions,
    )
    simulator.run_until(end)
    return EarlierHistory(instruments, store, telephony, tuple(turns))
