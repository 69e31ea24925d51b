"""The demo's prometheus_client instruments follow the metric contract (DESIGN.md §2)."""

from __future__ import annotations

import pytest

from voicetop.sources.demo.catalog import AGENTS
from voicetop.sources.demo.instruments import (
    E2E_BUCKETS,
    EOU_BUCKETS,
    LLM_BUCKETS,
    SPEECH_BUCKETS,
    Instruments,
)

CONTRACT = {
    # family (as exposed) -> (type, labels besides agent_id); prompt_version: issue #9
    "livekit_llm_ttft_ms": ("histogram", {"model", "prompt_version"}),
    "livekit_llm_duration_ms": ("histogram", {"model", "prompt_version"}),
    "livekit_stt_duration_ms": ("histogram", {"provider"}),
    "livekit_tts_ttfb_ms": ("histogram", {"provider"}),
    "livekit_eou_delay_ms": ("histogram", set()),
    "livekit_e2e_latency_ms": ("histogram", set()),
    "livekit_conversation_turns_total": ("counter", {"outcome", "prompt_version"}),
    "livekit_interruptions_total": ("counter", set()),
    "livekit_tool_calls_total": ("counter", {"tool", "outcome", "prompt_version"}),
    "livekit_requests_total": ("counter", {"component"}),
    "livekit_errors_total": ("counter", {"component"}),
    "livekit_asr_wer": ("gauge", set()),
    "livekit_tts_mos": ("gauge", set()),
    "livekit_stt_rtf": ("gauge", set()),
    "livekit_active_sessions": ("gauge", set()),
    "livekit_max_sessions": ("gauge", set()),
    "livekit_sessions_completed_total": ("counter", {"outcome", "prompt_version"}),
    "livekit_session_turns": ("histogram", set()),
    "livekit_tokens_consumed_total": ("counter", {"model", "kind", "prompt_version"}),
    "livekit_tts_characters_total": ("counter", {"provider", "prompt_version"}),
    "livekit_session_cost_usd_total": ("counter", {"component", "prompt_version"}),
}
BUCKETS = {
    "livekit_llm_ttft_ms": LLM_BUCKETS,
    "livekit_llm_duration_ms": LLM_BUCKETS,
    "livekit_stt_duration_ms": SPEECH_BUCKETS,
    "livekit_tts_ttfb_ms": SPEECH_BUCKETS,
    "livekit_eou_delay_ms": EOU_BUCKETS,
    "livekit_e2e_latency_ms": E2E_BUCKETS,
}


@pytest.fixture
def instruments() -> Instruments:
    found = Instruments(AGENTS[:3])
    a = found.agent("billing-agent")
    for value in (90.0, 150.0, 450.0, 1300.0, 9000.0):
        a.ttft.observe(value)
        a.e2e.observe(value * 3)
    a.turns["completed"].inc(4)
    a.tool_calls[("lookup_invoice", "timeout")].inc()
    a.tokens["prompt"].inc(1234)
    a.wer.set(0.042)
    return found


def test_bucket_boundaries_are_the_contract_ones():
    assert LLM_BUCKETS == (100, 200, 400, 600, 800, 1000, 1200, 1500, 2000, 3000, 5000)
    assert SPEECH_BUCKETS == (50, 100, 150, 200, 300, 400, 600, 1000, 2000)
    assert EOU_BUCKETS == (100, 200, 300, 500, 800, 1000, 1500, 2000)
    assert E2E_BUCKETS == (500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000, 7500, 10000)


def test_registry_exposes_every_contract_family_with_its_labels(instruments):
    families = {f.name: f for f in instruments.registry.collect()}
    for exposed, (kind, labels) in CONTRACT.items():
        name = exposed.removesuffix("_total") if kind == "counter" else exposed
        assert name in families, exposed
        family = families[name]
        assert family.type == kind
        samples = [s for s in family.samples if not s.name.endswith("_created")]
        assert samples, exposed
        for sample in samples:
            expected = {"agent_id"} | labels | ({"le"} if sample.name.endswith("_bucket") else set())
            assert set(sample.labels) == expected, (sample.name, sample.labels)
        if kind == "counter":
            assert {s.name for s in samples} == {exposed}
        if exposed in BUCKETS:
            les = {s.labels["le"] for s in samples if s.name.endswith("_bucket")}
            assert les == {f"{float(b)}" for b in BUCKETS[exposed]} | {"+Inf"}
    agents = {s.labels["agent_id"] for f in families.values() for s in f.samples}
    assert agents == {"billing-agent", "support-en", "support-es"}


def test_every_tool_outcome_and_component_series_exists_from_the_start(instruments):
    values = instruments.read_via_collect()
    outcomes = {dict(labels)["outcome"] for name, labels in values if name == "livekit_tool_calls_total"}
    components = {dict(labels)["component"] for name, labels in values if name == "livekit_errors_total"}
    assert outcomes == {"success", "error", "timeout"}
    assert components == {"stt", "llm", "tts", "tool"}
    assert values[("livekit_max_sessions", (("agent_id", "billing-agent"),))] == AGENTS[0].max_sessions


def test_fast_reader_matches_the_public_collect_path(instruments):
    row = instruments.read()
    reference = instruments.read_via_collect()
    assert len(row) == len(instruments.columns) == len(reference)
    assert dict(zip(instruments.columns, row)) == reference
    billing = (("agent_id", "billing-agent"), ("model", "gpt-4o-mini"), ("prompt_version", "v1.8.0"))
    found = dict(zip(instruments.columns, row))
    assert found[("livekit_llm_ttft_ms_bucket", tuple(sorted(billing + (("le", "100.0"),))))] == 1
    assert found[("livekit_llm_ttft_ms_bucket", tuple(sorted(billing + (("le", "5000.0"),))))] == 4
    assert found[("livekit_llm_ttft_ms_bucket", tuple(sorted(billing + (("le", "+Inf"),))))] == 5
    assert found[("livekit_llm_ttft_ms_count", billing)] == 5
    assert found[("livekit_llm_ttft_ms_sum", billing)] == pytest.approx(10990.0)
