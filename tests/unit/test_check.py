"""Deploy gates: parsing, evaluation at the window end, exit codes, table and JSON output."""

from __future__ import annotations

import json
import math

import pytest

from voicetop.alerting.gates import (
    EXIT_ERROR,
    EXIT_FAIL,
    EXIT_PASS,
    FAIL,
    NO_DATA,
    PASS,
    Gate,
    GateError,
    critical_gates,
    evaluate_gates,
    make_gate,
    parse_assignment,
    value_at_end,
)
from voicetop.alerting.report import format_value, render_json, render_table
from voicetop.cli import main
from voicetop.commands import check as check_command
from voicetop.domain.model import MetricsResult, Series, Window
from voicetop.domain.thresholds import ThresholdSet
from voicetop.sources.base import SourceError

NAN = math.nan
END = 1_700_000_000.0
WINDOW = Window(END - 60, END, 15)  # 5 steps


def series(*values: float) -> Series:
    return Series(WINDOW.timestamps(), tuple(values))


def result(data: dict, errors: dict | None = None) -> MetricsResult:
    return MetricsResult(WINDOW, data, errors or {})


# -- parsing ---------------------------------------------------------------------
def test_percent_gates_become_ratios_and_directions_follow_the_flag():
    wer = make_gate("wer", 8, "max")
    assert wer.limit == pytest.approx(0.08) and wer.unit == "ratio" and wer.label == "WER"
    success = make_gate("tool_success_rate", 95, "min")
    assert success.limit == pytest.approx(0.95) and success.operator == ">="
    ttft = make_gate("ttft_p99", 1200, "max", thresholds=ThresholdSet())
    assert (ttft.limit, ttft.unit, ttft.label) == (1200, "ms", "LLM TTFT p99")
    assert make_gate("llm_p95", 900, "max").label == "LLM total p95"


def test_assignments_and_their_errors():
    gate = parse_assignment("stt-p90=400", "max")
    assert (gate.key, gate.limit, gate.direction) == ("stt_p90", 400, "max")
    assert parse_assignment("capacity=85", "max").limit == pytest.approx(0.85)
    assert parse_assignment("mos=3.8", "min").limit == 3.8
    for text, problem in [("stt_p90", "KEY=VALUE"), ("=3", "KEY=VALUE"), ("nope=3", "unknown gate key"),
                          ("stt_p90=fast", "not a number"), ("wer=150", "percentage"), ("stt_p90=inf", "finite")]:
        with pytest.raises(GateError, match=problem):
            parse_assignment(text, "max")


def test_critical_gates_from_thresholds_skip_baseline_rules():
    thresholds = ThresholdSet().with_overrides({"ttft_p99": {"critical": 1500.0}})
    gates = {g.key: g for g in critical_gates(thresholds)}
    assert gates["ttft_p99"].limit == 1500
    assert gates["tool_success_rate"].direction == "min" and gates["tool_success_rate"].limit == 0.95
    assert "tokens_per_session" not in gates and "cost_per_session" not in gates


# -- evaluation ------------------------------------------------------------------
def test_value_at_end_is_the_last_step_and_nan_there_is_no_data():
    assert value_at_end(series(1, 2, 3, 4, 5), WINDOW) == 5
    assert value_at_end(series(1, 2, 3, 4, NAN), WINDOW) is None
    early = Series((END - 60, END - 45), (1.0, 2.0))
    assert value_at_end(early, WINDOW) is None
    assert value_at_end(Series((END + 3,), (7.0,)), WINDOW) == 7  # within half a step


def test_gate_uses_value_at_the_end_and_reports_the_worst():
    gate = Gate("ttft_p99", 1200, "max")
    report = evaluate_gates(result({"ttft_p99": {None: series(2000, 1900, 1000, 900, 800)}}), [gate])
    (r,) = report.results
    assert (r.status, r.value, r.worst) == (PASS, 800, 2000)
    assert report.exit_code == EXIT_PASS
    report = evaluate_gates(result({"ttft_p99": {None: series(800, 800, 800, 800, 1300)}}), [gate])
    assert report.results[0].status == FAIL and report.exit_code == EXIT_FAIL


