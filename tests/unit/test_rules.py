"""Rule generation: names, PromQL, for/labels/annotations, overrides, YAML quoting."""

from __future__ import annotations

import re

import pytest

from voicetop.alerting import yaml
from voicetop.alerting.rules import (
    GROUPS,
    KEY_LABEL,
    OVERRIDE_LABEL,
    alert_name,
    build_rules,
    number,
    prom_duration,
    string_literal,
)
from voicetop.domain.model import Severity
from voicetop.domain.thresholds import DEFAULT_RULES, ThresholdSet
from voicetop.profiles.metrics import SEED, parse_profile


def rules_by(ruleset, key, severity="critical"):
    return [r for r in ruleset.rules() if r.labels[KEY_LABEL] == key and r.labels["severity"] == severity]


def test_every_default_threshold_gets_a_warning_and_a_critical_rule():
    ruleset = build_rules(ThresholdSet(), SEED)
    assert ruleset.skipped == ()
    assert len(ruleset.rules()) == 2 * len(DEFAULT_RULES)
    for rule in DEFAULT_RULES:
        warning, critical = rules_by(ruleset, rule.key, "warning"), rules_by(ruleset, rule.key)
        assert len(warning) == 1 and len(critical) == 1
        assert warning[0].alert == critical[0].alert == alert_name(rule)
        assert warning[0].for_seconds == rule.for_seconds == 300


def test_groups_per_stage_in_pipeline_order():
    names = [g.name for g in build_rules(ThresholdSet(), SEED).groups]
    assert names == list(GROUPS)
    assert names[:5] == ["voicetop-stt", "voicetop-eou", "voicetop-llm", "voicetop-tts", "voicetop-e2e"]


def test_latency_rules_use_sum_by_le_and_agent():
    ruleset = build_rules(ThresholdSet(), SEED)
    (ttft,) = rules_by(ruleset, "ttft_p99")
    assert ttft.expr == (
        "(histogram_quantile(0.99, sum by (le, agent_id) (rate(livekit_llm_ttft_ms_bucket[5m])))) > 1200"
    )
    (e2e90,) = rules_by(ruleset, "e2e_p90", "warning")
    assert "livekit_e2e_latency_ms_bucket" in e2e90.expr and e2e90.expr.endswith("> 3000")
    assert "histogram_quantile(0.9, sum by (le, agent_id)" in e2e90.expr


def test_below_rules_and_ratio_limits():
    ruleset = build_rules(ThresholdSet(), SEED)
    (tools,) = rules_by(ruleset, "tool_success_rate")
    assert tools.alert == "VoiceToolSuccessRateLow"
    assert tools.expr.endswith(") < 0.95")
    (mos,) = rules_by(ruleset, "mos", "warning")
    assert mos.alert == "VoiceMosLow" and mos.expr.endswith("< 4.3")
    (wer,) = rules_by(ruleset, "wer")
    assert wer.expr == "(avg by (agent_id) (livekit_asr_wer)) > 0.08"
    assert "{{ $value | humanizePercentage }}" in wer.annotations["summary"]
    assert "above 8%" in wer.annotations["summary"]


def test_baseline_rules_compare_against_the_baseline_expression():
    (tokens,) = rules_by(build_rules(ThresholdSet(), SEED), "tokens_per_session")
    assert " > 2 * (avg_over_time((" in tokens.expr
    assert "[7d:1h]" in tokens.expr
    assert "2× its baseline" in tokens.annotations["summary"]


def test_labels_and_annotations():
    (ttft,) = rules_by(build_rules(ThresholdSet(), SEED), "ttft_p99")
    assert ttft.labels == {"severity": "critical", KEY_LABEL: "ttft_p99"}
    summary = ttft.annotations["summary"]
    assert "{{ $labels.agent_id }}" in summary and "{{ $value | humanize }} ms" in summary
    assert "critical: above 1200 ms for 5m" in summary
    assert ttft.annotations["runbook"] == (
        "high latency → check 1. LLM provider status; 2. token rate limits; 3. network path"
    )


def test_threshold_overrides_change_limits_and_for():
    thresholds = ThresholdSet().with_overrides({"ttft_p99": {"critical": 1500.0, "for_seconds": 90.0}})
    (ttft,) = rules_by(build_rules(thresholds, SEED), "ttft_p99")
    assert ttft.expr.endswith("> 1500") and ttft.for_seconds == 90
    assert ttft.to_data()["for"] == "1m30s"


