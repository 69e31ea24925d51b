"""Turn, stage, session and trace-percentile derivation from span trees."""

from __future__ import annotations

import pytest

from tests.support.otel_traces import livekit_sessions, pipecat_sessions, seed_sessions, to_otlp
from voicetop.domain.model import Span, Trace
from voicetop.domain.stats import percentile
from voicetop.domain.turns import (
    derive_turn,
    derive_turns,
    sessions_from_turns,
    trace_stage_stats,
    trace_stage_stats_by_agent,
    turn_subtree,
    turns_from_traces,
)
from voicetop.profiles.spans import LIVEKIT, PIPECAT, SEED
from voicetop.sources.otlp import parse_otlp_traces

GENERATORS = {
    "seed": (seed_sessions, SEED),
    "livekit": (livekit_sessions, LIVEKIT),
    "pipecat": (pipecat_sessions, PIPECAT),
}


def check(turns, expected):
    assert len(turns) == len(expected)
    for turn, want in zip(turns, expected):
        assert turn.trace_id == want.trace_id
        assert turn.root_span_id == want.root_span_id
        assert turn.session_id == want.session_id
        assert turn.agent_id == want.agent_id
        assert turn.index == want.index
        assert turn.start == want.start_ns / 1e9
        assert turn.stages.keys() == want.stages.keys()
        for stage, value in want.stages.items():
            assert turn.stages[stage] == pytest.approx(value, abs=1e-6), stage
        assert turn.interrupted == want.interrupted
        assert turn.tokens == want.tokens
        assert [(t.name, t.error) for t in turn.tools] == want.tools
        assert turn.tool_calls == len(want.tools)
        assert turn.tool_errors == sum(1 for _, error in want.tools if error)


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.parametrize("explicit", [True, False])
def test_turns_of_each_profile(name, explicit):
    make, profile = GENERATORS[name]
    generated = make()
    traces = parse_otlp_traces(to_otlp(generated.spans))
    turns = turns_from_traces(traces, profile if explicit else None)
    check(turns, generated.turns)


def test_seed_turn_details():
    generated = seed_sessions(sessions=2, turns=3)
    traces = parse_otlp_traces(to_otlp(generated.spans))
    turn = derive_turn(next(t for t in traces if t.trace_id == generated.turns[1].trace_id), SEED)
    assert turn.tool_calls == 1 and turn.tool_errors == 0
    assert turn.tools[0].duration_ms > 0
    assert turn.duration_ms == pytest.approx(generated.turns[1].stages["e2e"])
    failing = derive_turn(next(t for t in traces if t.trace_id == generated.turns[4].trace_id), SEED)
    assert failing.tool_errors == 1  # tool.success = false (and an error status)


def test_livekit_live_session_without_root_and_session_id_is_stable():
    generated = livekit_sessions(sessions=2, turns=3, live_last=True)
    traces = parse_otlp_traces(to_otlp(generated.spans))
    live = next(t for t in traces if t.trace_id == generated.turns[-1].trace_id)
    assert "agent_session" not in {s.name for s in live.spans}  # not exported yet
    turns = derive_turns(live, LIVEKIT)
    assert [t.session_id for t in turns] == [live.trace_id] * 3
    assert all(t.agent_id == "lk-agent" for t in turns)  # resource service.name
    finished = next(t for t in traces if t.trace_id == generated.turns[0].trace_id)
    assert {t.room for t in derive_turns(finished, LIVEKIT)} == {"room-0"}  # from the session root
    assert {t.session_id for t in derive_turns(finished, LIVEKIT)} == {finished.trace_id}


def test_turns_from_search_spans_without_parent_links():
    """Tempo span sets carry no parents: turns are matched by time containment."""
    generated = livekit_sessions(sessions=1, turns=3, live_last=False)
    (trace,) = parse_otlp_traces(to_otlp(generated.spans))
    unlinked = Trace(trace.trace_id, tuple(Span(**{**s.__dict__, "parent_id": None}) for s in trace.spans))
    check(derive_turns(unlinked, LIVEKIT), generated.turns)