def test_min_gate_fails_below_the_limit_and_equal_passes():
    gate = make_gate("tool_success_rate", 95, "min")
    data = {"tool_success_rate": {None: series(1, 1, 1, 1, 0.95)}}
    assert evaluate_gates(result(data), [gate]).results[0].status == PASS
    data = {"tool_success_rate": {None: series(1, 1, 1, 1, 0.9)}}
    (r,) = evaluate_gates(result(data), [gate]).results
    assert (r.status, r.worst) == (FAIL, 0.9)


def test_no_data_is_an_error_never_a_pass_and_failure_wins():
    ttft, wer = Gate("ttft_p99", 1200), make_gate("wer", 8, "max")
    only_wer_missing = result({"ttft_p99": {None: series(1, 1, 1, 1, 100)}})
    report = evaluate_gates(only_wer_missing, [ttft, wer])
    assert [r.status for r in report.results] == [PASS, NO_DATA]
    assert report.exit_code == EXIT_ERROR
    failing = result({"ttft_p99": {None: series(1, 1, 1, 1, 5000)}})
    assert evaluate_gates(failing, [ttft, wer]).exit_code == EXIT_FAIL
    assert evaluate_gates(result({}), []).exit_code == EXIT_ERROR


def test_partial_source_errors_are_reported_as_the_reason():
    report = evaluate_gates(result({}, {"wer": "HTTP 503"}), [make_gate("wer", 8, "max")])
    assert report.results[0].reason == "HTTP 503"


def test_agent_scopes():
    gate = Gate("ttft_p99", 1200)
    data = {"ttft_p99": {None: series(1, 1, 1, 1, 900), "billing": series(1, 1, 1, 1, 2000),
                         "sales": series(1, 1, 1, 1, 300), "idle": series(NAN, NAN, NAN, NAN, NAN)}}
    fleet = evaluate_gates(result(data), [gate])
    assert [(r.agent_id, r.status) for r in fleet.results] == [(None, PASS)]
    named = evaluate_gates(result(data), [gate], agents=["sales", "ghost"])
    assert [(r.agent_id, r.status) for r in named.results] == [("sales", PASS), ("ghost", NO_DATA)]
    each = evaluate_gates(result(data), [gate], each_agent=True)
    assert [(r.agent_id, r.status) for r in each.results] == [("billing", FAIL), ("sales", PASS)]
    nobody = evaluate_gates(result({}), [gate], each_agent=True)
    assert [(r.status, r.reason) for r in nobody.results] == [(NO_DATA, "no agent has data")]


# -- rendering -------------------------------------------------------------------
def test_table_names_the_failing_gate_and_json_has_native_units():
    gates = [make_gate("ttft_p99", 1200, "max"), make_gate("wer", 8, "max"), make_gate("e2e_p99", 5000, "max")]
    data = {"ttft_p99": {"bill\x1b[2Jing": series(1, 1, 1, 1, 1834.4)}, "wer": {"bill\x1b[2Jing": series(0, 0, 0, 0, 0.031)}}
    report = evaluate_gates(result(data), gates, agents=["bill\x1b[2Jing"])
    table = render_table(report, "http://prom:9090")
    assert "\x1b" not in table
    lines = table.splitlines()
    assert lines[0].startswith("window 2023-11-14T22:12:20Z → 2023-11-14T22:13:20Z (1m)  source http://prom:9090")
    row = next(line for line in lines if line.startswith("LLM TTFT p99"))
    assert row.split() == ["LLM", "TTFT", "p99", "ttft_p99", "bill[2Jing", "1834", "ms", "<=", "1200", "ms", "1834", "ms", "FAIL"]
    assert any("3.10%" in line and "PASS" in line for line in lines)
    assert any("NO DATA (no series)" in line for line in lines)
    assert lines[-1] == "FAIL: 1 of 3 gates failed: ttft_p99 (bill[2Jing) 1834 ms > 1200 ms; ERROR: no data for e2e_p99 (bill[2Jing)"
    doc = render_json(report, "http://prom:9090")
    assert doc["ok"] is False and doc["exit_code"] == 1 and doc["schema"] == "voicetop.check/1"
    assert doc["gates"][1]["value"] == 0.031 and doc["gates"][1]["limit"] == pytest.approx(0.08)
    assert doc["gates"][2]["value"] is None and doc["gates"][2]["status"] == "no data"
    json.dumps(doc, allow_nan=False)


