"""Pure formatting helpers behind the screens."""

from __future__ import annotations

from voicetop.domain.model import HealthState, Severity, SourceHealth
from voicetop.domain.thresholds import DEFAULT_RULES
from voicetop.ui.format import Palette, clock, fmt_number, since_text
from voicetop.ui.screens.agent import limit_pair
from voicetop.ui.widgets.header import health_badge


def test_units():
    assert fmt_number(1234.4, "ms") == "1234ms" and fmt_number(1234.4, "ms", False) == "1234"
    assert fmt_number(0.0512, "ratio") == "5.1%"
    assert fmt_number(4.123, "score") == "4.12 MOS"
    assert fmt_number(0.0431, "usd") == "$0.043"
    assert fmt_number(None, "ms") == "–" and fmt_number(float("nan"), "ratio") == "–"


def test_clock_and_since():
    t = 1_767_225_600.0  # 2026-01-01T00:00Z
    assert clock(t + 3 * 3600 + 12 * 60) == "03:12Z"
    assert since_text(t, None, t + 840) == "00:00Z 14m"
    assert since_text(t, t + 480, t + 900) == "00:00Z–00:08Z 8m"


def test_health_badges():
    assert health_badge(SourceHealth("metrics"), 0) == "metrics OK"
    stale = SourceHealth("metrics", HealthState.STALE, "timeout\x1b[2J", last_ok=100.0, checked_at=142.0)
    assert health_badge(stale, 142.0) == "metrics STALE 42s: timeout"
    error = SourceHealth("traces", HealthState.ERROR, "HTTP 502", None, 5.0)
    assert health_badge(error, 5.0) == "traces ERROR: HTTP 502"


def test_palette_badges_carry_glyph_and_word():
    palette = Palette()
    assert palette.badge(Severity.CRITICAL).plain == "✖ CRITICAL"
    assert palette.badge(Severity.WARNING, short=True).plain == "▲ WARN"
    assert Palette(ascii=True).badge(Severity.OK).plain == "o OK"
    assert palette.style(Severity.OK) == ""


def test_limit_pairs_use_rule_units():
    rules = {r.key: r for r in DEFAULT_RULES}
    assert limit_pair(rules["ttft_p99"]) == ">800/1200"
    assert limit_pair(rules["wer"]) == ">5.0/8.0%"
    assert limit_pair(rules["mos"]) == "<4.30/3.80"
    assert limit_pair(rules["tool_success_rate"]) == "<99.0/95.0%"
