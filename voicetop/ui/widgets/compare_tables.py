"""Compare widgets (issue #9): group-by rows, baseline deltas, drift sparklines, changes.

Render only: every number comes from the Frame (``grouping``, ``baselines``,
``markers``).  Label values are untrusted text: always ``safe_text``.
"""

from __future__ import annotations

import math
from typing import Sequence

from rich.text import Text
from textual.widgets import Static

from voicetop.domain.compare import StatDelta, compare_agent, marker_text, offset_label
from voicetop.domain.model import AgentStats, Baseline, ChangeMarker, Frame, GroupStats, Series, Severity
from voicetop.domain.text import safe_text
from voicetop.domain.thresholds import ThresholdSet
from voicetop.ui.format import Palette, fmt_number, unit_of
from voicetop.ui.widgets.agent_table import stat_cell
from voicetop.ui.widgets.keyed_table import Column, KeyedTable, SortCell

#: Group-by columns: the agent table's headline stats plus the drift stats.
GROUP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("group", "Group"),
    ("ttft_p99", "TTFT99"),
    ("e2e_p90", "E2E90"),
    ("e2e_p99", "E2E99"),
    ("tokens_per_session", "Tok/sess"),
    ("cost_per_session", "$/sess"),
    ("tts_chars_per_turn", "Chars/turn"),
    ("turns_per_session", "Turns/sess"),
    ("tool_call_rate", "Tools/turn"),
    ("status", "Status"),
)
#: Rows of the baseline table.
BASELINE_STATS: tuple[tuple[str, str], ...] = (
    ("ttft_p99", "LLM TTFT p99"),
    ("e2e_p90", "End-to-end p90"),
    ("e2e_p99", "End-to-end p99"),
    ("stt_p90", "STT p90"),
    ("tts_p90", "TTS TTFB p90"),
    ("wer", "WER"),
    ("interruption_rate", "Interruptions"),
    ("tool_success_rate", "Tool success"),
    ("tokens_per_session", "Tokens/session"),
    ("cost_per_session", "Cost/session"),
    ("tts_chars_per_turn", "TTS chars/turn"),
    ("turns_per_session", "Turns/session"),
    ("tool_call_rate", "Tool calls/turn"),
)
#: Stats drawn with their baseline underneath.
SPARK_STATS: tuple[tuple[str, str], ...] = (
    ("cost_per_session", "Cost/session"),
    ("tts_chars_per_turn", "TTS chars/turn"),
    ("tokens_per_session", "Tokens/session"),
)
BLOCKS = " ▁▂▃▄▅▆▇█"


def group_name(group: GroupStats, with_agent: bool) -> str:
    value = f"{group.label}={group.value}"
    if with_agent and group.agent_id is not None:
        return f"{group.agent_id} · {value}"
    return value


class GroupTable(KeyedTable):
    """One row per group (label value), the same stat cells as the agent table."""

    DEFAULT_CSS = "GroupTable { height: auto; max-height: 1fr; }"

    def on_mount(self) -> None:
        self.set_columns([Column(k, label, numeric=k not in ("group", "status")) for k, label in GROUP_COLUMNS])
        self.sort_column = "group"

    def show(self, groups: Sequence[GroupStats], thresholds: ThresholdSet, palette: Palette, with_agent: bool) -> None:
        wanted: dict[str, list[SortCell]] = {}
        for group in groups:
            stats = group.stats
            cells: list[SortCell] = []
            for key, _ in GROUP_COLUMNS:
                if key == "group":
                    name = group_name(group, with_agent)
                    style = palette.style(stats.severity) if stats.severity else ""
                    cells.append(SortCell(safe_text(name, 48), style, name))
                elif key == "status":
                    badge = palette.badge(stats.severity, short=True)
                    cells.append(SortCell(badge.plain, str(badge.style), int(stats.severity)))
                else:
                    cells.append(stat_cell(stats, key, thresholds, palette))
            wanted[group.key] = cells
        self.sync(wanted)


def delta_text(delta: StatDelta, palette: Palette) -> SortCell:
    """``+150% ↑`` (relative) or ``+0.06 ↑`` when the baseline is 0; ``–`` when unknown."""
    if delta.delta is None:
        return SortCell("–", "dim", None)
    glyph = delta.glyph(palette.ascii)
    ratio = delta.ratio
    if ratio is not None:
        text = f"{(ratio - 1) * 100:+.0f}% {glyph}"
    else:
        text = f"{fmt_number(abs(delta.delta), unit_of(delta.key), False)} {glyph}"
    style = "bold" if delta.direction else "dim"
    if ratio is not None and ratio >= 2.0:
        style = palette.style(Severity.CRITICAL)
    elif ratio is not None and ratio >= 1.5:
        style = palette.style(Severity.WARNING)
    cell = SortCell(text, style, ratio)
    cell.justify = "right"
    return cell


def baseline_columns(baselines: Sequence[Baseline]) -> list[Column]:
    columns = [Column("stat", "Stat", numeric=False), Column("now", "Now")]
    for baseline in baselines:
        name = offset_label(baseline.offset)
        columns += [Column(f"then-{name}", f"{name} ago"), Column(f"delta-{name}", f"Δ {name}")]
    return columns