def test_format_value_units():
    assert format_value(0.95, "ratio") == "95%"
    assert format_value(4.25, "score") == "4.25"
    assert format_value(3.25, "ms") == "3.2 ms"
    assert format_value(None, "ms") == "—"


# -- the command -----------------------------------------------------------------
class FixedSource:
    """An in-memory MetricsSource: fixed series on the window's grid."""

    name = "fixed"
    display_url = "http://prom.test:9090"

    def __init__(self, values: dict, fail: str | None = None):
        self.values = values
        self.fail = fail
        self.windows: list[Window] = []
        self.closed = False

    def now(self) -> float:
        return END

    def fetch(self, window: Window) -> MetricsResult:
        self.windows.append(window)
        if self.fail:
            raise SourceError(self.fail)
        stamps = window.timestamps()
        data = {key: {agent: Series(stamps, tuple(v for _ in stamps)) for agent, v in per.items()}
                for key, per in self.values.items()}
        return MetricsResult(window, data)

    def alerts(self):
        return []

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def source(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in ("VOICETOP_CONFIG", "VOICETOP_CONTEXT", "VOICETOP_PROMETHEUS_URL", "VOICETOP_WINDOW"):
        monkeypatch.delenv(name, raising=False)
    holder = {}

    def install(values, fail=None):
        holder["source"] = FixedSource(values, fail)
        monkeypatch.setattr(check_command, "_open_source", lambda args, config, seconds: holder["source"])
        return holder["source"]

    return install


HEALTHY = {"ttft_p99": {None: 600.0}, "e2e_p90": {None: 1900.0}, "e2e_p99": {None: 2000.0},
           "wer": {None: 0.03}, "tool_success_rate": {None: 1.0}}
GUIDE = ["--ttft-p99", "1200", "--p90-max", "3500", "--p99-max", "5000", "--wer-max", "8", "--success-rate", "95"]


def test_guide_gates_pass_on_a_healthy_window(source, capsys):
    fixed = source(HEALTHY)
    assert main(["check", "--prometheus", "http://prom.test:9090", *GUIDE]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "PASS: all 5 gates hold"
    assert fixed.windows == [Window(END - 300, END, 15)]  # default window 5m ending now
    assert fixed.closed


def test_guide_gates_fail_naming_the_gate(source, capsys):
    source({**HEALTHY, "ttft_p99": {None: 1834.0}})
    assert main(["check", "--prometheus", "http://prom.test:9090", *GUIDE]) == 1
    assert "FAIL: 1 of 5 gates failed: ttft_p99 (fleet) 1834 ms > 1200 ms" in capsys.readouterr().out


def test_no_data_gate_exits_2(source, capsys):
    source({"ttft_p99": {None: 600.0}})
    assert main(["check", "--ttft-p99", "1200", "--wer-max", "8", "--prometheus", "http://p:1"]) == 2
    assert "ERROR: no data for wer (fleet)" in capsys.readouterr().out


def test_source_error_exits_2_with_one_line(source, capsys):
    source(HEALTHY, fail="cannot reach prometheus at http://p:1: connection refused")
    assert main(["check", "--ttft-p99", "1200", "--prometheus", "http://p:1"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "voicetop check: cannot reach prometheus at http://p:1: connection refused\n"
    assert captured.out == ""


def test_window_at_json_and_agent_flags(source, capsys):
    fixed = source({"ttft_p99": {"billing": 2000.0, "sales": 500.0}, "stt_p90": {"billing": 100.0, "sales": 100.0}})
    code = main(["--window", "10m", "check", "--at", "-1h", "--ttft-p99", "1200", "--max", "stt_p90=400",
                 "--each-agent", "--json", "--prometheus", "http://p:1"])
    assert code == 1
    assert fixed.windows == [Window(END - 3600 - 600, END - 3600, 15)]
    doc = json.loads(capsys.readouterr().out)
    assert [(g["key"], g["agent_id"], g["status"]) for g in doc["gates"]] == [
        ("ttft_p99", "billing", "fail"), ("ttft_p99", "sales", "pass"),
        ("stt_p90", "billing", "pass"), ("stt_p90", "sales", "pass"),
    ]
    assert doc["window"]["end"] == "2023-11-14T21:13:20Z" and doc["source"] == "http://prom.test:9090"


def test_critical_flag_gates_every_threshold(source, capsys):
    source(HEALTHY)
    assert main(["check", "--critical", "--prometheus", "http://p:1", "--json"]) == 2  # most stats have no data
    doc = json.loads(capsys.readouterr().out)
    statuses = {g["key"]: g["status"] for g in doc["gates"]}
    assert statuses["ttft_p99"] == "pass" and statuses["mos"] == "no data"
    assert len(statuses) == 13


@pytest.mark.parametrize(
    "argv, problem",
    [
        (["check", "--prometheus", "http://p:1"], "no gates given"),
        (["check", "--ttft-p99", "fast", "--prometheus", "http://p:1"], "--ttft-p99: not a number"),
        (["check", "--max", "bogus=1", "--prometheus", "http://p:1"], "unknown gate key 'bogus'"),
        (["check", "--ttft-p99", "1", "--window", "0s", "--prometheus", "http://p:1"], "--window: must be positive"),
        (["check", "--ttft-p99", "1", "--at", "yesterday", "--prometheus", "http://p:1"], "--at: not a time"),
        (["check", "--ttft-p99", "1", "--agent", "a", "--each-agent", "--prometheus", "http://p:1"], "either --agent"),
    ],
)
def test_usage_errors_exit_2(source, capsys, argv, problem):
    source(HEALTHY)
    assert main(argv) == 2
    assert problem in capsys.readouterr().err


def test_without_any_source_is_a_usage_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("VOICETOP_PROMETHEUS_URL", raising=False)
    monkeypatch.delenv("VOICETOP_CONFIG", raising=False)
    assert main(["check", "--ttft-p99", "1200"]) == 2
    assert "no metrics source" in capsys.readouterr().err


def test_critical_gates_use_per_agent_overrides_when_gating_agents():
    thresholds = ThresholdSet().with_overrides({"ttft_p99": {"critical": 2500.0}}, "billing")
    gates = [g for g in critical_gates(thresholds) if g.key == "ttft_p99"]
    data = {"ttft_p99": {None: series(1, 1, 1, 1, 2000), "billing": series(1, 1, 1, 1, 2000),
                         "sales": series(1, 1, 1, 1, 2000)}}
    each = evaluate_gates(result(data), gates, each_agent=True, thresholds=thresholds)
    assert [(r.agent_id, r.gate.limit, r.status) for r in each.results] == [
        ("billing", 2500, PASS), ("sales", 1200, FAIL)
    ]
    fleet = evaluate_gates(result(data), gates, thresholds=thresholds)
    assert [(r.gate.limit, r.status) for r in fleet.results] == [(1200, FAIL)]
    explicit = evaluate_gates(result(data), [make_gate("ttft_p99", 1200, "max")], agents=["billing"], thresholds=thresholds)
    assert explicit.results[0].status == FAIL  # a flag's limit is never overridden
