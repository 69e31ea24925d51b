"""Formatting of values, severities and times for the screens (rich Text only)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone

from rich.text import Text

from voicetop.domain.model import SEVERITY_ASCII, SEVERITY_GLYPHS, SCALAR_STATS, Severity
from voicetop.domain.text import safe_text
from voicetop.domain.thresholds import ThresholdRule
from voicetop.domain.timeparse import format_duration

SEVERITY_WORDS = {Severity.OK: "OK", Severity.WARNING: "WARNING", Severity.CRITICAL: "CRITICAL"}


@dataclass(frozen=True)
class Palette:
    """Severity colours and glyph set of the current theme."""

    ok: str = "#4caf50"
    warning: str = "#ffb300"
    critical: str = "#ef5350"
    ascii: bool = False

    def colour(self, severity: Severity) -> str:
        return {Severity.OK: self.ok, Severity.WARNING: self.warning}.get(severity, self.critical)

    def glyph(self, severity: Severity) -> str:
        return (SEVERITY_ASCII if self.ascii else SEVERITY_GLYPHS)[severity]

    def style(self, severity: Severity) -> str:
        return "" if severity is Severity.OK else f"bold {self.colour(severity)}"

    def badge(self, severity: Severity, short: bool = False) -> Text:
        """Glyph plus word, coloured: status is never colour alone."""
        word = SEVERITY_WORDS[severity]
        if short:
            word = {"WARNING": "WARN", "CRITICAL": "CRIT"}.get(word, word)
        return Text(f"{self.glyph(severity)} {word}", style=f"bold {self.colour(severity)}")


def unit_of(key: str) -> str:
    """The native unit of a stat key (``ms`` for stage quantiles)."""
    return SCALAR_STATS.get(key, "ms")


def fmt_number(value: float | None, unit: str, with_unit: bool = True) -> str:
    """A value in its display unit: ms, %, MOS score, $, counts."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "ms":
        text = f"{value:.0f}"
        return f"{text}ms" if with_unit else text
    if unit == "ratio":
        text = f"{value * 100:.1f}"
        return f"{text}%" if with_unit else text
    if unit == "score":
        return f"{value:.2f}" + (" MOS" if with_unit else "")
    if unit == "usd":
        return f"${value:.3f}"
    if unit == "x":
        return f"{value:.2f}×"
    if unit in ("factor",):
        return f"{value:.2f}"
    if unit == "per_second":
        return f"{value:.2f}/s"
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"


def fmt_threshold(rule: ThresholdRule, threshold: float) -> str:
    """A threshold in the rule's unit, e.g. ``>1200ms`` or ``<95.0%``."""
    sign = ">" if rule.direction == "above" else "<"
    return f"{sign}{fmt_number(threshold, rule.unit if rule.unit != 'x' else 'count')}"


def clock(ts: float) -> str:
    """UTC clock time ``03:12Z``."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%H:%MZ")


def since_text(since: float, until: float | None, now: float) -> str:
    """``03:12Z 14m`` for an active run, ``03:12Z–03:20Z 8m`` once resolved."""
    end = now if until is None else until
    span = format_duration(max(0.0, end - since))
    if until is None:
        return f"{clock(since)} {span}"
    return f"{clock(since)}–{clock(until)} {span}"


def plain(value: object, max_len: int = 60, style: str = "") -> Text:
    """Untrusted text as a non-markup Text."""
    return Text(safe_text(value, max_len), style=style, no_wrap=True, overflow="ellipsis")
