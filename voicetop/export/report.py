"""The Markdown incident report written beside a snapshot.

Built only from a (redacted) :class:`Snapshot`, so it holds nothing the JSON
does not.  Deterministic for a given snapshot (golden-tested).
"""

from __future__ import annotations

import math
import re

from voicetop.domain.model import STAGE_LABELS, STAGES, AgentStats, Breach, Series, Severity, Turn
from voicetop.domain.telephony import STATS as TELEPHONY_STATS
from voicetop.domain.text import safe_text
from voicetop.domain.thresholds import ThresholdRule
from voicetop.domain.timeparse import format_duration
from voicetop.domain.waterfall import dominant_text
from voicetop.export.charts import line_chart, text_waterfall
from voicetop.export.document import Snapshot
from voicetop.export.timefmt import to_rfc3339

MAX_CHARTS = 8
MAX_TURNS = 5
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")
ORDINALS = ("first", "second", "third", "fourth", "fifth")


def md(value: object, max_len: int = 120) -> str:
    """Untrusted text as inert Markdown: one line, special characters escaped."""
    return _MD_SPECIAL.sub(r"\\\1", safe_text(value, max_len))


def code(value: object) -> str:
    """Untrusted text inside an inline code span."""
    return "`" + safe_text(value, 80).replace("`", "'") + "`"


def fmt_value(value: float | None, unit: str) -> str:
    """A stat value in its unit: ``1234 ms``, ``5.2 %``, ``4.10``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "ms":
        return f"{value:.0f} ms"
    if unit == "ratio":
        return f"{value * 100:.1f} %"
    if unit in ("score", "factor"):
        return f"{value:.2f}"
    if unit == "usd":
        return f"${value:.4f}"
    return f"{value:g}"


def _ms(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.0f}"


def _agent_name(agent_id: str | None) -> str:
    return "fleet" if agent_id is None else md(agent_id, 60)


def _scope(breach: Breach) -> str:
    """The breach's agent, ``fleet`` or ``node <id>`` (per-node telephony breaches)."""
    return md(breach.scope, 60)


def _severity(severity: Severity) -> str:
    return f"{severity.glyph} {severity.word}"


def _rule(snapshot: Snapshot, breach: Breach) -> ThresholdRule | None:
    return snapshot.thresholds.rule(breach.key, breach.agent_id)


def _unit(snapshot: Snapshot, key: str, agent_id: str | None = None) -> str:
    rule = snapshot.thresholds.rule(key, agent_id)
    if rule is not None and rule.unit != "x":
        return rule.unit
    stage, _, _ = key.rpartition("_")
    return "ms" if stage in STAGES else "count"


def _header(snapshot: Snapshot) -> list[str]:
    window = snapshot.window
    lines = [
        f"# voicetop incident snapshot — {md(snapshot.context, 60)}",
        "",
        f"- **Window:** {to_rfc3339(window.start)} → {to_rfc3339(window.end)} "
        f"({format_duration(window.duration)}, step {format_duration(window.step)}, mode {md(snapshot.mode, 20)})",
        f"- **Exported:** {to_rfc3339(snapshot.created_at)}",
    ]
    source = snapshot.source
    for role in ("metrics", "traces", "alertmanager"):
        info = source.get(role)
        if isinstance(info, dict) and info:
            kind = md(info.get("kind", ""), 30)
            url = md(info.get("url", ""), 200)
            lines.append(f"- **{role.capitalize()}:** {kind} {url}".rstrip())
    if source.get("profile"):
        lines.append(f"- **Profile:** {md(source['profile'], 60)}")
    health = ", ".join(
        f"{md(h.name, 40)} {h.state.name.lower()}" + (f" ({md(h.message, 160)})" if h.message else "")
        for h in snapshot.health
    )
    if health:
        lines.append(f"- **Source health:** {health}")
    lines.append(
        "- **Redaction:** "
        + ("user content redacted" if snapshot.redacted else "content kept (--no-redact); credentials removed")
    )
    return lines


