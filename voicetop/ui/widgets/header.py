"""Fleet health header: worst severity, sessions, headline latencies, badges."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from voicetop.domain.model import Frame, HealthState, Severity, SourceHealth
from voicetop.domain.text import safe_text
from voicetop.domain.timeparse import format_duration
from voicetop.ui.format import Palette, clock, fmt_number
from voicetop.ui.widgets.quiet import update_static


def window_badge(frame: Frame) -> tuple[str, str]:
    """(text, kind) for the time badge: LIVE, AT 03:12Z or REPLAY 03:12Z."""
    if frame.mode == "live":
        return "LIVE", "live"
    if frame.mode == "replay":
        return f"REPLAY {clock(frame.window.end)}", "replay"
    return f"AT {clock(frame.window.end)}", "at"


def health_badge(health: SourceHealth, now: float) -> str:
    """``metrics OK``, ``metrics STALE 42s: reason`` or ``metrics ERROR: reason``."""
    name = safe_text(health.name, 20)
    reason = safe_text(health.message, 60)
    if health.state is HealthState.OK:
        return f"{name} OK"
    if health.state is HealthState.STALE:
        age = health.age(health.checked_at if health.checked_at is not None else now)
        age_text = f" {format_duration(age)}" if age is not None else ""
        return f"{name} STALE{age_text}" + (f": {reason}" if reason else "")
    return f"{name} ERROR" + (f": {reason}" if reason else "")


def fleet_sessions(frame: Frame) -> tuple[float | None, float | None]:
    """Active sessions and capacity for the fleet (summing agents if needed)."""
    active = frame.fleet.scalar("active_sessions")
    capacity = frame.fleet.scalar("max_sessions")
    if active is None:
        values = [a.scalar("active_sessions") for a in frame.agents]
        active = sum(v for v in values if v is not None) if any(v is not None for v in values) else None
    if capacity is None:
        values = [a.scalar("max_sessions") for a in frame.agents]
        capacity = sum(v for v in values if v is not None) if any(v is not None for v in values) else None
    return active, capacity


def insecure_backends(config: object) -> list[str]:
    """Names of the context's backends whose TLS verification is off (``--insecure``)."""
    context = getattr(config, "context", None)
    names = []
    for name in ("prometheus", "traces", "alertmanager"):
        connection = getattr(context, name, None)
        if connection is not None and getattr(connection, "insecure", False):
            names.append(name)
    return names


def no_data(frame: Frame) -> bool:
    """No agent data because a source failed: the fleet is unknown, not OK."""
    failed = any(h.state is HealthState.ERROR for h in frame.health)
    return failed and not frame.agents and not frame.breaches


def header_text(
    frame: Frame | None, palette: Palette, *, paused: bool, width: int = 160, view_note: str = "",
    insecure: bool = False,
) -> Text:
    """Two lines of header; the second carries the source health badges.

    ``insecure`` adds a permanent ``INSECURE`` badge (TLS verification is off).
    """
    text = Text(no_wrap=True, overflow="ellipsis")
    if insecure:
        text.append(" INSECURE ", style=f"bold reverse {palette.critical}")
        text.append(" ")
    if width >= 100 or frame is None:
        text.append(" voicetop ", style="bold reverse")
    if frame is None:
        text.append("  waiting for the first poll…")
        return text
    text.append(" ")
    if no_data(frame):
        text.append("? NO DATA", style=f"bold {palette.warning}")
    else:
        text.append_text(palette.badge(frame.worst))
    badge, kind = window_badge(frame)
    text.append("  ")
    text.append(f" {badge} ", style="bold reverse" if kind != "live" else "bold")
    if paused:
        text.append(" ")
        text.append(" PAUSED ", style=f"bold reverse {palette.warning}")
    text.append("  ctx " if width >= 100 else " ")
    text.append(safe_text(frame.context, 24), style="bold")
    active, capacity = fleet_sessions(frame)
    text.append("  sess " if width >= 100 else " sess ")
    text.append(f"{fmt_number(active, 'count')}/{fmt_number(capacity, 'count')}", style="bold")
    ttft = frame.fleet.stage_value("ttft", "p99")
    e2e90 = frame.fleet.stage_value("e2e", "p90")
    e2e99 = frame.fleet.stage_value("e2e", "p99")
    text.append("  TTFT99 ")
    text.append(fmt_number(ttft, "ms"), style="bold")
    text.append("  E2E90/99 ")
    text.append(f"{fmt_number(e2e90, 'ms', False)}/{fmt_number(e2e99, 'ms')}", style="bold")
    text.append("\n")
    for compact in (0, 1, 2, 3):  # the first form that fits keeps a badge for every source
        line = status_line(frame, palette, view_note, compact)
        if line.cell_len <= width:
            break
    text.append_text(line)
    return text


