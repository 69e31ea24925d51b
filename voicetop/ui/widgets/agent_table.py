"""The htop-like agent table: one row per agent, updated in place."""

from __future__ import annotations

from typing import Iterable

from voicetop.domain.model import STAGES, AgentStats, Frame, Severity
from voicetop.domain.text import safe_text
from voicetop.domain.thresholds import ThresholdSet
from voicetop.ui.format import Palette, fmt_number, unit_of
from voicetop.ui.widgets.drill_table import TRACE_DERIVED_ASCII, TRACE_DERIVED_MARK
from voicetop.ui.widgets.keyed_table import Column, KeyedTable, SortCell

#: Column key → (header label, stat key or special, importance tier).
#: Tier 0 always shows, tier 1 from 100 columns, tier 2 from 150 columns.
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("agent", "Agent", 0),
    ("sessions", "Sess", 1),
    ("capacity", "Cap%", 0),
    ("ttft_p99", "TTFT99", 0),
    ("stt_p90", "STT90", 1),
    ("llm_p90", "LLM90", 2),
    ("tts_p90", "TTS90", 1),
    ("eou_p90", "EOU90", 2),
    ("e2e_p90", "E2E90", 0),
    ("e2e_p99", "E2E99", 0),
    ("wer", "WER%", 0),
    ("interruption_rate", "Intr%", 2),
    ("tool_success_rate", "Tool%", 1),
    ("status", "Status", 0),
)
SORTABLE = tuple(key for key, _, _ in COLUMNS)


def tier_for_width(width: int) -> int:
    return 2 if width >= 150 else 1 if width >= 100 else 0


def columns_for(tier: int) -> list[Column]:
    return [
        Column(key, label, numeric=key not in ("agent", "status"))
        for key, label, need in COLUMNS
        if need <= tier
    ]


def agent_cells(
    agent: AgentStats, thresholds: ThresholdSet, palette: Palette, columns: Iterable[Column]
) -> list[SortCell]:
    """The cells of one agent row, each value marked when past its threshold."""
    agent_id = agent.agent_id or "fleet"
    cells = []
    for col in columns:
        if col.key == "agent":
            style = palette.style(agent.severity) if agent.severity else ""
            cells.append(SortCell(safe_text(agent_id, 24), style, agent_id))
        elif col.key == "status":
            cells.append(status_cell(agent, thresholds, palette))
        elif col.key == "sessions":
            value = agent.scalar("active_sessions")
            cells.append(_right(fmt_number(value, "count"), "", value))
        else:
            cells.append(stat_cell(agent, col.key, thresholds, palette))
    return cells


#: Status of an agent with a value past its threshold but no breach yet (``for`` not reached).
PENDING_GLYPHS = ("◌", "~")
PENDING_SORT = 0.5  # between OK and WARN


def over_threshold(agent: AgentStats, thresholds: ThresholdSet) -> bool:
    """True when any current value of the agent is past its warning threshold."""
    for key, rule in thresholds.for_agent(agent.agent_id).items():
        baseline = agent.scalar(f"{key}_baseline") if rule.baseline else None
        if rule.severity_of(agent.stat(key), baseline) > Severity.OK:
            return True
    return False


def status_cell(agent: AgentStats, thresholds: ThresholdSet, palette: Palette) -> SortCell:
    """``● OK`` / ``▲ WARN`` / ``✖ CRIT`` from active breaches, or ``◌ pending`` when a
    value is over its threshold but has not lasted the rule's ``for`` yet."""
    if agent.severity is Severity.OK and over_threshold(agent, thresholds):
        glyph = PENDING_GLYPHS[1] if palette.ascii else PENDING_GLYPHS[0]
        return SortCell(f"{glyph} pending", f"italic {palette.warning}", PENDING_SORT)
    badge = palette.badge(agent.severity, short=True)
    return SortCell(badge.plain, str(badge.style), int(agent.severity))


