"""Stage quantiles read from voicetop's recording rules (:mod:`.recording`).

The answer of ``topk by (quantile) (N, A:X:quantile_rateW) or :X:quantile_rateW`` has one row
per kept agent and quantile (the ``quantile`` label) and one per quantile for
the fleet (the metric name starting with ``:``).  Values are scaled like the
bucket path's, and per-agent rows keep its ``topk(max_agents, …)`` semantics
per step (here too, for an answer that did not apply it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from voicetop.sources.prometheus.matrix import Columns, StepIndex, fill_scaled, labelled_rows, top_with_fleet
from voicetop.sources.prometheus.recording import QUANTILE_LABEL, StageRecording, quantile_label


@dataclass(frozen=True)
class RecordedPlan:
    """Which stats one recorded-quantile answer yields, and how to tell its rows apart."""

    recording: StageRecording
    quantiles: tuple[tuple[str, float], ...]  # (stat key, q)
    max_agents: int
    scale: float = 1.0

    def stat_of(self) -> dict[str, str]:
        """``quantile`` label value → stat key."""
        return {quantile_label(q): stat for stat, q in self.quantiles}


def decode_recorded(
    rows: Iterable[Mapping], plan: RecordedPlan, timestamps: Sequence[float], agent_label: str
) -> Columns:
    """Quantile columns per stat and agent (None: the fleet) over ``timestamps`` (evenly spaced).

    Rows of other names or quantiles, per-agent rows without the agent label
    and malformed rows are skipped; the first row of a (stat, agent) wins.
    """
    count = len(timestamps)
    start = timestamps[0] if timestamps else 0.0
    step_index = StepIndex(start, timestamps[1] - start if count > 1 else 1.0, count)
    stat_of = plan.stat_of()
    agent_name, fleet_name = plan.recording.agent_quantile, plan.recording.fleet_quantile
    scale = plan.scale
    agents: Columns = {stat: {} for stat, _ in plan.quantiles}
    fleet: dict[str, list[float | None]] = {}
    for labels, points in labelled_rows(rows):
        stat = stat_of.get(labels.get(QUANTILE_LABEL))  # type: ignore[arg-type]
        if stat is None:
            continue
        name = labels.get("__name__")
        if name == fleet_name:
            if stat in fleet:
                continue
            column = fleet[stat] = [None] * count
        elif name == agent_name:
            agent = labels.get(agent_label)
            if not agent or type(agent) is not str or agent in agents[stat]:
                continue
            column = agents[stat][agent] = [None] * count
        else:
            continue
        fill_scaled(column, points, step_index, scale)
    return top_with_fleet(agents, fleet, plan.max_agents, count)
