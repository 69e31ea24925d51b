"""The demo's LiveKit server and SIP nodes: exported series, consistency with the agents, the STT incident."""

from __future__ import annotations

import math

import pytest
from prometheus_client import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest

from voicetop.domain.frame_builder import build_frame
from voicetop.domain.model import Window
from voicetop.domain.thresholds import ThresholdSet
from voicetop.sources.demo import DemoFleet
from voicetop.sources.demo.telephony import NODE_OF, node_of

START = 1_767_225_600.0


@pytest.fixture(scope="module")
def launched() -> DemoFleet:
    return DemoFleet(seed=7, speed=0, start=START)


def window_at(t: float, length: float = 900.0) -> Window:
    end = math.floor(t / 15) * 15
    return Window(end - length, end, 15)


def frame_at(fleet: DemoFleet, length: float = 900.0):
    window = window_at(fleet.now(), length)
    return build_frame(fleet.metrics.fetch(window), ThresholdSet(), [], created_at=window.end)


def test_registry_exports_the_server_families_under_their_real_names(launched):
    text = generate_latest(launched.registry).decode()
    for line in (
        "# TYPE livekit_room_total gauge", "# TYPE livekit_participant_total gauge",
        "# TYPE livekit_track_published_total gauge", "# TYPE livekit_participant_join_total counter",
        "# TYPE livekit_packet_total counter", "# TYPE livekit_packet_loss_total counter",
        "# TYPE livekit_packet_loss_percent histogram", "# TYPE livekit_jitter_us histogram",
        "# TYPE livekit_rtt_ms histogram", "# TYPE livekit_nack_total counter",
        "# TYPE livekit_quality_rating histogram", "# TYPE livekit_quality_score histogram",
        "# TYPE livekit_sip_calls_active gauge",
    ):
        assert line in text, line
    assert 'livekit_room_total{node_id="lk-eu-south-1a",node_type="SERVER"}' in text
    assert 'livekit_participant_join_total{node_id="lk-us-east-1a",node_type="SERVER",state="rtc_connected"}' in text
    assert 'le="1e+06"' in text and 'livekit_quality_rating_bucket{env="demo",le="0.0"' in text
    # SIP counters keep the Go client's names: no _total, node_id only
    assert 'livekit_sip_invite_requests{dir="in",node_id="sip-eu-south-1a"}' in text
    assert "livekit_sip_invite_requests_total{" not in text
    assert 'livekit_sip_invite_error{dir="in",node_id="sip-us-east-1a",reason="no-answer",to="sip.carrier-us.example"}' in text
    openmetrics = openmetrics_latest(launched.registry).decode()
    assert "# TYPE livekit_sip_invite_requests counter" in openmetrics


def test_rooms_follow_the_agents_sessions_per_node(launched):
    frame = frame_at(launched)
    tel = frame.telephony
    assert tel is not None and len(tel.panels()) == 7
    for node in tel.nodes:
        if node.value("rooms") is None:
            continue
        agents = [a for a in frame.agents if node_of(a.agent_id) == node.node_id]
        assert node.value("rooms") == sum(a.scalar("active_sessions") for a in agents)
        assert node.value("participants") == 2 * node.value("rooms")
    assert tel.value("rooms") == frame.fleet.scalar("active_sessions")
    assert {n.node_id for n in tel.nodes} == set(NODE_OF.values()) | {"sip-us-east-1a", "sip-eu-south-1a"}
    assert 0.99 <= tel.value("join_success_rate") <= 1.0
    assert 3.5 < tel.value("quality_score_p50") <= 4.5
    assert 0 < tel.value("sip_calls_active") < tel.value("rooms")


def test_the_stt_incident_is_packet_loss_and_jitter_on_its_node(launched):
    frame = frame_at(launched)
    tel = frame.telephony
    eu, east = tel.node("lk-eu-south-1a"), tel.node("lk-us-east-1a")
    window = frame.window
    eu_loss = eu.mean("packet_loss_in", window.end - 300, window.end)
    assert eu_loss > 0.02 and east.mean("packet_loss_in", window.end - 300, window.end) < 0.005
    assert eu.mean("jitter_p95", window.end - 300, window.end) > 30
    wer = next(b for b in frame.breaches if b.key == "wer" and b.agent_id == "support-es")
    assert wer.active
    assert wer.hint.startswith("media quality is the likely cause: packet loss")
    stt = next(b for b in frame.breaches if b.key == "stt_p90" and b.agent_id == "support-es" and b.active)
    assert "likely cause: packet loss" in stt.hint
    # the launch breaches are still there
    keys = {(b.agent_id, b.key) for b in frame.active_breaches()}
    assert ("billing-agent", "ttft_p99") in keys and ("support-es", "stt_p90") in keys


def test_after_the_incident_the_node_recovers():
    fleet = DemoFleet(seed=7, speed=0, start=START, history=900)
    fleet.advance(160)  # loop phase 520: the STT incident ended 320 s ago and restarts at 540
    frame = frame_at(fleet, 300)
    eu = frame.telephony.node("lk-eu-south-1a")
    assert eu.value("packet_loss_in") < 0.005 and eu.value("jitter_p95") < 30
    assert not [b for b in frame.active_breaches() if b.key in ("packet_loss", "jitter_p95", "wer")]


def test_deterministic_for_a_seed():
    a = DemoFleet(seed=3, speed=0, start=START, history=300)
    b = DemoFleet(seed=3, speed=0, start=START, history=300)
    window = window_at(START, 240)
    assert a.metrics.fetch(window).telephony == b.metrics.fetch(window).telephony