def status_line(frame: Frame, palette: Palette, view_note: str = "", compact: int = 0) -> Text:
    """Breach counts, window, one badge per source health entry, view note.

    ``compact`` 1 shortens the counts and window, 2 also cuts the badges' reasons
    and drops the view note, 3 drops the reasons, so narrow terminals still show
    every source's name and state.
    """
    text = Text()
    active_breaches = frame.active_breaches()
    crit = sum(1 for b in active_breaches if b.severity is Severity.CRITICAL)
    warn = sum(1 for b in active_breaches if b.severity is Severity.WARNING)
    crit_style = palette.style(Severity.CRITICAL) if crit else "dim"
    warn_style = palette.style(Severity.WARNING) if warn else "dim"
    window = f"{format_duration(frame.window.duration)}→{clock(frame.window.end)}"
    if compact:
        text.append(f" {palette.glyph(Severity.CRITICAL)}{crit}", style=crit_style)
        text.append(f" {palette.glyph(Severity.WARNING)}{warn}", style=warn_style)
        text.append(f"  {window}", style="dim")
    else:
        text.append(f" {palette.glyph(Severity.CRITICAL)} {crit} critical", style=crit_style)
        text.append(f"  {palette.glyph(Severity.WARNING)} {warn} warning", style=warn_style)
        text.append(f"  window {window}", style="dim")
    for health in frame.health:
        state = health.state
        style = "" if state is HealthState.OK else palette.style(
            Severity.WARNING if state is HealthState.STALE else Severity.CRITICAL
        )
        badge = health_badge(health, frame.created_at)
        if compact >= 3:
            badge = badge.split(": ", 1)[0]
        elif compact >= 2 and len(badge) > 32:
            badge = badge[:31] + "…"
        text.append("  [" if not compact else " [")
        text.append(badge, style=style or "bold")
        text.append("]")
    if view_note and compact < 2:
        text.append(f"  {view_note}", style="dim")
    return text


class FleetHeader(Static):
    """Renders :func:`header_text` for the latest frame."""

    DEFAULT_CSS = "FleetHeader { height: 2; }"

    _shown: tuple | None = None  # the inputs of the text on screen

    def show(self, frame: Frame | None, palette: Palette, paused: bool, view_note: str = "") -> None:
        width = self.size.width or 160
        insecure = bool(insecure_backends(getattr(self.app, "config", None)))
        shown = (header_inputs(frame), palette, paused, width, view_note, insecure)
        if shown == self._shown:
            return  # most polls within a window step: the same header
        self._shown = shown
        update_static(self, header_text(frame, palette, paused=paused, width=width, view_note=view_note, insecure=insecure))


def header_inputs(frame: Frame | None) -> tuple:
    """Everything of a frame that :func:`header_text` shows (not its creation time)."""
    if frame is None:
        return ()
    badges = tuple((h.state, health_badge(h, frame.created_at)) for h in frame.health)
    return (frame.mode, frame.window, frame.context, frame.fleet, frame.agents, frame.breaches, badges)