def stat_cell(agent: AgentStats, key: str, thresholds: ThresholdSet, palette: Palette) -> SortCell:
    value = agent.stat(key)
    rule = thresholds.rule(key, agent.agent_id)
    severity = Severity.OK
    if rule is not None:
        baseline = agent.scalar(f"{key}_baseline") if rule.baseline else None
        severity = rule.severity_of(value, baseline)
    text = fmt_number(value, unit_of(key), with_unit=False)
    if value is not None and trace_derived(agent, key):
        text += TRACE_DERIVED_ASCII if palette.ascii else TRACE_DERIVED_MARK
    marker = f" {palette.glyph(severity)}" if severity else "  "
    return _right(text + marker, palette.style(severity), value)


def trace_derived(agent: AgentStats, key: str) -> bool:
    """True when a stage stat (``stt_p90``…) comes from recent turns' spans, not metrics."""
    stage, _, _ = key.rpartition("_")
    stats = agent.stages.get(stage) if stage in STAGES else None
    return stats is not None and stats.derived_from == "traces"


def any_trace_derived(frame: Frame) -> bool:
    """Whether any agent shows a trace-derived stage (the screen then shows the legend)."""
    return any(
        stats.derived_from == "traces" for agent in frame.agents for stats in agent.stages.values()
    )


def _right(text: str, style: str, sort_key) -> SortCell:
    cell = SortCell(text, style, sort_key)
    cell.justify = "right"
    return cell


class AgentTable(KeyedTable):
    """Agents of the current frame, filtered by a substring of their id."""

    DEFAULT_CSS = "AgentTable { height: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.filter_text = ""
        self.tier = 2
        self.sort_column = "status"
        self.sort_reverse = True
        self._rows: dict[str, tuple[AgentStats, tuple, list[SortCell]]] = {}  # id → (agent, setting, cells)

    def on_mount(self) -> None:
        self.set_columns(columns_for(self.tier))

    def set_tier(self, tier: int) -> None:
        if tier != self.tier or not self.columns_spec:
            self.tier = tier
            self.set_columns(columns_for(tier))

    def show(self, frame: Frame, thresholds: ThresholdSet, palette: Palette) -> None:
        needle = self.filter_text.lower()
        wanted = {
            agent.agent_id: self._cells(agent, thresholds, palette)
            for agent in frame.agents
            if agent.agent_id is not None and needle in agent.agent_id.lower()
        }
        self._rows = {key: self._rows[key] for key in wanted}
        self.sync(wanted)

    def _cells(self, agent: AgentStats, thresholds: ThresholdSet, palette: Palette) -> list[SortCell]:
        """The agent's row, reused as is when the frame carries the same AgentStats
        object as last time (the frame builder keeps agents whose series did not change)."""
        assert agent.agent_id is not None
        setting = (thresholds, palette, self.columns_spec)
        known = self._rows.get(agent.agent_id)
        if known is not None and known[0] is agent and known[1] == setting:
            return known[2]
        cells = agent_cells(agent, thresholds, palette, self.columns_spec)
        self._rows[agent.agent_id] = (agent, setting, cells)
        return cells

    def sort_note(self, ascii_arrows: bool = False) -> str:
        """``sort TTFT99▼ · filter "de"`` for the header."""
        labels = {key: label for key, label, _ in COLUMNS}
        arrow = ("v" if ascii_arrows else "▼") if self.sort_reverse else ("^" if ascii_arrows else "▲")
        note = f"sort {labels.get(self.sort_column or '', 'agent')}{arrow}"
        if self.filter_text:
            note += f' · filter "{safe_text(self.filter_text, 20)}"'
        return note

    def sort_by_header(self, column: str) -> None:
        """Header click: sort by it, or flip the order when already sorted by it."""
        if column == self.sort_column:
            self.reverse_sort()
        else:
            self.set_sort(column, column in ("status",))
