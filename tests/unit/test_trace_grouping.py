"""Trace-derived stats grouped by span attributes (issue #9): turn labels from
OTel-SDK traces in each span profile, per-group percentiles, profile TOML."""

from __future__ import annotations

import pytest

from tests.support.otel_traces import MS, _Recorder, to_otlp
from voicetop.domain.compare import group_key, trace_stage_stats_by_group
from voicetop.domain.model import QUANTILES, Turn
from voicetop.domain.stats import percentile
from voicetop.domain.turns import turns_from_traces
from voicetop.profiles.spans import LIVEKIT, PIPECAT, SEED, ProfileError, profile_from_toml
from voicetop.sources.otlp import parse_otlp_traces

START = 1_700_000_000_000 * MS
#: (prompt version, model, e2e ms of each turn): v2 answers are slower.
SESSIONS = (
    ("v1.0.0", "gpt-4o-mini", (900, 1000, 1100, 1200)),
    ("v2.0.0", "gpt-4o", (2900, 3000, 3100)),
)


def seed_traces(rec: _Recorder):
    t = START
    for s, (version, model, e2es) in enumerate(SESSIONS):
        for i, e2e in enumerate(e2es):
            root = rec.start("voice_turn", t, attributes={
                "session.id": f"s{s}", "agent.id": "bot", "turn.index": i, "prompt.version": version,
                "llm.ttft_ms": 300,
            })
            rec.leaf("llm_inference", t + 100 * MS, 500 * MS, root, {"llm.model": model})
            root.end(end_time=t + e2e * MS)
            t += 10_000 * MS


def livekit_traces(rec: _Recorder):
    """The prompt version on ``agent_session`` (an ancestor) for the first session,
    on ``agent_turn`` for the second; the model on ``llm_request``."""
    t = START
    for s, (version, model, e2es) in enumerate(SESSIONS):
        on_session = {"prompt.version": version} if s == 0 else {}
        session = rec.start("agent_session", t, attributes={"lk.agent_name": "bot", **on_session})
        for i, e2e in enumerate(e2es):
            t += 1000 * MS
            on_turn = {"prompt.version": version} if s == 1 else {}
            turn = rec.start("agent_turn", t, session, {"lk.e2e_latency": e2e / 1000, **on_turn})
            node = rec.start("llm_node", t, turn, {"lk.response.ttft": 0.3})
            rec.leaf("llm_request", t, 400 * MS, node, {"gen_ai.request.model": model})
            node.end(end_time=t + 400 * MS)
            turn.end(end_time=t + 500 * MS)
            t += 5000 * MS
        session.end(end_time=t)


def pipecat_traces(rec: _Recorder):
    t = START
    for s, (version, model, e2es) in enumerate(SESSIONS):
        conversation = rec.start("conversation", t, attributes={"conversation.id": f"c{s}"})
        for i, e2e in enumerate(e2es):
            t += 1000 * MS
            turn = rec.start("turn", t, conversation, {
                "turn.number": i + 1, "turn.user_bot_latency_seconds": e2e / 1000, "prompt.version": version,
            })
            rec.leaf("llm", t, 400 * MS, turn, {"metrics.ttfb": 0.3, "gen_ai.request.model": model})
            turn.end(end_time=t + 500 * MS)
            t += 5000 * MS
        conversation.end(end_time=t)


PROFILES = {"seed": (seed_traces, SEED), "livekit": (livekit_traces, LIVEKIT), "pipecat": (pipecat_traces, PIPECAT)}


def turns_of(name: str, explicit: bool = True) -> list[Turn]:
    make, profile = PROFILES[name]
    rec = _Recorder("bot", seed=5)
    make(rec)
    traces = parse_otlp_traces(to_otlp(rec.spans()))
    return turns_from_traces(traces, profile if explicit else None)


@pytest.mark.parametrize("name", PROFILES)
def test_turns_carry_prompt_version_and_model_from_their_spans(name):
    turns = turns_of(name)
    assert len(turns) == 7
    got = [(t.labels.get("prompt_version"), t.labels.get("model")) for t in turns]
    want = [(v, m) for v, m, e2es in SESSIONS for _ in e2es]
    assert got == want


