"""Builtin span profiles, auto-detection and user profiles in TOML."""

from __future__ import annotations

import pytest

from tests.support.otel_traces import livekit_sessions, pipecat_sessions, seed_sessions, to_otlp
from voicetop.profiles.spans import (
    BUILTIN_PROFILES,
    LIVEKIT,
    PIPECAT,
    SEED,
    ProfileError,
    StageRule,
    detect_profile,
    load_span_profile,
    profile_from_toml,
)
from voicetop.sources.otlp import parse_otlp_traces


def spans_of(generated):
    return [s for t in parse_otlp_traces(to_otlp(generated.spans)) for s in t.spans]


def test_builtins_follow_the_design_table():
    assert set(BUILTIN_PROFILES) == {"seed", "livekit", "pipecat"}
    assert SEED.turn_roots == ("voice_turn",)
    assert LIVEKIT.turn_roots == ("agent_turn",) and LIVEKIT.companions == ("user_turn",)
    assert PIPECAT.turn_roots == ("turn",)
    assert LIVEKIT.stages["ttft"] == (StageRule(("llm_node",), "lk.response.ttft", 1000.0),)
    assert PIPECAT.stages["e2e"] == (StageRule((), "turn.user_bot_latency_seconds", 1000.0),)
    assert SEED.stages["llm"] == (StageRule(("llm_inference",), None, 1.0, "sum"),)
    # the demo fleet's root attributes
    assert {"llm.ttft_ms", "eou.delay_ms", "turn.interrupted", "turn.index", "session.id", "agent.id"} <= set(
        SEED.attribute_keys()
    )


def test_stage_of_span_colours():
    assert SEED.stage_of_span("stt_processing") == "stt"
    assert SEED.stage_of_span("llm_inference") == "llm"
    assert SEED.stage_of_span("tool_invocation") == "tool"
    assert SEED.stage_of_span("tts_synthesis") == "tts"
    assert SEED.stage_of_span("voice_turn") is None
    assert LIVEKIT.stage_of_span("llm_node") == "llm"  # holds TTFT, coloured as LLM
    assert LIVEKIT.stage_of_span("user_turn") == "stt"
    assert LIVEKIT.stage_of_span("eou_detection") == "eou"
    assert PIPECAT.stage_of_span("tts") == "tts"


@pytest.mark.parametrize(
    "generated, expected",
    [(seed_sessions(sessions=1, turns=1), "seed"),
     (livekit_sessions(sessions=1, turns=1), "livekit"),
     (pipecat_sessions(sessions=1, turns=1), "pipecat")],
)
def test_detect_profile_from_span_names(generated, expected):
    assert detect_profile(spans_of(generated)).name == expected


def test_detect_falls_back_to_seed():
    assert detect_profile([]).name == "seed"


def test_toml_profile_extends_and_overrides(tmp_path):
    text = """
name = "acme"
extends = "livekit"
turn_roots = ["acme_turn"]
session_attrs = "acme.session"

[stages.ttft]
span = "acme_llm"
attr = "ttft"
unit = "s"

[[stages.tts]]
span = "acme_tts"
attr = "ttfb_us"
unit = "us"

[[stages.tts]]
span = "acme_tts"

[span_stages]
acme_llm = "llm"
"""
    profile = profile_from_toml(text, "acme.toml")
    assert profile.name == "acme"
    assert profile.turn_roots == ("acme_turn",)
    assert profile.session_attrs == ("acme.session",)
    assert profile.stages["ttft"] == (StageRule(("acme_llm",), "ttft", 1000.0),)
    assert profile.stages["tts"] == (StageRule(("acme_tts",), "ttfb_us", 0.001), StageRule(("acme_tts",)))
    assert profile.stages["stt"] == LIVEKIT.stages["stt"]  # inherited
    assert profile.companions == ("user_turn",)
    assert profile.stage_of_span("acme_llm") == "llm"
    path = tmp_path / "acme.toml"
    path.write_text(text)
    assert load_span_profile(str(path)) == profile


def test_spans_table_in_a_shared_profile_file():
    text = """
[profile]
name = "shared"

[spans]
extends = "pipecat"
turn_roots = ["bot_turn"]
"""
    profile = profile_from_toml(text, "shared.toml")
    assert profile.turn_roots == ("bot_turn",)
    assert profile.stages == PIPECAT.stages


@pytest.mark.parametrize(
    "text, message",
    [
        ('turn_root = ["x"]', "unknown key 'turn_root'"),
        ('extends = "nope"', "key 'extends'"),
        ("[stages.latency]\nspan = 'x'", "unknown key 'stages.latency'"),
        ("[stages.stt]\nspan = 'x'\nunits = 's'", "unknown key 'stages.stt.units'"),
        ("[stages.stt]\nspan = 'x'\nunit = 'hours'", "key 'stages.stt.unit'"),
        ("[stages.stt]\nspan = 'x'\ncombine = 'avg'", "key 'stages.stt.combine'"),
        ("turn_roots = 3", "key 'turn_roots'"),
        ("[span_stages]\nx = 'audio'", "key 'span_stages.x'"),
        ("not toml =", "invalid TOML"),
    ],
)
def test_toml_errors_name_the_key(text, message):
    with pytest.raises(ProfileError) as info:
        profile_from_toml(text, "bad.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("bad.toml")


def test_load_span_profile_specs(tmp_path):
    assert load_span_profile(None) is None
    assert load_span_profile("auto") is None
    assert load_span_profile("livekit") is LIVEKIT
    with pytest.raises(ProfileError, match="unknown span profile 'vapi'"):
        load_span_profile("vapi")
    with pytest.raises(ProfileError, match="cannot read profile"):
        load_span_profile(str(tmp_path / "missing.toml"))