def _summary(snapshot: Snapshot) -> list[str]:
    active = [b for b in snapshot.breaches if b.active]
    crit = sum(1 for b in active if b.severity is Severity.CRITICAL)
    warn = sum(1 for b in active if b.severity is Severity.WARNING)
    worst = max((b.severity for b in active), default=Severity.OK)
    breaching = sorted({b.scope for b in snapshot.breaches})
    fleet = snapshot.fleet
    lines = [
        "## Fleet summary",
        "",
        f"- **Agents:** {len(snapshot.agents)}",
        f"- **Worst active severity:** {_severity(worst)}",
        f"- **Breaches in window:** {len(snapshot.breaches)} ({len(active)} still active: {crit} critical, {warn} warning)",
        f"- **Breaching:** {', '.join(md(a, 60) for a in breaching) if breaching else 'none'}",
        f"- **End-to-end p50 / p90 / p99:** {_ms(fleet.stage_value('e2e', 'p50'))} / "
        f"{_ms(fleet.stage_value('e2e', 'p90'))} / {_ms(fleet.stage_value('e2e', 'p99'))} ms",
        f"- **LLM TTFT p99:** {fmt_value(fleet.stage_value('ttft', 'p99'), 'ms')}",
        f"- **WER:** {fmt_value(fleet.scalar('wer'), 'ratio')} · **MOS:** {fmt_value(fleet.scalar('mos'), 'score')}"
        f" · **Tool success:** {fmt_value(fleet.scalar('tool_success_rate'), 'ratio')}"
        f" · **Interruptions:** {fmt_value(fleet.scalar('interruption_rate'), 'ratio')}",
        f"- **Active sessions:** {fmt_value(fleet.scalar('active_sessions'), 'count')}"
        f" · **Capacity used:** {fmt_value(fleet.scalar('capacity'), 'ratio')}",
    ]
    if snapshot.alerts:
        names = ", ".join(f"{md(a.name, 60)} ({md(a.state, 12)})" for a in snapshot.alerts)
        lines.append(f"- **Alerts:** {names}")
    return lines


def _breach_table(snapshot: Snapshot) -> list[str]:
    lines = ["## Breaches", ""]
    if not snapshot.breaches:
        return lines + ["No threshold held past its limit for its full `for` duration in this window."]
    lines += [
        "| key | agent | severity | value vs threshold | since | until | duration |",
        "|---|---|---|---|---|---|---|",
    ]
    for b in snapshot.breaches:
        unit = _unit(snapshot, b.key, b.agent_id)
        rule = _rule(snapshot, b)
        op = "<" if rule is not None and rule.direction == "below" else ">"
        until = to_rfc3339(b.until) if b.until is not None else "ongoing"
        duration = format_duration(b.duration(snapshot.window.end))
        lines.append(
            f"| {code(b.key)} | {_scope(b)} | {_severity(b.severity)} | "
            f"{fmt_value(b.value, unit)} {op} {fmt_value(b.threshold, unit)} | "
            f"{to_rfc3339(b.since)} | {until} | {duration} |"
        )
    return lines


def _stage_table(snapshot: Snapshot) -> list[str]:
    lines = [
        "## Stage latency per agent (ms, p50 / p90 / p99)",
        "",
        "| agent | " + " | ".join(STAGE_LABELS[s] for s in STAGES) + " | WER | tool success |",
        "|---|" + "---|" * (len(STAGES) + 2),
    ]
    for stats in (snapshot.fleet, *snapshot.agents):
        cells = [
            " / ".join(_ms(stats.stage_value(stage, q)) for q in ("p50", "p90", "p99")) for stage in STAGES
        ]
        name = _agent_name(stats.agent_id)
        if stats.agent_id is not None and stats.severity is not Severity.OK:
            name = f"{name} {stats.severity.glyph}"
        lines.append(
            f"| {name} | " + " | ".join(cells)
            + f" | {fmt_value(stats.scalar('wer'), 'ratio')} | {fmt_value(stats.scalar('tool_success_rate'), 'ratio')} |"
        )
    return lines


def _distinct(breaches: tuple[Breach, ...]) -> list[Breach]:
    """One breach per (agent or node, key), the worst first."""
    chosen: dict[tuple[str | None, str, str], Breach] = {}
    for b in sorted(breaches, key=lambda b: (-int(b.severity), not b.active, -b.since)):
        chosen.setdefault((b.agent_id, b.node, b.key), b)
    return list(chosen.values())


def _agent(snapshot: Snapshot, agent_id: str | None) -> AgentStats | None:
    if agent_id is None:
        return snapshot.fleet
    return next((a for a in snapshot.agents if a.agent_id == agent_id), None)


def _charts(snapshot: Snapshot) -> list[str]:
    lines = ["## Charts of breaching stats", ""]
    drawn = 0
    for b in _distinct(snapshot.breaches):
        if drawn >= MAX_CHARTS:
            lines.append(f"({len(_distinct(snapshot.breaches)) - drawn} more breaching stats not charted.)")
            break
        series = _breach_series(snapshot, b)
        rule = _rule(snapshot, b)
        if series is None or rule is None:
            continue
        limits: tuple[tuple[str, float], ...] = ()
        if not rule.baseline:
            limits = (("warning", rule.warning), ("critical", rule.critical))
        title = f"{b.scope} · {rule.label or b.key} [{rule.unit}]"
        chart = line_chart(series, end=snapshot.window.end, title=title, limits=limits)
        if not chart:
            continue
        lines += [f"### {_scope(b)} — {code(b.key)}", "", "```text", chart, "```", ""]
        drawn += 1
    if drawn == 0:
        lines.append("No breaching stat to chart.")
    return lines


def _breach_series(snapshot: Snapshot, breach: Breach) -> Series | None:
    """The series a breach was found on: an agent's, the fleet's or a node's telephony one."""
    telephony = snapshot.telephony
    if telephony is not None and breach.key in TELEPHONY_STATS:
        part = telephony.fleet if not breach.node else telephony.node(breach.node)
        return None if part is None else part.series.get(breach.key)
    stats = _agent(snapshot, breach.agent_id)
    return stats.series.get(breach.key) if stats is not None else None


