"""Export → load → replay through the normal Poller gives the same numbers."""

from __future__ import annotations

import json
import math

import pytest

from test_export_data import END, WINDOW, frame, source_info, turns_with_traces
from voicetop.domain.model import QUANTILES, STAGES, HealthState
from voicetop.domain.thresholds import ThresholdSet
from voicetop.export import SCHEMA, load_snapshot, write_snapshot
from voicetop.poller import Poller, ViewWindow
from voicetop.sources.base import MetricsSource, SourceError, TraceSource
from voicetop.sources.snapshot import SnapshotMetricsSource, SnapshotTraceSource, replay_sources


def _breach_tuple(b):
    return (b.key, b.agent_id, b.severity, b.value, b.threshold, b.since, b.until, b.peak)


def _same(a, b):
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-12))


@pytest.fixture
def exported(tmp_path):
    original = frame()
    result = write_snapshot(
        original, turns_with_traces(), tmp_path, source_info=source_info(), created_at=END + 5
    )
    return original, result


def test_file_name_and_top_level_contract(exported, tmp_path):
    _, result = exported
    assert result.json_path == tmp_path / "voicetop-prod-20250101T030005Z.json"
    assert result.markdown_path == tmp_path / "voicetop-prod-20250101T030005Z.md"
    assert result.svg_path is None
    doc = json.loads(result.json_path.read_text())
    assert doc["schema"] == SCHEMA
    assert doc["window"] == {"start": "2025-01-01T02:45:00Z", "end": "2025-01-01T03:00:00Z", "step": 15.0}
    assert doc["created_at"] == "2025-01-01T03:00:05Z"
    billing = next(a for a in doc["agents"] if a["agent_id"] == "billing-agent")
    assert set(billing["stages"]) == {"ttft", "stt", "llm", "tts", "eou", "e2e"}
    assert set(billing["stages"]["e2e"]) >= {"p50", "p90", "p95", "p99"}
    for key in ("wer", "mos", "interruption_rate", "tool_success_rate", "active_sessions", "capacity_ratio", "series"):
        assert key in billing
    assert billing["wer"] == pytest.approx(0.03)
    assert billing["mos"] is None  # no data is null, never NaN
    crit = [b for b in doc["breaches"] if b["key"] == "e2e_p99" and b["agent_id"] == "billing-agent" and b["severity"] == "critical"]
    assert crit and crit[0]["since"] == "2025-01-01T02:50:00Z" and crit[0]["until"] is None
    fleet_breaches = [b for b in doc["breaches"] if b["agent_id"] is None]
    assert fleet_breaches, "fleet breaches carry agent_id null"
    assert doc["turns"][0]["spans"][0]["name"] == "voice_turn"
    assert doc["alerts"][0]["name"] == "VoiceE2EHigh"
    assert doc["health"][0]["state"] == "ok"
    assert "NaN" not in result.json_path.read_text()


def test_replay_through_poller_gives_same_breaches_and_stage_numbers(exported):
    original, result = exported
    snapshot = load_snapshot(result.json_path)
    source = SnapshotMetricsSource(snapshot)
    assert isinstance(source, MetricsSource)
    assert source.now() == END
    poller = Poller(
        source, snapshot.thresholds, lambda f: None,
        view=ViewWindow(length=WINDOW.duration, step=WINDOW.step, at=source.now()),
        context=snapshot.context, mode="replay",
    )
    replayed = poller.poll_once()
    assert replayed.mode == "replay"
    assert replayed.window == original.window
    assert replayed.health[0].state is HealthState.OK
    assert sorted(map(_breach_tuple, replayed.breaches), key=repr) == sorted(
        map(_breach_tuple, original.breaches), key=repr
    )
    assert {b.key for b in replayed.breaches} >= {"e2e_p99", "ttft_p99", "wer"}
    for before in (original.fleet, *original.agents):
        after = replayed.agent(before.agent_id)
        assert after is not None
        for stage in STAGES:
            for q, _ in QUANTILES:
                assert _same(before.stage_value(stage, q), after.stage_value(stage, q)), (before.agent_id, stage, q)
        for key, value in before.scalars.items():
            assert _same(value, after.scalar(key)), (before.agent_id, key)
        assert after.severity == before.severity
    assert [a.name for a in replayed.alerts] == ["VoiceE2EHigh"]


def test_stored_frame_matches_original(exported):
    original, result = exported
    stored = load_snapshot(result.json_path).frame()
    assert stored.window == original.window and stored.context == "prod" and stored.mode == "at"
    assert list(map(_breach_tuple, stored.breaches)) == list(map(_breach_tuple, original.breaches))
    assert [b.hint for b in stored.breaches] == [b.hint for b in original.breaches]
    assert stored.agent("billing-agent").series["e2e_p99"] == original.agent("billing-agent").series["e2e_p99"]
    nan_first = stored.fleet.series["e2e_p99"].values[0]
    assert math.isnan(nan_first), "gaps survive the round trip as NaN"


def test_per_agent_thresholds_survive_so_replay_reevaluates_the_same(tmp_path):
    custom = ThresholdSet().with_overrides({"e2e_p99": {"warning": 9000.0, "critical": 9500.0}}, "billing-agent")
    original = frame(custom)
    result = write_snapshot(original, (), tmp_path, thresholds=custom, created_at=END)
    snapshot = load_snapshot(result.json_path)
    assert snapshot.thresholds.rule("e2e_p99", "billing-agent").warning == 9000.0
    replayed = Poller(
        SnapshotMetricsSource(snapshot), snapshot.thresholds, lambda f: None,
        view=ViewWindow(900, 15, END),
    ).poll_once()
    assert not [b for b in replayed.breaches if b.key == "e2e_p99" and b.agent_id == "billing-agent"]
    assert sorted(map(_breach_tuple, replayed.breaches), key=repr) == sorted(
        map(_breach_tuple, original.breaches), key=repr
    )


