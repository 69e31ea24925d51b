"""The demo's scripted incident loop."""

from __future__ import annotations

import pytest

from voicetop.sources.demo.incidents import HEALTHY, INCIDENTS, LAUNCH_PHASE, LOOP_SECONDS, Incident, Timeline

LAUNCH = 1_767_225_600.0


def test_intensity_ramps_holds_and_wraps_around_the_loop():
    incident = Incident("llm_slowdown", "a", -30.0, 90.0, "x", ramp=10.0)
    assert incident.intensity(LOOP_SECONDS - 30.0) == 0.0
    assert incident.intensity(LOOP_SECONDS - 25.0) == pytest.approx(0.5)
    assert incident.intensity(0.0) == 1.0
    assert incident.intensity(85.0) == pytest.approx(0.5)
    assert incident.intensity(90.0) == 0.0
    assert incident.intensity(300.0) == 0.0


def test_launch_sits_at_the_launch_phase_and_the_loop_repeats():
    timeline = Timeline(LAUNCH)
    assert timeline.phase(LAUNCH) == pytest.approx(LAUNCH_PHASE)
    for t in (LAUNCH - 400, LAUNCH, LAUNCH + 123):
        assert timeline.effects("billing-agent", t) == timeline.effects("billing-agent", t + LOOP_SECONDS)


def test_effects_bend_only_the_incident_agents():
    timeline = Timeline(LAUNCH)
    slow = timeline.effects("billing-agent", LAUNCH - LAUNCH_PHASE + 60)  # mid-slowdown
    assert slow.ttft_factor == pytest.approx(4.0) and slow.stall_probability > 0
    assert timeline.effects("triage", LAUNCH - LAUNCH_PHASE + 60) is HEALTHY
    assert {i.agent_id for i in INCIDENTS} == {"billing-agent", "support-es", "booking", "support-en"}
    kinds = {i.kind for i, _ in timeline.active(LAUNCH - LAUNCH_PHASE + 60)}
    assert kinds == {"llm_slowdown", "stt_degradation", "capacity_squeeze"}  # the squeeze wraps to 120
    squeezed = timeline.effects("support-en", LAUNCH - LAUNCH_PHASE + 400)
    assert squeezed.sessions_factor > 2.0
