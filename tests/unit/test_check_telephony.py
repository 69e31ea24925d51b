"""``voicetop check`` and ``voicetop rules`` on the telephony keys (issue #10), and the #8 leftovers:
token-file warning in check, short "expected one of" messages."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from test_export_data import END, WINDOW, frame

from voicetop.alerting.gates import (
    FAIL,
    NO_DATA,
    PASS,
    GateError,
    critical_gates,
    evaluate_gates,
    parse_assignment,
    telephony_series,
)
from voicetop.alerting.rules import TELEPHONY_GROUP, build_rules
from voicetop.cli import main
from voicetop.config import ConfigError, parse_config
from voicetop.domain.model import MetricsResult, Series
from voicetop.domain.telephony_rules import TELEPHONY_KEYS
from voicetop.domain.text import expected_one_of
from voicetop.domain.thresholds import ThresholdSet
from voicetop.export import write_snapshot
from voicetop.profiles.metrics import BUILTIN_PROFILES, SEED, ProfileError, parse_profile
from tests.support.user_config import no_user_config  # noqa: F401 (autouse)

STAMPS = WINDOW.timestamps()


def flat(value: float) -> Series:
    return Series(STAMPS, tuple(value for _ in STAMPS))


def result(telephony=None, errors=None) -> MetricsResult:
    agents = {"wer": {None: flat(0.03), "a": flat(0.03)}}
    return MetricsResult(WINDOW, agents, dict(errors or {}), telephony=telephony or {})


def phone() -> dict:
    """Fleet loss in 0.4 % / out 2.5 % (the derived packet_loss is the worse: 2.5 %), node nd-b 6 %."""
    return {
        "packet_loss_in": {None: flat(0.004), "nd-a": flat(0.002), "nd-b": flat(0.06)},
        "packet_loss_out": {None: flat(0.025), "nd-a": flat(0.001), "nd-b": flat(0.001)},
        "jitter_p95": {None: flat(22.0)},
        "join_success_rate": {None: flat(0.97)},
    }


def test_telephony_keys_parse_as_gates_in_their_units():
    loss = parse_assignment("packet_loss=2", "max")
    assert (loss.key, loss.limit, loss.unit, loss.label, loss.telephony) == ("packet_loss", 0.02, "ratio", "Packet loss", True)
    jitter = parse_assignment("jitter-p95=40", "max")
    assert (jitter.key, jitter.limit, jitter.unit) == ("jitter_p95", 40.0, "ms")
    joins = parse_assignment("join_success_rate=99", "min")
    assert (joins.limit, joins.operator, joins.label) == (0.99, ">=", "Join success")
    with pytest.raises(GateError, match="not a percentage"):
        parse_assignment("packet_loss=250", "max")


def test_telephony_gates_use_the_fleet_series_with_derived_stats():
    gates = [parse_assignment("packet_loss=2", "max"), parse_assignment("jitter_p95=30", "max"),
             parse_assignment("join_success_rate=95", "min")]
    report = evaluate_gates(result(phone()), gates, window=WINDOW)
    rows = {r.gate.key: r for r in report.results}
    assert rows["packet_loss"].value == pytest.approx(0.025) and rows["packet_loss"].status == FAIL
    assert rows["jitter_p95"].status == PASS and rows["join_success_rate"].status == PASS
    assert report.exit_code == 1
    # --agent / --each-agent do not apply: telephony is gated fleet-wide, once
    for scoped in (dict(agents=["a"]), dict(each_agent=True)):
        again = evaluate_gates(result(phone()), gates[:1], window=WINDOW, **scoped)
        assert [(r.agent_id, r.status) for r in again.results] == [(None, FAIL)]
    assert telephony_series(result(phone()), "packet_loss")["nd-b"].last() == pytest.approx(0.06)


def test_a_telephony_gate_without_telephony_is_no_data_with_the_reason():
    gate = parse_assignment("packet_loss=2", "max")
    assert [r.status for r in evaluate_gates(result(), [gate], window=WINDOW).results] == [NO_DATA]
    failed = result(errors={"packet_loss_in": "HTTP 400 from prometheus: Bad Request (bad_data: parse error)"})
    row = evaluate_gates(failed, [gate], window=WINDOW).results[0]
    assert row.status == NO_DATA and "parse error" in row.reason


def test_critical_includes_telephony_gates_skipped_when_the_source_reads_none():
    gates = critical_gates(ThresholdSet())
    phone_gates = {g.key: g for g in gates if g.telephony}
    assert set(phone_gates) == set(TELEPHONY_KEYS)
    assert all(g.optional and not g.from_thresholds for g in phone_gates.values())
    assert phone_gates["packet_loss"].limit == 0.03 and phone_gates["join_success_rate"].direction == "min"
    # a seed-profile source: no telephony series, the gates are not reported at all
    keys = {r.gate.key for r in evaluate_gates(result(), gates, window=WINDOW).results}
    assert not keys & set(TELEPHONY_KEYS) and "wer" in keys
    # with telephony: evaluated; a family the server does not export (SIP) is skipped like its panel
    rows = {r.gate.key: r for r in evaluate_gates(result(phone()), gates, window=WINDOW).results}
    assert rows["packet_loss"].status == PASS  # 2.5 % under the 3 % critical limit
    assert rows["join_success_rate"].status == PASS and rows["jitter_p95"].status == PASS
    assert "sip_invite_error_rate" not in rows


def test_check_cli_on_a_snapshot_with_telephony(tmp_path, capsys):
    path = tmp_path / "s.json"
    write_snapshot(frame(), (), path, context="prod", created_at=END, markdown=False)
    assert main(["check", str(path), "--max", "packet_loss=0.5", "--max", "rooms=100"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^Packet loss\s+packet_loss\s+fleet\s+0\.97%\s+<= 0\.50%.*FAIL$", out, re.M), out
    assert "FAIL: 1 of 2 gates failed: packet_loss (fleet) 0.97% > 0.50%" in out
    assert main(["check", str(path), "--max", "packet_loss=2", "--min", "join_success_rate=99"]) == 0
    capsys.readouterr()
    main(["check", str(path), "--critical"])  # exit 2: the test data has no MOS/RTF series
    out = capsys.readouterr().out
    assert re.search(r"^Packet loss\s+packet_loss\s+fleet\s+0\.97%\s+<= 3%.*PASS$", out, re.M), out
    assert re.search(r"^Join success\s+join_success_rate\s+fleet\s+99\.80%\s+>= 95%.*PASS$", out, re.M), out
    assert "sip_invite_error_rate" not in out  # no SIP service in the snapshot: that gate is skipped


def test_check_warns_about_a_token_file_readable_by_others(tmp_path, capsys):
    token = tmp_path / "token"
    token.write_text("secret-token-value\n")
    os.chmod(token, 0o644)
    config = tmp_path / "c.toml"
    config.write_text(f'[contexts.default]\nprometheus = {{ url = "http://127.0.0.1:9", bearer_token_file = "{token}", timeout = 1 }}\n')
    assert main(["check", "--config", str(config), "--ttft-p99", "1200"]) == 2
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert warnings == [f"voicetop: warning: token file {token} is readable by group/others (chmod 600 it)"]
    assert "secret-token-value" not in err


def test_rules_have_a_telephony_group_only_when_the_profile_reads_telephony():
    assert TELEPHONY_GROUP not in {g.name for g in build_rules(ThresholdSet(), SEED).groups}
    ruleset = build_rules(ThresholdSet(), BUILTIN_PROFILES["livekit-server"])
    group = next(g for g in ruleset.groups if g.name == TELEPHONY_GROUP)
    assert len(group.rules) == 2 * len(TELEPHONY_KEYS)
    assert {r.labels["voicetop_key"] for r in group.rules} == set(TELEPHONY_KEYS)
    loss = next(r for r in group.rules if r.alert == "VoicePacketLossHigh" and r.labels["severity"] == "critical")
    assert loss.expr.startswith("(max by (node_id) (label_replace(") and loss.expr.endswith(") > 0.03")
    assert loss.annotations["summary"] == (
        "Packet loss of node {{ $labels.node_id }} is {{ $value | humanizePercentage }} (critical: above 3% for 5m)"
    )
    joins = next(r for r in group.rules if r.alert == "VoiceJoinSuccessRateLow" and r.labels["severity"] == "warning")
    assert joins.expr.endswith(") < 0.99")
    custom = ThresholdSet().with_overrides({"packet_loss": {"warning": 0.02}})
    fast = build_rules(custom, BUILTIN_PROFILES["livekit-server"], for_seconds=60)
    rule = next(r for r in fast.rules() if r.alert == "VoicePacketLossHigh" and r.labels["severity"] == "warning")
    assert rule.for_seconds == 60 and rule.expr.endswith(") > 0.02") and "for 1m)" in rule.annotations["summary"]
    profile = parse_profile('[profile]\ntelephony = "livekit-server"\n', "p.toml")
    assert TELEPHONY_GROUP in {g.name for g in build_rules(ThresholdSet(), profile).groups}


def test_expected_one_of_is_short_and_suggests_the_close_key():
    keys = [f"key_{i}" for i in range(30)]
    text = expected_one_of(keys, "key_1O", "docs/x.md")
    assert text.startswith("did you mean 'key_1")
    assert text.endswith(", … (30 keys; see docs/x.md)") and len(text) < 200
    assert expected_one_of(["a", "b"]) == "expected one of: a, b"


@pytest.mark.parametrize(
    "text, must",
    [
        ("[thresholds]\npacket_lost = [1, 2]\n", r"thresholds\.packet_lost.*did you mean 'packet_loss'\?.*\(24 keys; see README\.md\)"),
        ("[contexts.a]\nprometheus = { url = \"http://x\", tokn = 1 }\n", r"prometheus\.tokn': unknown key .*\(\d+ keys; see README\.md\)"),
    ],
)
def test_config_errors_name_the_key_on_one_short_line(text, must):
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("c.toml"))
    message = str(caught.value)
    assert "\n" not in message and len(message) < 260 and re.search(must, message), message


def test_profile_errors_name_the_key_on_one_short_line():
    with pytest.raises(ProfileError) as caught:
        parse_profile('[promql]\nttft_p9 = "x"\n', "p.toml")
    message = str(caught.value)
    assert "promql.ttft_p9" in message and "did you mean 'ttft_p99'?" in message
    assert message.endswith("keys; see docs/profiles.md))") and len(message) < 260 and "\n" not in message