def test_time_cursor_slices_and_outside_window_is_a_source_error(exported):
    _, result = exported
    snapshot = load_snapshot(result.json_path)
    source = SnapshotMetricsSource(snapshot)
    earlier = ViewWindow(length=900, step=15, at=END - 300).resolve(source.now())
    sliced = source.fetch(earlier)
    series = sliced.series["e2e_p99"]["billing-agent"]
    assert series.timestamps[0] == WINDOW.start and series.timestamps[-1] == END - 300
    poller = Poller(source, snapshot.thresholds, lambda f: None, view=ViewWindow(900, 15, END - 300))
    frame_earlier = poller.poll_once()
    wer = [b for b in frame_earlier.breaches if b.key == "wer"]
    assert wer and all(b.until == WINDOW.start + 510 for b in wer)
    with pytest.raises(SourceError, match="snapshot covers"):
        source.fetch(ViewWindow(900, 15, END - 3600).resolve(END))
    far = Poller(source, snapshot.thresholds, lambda f: None, view=ViewWindow(900, 15, END + 3600)).poll_once()
    assert far.health[0].state is HealthState.ERROR and "snapshot covers" in far.health[0].message


def test_trace_source_serves_sessions_turns_and_waterfalls(exported):
    _, result = exported
    metrics, traces = replay_sources(load_snapshot(result.json_path))
    assert isinstance(traces, TraceSource)
    sessions = traces.sessions(None, WINDOW.start, WINDOW.end)
    assert {s.session_id for s in sessions} == {"sess-1", "sess-2"}
    billing = traces.sessions("billing-agent", WINDOW.start, WINDOW.end)
    assert [s.session_id for s in billing] == ["sess-1"]
    assert billing[0].worst_e2e_ms == 7400.0
    turns = traces.turns("sess-1", WINDOW.start, WINDOW.end)
    assert [t.index for t in turns] == [1]
    assert turns[0].stages["e2e"] == 7400.0 and turns[0].tools[0].name == "refund"
    trace = traces.trace(turns[0].trace_id)
    assert trace.root().name == "voice_turn"
    assert len(trace.spans) == 5
    assert [s.name for s in sorted(trace.spans, key=lambda s: s.start_ns)][:2] == ["voice_turn", "stt_processing"]
    assert traces.recent_turns("support-agent", WINDOW.start, WINDOW.end)[0].session_id == "sess-2"
    assert traces.turns("sess-1", WINDOW.start - 7200, WINDOW.start - 3600) == []
    with pytest.raises(SourceError, match="not in the snapshot"):
        traces.trace("f" * 32)
    metrics.close()
    traces.close()


def test_recent_turns_without_spans_and_explicit_sessions(tmp_path):
    from dataclasses import replace

    from voicetop.domain.model import Session

    slow = turns_with_traces()
    extra = replace(slow[0][0], trace_id="e" * 32, index=9, start=END - 60, stages={"e2e": 900.0})
    session = Session("sess-1", "billing-agent", "room-1", END - 600, END - 60, 12, 900.0, 7400.0, 1, 5000)
    result = write_snapshot(frame(), slow, tmp_path, recent_turns=[extra], sessions=[session], created_at=END)
    traces = SnapshotTraceSource(load_snapshot(result.json_path))
    assert traces.sessions(None, WINDOW.start, WINDOW.end) == [session]
    assert [t.index for t in traces.turns("sess-1", WINDOW.start, WINDOW.end)] == [1, 9]
    with pytest.raises(SourceError):
        traces.trace("e" * 32)


class _Traces:
    """A TraceSource double over fixed turns; optionally failing on trace()."""

    name = "jaeger"

    def __init__(self, pairs, fail_trace=False):
        self.pairs = pairs
        self.fail_trace = fail_trace

    def sessions(self, agent_id, since, until, limit=500):
        return []

    def turns(self, session_id, since, until):
        return []

    def recent_turns(self, agent_id, since, until, limit=500):
        return [t for t, _ in self.pairs]

    def trace(self, trace_id):
        if self.fail_trace:
            raise SourceError("jaeger: timed out after 10s")
        return next(tr for t, tr in self.pairs if t.trace_id == trace_id)

    def close(self):
        pass


def test_export_frame_collects_slowest_turns_and_notes_trace_failures(tmp_path):
    from voicetop.config import Config, Connection, Context
    from voicetop.export import export_frame

    pairs = turns_with_traces()[::-1]  # the source returns the faster one first
    config = Config(context=Context("prod", prometheus=Connection("http://u:pw@prom:9090")))
    result = export_frame(frame(), config=config, traces=_Traces(pairs), out=tmp_path, svg="<svg/>", turns=1)
    snapshot = result.snapshot
    assert [t.stages["e2e"] for t in snapshot.turns] == [7400.0]
    assert snapshot.turns[0].trace_id in snapshot.traces
    assert len(snapshot.recent_turns) == 2 and snapshot.source["metrics"]["url"] == "http://prom:9090"
    assert len(result.paths) == 3

    failed = export_frame(frame(), config=config, traces=_Traces(pairs, fail_trace=True), out=tmp_path / "f.json")
    health = {h.name: h for h in failed.snapshot.health}
    assert health["jaeger"].state is HealthState.ERROR and "timed out" in health["jaeger"].message
    assert failed.snapshot.turns and not failed.snapshot.traces
