"""Rows for Prometheus/Alertmanager alerts in the breach panel, beside voicetop's breaches.

An alert row reads ``⚑ FIRING`` / ``… PENDING`` / ``∅ SILENCED`` (ASCII: ``* ~ -``),
so it never looks like one of voicetop's own ``✖ CRITICAL`` / ``▲ WARNING`` rows,
and names where it came from (``prometheus`` or ``alertmanager``).
"""

from __future__ import annotations

from typing import Iterable

from rich.text import Text

from voicetop.alerting.merge import merge_alerts, severity_rank
from voicetop.domain.model import Alert, Severity
from voicetop.domain.text import safe_text
from voicetop.ui.format import Palette, since_text
from voicetop.ui.widgets.keyed_table import SortCell

#: state → (glyph, ASCII glyph, word)
ALERT_STATES: dict[str, tuple[str, str, str]] = {
    "firing": ("⚑", "*", "FIRING"),
    "pending": ("…", "~", "PENDING"),
    "silenced": ("∅", "-", "SILENCED"),
    "inhibited": ("∅", "-", "INHIBITED"),
}
_COMPACT_WORDS = {"PENDING": "PEND", "SILENCED": "SILENT", "INHIBITED": "INHIB"}
_ROW_PREFIX = "alert|"


def alert_id(alert: Alert) -> str:
    """The breach-table row key of an alert (one row per name and agent)."""
    return f"{_ROW_PREFIX}{alert.name}|{alert.agent_id or ''}"


def is_alert_row(key: str | None) -> bool:
    return key is not None and key.startswith(_ROW_PREFIX)


def alert_severity(alert: Alert) -> Severity:
    """The alert's ``severity`` label on voicetop's scale (unknown labels count as warning)."""
    rank = severity_rank(alert.severity)
    return Severity.CRITICAL if rank >= 3 else Severity.WARNING


def shown_alerts(alerts: Iterable[Alert], agent_id: str | None = None, all_agents: bool = True) -> tuple[Alert, ...]:
    """Alerts for the panel: one per (name, agent), optionally only one agent's."""
    merged = merge_alerts(alerts)
    return merged if all_agents else tuple(a for a in merged if a.agent_id == agent_id)


def state_text(alert: Alert, palette: Palette, compact: bool = False) -> tuple[str, str]:
    """(``⚑ FIRING``, style): firing in its severity colour, pending plain colour, silenced dim."""
    glyph, ascii_glyph, word = ALERT_STATES.get(alert.state, ("?", "?", safe_text(alert.state, 10).upper()))
    if compact:
        word = _COMPACT_WORDS.get(word, word)
    colour = palette.colour(alert_severity(alert))
    style = {"firing": f"bold {colour}", "pending": colour}.get(alert.state, "dim")
    return f"{ascii_glyph if palette.ascii else glyph} {word}", style


def alert_cells(alert: Alert, palette: Palette, now: float, order: int, compact: bool = False) -> list[SortCell]:
    """Cells in the breach table's columns: state, name, agent, source, since."""
    state, style = state_text(alert, palette, compact)
    dim = "dim" if alert.state not in ("firing", "pending") else ""
    source = safe_text(alert.source, 12)
    severity = safe_text(alert.severity, 10)
    origin = f"{source}·{severity}" if compact else f"{source} {severity}".strip()
    since = since_text(alert.active_at, None, now) if alert.active_at is not None else "–"
    return [
        SortCell(state, style, order),
        SortCell(safe_text(alert.name, 24), dim),
        SortCell(safe_text(alert.agent_id or "fleet", 24), dim),
        SortCell(origin, "dim"),
        SortCell(since, dim),
    ]


def alert_hint(alert: Alert) -> Text:
    """The alert's summary and runbook annotations as a hint line (never markup)."""
    annotations = alert.annotations or {}
    text = Text(f"Alert from {safe_text(alert.source, 20)}: ", style="bold")
    summary = annotations.get("summary") or annotations.get("description") or alert.name
    text.append(safe_text(summary, 200))
    runbook = annotations.get("runbook") or annotations.get("runbook_url")
    if runbook:
        text.append(" · ", style="dim")
        text.append(safe_text(runbook, 200))
    text.append("  (m: silence)", style="dim")
    return text


def count_note(alerts: Iterable[Alert]) -> str:
    """``2 firing, 1 pending`` (empty when there are none)."""
    counts: dict[str, int] = {}
    for alert in alerts:
        counts[alert.state] = counts.get(alert.state, 0) + 1
    order = ("firing", "pending", "silenced", "inhibited")
    parts = [f"{counts[s]} {s}" for s in order if counts.get(s)]
    parts += [f"{n} {safe_text(s, 12)}" for s, n in sorted(counts.items()) if s not in order]
    return ", ".join(parts)
