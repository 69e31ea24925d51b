"""The agent table's lazy rows sort exactly as their cells, and the quick
"past a threshold" test agrees with the threshold rules."""

from __future__ import annotations

import itertools
import math

from voicetop.config import Config
from voicetop.domain.model import STAGES, AgentStats, Severity, StageStats
from voicetop.domain.thresholds import ThresholdSet
from voicetop.ui.format import Palette
from voicetop.ui.widgets.agent_table import (
    PENDING_SORT,
    AgentRow,
    agent_cells,
    columns_for,
    over_threshold,
    status_rank,
)

THRESHOLDS: ThresholdSet = Config().context.thresholds


def agent(agent_id: str, scale: float, severity: Severity = Severity.OK, **scalars) -> AgentStats:
    stages = {
        stage: StageStats(stage, 50 * scale, 100 * scale, 120 * scale, 300 * scale if stage != "stt" else None)
        for stage in STAGES
    }
    values = {"active_sessions": 3.0, "capacity": 0.4, "wer": 0.02, "tool_success_rate": 0.999}
    values.update(scalars)
    return AgentStats(agent_id, stages, values, {}, severity)


AGENTS = [
    agent("calm", 1.0),
    agent("slow", 3.5),  # ttft p99 1050 > 800 (and more): over, yet no breach
    agent("bad-wer", 1.0, wer=0.09),
    agent("nan-wer", 1.0, wer=math.nan),
    agent("low-tools", 1.0, tool_success_rate=0.9),
    agent("breached", 4.0, Severity.CRITICAL),
    agent("warned", 1.0, Severity.WARNING, active_sessions=None),
]


def reference_over(agent_stats: AgentStats, thresholds: ThresholdSet) -> bool:
    """The definition: any rule's severity of the current value above OK."""
    for key, rule in thresholds.for_agent(agent_stats.agent_id).items():
        baseline = agent_stats.scalar(f"{key}_baseline") if rule.baseline else None
        if rule.severity_of(agent_stats.stat(key), baseline) > Severity.OK:
            return True
    return False


def test_over_threshold_agrees_with_the_rules():
    per_agent = THRESHOLDS.with_overrides({"wer": {"warning": 0.5, "critical": 0.6}}, agent_id="bad-wer")
    for thresholds, agent_stats in itertools.product((THRESHOLDS, per_agent), AGENTS):
        assert over_threshold(agent_stats, thresholds) == reference_over(agent_stats, thresholds), agent_stats.agent_id
    assert over_threshold(AGENTS[2], THRESHOLDS) and not over_threshold(AGENTS[2], per_agent)
    assert status_rank(AGENTS[1], THRESHOLDS) == PENDING_SORT and status_rank(AGENTS[0], THRESHOLDS) == 0


def test_a_lazy_row_sorts_by_the_values_its_cells_carry():
    columns = columns_for(2)
    for agent_stats in AGENTS:
        row = AgentRow(agent_stats, THRESHOLDS, Palette())
        cells = agent_cells(agent_stats, THRESHOLDS, Palette(), columns)
        assert [c.plain for c in row.cells(columns)] == [c.plain for c in cells]
        for column, cell in zip(columns, cells):
            expected, found = cell.sort_key, row.sort_key(column.key)
            assert found == expected or (math.isnan(found) and math.isnan(expected)), (agent_stats.agent_id, column.key)


def test_a_rows_sort_keys_are_worked_out_once(monkeypatch):
    """A kept row (its agent unchanged) re-sorts on what it already knows: a frame that changes a few
    agents of a thousand does not rank the other 990 again."""
    import voicetop.ui.widgets.agent_table as agent_table

    calls = []
    real = agent_table.agent_sort_key
    monkeypatch.setattr(agent_table, "agent_sort_key", lambda *args: calls.append(args[2]) or real(*args))
    row = AgentRow(agent("a", 1.0), THRESHOLDS, Palette())
    assert row.sort_key("status") == row.sort_key("status") == status_rank(row.agent, THRESHOLDS)
    assert row.sort_key("ttft_p99") == row.sort_key("ttft_p99") == row.agent.stat("ttft_p99")
    assert calls == ["status", "ttft_p99"]
