"""Config: TOML file, contexts, env overrides and one-line errors."""

import subprocess
import sys

import pytest

from voicetop.config import ConfigError, load_config, parse_config

GOOD = """
current_context = "prod"
refresh = "5s"
theme = "light"

[thresholds]
ttft_p99 = { warning = 700, critical = 1100, for = "3m" }
wer = [4, 7]

[thresholds.agents.billing]
ttft_p99 = [1000, 1500]

[contexts.prod]
prometheus = { url = "https://prom.example:9090", bearer_token_env = "PROM_TOKEN", tenant = "team-a" }
traces = "http://jaeger:16686"
traces_kind = "jaeger"
write = true

[contexts.staging]
prometheus = "http://prom-staging:9090"
profile = "livekit"
"""


def test_parses_contexts_thresholds_and_durations(tmp_path):
    config = parse_config(GOOD, tmp_path / "c.toml")
    assert config.refresh == 5.0 and config.theme == "light"
    assert config.contexts == ("prod", "staging")
    ctx = config.context
    assert ctx.name == "prod" and ctx.write is True
    assert ctx.prometheus.url == "https://prom.example:9090"
    assert ctx.prometheus.bearer_token_env == "PROM_TOKEN" and ctx.prometheus.tenant == "team-a"
    assert ctx.traces.url == "http://jaeger:16686"
    rule = ctx.thresholds.rule("ttft_p99")
    assert (rule.warning, rule.critical, rule.for_seconds) == (700, 1100, 180)
    wer = ctx.thresholds.rule("wer")
    assert (wer.warning, wer.critical) == pytest.approx((0.04, 0.07))  # percent in the file
    assert ctx.thresholds.rule("ttft_p99", "billing").warning == 1000
    assert ctx.thresholds.rule("ttft_p99", "billing").for_seconds == 180


def test_select_other_context(tmp_path):
    config = parse_config(GOOD, tmp_path / "c.toml", "staging")
    assert config.context.name == "staging"
    assert config.context.profile == "livekit"
    assert config.context.write is False


@pytest.mark.parametrize(
    "text, line, key",
    [
        ('refresh = "2s"\nbogus = 1\n', 2, "bogus"),
        ('[thresholds]\nttft_p99 = [1]\n', 2, "thresholds.ttft_p99"),
        ('[thresholds]\nnot_a_stat = [1, 2]\n', 2, "thresholds.not_a_stat"),
        ('refresh = "soon"\n', 1, "refresh"),
        ('[contexts.a]\nprometheus = { uri = "x" }\n', 2, "contexts.a.prometheus.uri"),
        ('[contexts.a]\ntraces_kind = "zipkin"\n', 2, "contexts.a.traces_kind"),
        ('current_context = "nope"\n[contexts.a]\nprofile = "seed"\n', 1, "current_context"),
    ],
)
def test_errors_name_file_line_and_key(tmp_path, text, line, key):
    path = tmp_path / "bad.toml"
    with pytest.raises(ConfigError) as info:
        parse_config(text, path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: key '{key}'"), message
    assert "\n" not in message


def test_toml_syntax_error_names_line(tmp_path):
    path = tmp_path / "broken.toml"
    with pytest.raises(ConfigError) as info:
        parse_config("refresh = \n", path)
    assert str(path) in str(info.value) and "line 1" in str(info.value)


def test_env_overrides_and_config_path(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(GOOD)
    env = {
        "VOICETOP_CONFIG": str(path),
        "VOICETOP_REFRESH": "750ms",
        "VOICETOP_THEME": "high-contrast",
        "VOICETOP_LOW_BANDWIDTH": "1",
        "VOICETOP_PROMETHEUS_URL": "http://other:9090",
        "VOICETOP_CONTEXT": "staging",
    }
    config = load_config(None, None, env)
    assert config.refresh == 0.75 and config.theme == "high-contrast" and config.low_bandwidth
    assert config.context.name == "staging"
    assert config.context.prometheus.url == "http://other:9090"


def test_missing_default_file_gives_defaults(tmp_path, monkeypatch):
    monkeypatch.setattr("voicetop.config.default_config_path", lambda: tmp_path / "none.toml")
    config = load_config(None, None, {})
    assert config.context.name == "default" and config.refresh == 2.0
    assert config.context.thresholds.rule("ttft_p99").warning == 800


def test_explicit_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.toml", None, {})


def test_cli_broken_config_prints_one_line_and_exits_2(tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text('[thresholds]\nttft_p99 = { warning = "fast" }\n')
    proc = subprocess.run(
        [sys.executable, "-m", "voicetop", "--config", str(bad), "--demo"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(bad) in lines[0] and ":2:" in lines[0] and "thresholds.ttft_p99.warning" in lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout == ""