def test_for_override_applies_to_every_rule_including_agent_overrides():
    thresholds = ThresholdSet().with_overrides({"wer": {"critical": 0.1}}, "billing")
    ruleset = build_rules(thresholds, SEED, for_seconds=0)
    assert {r.to_data()["for"] for r in ruleset.rules()} == {"0s"}


def test_per_agent_override_gets_its_own_rule_and_is_excluded_from_the_fleet_rule():
    thresholds = ThresholdSet().with_overrides({"ttft_p99": {"critical": 1500.0}}, 'bil"ling')
    ruleset = build_rules(thresholds, SEED)
    fleet, agent = rules_by(ruleset, "ttft_p99")
    assert OVERRIDE_LABEL not in fleet.labels
    assert fleet.expr.endswith(
        ') > 1200) unless on (agent_id) label_replace(vector(1), "agent_id", "bil\\"ling", "", "")'
    )
    assert agent.labels[OVERRIDE_LABEL] == 'bil"ling'
    assert ") > 1500) and on (agent_id) label_replace(vector(1)" in agent.expr
    (other,) = rules_by(ruleset, "stt_p90")
    assert "unless" not in other.expr


def test_severity_filter_and_interval_and_group_prefix():
    ruleset = build_rules(ThresholdSet(), SEED, severities=(Severity.CRITICAL,), interval=30, group_prefix="prod-")
    assert {r.labels["severity"] for r in ruleset.rules()} == {"critical"}
    group = ruleset.groups[0].to_data()
    assert group["name"] == "prod-voicetop-stt" and group["interval"] == "30s"


def test_profile_agent_label_raw_promql_and_disabled_stats():
    profile = parse_profile(
        """
        [profile]
        agent_label = "service"
        [promql]
        rtf = ''
        wer = 'avg by (service) (asr_wer_percent) / 100'
        """,
        "mine.toml",
    )
    ruleset = build_rules(ThresholdSet(), profile)
    assert ruleset.skipped == ("rtf",)
    assert not rules_by(ruleset, "rtf")
    (ttft,) = rules_by(ruleset, "ttft_p99")
    assert "sum by (le, service)" in ttft.expr
    assert "{{ $labels.service }}" in ttft.annotations["summary"]
    (wer,) = rules_by(ruleset, "wer")
    assert wer.expr == "(avg by (service) (asr_wer_percent) / 100) > 0.08"


def test_prom_duration_and_number_formatting():
    assert [prom_duration(s) for s in (0, 5, 90, 300, 3600, 5400, 86400 + 60, 0.25)] == [
        "0s", "5s", "1m30s", "5m", "1h", "1h30m", "1d1m", "250ms"
    ]
    with pytest.raises(ValueError):
        prom_duration(-1)
    assert [number(v) for v in (1200.0, 95 * 0.01, 1.5, 0.08)] == ["1200", "0.95", "1.5", "0.08"]
    assert string_literal('a"b\\c') == '"a\\"b\\\\c"'


def test_yaml_quoting_is_injection_safe():
    assert yaml.quote('say "hi"\n- evil: true\\') == '"say \\"hi\\"\\n- evil: true\\\\"'
    assert yaml.quote("bell\x07 nel\x85 ls\u2028 ok → é") == '"bell\\u0007 nel\\u0085 ls\\u2028 ok → é"'
    text = yaml.dump({"groups": [{"name": "g", "rules": [{"alert": "A", "labels": {}, "x": [1, 2.5, True, None]}]}]},
                     header="line one\nline two")
    assert text == (
        "# line one\n# line two\ngroups:\n  - name: \"g\"\n    rules:\n      - alert: \"A\"\n"
        "        labels: {}\n        x:\n          - 1\n          - 2.5\n          - true\n          - null\n"
    )
    with pytest.raises(ValueError):
        yaml.scalar(float("nan"))


def test_yaml_document_has_one_rule_per_alert_line():
    ruleset = build_rules(ThresholdSet(), SEED)
    text = ruleset.to_yaml("header")
    assert text.startswith("# header\ngroups:\n")
    assert len(re.findall(r"^      - alert: ", text, re.M)) == len(ruleset.rules())
    # every expression line is a single double-quoted scalar
    for line in text.splitlines():
        if line.strip().startswith("expr:"):
            assert re.fullmatch(r'\s+expr: "(?:[^"\\]|\\.)*"', line), line
