"""Demo spans follow the seed profile; the demo TraceSource answers like a real backend."""

from __future__ import annotations

import statistics

import pytest

from voicetop.sources.base import SourceError
from voicetop.sources.demo import DemoFleet
from voicetop.sources.demo.spans import SpanStore, TurnRecord, TurnTracer

START = 1_767_225_600.0
CHILDREN = {"stt_processing", "llm_inference", "tool_invocation", "tts_synthesis"}


@pytest.fixture(scope="module")
def fleet() -> DemoFleet:
    return DemoFleet(seed=7, speed=0, start=START)


def test_turn_spans_follow_the_seed_profile(fleet):
    turns = fleet.traces.recent_turns(None, START - 600, START, limit=100_000)
    assert len(turns) > 200
    with_tool = next(t for t in turns if t.tool_calls)
    for turn in (turns[-1], with_tool):
        trace = fleet.traces.trace(turn.trace_id)
        root = trace.root()
        assert root.name == "voice_turn" and root.parent_id is None
        assert root.service == turn.agent_id
        attrs = root.attributes
        assert attrs["session.id"] == turn.session_id and attrs["agent.id"] == turn.agent_id
        assert attrs["turn.index"] == turn.index and attrs["room"].startswith("room-")
        assert isinstance(attrs["turn.interrupted"], bool)
        assert attrs["llm.ttft_ms"] == pytest.approx(turn.stages["ttft"])
        assert attrs["eou.delay_ms"] == pytest.approx(turn.stages["eou"])
        children = {s.name: s for s in trace.spans if s.parent_id == root.span_id}
        assert set(children) <= CHILDREN and {"stt_processing", "llm_inference", "tts_synthesis"} <= set(children)
        assert len(trace.spans) == len(children) + 1
        llm = children["llm_inference"].attributes
        assert llm["llm.prompt_tokens"] > 0 and llm["llm.completion_tokens"] > 0 and llm["llm.model"]
        assert children["tts_synthesis"].attributes["tts.character_count"] > 0
        assert root.duration_ms == pytest.approx(turn.stages["e2e"], abs=0.01)
        assert children["stt_processing"].duration_ms == pytest.approx(turn.stages["stt"], abs=0.01)
        assert turn.tokens == llm["llm.prompt_tokens"] + llm["llm.completion_tokens"]
        assert all(len(s.trace_id) == 32 and len(s.span_id) == 16 for s in trace.spans)
    tool = next(s for s in fleet.traces.trace(with_tool.trace_id).spans if s.name == "tool_invocation")
    assert tool.attributes["tool.name"] and isinstance(tool.attributes["tool.success"], bool)


def test_sessions_turns_and_recent_turns(fleet):
    sessions = fleet.traces.sessions(None, START - 300, START)
    assert len(sessions) > 100
    assert [s.last_seen for s in sessions] == sorted((s.last_seen for s in sessions), reverse=True)
    billing = fleet.traces.sessions("billing-agent", START - 300, START, limit=5)
    assert 0 < len(billing) <= 5 and {s.agent_id for s in billing} == {"billing-agent"}
    session = billing[0]
    turns = fleet.traces.turns(session.session_id, START - 300, START)
    assert turns and [t.start for t in turns] == sorted(t.start for t in turns)
    assert {t.session_id for t in turns} == {session.session_id}
    assert session.turns == max(t.index for t in turns) + 1
    assert session.last_e2e_ms == pytest.approx(turns[-1].stages["e2e"])
    assert session.worst_e2e_ms == pytest.approx(max(t.stages["e2e"] for t in turns))
    assert session.room.startswith("room-billing-")
    recent = fleet.traces.recent_turns("triage", START - 60, START, limit=7)
    assert len(recent) == 7 and all(t.agent_id == "triage" for t in recent)
    assert all(START - 60 <= t.start <= START for t in recent)
    assert [t.start for t in recent] == sorted(t.start for t in recent)
    assert fleet.traces.sessions(None, START + 3600, START + 7200) == []


def test_unknown_trace_is_a_source_error(fleet):
    with pytest.raises(SourceError, match="not found"):
        fleet.traces.trace("0" * 32)


def test_the_llm_slowdown_dominates_billing_waterfalls(fleet):
    # The slowdown ran 6..3 minutes before launch; its turns are kept (tail sampling).
    billing = fleet.traces.recent_turns("billing-agent", START - 330, START - 200, limit=1000)
    healthy = fleet.traces.recent_turns("triage", START - 60, START, limit=1000)
    assert len(billing) > 40 and len(healthy) > 20
    assert statistics.median(t.stages["ttft"] for t in billing) > 1000
    assert statistics.median(t.stages["ttft"] for t in healthy) < 400
    sessions = fleet.traces.sessions("billing-agent", START - 330, START - 200)
    assert sessions and max(s.worst_e2e_ms for s in sessions) > 4000
    dominated = 0
    for turn in billing:
        spans = fleet.traces.trace(turn.trace_id).spans
        longest = max((s for s in spans if s.name != "voice_turn"), key=lambda s: s.duration_ms)
        dominated += longest.name == "llm_inference"
    assert dominated >= 0.9 * len(billing)


def test_tool_timeouts_show_as_failed_tool_spans():
    fleet = DemoFleet(seed=7, speed=0, start=START, history=300)
    fleet.advance(150)  # well into the tool-timeout incident
    turns = fleet.traces.recent_turns("booking", START + 30, START + 150, limit=1000)
    failed = [t for t in turns if t.tool_errors]
    assert failed
    spans = fleet.traces.trace(failed[0].trace_id).spans
    tool = next(s for s in spans if s.name == "tool_invocation")
    assert tool.status_error and tool.attributes["tool.success"] is False
    assert tool.attributes["tool.outcome"] == "timeout" and tool.duration_ms >= 3000


def record(index: int, start: float) -> TurnRecord:
    return TurnRecord(
        "triage", f"s-{index % 3}", "room-t-1", index, start, 100.0, 200.0, 300.0, 900.0, 80.0, 800.0,
        None, 0.0, "success", 500, 40, 160, "m", "stt", "tts", False, None,
    )


def test_span_store_is_bounded_by_count_and_age():
    store = SpanStore(retention=60.0, max_traces=5)
    tracer = TurnTracer(["triage"], seed=1, processors=[store])
    for i in range(8):
        tracer.emit(record(i, START + i))
    kept = store.turns()
    assert [turn.index for _, turn, _ in kept] == [3, 4, 5, 6, 7]
    assert store.trace(kept[0][1].trace_id) is not None
    tracer.emit(record(8, START + 500))
    assert [turn.index for _, turn, _ in store.turns()] == [8]
    assert sum(1 for i in range(8) if store.trace(kept[0][1].trace_id)) == 0


def test_span_ids_are_reproducible_under_a_seed():
    ids = []
    for _ in range(2):
        store = SpanStore()
        TurnTracer(["triage"], seed=3, processors=[store]).emit(record(0, START))
        ids.append([s.span_id for s in store.trace(store.turns()[0][1].trace_id).spans])
    assert ids[0] == ids[1] and len(set(ids[0])) == 4