#: Telephony report columns: (header, stat keys joined with " / ").
TELEPHONY_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rooms", ("rooms",)), ("participants", ("participants",)), ("join success", ("join_success_rate",)),
    ("loss in / out", ("packet_loss_in", "packet_loss_out")), ("jitter p95", ("jitter_p95",)),
    ("RTT p95", ("rtt_p95",)), ("poor / lost quality", ("poor_quality_share",)),
    ("quality score p50", ("quality_score_p50",)), ("SIP calls", ("sip_calls_active",)),
    ("SIP invite errors", ("sip_invite_error_rate",)),
)


def _telephony(snapshot: Snapshot) -> list[str]:
    """Latest LiveKit server/SIP figures, fleet and per node (issue #10); none without telephony."""
    telephony = snapshot.telephony
    if telephony is None:
        return []
    lines = [
        "## Telephony (LiveKit server and SIP, at the window end)",
        "",
        "| scope | " + " | ".join(header for header, _ in TELEPHONY_COLUMNS) + " |",
        "|---|" + "---|" * len(TELEPHONY_COLUMNS),
    ]
    for part in (telephony.fleet, *telephony.nodes):
        cells = [
            " / ".join(fmt_value(part.value(key), TELEPHONY_STATS[key][1]) for key in keys)
            for _, keys in TELEPHONY_COLUMNS
        ]
        scope = "fleet" if part.node_id is None else f"node {md(part.node_id, 60)}"
        lines.append(f"| {scope} | " + " | ".join(cells) + " |")
    for key, error in sorted(telephony.errors.items()):
        lines.append(f"\nNot current: {code(key)} ({md(error, 160)}).")
    return lines


def _turn_title(rank: int, turn: Turn) -> str:
    e2e = turn.stages.get("e2e", turn.duration_ms)
    stages = ", ".join(
        f"{STAGE_LABELS.get(k, k)} {_ms(v)}" for k, v in turn.stages.items() if k != "e2e"
    )
    extra = []
    if turn.interrupted:
        extra.append("interrupted")
    if turn.tool_errors:
        extra.append(f"{turn.tool_errors} tool error(s)")
    tail = f" — {', '.join(extra)}" if extra else ""
    return (
        f"### {rank}. {md(turn.agent_id, 60)} · session {code(turn.session_id)} · turn {turn.index}"
        f" — end-to-end {_ms(e2e)} ms{tail}\n\n"
        f"Started {to_rfc3339(turn.start)}; trace {code(turn.trace_id)}." + (f" Stages (ms): {md(stages, 300)}." if stages else "")
    )


def _turns(snapshot: Snapshot) -> list[str]:
    lines = ["## Slowest turns", ""]
    if not snapshot.turns:
        return lines + ["No turns were captured (no trace source, or no finished turns in the window)."]
    for rank, turn in enumerate(snapshot.turns[:MAX_TURNS], 1):
        lines += [_turn_title(rank, turn), ""]
        trace = snapshot.traces.get(turn.trace_id)
        if trace is not None and trace.spans:
            dominant = dominant_text(trace)
            if dominant:
                lines += [f"Dominant stage: {md(dominant, 80)}.", ""]
            waterfall = text_waterfall(trace, thresholds=snapshot.thresholds, agent_id=turn.agent_id)
            lines += ["```text", waterfall, "```", ""]
        else:
            lines += ["(span tree not captured)", ""]
    return lines


def _hints(snapshot: Snapshot) -> list[str]:
    lines = ["## Diagnostic hints", ""]
    breaches = _distinct(snapshot.breaches)
    if not breaches:
        return lines + ["Nothing breached: no hints."]
    for b in breaches:
        rule = _rule(snapshot, b)
        who = _scope(b)
        if rule is not None and rule.hint is not None:
            checks = "; ".join(
                f"{ORDINALS[i] if i < len(ORDINALS) else i + 1}: {md(check, 80)}"
                for i, check in enumerate(rule.hint.checks)
            )
            lines.append(f"- {code(b.key)} on {who} ({_severity(b.severity)}): **{md(rule.hint.symptom, 60)}** → check {checks}")
        elif b.hint:
            lines.append(f"- {code(b.key)} on {who} ({_severity(b.severity)}): {md(b.hint, 300)}")
    return lines


def render_report(snapshot: Snapshot) -> str:
    """The whole Markdown report for one snapshot."""
    sections = [
        _header(snapshot),
        _summary(snapshot),
        _breach_table(snapshot),
        _hints(snapshot),
        _stage_table(snapshot),
        _telephony(snapshot),
        _charts(snapshot),
        _turns(snapshot),
    ]
    body = "\n\n".join("\n".join(section).rstrip() for section in sections if section)
    return body + "\n\n---\nWritten by voicetop. Replay with `voicetop open <snapshot>.json`.\n"