class BaselineTable(KeyedTable):
    """Each stat now, and its value, delta and ↑/↓ at every baseline offset."""

    DEFAULT_CSS = "BaselineTable { height: auto; }"

    def show(self, agent: AgentStats, baselines: Sequence[Baseline], palette: Palette) -> None:
        self.set_columns(baseline_columns(baselines))
        self.sort_column = "stat"
        deltas = [compare_agent(agent, b, [k for k, _ in BASELINE_STATS]) for b in baselines]
        wanted: dict[str, list[SortCell]] = {}
        for order, (key, label) in enumerate(BASELINE_STATS):
            now = agent.stat(key)
            now_cell = SortCell(fmt_number(now, unit_of(key)), "", now)
            now_cell.justify = "right"
            cells = [SortCell(label, "bold", order), now_cell]
            for found in deltas:
                delta = found[key]
                then = SortCell(fmt_number(delta.then, unit_of(key)), "dim", delta.then)
                then.justify = "right"
                cells += [then, delta_text(delta, palette)]
            wanted[key] = cells
        self.sync(wanted)


def spark_line(values: Sequence[float], width: int, low: float, high: float) -> str:
    """Block characters for the last ``width`` values on a shared scale (blank for NaN)."""
    shown = list(values)[-width:]
    span = high - low if high > low else 1.0
    out = []
    for value in shown:
        if value is None or math.isnan(value):
            out.append(" ")
        else:
            level = 1 + int(round((value - low) / span * (len(BLOCKS) - 2)))
            out.append(BLOCKS[max(1, min(len(BLOCKS) - 1, level))])
    return "".join(out)


def marker_column(series: Series, marker: ChangeMarker, width: int) -> int | None:
    """The sparkline column of a change, or None when it falls outside the drawn span."""
    stamps = list(series.timestamps)[-width:]
    if not stamps or not stamps[0] <= marker.at <= stamps[-1]:
        return None
    return min(range(len(stamps)), key=lambda i: abs(stamps[i] - marker.at))


def drift_sparks(
    agent: AgentStats, baseline: Baseline | None, markers: Sequence[ChangeMarker], palette: Palette, width: int = 60
) -> Text:
    """Per drift stat: the window now, the baseline underneath (same scale), ▲ at each change."""
    text = Text()
    then_series = baseline.for_agent(agent.agent_id) if baseline is not None else {}
    own = [m for m in markers if m.agent_id == agent.agent_id]
    for key, label in SPARK_STATS:
        now = agent.series.get(key)
        if now is None or not now.finite_values():
            continue
        then = then_series.get(key)
        pool = list(now.finite_values()) + (list(then.finite_values()) if then is not None else [])
        low, high = min(pool), max(pool)
        text.append(f"{label:<15}", style="bold")
        text.append(spark_line(now.values, width, low, high))
        text.append(f" {fmt_number(now.last(), unit_of(key))}\n")
        if then is not None:
            name = offset_label(baseline.offset)
            text.append(f"{'  ' + name + ' ago':<15}", style="dim")
            text.append(spark_line(then.values, width, low, high), style="dim")
            text.append(f" {fmt_number(then.last(), unit_of(key))}\n", style="dim")
        marks = [(marker_column(now, m, width), m) for m in own]
        marks = [(col, m) for col, m in marks if col is not None]
        if marks:
            line = [" "] * min(width, len(now))
            for col, _ in marks:
                line[col] = "^" if palette.ascii else "▲"
            text.append(" " * 15 + "".join(line), style=palette.warning)
            text.append(" " + safe_text("; ".join(marker_text(m) for _, m in marks), 80) + "\n", style=palette.warning)
    if not text.plain:
        text.append("no drift stats for this subject", style="dim")
    return text


def changes_text(frame: Frame, agent_id: str | None, palette: Palette, limit: int = 8) -> Text:
    """Change markers of the scope (all agents for the fleet), newest first, and the drift
    breaches each one explains."""
    markers = [m for m in frame.markers if agent_id is None or m.agent_id == agent_id]
    text = Text("Changes  ", style="bold")
    if not markers:
        text.append("no model or prompt-version change in this window", style="dim")
        return text
    breaches = list(frame.breaches) + (list(frame.grouping.breaches) if frame.grouping else [])
    for marker in sorted(markers, key=lambda m: -m.at)[:limit]:
        text.append("\n ")
        text.append("^" if palette.ascii else "▲", style=palette.warning)
        text.append(f" {safe_text(marker.agent_id or 'fleet', 24)}  {safe_text(marker_text(marker), 80)}")
        explained = sorted({
            (b.key, b.severity) for b in breaches if b.change == marker and b.active
        }, key=lambda item: -int(item[1]))
        for key, severity in explained[:4]:
            text.append(f"  {palette.glyph(severity)} {key}", style=palette.style(severity))
    return text


class ChangesPanel(Static):
    """The change markers of the scope, and the breaches they explain."""
