"""sources.factory: config -> sources, with one-line UsageErrors naming the key."""

from __future__ import annotations

from dataclasses import replace

import pytest

from voicetop.cli import UsageError
from voicetop.config import Config, Connection, Context
from voicetop.sources.factory import metrics_source, trace_profile_name, trace_source
from voicetop.sources.prometheus import PrometheusSource


def config(**context) -> Config:
    return Config(context=Context("prod", **context))


def test_metrics_source_uses_connection_and_profile(tmp_path):
    profile = tmp_path / "ops.toml"
    profile.write_text("[profile]\nagent_label = 'service'\ntraces = 'livekit'\n")
    cfg = config(prometheus=Connection(url="http://127.0.0.1:1/"), profile=str(profile))
    source = metrics_source(cfg)
    try:
        assert isinstance(source, PrometheusSource)
        assert source.url == "http://127.0.0.1:1"
        assert source.profile.agent_label == "service"
    finally:
        source.close()
    assert trace_profile_name(cfg) == "livekit"
    assert trace_profile_name(replace(cfg, context=replace(cfg.context, profile="pipecat"))) == "pipecat"


@pytest.mark.parametrize(
    "context, message",
    [
        ({}, "contexts.prod.prometheus: no Prometheus URL"),
        ({"prometheus": Connection(url="ftp://x")}, "contexts.prod.prometheus: not an http(s) URL: ftp://x"),
        ({"prometheus": Connection(url="http://u:pw@h:99999/")}, "contexts.prod.prometheus: not an http(s) URL"),
        ({"prometheus": Connection(url="http://h", bearer_token_env="NOPE_TOKEN_VAR")},
         "contexts.prod.prometheus: bearer_token_env: environment variable NOPE_TOKEN_VAR is not set"),
        ({"prometheus": Connection(url="http://h"), "profile": "sed"}, "key 'profile': no builtin profile 'sed'"),
    ],
)
def test_metrics_source_errors(context, message, monkeypatch):
    monkeypatch.delenv("NOPE_TOKEN_VAR", raising=False)
    with pytest.raises(UsageError) as info:
        metrics_source(config(**context))
    assert message in str(info.value)
    assert "pw" not in str(info.value)


def test_bad_profile_file_names_the_key(tmp_path):
    profile = tmp_path / "bad.toml"
    profile.write_text("[metrics]\nttft = 3\n")
    with pytest.raises(UsageError, match=r"key 'metrics.ttft': expected a table"):
        metrics_source(config(prometheus=Connection(url="http://h"), profile=str(profile)))


def test_trace_source_none_without_url():
    assert trace_source(config(prometheus=Connection(url="http://h"))) is None


@pytest.mark.parametrize("kind, class_name", [("jaeger", "JaegerTraceSource"), ("tempo", "TempoTraceSource")])
def test_trace_source_by_kind(kind, class_name):
    source = trace_source(config(traces=Connection(url="http://127.0.0.1:1"), traces_kind=kind))
    try:
        assert type(source).__name__ == class_name
    finally:
        source.close()


def test_trace_source_bad_url():
    with pytest.raises(UsageError, match="contexts.prod.traces: not an http"):
        trace_source(config(traces=Connection(url="jaeger:16686")))
