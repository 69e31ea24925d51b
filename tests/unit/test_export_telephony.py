"""Telephony in snapshots (issue #10): JSON section, thresholds, per-node breaches, replay source."""

from __future__ import annotations

import math

import pytest
from test_export_data import END, WINDOW, frame, metrics_result

from voicetop.domain.frame_builder import build_frame
from voicetop.domain.model import MetricsResult, Series, Severity, Window
from voicetop.domain.telephony import STATS
from voicetop.domain.thresholds import ThresholdSet
from voicetop.export import parse_document
from voicetop.export.writer import build_snapshot_document, dumps_document
from voicetop.sources.base import SourceError
from voicetop.sources.snapshot import SnapshotMetricsSource


def same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def test_document_has_a_telephony_section_fleet_and_per_node():
    doc = build_snapshot_document(frame(), created_at=END)
    tel = doc["telephony"]
    assert [n["node_id"] for n in tel["nodes"]] == ["nd-a", "nd-b"]
    assert tel["fleet"]["values"]["rooms"] == 60.0
    nd_b = tel["nodes"][1]
    assert nd_b["values"]["packet_loss_in"] == pytest.approx(0.025)
    assert nd_b["values"]["packet_loss"] == pytest.approx(0.025)  # derived: latest value only
    assert "packet_loss" not in nd_b["series"] and "packet_loss_in" in nd_b["series"]
    assert nd_b["series"]["packet_loss_in"]["start"] == WINDOW.start and len(nd_b["series"]["packet_loss_in"]["values"]) == 61
    assert tel["errors"] == {}
    assert set(doc["thresholds"]["telephony"]) == {"packet_loss", "jitter_p95", "rtt_p95", "poor_quality_share",
                                                   "join_success_rate", "sip_invite_error_rate"}
    node_rows = [b for b in doc["breaches"] if b.get("node")]
    assert node_rows == [
        {**node_rows[0], "key": "packet_loss", "node": "nd-b", "agent_id": None, "severity": "warning", "until": None}
    ]
    assert "node" not in next(b for b in doc["breaches"] if b["key"] == "e2e_p99")
    dumps_document(doc)  # valid, NaN-free JSON


def test_no_telephony_no_section():
    plain = metrics_result()
    bare = build_frame(MetricsResult(plain.window, plain.series), ThresholdSet(), (), created_at=END)
    doc = build_snapshot_document(bare, created_at=END)
    assert "telephony" not in doc
    assert parse_document(doc).telephony is None


def test_round_trip_keeps_every_figure_and_the_node_breach():
    original = frame()
    snapshot = parse_document(build_snapshot_document(original, created_at=END))
    before, after = original.telephony, snapshot.telephony
    assert after is not None and [n.node_id for n in after.nodes] == ["nd-a", "nd-b"]
    for part_before, part_after in zip((before.fleet, *before.nodes), (after.fleet, *after.nodes)):
        assert set(part_after.series) == set(part_before.series)
        for key in STATS:
            assert same(part_after.value(key), part_before.value(key)), (part_before.node_id, key)
    assert after.panels() == before.panels() == ("rooms", "joins", "loss", "jitter", "rtt", "quality")
    node = next(b for b in snapshot.breaches if b.node)
    assert (node.key, node.node, node.severity, node.scope) == ("packet_loss", "nd-b", Severity.WARNING, "node nd-b")
    assert snapshot.frame().telephony is after


def test_telephony_thresholds_round_trip_with_overrides():
    stricter = ThresholdSet().with_overrides({"packet_loss": {"warning": 0.004, "critical": 0.02}})
    doc = build_snapshot_document(frame(stricter), thresholds=stricter, created_at=END)
    snapshot = parse_document(doc)
    rule = snapshot.thresholds.telephony["packet_loss"]
    assert (rule.warning, rule.critical, rule.label, rule.unit) == (0.004, 0.02, "Packet loss", "ratio")
    assert snapshot.thresholds.rule("rtt_p95").warning == 250  # untouched defaults stay
    old_doc = dict(doc, thresholds={k: v for k, v in doc["thresholds"].items() if k != "telephony"})
    assert parse_document(old_doc).thresholds.telephony["packet_loss"].warning == 0.01  # older files: defaults


def test_replay_source_returns_telephony_sliced_to_the_window():
    snapshot = parse_document(build_snapshot_document(frame(), created_at=END))
    source = SnapshotMetricsSource(snapshot)
    result = source.fetch(WINDOW)
    assert set(result.telephony["packet_loss_in"]) == {None, "nd-a", "nd-b"}
    replayed = build_frame(result, snapshot.thresholds, (), created_at=END, mode="replay")
    assert replayed.telephony.node("nd-b").value("packet_loss") == pytest.approx(0.025)
    assert {(b.key, b.node) for b in replayed.breaches if b.node} == {("packet_loss", "nd-b")}
    earlier = source.fetch(Window(WINDOW.start, WINDOW.start + 300, 15.0))  # the time cursor moved back
    series = earlier.telephony["packet_loss_in"]["nd-b"]
    assert series.timestamps[0] == WINDOW.start and series.timestamps[-1] == WINDOW.start + 300
    assert series.last() == pytest.approx(0.002)
    with pytest.raises(SourceError, match="no data at this time"):
        source.fetch(Window(END + 600, END + 900, 15.0))


def test_history_longer_than_the_window_is_stored_for_telephony_too():
    live = frame()
    stamps = Window(END - 3600, END, 15.0).timestamps()
    history = MetricsResult(
        Window(END - 3600, END, 15.0), {},
        telephony={"rooms": {None: Series(stamps, tuple(50.0 + (t >= WINDOW.start) * 10 for t in stamps))}},
    )
    snapshot = parse_document(build_snapshot_document(live, created_at=END, history=history))
    rooms = snapshot.telephony.fleet.series["rooms"]
    assert rooms.timestamps[0] == END - 3600 and rooms.values[0] == 50.0 and rooms.last() == 60.0
    assert len(snapshot.telephony.node("nd-a").series["rooms"]) == 61  # nodes without history keep the window
    source = SnapshotMetricsSource(snapshot)
    assert source.data_start == END - 3600
    back = source.fetch(Window(END - 3000, END - 2700, 15.0))
    assert back.telephony["rooms"][None].last() == 50.0 and "nd-a" not in back.telephony["rooms"]
