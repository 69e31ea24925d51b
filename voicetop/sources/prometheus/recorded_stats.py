"""Term-panel stats read as voicetop's recording rules keep them (:func:`.recording.stat_recordings`).

With the rules loaded, a ratio panel no longer reads its terms and divides
them here: the rules keep each stat per agent and for the fleet, and the
server keeps the top ``max_agents`` agents of each per step (``topk by
(__name__)``; rows without the agent label take no place, as in
:mod:`.terms`).  The answer's rows are told apart by their names, and the
values are scaled like the term path's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from voicetop.sources.prometheus.matrix import (
    Columns,
    StepIndex,
    fill_scaled,
    keep_top,
    labelled_rows,
    top_with_fleet,
)
from voicetop.sources.prometheus.recording import StatRecording

_Column = list[float | None]


@dataclass(frozen=True)
class RecordedStatsPlan:
    """The recorded stats one panel query reads and how to tell its rows apart."""

    recordings: tuple[StatRecording, ...]
    terms: tuple[str, ...]  # the per-agent sums the recorded stats are computed from (recorded too)
    max_agents: int
    agent_label: str
    split_label: str | None = None

    def promql(self, agents: str = "") -> str:
        """The top agents of every per-agent series, and the fleet's (metric names hold no regex
        metacharacters); with ``agents`` (a label matcher), of those agents only."""
        names = "|".join(recording.agent_name for recording in self.recordings)
        fleet = "|".join(recording.fleet_name for recording in self.recordings)
        matchers = f'__name__=~"{names}", {self.agent_label}!=""' + (f", {agents}" if agents else "")
        return f'topk by (__name__) ({self.max_agents}, {{{matchers}}}) or {{__name__=~"{fleet}"}}'

    def absent(self, found: Mapping[str, Mapping[str | None, object]]) -> list[StatRecording]:
        """The (unsplit) stats an answer holds no fleet series of (with any agent's, the fleet's is there)."""
        return [
            recording for recording in self.recordings
            if not recording.split and None not in found.get(recording.key, {})
        ]


def terms_probe(recordings: Iterable[StatRecording]) -> str:
    """An instant query with one row per recorded term of ``recordings`` that has series."""
    names = sorted({name for recording in recordings for name in recording.needs})
    return f'count by (__name__) ({{__name__=~"{"|".join(names)}"}})'


def unrecorded(recordings: Iterable[StatRecording], present: set[str]) -> list[str]:
    """The keys of ``recordings`` whose terms all have series (``present``): their own series should be there."""
    return [recording.key for recording in recordings if recording.needs and set(recording.needs) <= present]


def decode_recorded_stats(
    rows: Iterable[Mapping], plan: RecordedStatsPlan, timestamps: Sequence[float], agent_label: str
) -> Columns:
    """Stat columns per agent (None: the fleet) over ``timestamps`` (evenly spaced).

    A split stat's rows become ``key + value`` stats (a row without the value
    still takes a ``topk`` place, as on the term path).  Rows of other names,
    per-agent rows without the agent label and malformed rows are skipped;
    the first row of a (stat, agent) wins.
    """
    count = len(timestamps)
    start = timestamps[0] if timestamps else 0.0
    step_index = StepIndex(start, timestamps[1] - start if count > 1 else 1.0, count)
    per_agent_names = {recording.agent_name: recording for recording in plan.recordings}
    fleet_names = {recording.fleet_name: recording for recording in plan.recordings}
    split_label = plan.split_label or ""
    agents: Columns = {recording.key: {} for recording in plan.recordings if not recording.split}
    split_agents: dict[tuple[str, str], _Column] = {}
    fleet: dict[str, _Column] = {}
    for labels, points in labelled_rows(rows):
        name = labels.get("__name__")
        recording = per_agent_names.get(name)  # type: ignore[arg-type]
        if recording is not None:
            agent = labels.get(agent_label)
            if not agent or type(agent) is not str:
                continue
            if recording.split:
                part = labels.get(split_label, "")
                if type(part) is not str:
                    continue
                cell: tuple[str, str] = (recording.key + part if part else "", agent)
                if cell in split_agents:
                    continue
                column = split_agents[cell] = [None] * count
            else:
                if agent in agents[recording.key]:
                    continue
                column = agents[recording.key][agent] = [None] * count
        else:
            recording = fleet_names.get(name)  # type: ignore[arg-type]
            if recording is None:
                continue
            part = labels.get(split_label, "") if recording.split else ""
            if type(part) is not str or (recording.split and not part):
                continue
            key = recording.key + part
            if key in fleet:
                continue
            column = fleet[key] = [None] * count
        fill_scaled(column, points, step_index, recording.scale)
    return _columns(agents, split_agents, fleet, plan.max_agents, count)


def _columns(
    agents: Columns, split_agents: dict[tuple[str, str], _Column], fleet: dict[str, _Column], limit: int, count: int
) -> Columns:
    """Split pairs cut to the top ``limit`` per step together, the other stats' agents each; then the fleet's."""
    for cell in [c for c, column in split_agents.items() if column.count(None) == count]:
        del split_agents[cell]
    keep_top(split_agents, limit, count)  # one topk over every (agent, value) pair
    for (key, agent), column in split_agents.items():
        if key:
            agents.setdefault(key, {})[agent] = column  # within the limit already: the cut below keeps them
    return top_with_fleet(agents, fleet, limit, count)