def test_turn_subtree_picks_one_turn_of_a_conversation():
    generated = pipecat_sessions(sessions=1, turns=3)
    (trace,) = parse_otlp_traces(to_otlp(generated.spans))
    second = derive_turns(trace, PIPECAT)[1]
    subtree = turn_subtree(trace, second, PIPECAT)
    assert [s.name for s in subtree.spans] == ["turn", "stt", "llm", "tts"]
    assert subtree.spans[0].span_id == second.root_span_id


def test_no_turn_root_gives_none():
    span = Span("a" * 32, "b" * 16, None, "GET /health", "web", 0, 1_000_000)
    assert derive_turn(Trace("a" * 32, (span,)), SEED) is None
    assert derive_turns(Trace("a" * 32, ()), None) == []


def test_string_and_garbage_attribute_values():
    root = Span("a" * 32, "1" * 16, None, "voice_turn", "bot", 0, 2_000_000_000, {
        "llm.ttft_ms": "412.5", "eou.delay_ms": "soon", "turn.interrupted": "true", "session.id": "s1",
    })
    turn = derive_turn(Trace("a" * 32, (root,)), SEED)
    assert turn.stages == {"ttft": 412.5, "e2e": 2000.0}
    assert turn.interrupted is True
    assert turn.agent_id == "bot"


def test_an_integer_beyond_a_doubles_range_is_no_number():
    """A Jaeger tag of an unknown type passes its JSON value through: 10**400 must not raise (fuzzing found it)."""
    root = Span("a" * 32, "1" * 16, None, "voice_turn", "bot", 0, 2_000_000_000, {
        "llm.ttft_ms": 10**400, "eou.delay_ms": -(10**400), "session.id": "s1",
    })
    turn = derive_turn(Trace("a" * 32, (root,)), SEED)
    assert turn.stages == {"e2e": 2000.0}


def test_trace_stage_stats_are_percentiles_of_turns():
    generated = seed_sessions(sessions=3, turns=4)
    turns = turns_from_traces(parse_otlp_traces(to_otlp(generated.spans)), SEED)
    stats = trace_stage_stats(turns)
    assert set(stats) == {"stt", "eou", "ttft", "llm", "tts", "e2e"}
    e2e = [t.stages["e2e"] for t in turns]
    assert stats["e2e"].derived_from == "traces"
    assert stats["e2e"].p50 == pytest.approx(percentile(e2e, 0.5))
    assert stats["e2e"].p99 == pytest.approx(percentile(e2e, 0.99))
    assert stats["e2e"].p50 <= stats["e2e"].p90 <= stats["e2e"].p95 <= stats["e2e"].p99
    by_agent = trace_stage_stats_by_agent(turns)
    assert set(by_agent) == {None, "support-bot"}
    assert by_agent["support-bot"]["llm"] == stats["llm"]
    pipecat = turns_from_traces(parse_otlp_traces(to_otlp(pipecat_sessions().spans)), PIPECAT)
    assert "eou" not in trace_stage_stats(pipecat)  # Pipecat has no EOU timing
    assert trace_stage_stats([]) == {}


def test_sessions_from_turns():
    generated = seed_sessions(sessions=2, turns=3)
    turns = turns_from_traces(parse_otlp_traces(to_otlp(generated.spans)), SEED)
    sessions = sessions_from_turns(turns)
    assert [s.session_id for s in sessions] == ["sess-support-bot-1", "sess-support-bot-0"]  # newest first
    first = sessions[1]
    mine = [t for t in generated.turns if t.session_id == "sess-support-bot-0"]
    assert first.turns == 3 and first.agent_id == "support-bot"
    assert first.started == mine[0].start_ns / 1e9
    assert first.last_e2e_ms == pytest.approx(mine[-1].stages["e2e"])
    assert first.worst_e2e_ms == pytest.approx(max(t.stages["e2e"] for t in mine))
    assert first.last_seen == pytest.approx(mine[-1].start_ns / 1e9 + mine[-1].stages["e2e"] / 1000)
    assert first.interruptions == 1
    assert first.tokens == sum(t.tokens for t in mine)