@pytest.mark.parametrize("name", PROFILES)
@pytest.mark.parametrize("explicit", [True, False])
def test_stage_stats_by_group_are_each_versions_percentiles(name, explicit):
    turns = turns_of(name, explicit)
    agent = turns[0].agent_id
    by_group = trace_stage_stats_by_group(turns, "prompt_version")
    assert set(by_group) == {
        group_key(agent, "v1.0.0"), group_key(agent, "v2.0.0"),
        group_key(None, "v1.0.0"), group_key(None, "v2.0.0"),
    }
    for version, _, e2es in SESSIONS:
        for key in (group_key(agent, version), group_key(None, version)):
            e2e = by_group[key]["e2e"]
            assert e2e.derived_from == "traces"
            for quantile, q in QUANTILES:
                assert e2e.quantile(quantile) == pytest.approx(percentile([float(v) for v in e2es], q))
            assert by_group[key]["ttft"].p50 == pytest.approx(300.0)
    assert by_group[group_key(None, "v2.0.0")]["e2e"].p50 > 2 * by_group[group_key(None, "v1.0.0")]["e2e"].p50
    by_model = trace_stage_stats_by_group(turns, "model")
    assert by_model[group_key(None, "gpt-4o")]["e2e"].p50 == pytest.approx(3000.0)


def test_grouping_keeps_agents_apart_and_skips_turns_without_the_label():
    def turn(agent, version, e2e):
        labels = {"prompt_version": version} if version else {}
        return Turn("t", "s", agent, 0, 0.0, {"e2e": e2e}, labels=labels)

    turns = [turn("a", "v1", 100.0), turn("a", "v1", 300.0), turn("b", "v1", 1000.0), turn("b", None, 9999.0)]
    by_group = trace_stage_stats_by_group(turns, "prompt_version")
    assert set(by_group) == {group_key("a", "v1"), group_key("b", "v1"), group_key(None, "v1")}
    assert by_group[group_key("a", "v1")]["e2e"].p50 == pytest.approx(200.0)
    assert by_group[group_key("b", "v1")]["e2e"].p99 == pytest.approx(1000.0)
    assert by_group[group_key(None, "v1")]["e2e"].p50 == pytest.approx(300.0)
    assert trace_stage_stats_by_group(turns, "region") == {}


def test_profile_group_attributes_are_read_by_backends_and_overridable_in_toml():
    assert "prompt.version" in SEED.attribute_keys()
    assert "gen_ai.request.model" in LIVEKIT.attribute_keys()
    custom = profile_from_toml(
        'extends = "seed"\n[group_attributes]\nprompt_version = "app.prompt"\nregion = ["cloud.region", "region"]\n'
    )
    assert custom.group_attributes["prompt_version"] == ("app.prompt",)
    assert custom.group_attributes["region"] == ("cloud.region", "region")
    assert custom.group_attributes["model"] == SEED.group_attributes["model"]  # inherited
    assert "cloud.region" in custom.attribute_keys()
    with pytest.raises(ProfileError, match="group_attributes.region"):
        profile_from_toml('[group_attributes]\nregion = 3\n', "p.toml")


def test_demo_spans_carry_prompt_version_and_model():
    from voicetop.sources.demo import DemoFleet
    from voicetop.sources.demo.rollout import PROMPT_ROLLOUT

    fleet = DemoFleet(seed=7, speed=0, start=1_767_225_600.0)
    try:
        now = fleet.metrics.now()
        turns = fleet.traces.recent_turns(None, now - 600, now, 2000)
        assert turns and all(t.labels.get("model") for t in turns)
        versions = {t.labels["prompt_version"] for t in turns if t.agent_id == PROMPT_ROLLOUT.agent_id}
        assert versions == {PROMPT_ROLLOUT.new}  # rolled out 14 min before launch
        others = {t.labels["prompt_version"] for t in turns if t.agent_id != PROMPT_ROLLOUT.agent_id}
        assert others == {"v1.8.0"}
        root = fleet.traces.trace(turns[-1].trace_id).root()
        assert root.attributes["prompt.version"] == turns[-1].labels["prompt_version"]
    finally:
        fleet.metrics.close()
