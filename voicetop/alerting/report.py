"""Render a :class:`GateReport` as a plain-text table or JSON-ready data."""

from __future__ import annotations

import math
import re

from voicetop.alerting.gates import FAIL, NO_DATA, PASS, Gate, GateReport, GateResult
from voicetop.domain.timeparse import format_duration, rfc3339

SCHEMA = "voicetop.check/1"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_WORDS = {PASS: "PASS", FAIL: "FAIL", NO_DATA: "NO DATA"}


def clean(text: str, limit: int = 60) -> str:
    """Untrusted text (agent ids) as one printable line."""
    text = _CONTROL.sub("", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_value(value: float | None, unit: str) -> str:
    if value is None or math.isnan(value):
        return "—"
    if unit == "ratio":
        return f"{value * 100:.2f}%".replace(".00%", "%")
    if unit == "ms":
        return f"{value:.0f} ms" if abs(value) >= 10 else f"{value:.1f} ms"
    if unit == "x":  # drift gates: a multiple of the baseline
        return f"{value:.3g}× baseline"
    return f"{value:.3g}"


def format_limit(gate: Gate) -> str:
    return f"{gate.operator} {format_value(gate.limit, gate.unit)}"


def _scope(result: GateResult) -> str:
    return "fleet" if result.agent_id is None else clean(result.agent_id)


def render_table(report: GateReport, source: str = "") -> str:
    """The human report: one row per gate, then a one-line verdict."""
    window = report.window
    head = (
        f"window {rfc3339(window.start)} → {rfc3339(window.end)} ({format_duration(window.duration)})"
        + (f"  source {clean(source, 120)}" if source else "")
    )
    rows = [("GATE", "KEY", "SCOPE", "VALUE", "LIMIT", "WORST", "RESULT")]
    for result in report.results:
        gate = result.gate
        word = _WORDS[result.status]
        if result.status == NO_DATA and result.reason:
            word = f"{word} ({clean(result.reason, 80)})"
        rows.append(
            (
                gate.label or gate.key, gate.key, _scope(result), format_value(result.value, gate.unit),
                format_limit(gate), format_value(result.worst, gate.unit), word,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [head, ""]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        lines.append("  ".join(cells + [row[-1]]).rstrip())
    lines.append("")
    lines.append(verdict(report))
    return "\n".join(lines) + "\n"


def verdict(report: GateReport) -> str:
    """One line: which gates failed or had no data, or that all passed."""
    total = len(report.results)
    failed, missing = report.failed(), report.missing()
    parts = []
    if failed:
        names = ", ".join(
            f"{r.gate.key} ({_scope(r)}) {format_value(r.value, r.gate.unit)} {'>' if r.gate.direction == 'max' else '<'} "
            f"{format_value(r.gate.limit, r.gate.unit)}"
            for r in failed
        )
        parts.append(f"FAIL: {len(failed)} of {total} gates failed: {names}")
    if missing:
        names = ", ".join(f"{r.gate.key} ({_scope(r)})" for r in missing)
        parts.append(f"ERROR: no data for {names}")
    if not parts:
        return f"PASS: all {total} gates hold" if total else "ERROR: no gates evaluated"
    return "; ".join(parts)


def render_json(report: GateReport, source: str = "") -> dict:
    """Machine output; values in native units (ms, ratio 0–1)."""
    window = report.window
    return {
        "schema": SCHEMA,
        "ok": report.exit_code == 0,
        "exit_code": report.exit_code,
        "verdict": verdict(report),
        "window": {"start": rfc3339(window.start), "end": rfc3339(window.end), "step": window.step},
        "source": source,
        "gates": [
            {
                "key": r.gate.key,
                "label": r.gate.label,
                "agent_id": r.agent_id,
                "direction": r.gate.direction,
                "limit": r.gate.limit,
                "unit": r.gate.unit,
                "value": r.value,
                "worst": r.worst,
                "status": r.status,
                "reason": r.reason,
            }
            for r in report.results
        ],
    }
