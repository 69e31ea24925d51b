"""The htop-like agent table: one row per agent, updated in place."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from voicetop.domain.model import QUANTILES, STAGES, AgentStats, Frame, Severity
from voicetop.domain.text import safe_text
from voicetop.domain.thresholds import ThresholdRule, ThresholdSet
from voicetop.ui.format import Palette, fmt_number, unit_of
from voicetop.ui.widgets.drill_table import TRACE_DERIVED_ASCII, TRACE_DERIVED_MARK
from voicetop.ui.widgets.keyed_table import Column, KeyedTable, LazyRow, SortCell

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
QUANTILE_NAMES = frozenset(name for name, _ in QUANTILES)


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
    stages, scalars = agent.stages, agent.scalars
    for stage, name, rule in _checks(thresholds.for_agent(agent.agent_id)):
        if stage is None:
            value = scalars.get(name)
        else:
            stats = stages.get(stage)
            value = None if stats is None else stats.quantile(name)
        if value is None:
            continue
        if rule.baseline:
            if rule.severity_of(value, agent.scalar(f"{rule.key}_baseline")) > Severity.OK:
                return True
        elif rule.direction == "above":
            if value > rule.warning or value > rule.critical:  # as ThresholdRule.holds (NaN never)
                return True
        elif value < rule.warning or value < rule.critical:
            return True
    return False


#: rules mapping → (the mapping, its checks); the status of every agent is asked for
#: on every refresh when sorting by status, so each rule's key is parsed once.
_CHECKS: dict[int, tuple[Mapping[str, ThresholdRule], tuple]] = {}


def _checks(rules: Mapping[str, ThresholdRule]) -> tuple[tuple[str | None, str, ThresholdRule], ...]:
    """(stage, quantile, rule) for a stage stat (``ttft_p99``), (None, key, rule) for a scalar."""
    known = _CHECKS.get(id(rules))
    if known is not None and known[0] is rules:
        return known[1]
    checks = []
    for key, rule in rules.items():
        stage, _, quantile = key.rpartition("_")
        checks.append((stage, quantile, rule) if stage in STAGES and quantile in QUANTILE_NAMES else (None, key, rule))
    made = tuple(checks)
    if len(_CHECKS) >= 64:  # per-agent overrides make a new mapping each time
        _CHECKS.clear()
    _CHECKS[id(rules)] = (rules, made)
    return made


def status_rank(agent: AgentStats, thresholds: ThresholdSet) -> float:
    """The status column's sort value: the severity, or :data:`PENDING_SORT`."""
    if agent.severity is Severity.OK and over_threshold(agent, thresholds):
        return PENDING_SORT
    return int(agent.severity)


def status_cell(agent: AgentStats, thresholds: ThresholdSet, palette: Palette) -> SortCell:
    """``● OK`` / ``▲ WARN`` / ``✖ CRIT`` from active breaches, or ``◌ pending`` when a
    value is over its threshold but has not lasted the rule's ``for`` yet."""
    rank = status_rank(agent, thresholds)
    if rank == PENDING_SORT:
        glyph = PENDING_GLYPHS[1] if palette.ascii else PENDING_GLYPHS[0]
        return SortCell(f"{glyph} pending", f"italic {palette.warning}", PENDING_SORT)
    badge = palette.badge(agent.severity, short=True)
    return SortCell(badge.plain, str(badge.style), rank)


def agent_sort_key(agent: AgentStats, thresholds: ThresholdSet, column: str) -> Any:
    """The sort value of the agent's cell in ``column``, without building the cell."""
    if column == "agent":
        return agent.agent_id or "fleet"
    if column == "status":
        return status_rank(agent, thresholds)
    if column == "sessions":
        return agent.scalar("active_sessions")
    return agent.stat(column)


class AgentRow(LazyRow):
    """An agent's table row, built only when it is on screen (or read)."""

    __slots__ = ("agent", "thresholds", "palette", "_sort_keys")

    def __init__(self, agent: AgentStats, thresholds: ThresholdSet, palette: Palette) -> None:
        self.agent, self.thresholds, self.palette = agent, thresholds, palette
        self._sort_keys: dict[str, Any] = {}

    def cells(self, columns: Sequence[Column]) -> list[SortCell]:
        return agent_cells(self.agent, self.thresholds, self.palette, columns)

    def sort_key(self, column: str) -> Any:
        """The column's sort value, worked out once per row (a row is kept while its agent is unchanged,
        so a frame changing a few agents re-sorts the others on what they already know)."""
        try:
            return self._sort_keys[column]
        except KeyError:
            value = self._sort_keys[column] = agent_sort_key(self.agent, self.thresholds, column)
            return value

    def shows(self, agent: AgentStats, thresholds: ThresholdSet, palette: Palette) -> bool:
        """Whether this row is what ``agent`` looks like with these settings."""
        return self.agent is agent and self.thresholds == thresholds and self.palette == palette


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
        self._rows: dict[str, AgentRow] = {}  # agent id → its row in the last show

    def on_mount(self) -> None:
        self.set_columns(columns_for(self.tier))

    def set_tier(self, tier: int) -> None:
        if tier != self.tier or not self.columns_spec:
            self.tier = tier
            self.set_columns(columns_for(tier))

    def show(self, frame: Frame, thresholds: ThresholdSet, palette: Palette) -> None:
        needle = self.filter_text.lower()
        known = self._rows
        rows: dict[str, AgentRow] = {}
        for agent in frame.agents:
            agent_id = agent.agent_id
            if agent_id is None or needle not in agent_id.lower():
                continue
            # The frame builder hands over the same AgentStats object for an agent
            # whose series did not change: its row is then the same object, skipped.
            row = known.get(agent_id)
            rows[agent_id] = row if row is not None and row.shows(agent, thresholds, palette) else (
                AgentRow(agent, thresholds, palette))
        self._rows = rows
        self.sync(rows)

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
