"""The demo fleet's agents: names, models, providers, capacity and healthy latencies.

Healthy values sit comfortably inside the default thresholds
(voicetop.domain.thresholds.DEFAULT_RULES); incidents push some agents out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AgentSpec:
    """One synthetic agent.  Latency medians are in ms."""

    agent_id: str
    model: str
    stt_provider: str
    tts_provider: str
    sessions: int  # typical live sessions
    max_sessions: int
    tools: tuple[str, str]
    stt_ms: float = 105.0
    eou_ms: float = 200.0
    ttft_ms: float = 300.0
    tts_ms: float = 65.0
    tokens_per_second: float = 90.0
    prompt_tokens: int = 900
    completion_tokens: int = 60
    tool_probability: float = 0.35
    wer: float = 0.03
    mos: float = 4.5
    rtf: float = 0.2
    interruption_probability: float = 0.04


AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec("billing-agent", "gpt-4o-mini", "deepgram", "elevenlabs", 26, 50,
              ("lookup_invoice", "update_payment"), ttft_ms=290, prompt_tokens=1400),
    AgentSpec("support-en", "gpt-4o-mini", "deepgram", "cartesia", 34, 60,
              ("search_kb", "create_ticket"), ttft_ms=280, tts_ms=55),
    AgentSpec("support-es", "gpt-4o-mini", "deepgram", "cartesia", 20, 40,
              ("search_kb", "create_ticket"), ttft_ms=300, wer=0.034, tts_ms=58),
    AgentSpec("booking", "claude-3-5-haiku", "assemblyai", "elevenlabs", 22, 45,
              ("check_availability", "book_slot"), ttft_ms=320, stt_ms=112, tool_probability=0.5),
    AgentSpec("triage", "gemini-2.0-flash", "google-stt", "google-tts", 28, 55,
              ("classify_intent", "transfer_call"), ttft_ms=250, stt_ms=115, tts_ms=75, mos=4.45),
    AgentSpec("outbound-sales", "gpt-4o", "deepgram", "elevenlabs", 18, 40,
              ("crm_lookup", "schedule_callback"), ttft_ms=330, prompt_tokens=2100, completion_tokens=90),
    AgentSpec("appointments-de", "gpt-4o-mini", "azure-stt", "azure-tts", 14, 30,
              ("check_availability", "book_slot"), ttft_ms=290, stt_ms=115, wer=0.036, tts_ms=72),
    AgentSpec("pharmacy-refills", "claude-3-5-haiku", "deepgram", "cartesia", 16, 35,
              ("lookup_prescription", "queue_refill"), ttft_ms=315, tool_probability=0.6),
    AgentSpec("it-helpdesk", "llama-3.3-70b", "whisper-groq", "cartesia", 12, 25,
              ("reset_password", "create_ticket"), ttft_ms=190, stt_ms=90, tokens_per_second=250),
    AgentSpec("insurance-claims", "gpt-4o", "assemblyai", "elevenlabs", 20, 40,
              ("claim_status", "upload_link"), ttft_ms=335, stt_ms=112, prompt_tokens=1800),
    AgentSpec("restaurant-orders", "gemini-2.0-flash", "deepgram", "google-tts", 24, 50,
              ("menu_lookup", "place_order"), ttft_ms=240, tts_ms=74, interruption_probability=0.05),
    AgentSpec("hr-benefits", "claude-3-5-haiku", "azure-stt", "azure-tts", 10, 25,
              ("benefits_lookup", "create_case"), ttft_ms=310, stt_ms=114, tts_ms=70),
)

#: Price list used for the cost counters (USD).
STT_USD_PER_SECOND = 0.0001
LLM_USD_PER_1K_PROMPT = {"gpt-4o": 0.0025, "claude-3-5-haiku": 0.0008}
LLM_USD_PER_1K_COMPLETION = {"gpt-4o": 0.01, "claude-3-5-haiku": 0.004}
LLM_USD_DEFAULT = (0.00015, 0.0006)
TTS_USD_PER_1K_CHARS = 0.03


def llm_price(model: str) -> tuple[float, float]:
    """(USD per 1k prompt tokens, USD per 1k completion tokens)."""
    if model in LLM_USD_PER_1K_PROMPT:
        return LLM_USD_PER_1K_PROMPT[model], LLM_USD_PER_1K_COMPLETION[model]
    return LLM_USD_DEFAULT
