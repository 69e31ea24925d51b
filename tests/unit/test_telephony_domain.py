"""Telephony in the domain: stats per node, derived stats, thresholds, breaches, correlation."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from voicetop.config import ConfigError, parse_config
from voicetop.domain.frame_builder import build_frame
from voicetop.domain.model import MetricsResult, Series, Severity, Window
from voicetop.domain.telephony import (
    PANELS,
    build_telephony,
    correlate,
    media_verdict,
    telephony_breaches,
)
from voicetop.domain.telephony_rules import TELEPHONY_KEYS
from voicetop.domain.thresholds import ThresholdSet, evaluate_rule

WINDOW = Window(0.0, 900.0, 15.0)
STAMPS = WINDOW.timestamps()


def flat(value: float) -> Series:
    return Series(STAMPS, tuple(value for _ in STAMPS))


def step(before: float, after: float, at: float) -> Series:
    """``before`` until ``at``, then ``after`` (a condition starting at ``at``)."""
    return Series(STAMPS, tuple(before if t < at else after for t in STAMPS))


def healthy(**overrides: Series) -> dict[str, dict[str | None, Series]]:
    """Fleet and two nodes, healthy unless a fleet stat is overridden."""
    base = {
        "rooms": 30.0, "participants": 60.0, "join_success_rate": 0.998, "packet_loss_in": 0.002,
        "packet_loss_out": 0.001, "jitter_p95": 8.0, "rtt_p95": 90.0, "quality_poor": 0.01,
        "quality_good": 0.2, "quality_excellent": 0.785, "quality_lost": 0.005, "quality_score_p50": 4.3,
        "sip_calls_active": 12.0, "sip_invite_error_rate": 0.004,
    }
    series: dict[str, dict[str | None, Series]] = {}
    for key, value in base.items():
        fleet = overrides.get(key, flat(value))
        series[key] = {None: fleet, "node-a": flat(value), "node-b": flat(value)}
    return series


def test_stats_per_node_with_derived_loss_and_poor_share():
    series = healthy(packet_loss_in=flat(0.004), packet_loss_out=flat(0.009))
    series["packet_loss_in"]["node-b"] = Series(STAMPS, (math.nan,) * (len(STAMPS) - 1) + (0.05,))
    stats = build_telephony(series)
    assert stats is not None
    assert stats.value("packet_loss") == pytest.approx(0.009)  # the worse direction
    assert stats.value("poor_quality_share") == pytest.approx(0.015)  # poor + lost
    assert [n.node_id for n in stats.nodes] == ["node-a", "node-b"]
    assert stats.node("node-b").value("packet_loss") == pytest.approx(0.05)
    assert stats.panels() == tuple(PANELS)
    assert build_telephony({}) is None


def test_missing_families_hide_their_panels():
    series = healthy()
    for key in ("sip_calls_active", "sip_invite_error_rate", "quality_poor", "quality_good",
                "quality_excellent", "quality_lost", "quality_score_p50"):
        del series[key]
    series["rtt_p95"] = {None: flat(math.nan)}  # a query that answered NaN only
    stats = build_telephony(series)
    assert not stats.has("sip") and not stats.has("quality") and not stats.has("rtt")
    assert stats.panels() == ("rooms", "joins", "loss", "jitter")
    assert "poor_quality_share" not in stats.fleet.series


def test_default_thresholds_match_the_issue():
    rules = ThresholdSet().telephony
    expected = {
        "packet_loss": (0.01, 0.03, "above"), "jitter_p95": (30, 50, "above"), "rtt_p95": (250, 500, "above"),
        "poor_quality_share": (0.05, 0.15, "above"), "join_success_rate": (0.99, 0.95, "below"),
        "sip_invite_error_rate": (0.02, 0.05, "above"),
    }
    assert set(rules) == set(expected) == set(TELEPHONY_KEYS)
    for key, (warning, critical, direction) in expected.items():
        assert (rules[key].warning, rules[key].critical, rules[key].direction) == (warning, critical, direction)
        assert rules[key].for_seconds == 300 and rules[key].hint is not None
    assert ThresholdSet().rule("packet_loss").label == "Packet loss"
    # agent rules are unchanged: telephony keys are not evaluated per agent
    assert not set(TELEPHONY_KEYS) & set(ThresholdSet().rules)


def test_breaches_warning_and_critical_with_the_worst_node_in_the_hint():
    series = healthy(packet_loss_in=step(0.002, 0.035, 300.0), join_success_rate=step(0.998, 0.97, 450.0))
    series["packet_loss_in"]["node-b"] = step(0.002, 0.09, 300.0)
    stats = build_telephony(series)
    every = telephony_breaches(stats, ThresholdSet())
    found = {(b.key, b.severity): b for b in every if not b.node}
    assert set(found) == {
        ("packet_loss", Severity.WARNING), ("packet_loss", Severity.CRITICAL), ("join_success_rate", Severity.WARNING),
    }
    # the bad node has its own rows (node-a stays healthy), from its own series with the same `for`
    per_node = {(b.key, b.severity, b.node): b for b in every if b.node}
    assert set(per_node) == {("packet_loss", Severity.WARNING, "node-b"), ("packet_loss", Severity.CRITICAL, "node-b")}
    node_b = per_node[("packet_loss", Severity.CRITICAL, "node-b")]
    assert node_b.agent_id is None and node_b.scope == "node node-b" and node_b.since == 300.0 and node_b.active
    assert node_b.value == pytest.approx(0.09) and node_b.peak == pytest.approx(0.09) and node_b.threshold == 0.03
    assert node_b.hint.startswith("node node-b · poor media quality → check 1. network path")
    loss = found[("packet_loss", Severity.CRITICAL)]
    assert loss.agent_id is None and loss.since == 300.0 and loss.active
    assert loss.value == pytest.approx(0.035) and loss.threshold == 0.03
    assert loss.hint.startswith("worst node node-b 9.0% · poor media quality → check 1. network path")
    joins = found[("join_success_rate", Severity.WARNING)]
    assert joins.since == 450.0 and joins.threshold == 0.99


def test_thresholds_are_configurable_like_every_threshold(tmp_path):
    config = parse_config(
        '[thresholds]\npacket_loss = [5, 10]\njitter_p95 = { warning = 20, for = "1m" }\n', Path("c.toml")
    )
    thresholds = config.context.thresholds
    assert thresholds.rule("packet_loss").warning == pytest.approx(0.05)  # percent in the file
    assert thresholds.rule("jitter_p95").for_seconds == 60
    stats = build_telephony(healthy(packet_loss_in=flat(0.035), jitter_p95=step(8.0, 25.0, 780.0)))
    keys = {(b.key, b.severity) for b in telephony_breaches(stats, thresholds)}
    assert keys == {("jitter_p95", Severity.WARNING)}  # 3.5 % loss is fine under 5 %; 2 min of 25 ms is not
    with pytest.raises(ConfigError, match="fleet-wide"):
        parse_config("[thresholds.agents.a]\npacket_loss = [1, 2]\n", Path("c.toml"))
    with pytest.raises(ConfigError, match="unknown threshold.*packet_loss"):
        parse_config("[thresholds]\npacket_lost = [1, 2]\n", Path("c.toml"))


def wer_breach(since: float = 300.0) -> tuple:
    rule = ThresholdSet().rule("wer")
    breach = evaluate_rule(rule, step(0.03, 0.07, since), "support-es")[0]
    return rule, breach


def test_wer_breach_names_packet_loss_when_loss_rose_in_the_same_window():
    _, breach = wer_breach()
    stats = build_telephony(healthy(packet_loss_in=step(0.002, 0.024, 300.0), jitter_p95=step(8, 36, 300.0)))
    hinted = correlate(breach, stats, ThresholdSet(), WINDOW.end)
    assert hinted.hint.startswith("media quality is the likely cause: packet loss 2.4% > 1.0%")
    assert "telephony over the breach: loss in 2.4%, out 0.1%, jitter p95 36ms, RTT p95 90ms, poor/lost 1.5%" in hinted.hint
    assert hinted.hint.endswith("poor transcription → check 1. audio quality (MOS); 2. background noise; 3. ASR provider")
    # the figures are the breach's own run: before it the loss was low
    before = correlate(replace(breach, since=0.0, until=285.0), stats, ThresholdSet(), 900.0)
    assert before.hint.startswith("media quality is not the likely cause (telephony over the breach: loss in 0.2%")


def test_a_bad_node_can_be_the_cause_while_the_fleet_looks_fine():
    _, breach = wer_breach()
    series = healthy()
    series["packet_loss_in"]["node-b"] = step(0.002, 0.06, 300.0)
    verdict = media_verdict(build_telephony(series), ThresholdSet(), breach.since, 900.0)
    assert verdict.likely and verdict.cause == "packet_loss" and verdict.node == "node-b"
    assert verdict.text().startswith("media quality is the likely cause: packet loss 6.0% > 1.0% on node node-b (fleet 0.2%)")


def test_only_stt_and_wer_breaches_are_correlated_and_only_with_data():
    rule = ThresholdSet().rule("ttft_p99")
    ttft = evaluate_rule(rule, step(300, 2000, 300.0), "billing")[0]
    stats = build_telephony(healthy(packet_loss_in=flat(0.05)))
    assert correlate(ttft, stats, ThresholdSet(), 900.0) == ttft
    stt = evaluate_rule(ThresholdSet().rule("stt_p90"), step(100, 300, 300.0), "support-es")[0]
    assert correlate(stt, stats, ThresholdSet(), 900.0).hint.startswith("media quality is the likely cause: packet loss 5.0%")
    empty = build_telephony({"rooms": {None: flat(math.nan)}})
    assert correlate(stt, empty, ThresholdSet(), 900.0) == stt


def test_build_frame_carries_telephony_and_correlates_agent_breaches():
    agent_series = {"wer": {"support-es": step(0.03, 0.07, 300.0), None: flat(0.03)}}
    result = MetricsResult(
        window=WINDOW, series=agent_series,
        telephony=healthy(packet_loss_in=step(0.002, 0.02, 300.0)),
    )
    frame = build_frame(result, ThresholdSet(), [], created_at=WINDOW.end)
    assert frame.telephony is not None and frame.telephony.value("rooms") == 30
    wer = next(b for b in frame.breaches if b.key == "wer")
    assert wer.agent_id == "support-es" and "likely cause: packet loss 2.0%" in wer.hint
    loss = next(b for b in frame.breaches if b.key == "packet_loss")
    assert loss.agent_id is None and loss.severity is Severity.WARNING
    assert [a.agent_id for a in frame.agents] == ["support-es"]  # nodes are not agents
    plain = build_frame(MetricsResult(window=WINDOW, series=agent_series), ThresholdSet(), [], created_at=900.0)
    assert plain.telephony is None
    assert next(b for b in plain.breaches if b.key == "wer").hint.startswith("poor transcription")


def test_a_node_breach_needs_its_own_run_to_last_for():
    """Per-node breaches follow DESIGN.md §4: a 4-minute blip on one node is not a breach, 6 minutes is."""
    series = healthy()
    series["jitter_p95"]["node-a"] = Series(STAMPS, tuple(60.0 if 300 <= t < 540 else 8.0 for t in STAMPS))
    series["jitter_p95"]["node-b"] = Series(STAMPS, tuple(45.0 if 300 <= t <= 660 else 8.0 for t in STAMPS))
    breaches = telephony_breaches(build_telephony(series), ThresholdSet())
    assert [(b.key, b.severity, b.node, b.since, b.until) for b in breaches] == [
        ("jitter_p95", Severity.WARNING, "node-b", 300.0, 660.0),
    ]
    assert not breaches[0].active and breaches[0].scope == "node node-b"
