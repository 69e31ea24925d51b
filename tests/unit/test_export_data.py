"""Deterministic frames, turns and traces shared by the export tests."""

from __future__ import annotations

import math

from voicetop.domain.frame_builder import build_frame
from voicetop.domain.model import (
    QUANTILES,
    STAGES,
    Alert,
    HealthState,
    MetricsResult,
    Series,
    SourceHealth,
    Span,
    SpanEvent,
    ToolCall,
    Trace,
    Turn,
    Window,
    stage_stat_key,
)
from voicetop.domain.thresholds import ThresholdSet

END = 1_735_700_400.0  # 2025-01-01T03:00:00Z
WINDOW = Window(END - 900, END, 15.0)
BASE_MS = {"stt": 100.0, "eou": 250.0, "ttft": 300.0, "llm": 700.0, "tts": 80.0, "e2e": 1500.0}
QUANTILE_SCALE = {"p50": 1.0, "p90": 1.5, "p95": 1.8, "p99": 2.2}

EMAIL = "jane.doe@example.com"
PHONE = "+1 415 555 0123"
TOKEN = "sk-live-abcdef123456"
CONTENT = "my card number is 4242 and I want a refund"


def _stage_series(stamps, stage: str, q: str, boost) -> Series:
    base = BASE_MS[stage] * QUANTILE_SCALE[q]
    values = []
    for i, t in enumerate(stamps):
        values.append(base * boost(i, stage) + (i % 4) * 3.0)
    return Series(stamps, tuple(values))


def metrics_result() -> MetricsResult:
    """billing-agent: e2e and TTFT climb past critical in the last 10 minutes;
    support-agent: WER above 8 % for 6 minutes mid-window, then back;
    fleet: a gap (NaN) early on."""
    stamps = WINDOW.timestamps()
    quiet = lambda i, stage: 1.0  # noqa: E731
    billing = lambda i, stage: (2.6 if stage in ("e2e", "ttft", "llm") else 1.0) if i >= 20 else 1.0  # noqa: E731
    series: dict[str, dict[str | None, Series]] = {}
    for stage in STAGES:
        for q, _ in QUANTILES:
            key = stage_stat_key(stage, q)
            series[key] = {
                "billing-agent": _stage_series(stamps, stage, q, billing),
                "support-agent": _stage_series(stamps, stage, q, quiet),
            }
            fleet = _stage_series(stamps, stage, q, lambda i, s: 1.4 if i >= 20 and s == "e2e" else 1.0)
            series[key][None] = Series(stamps, (math.nan,) + fleet.values[1:])
    n = len(stamps)
    series["wer"] = {
        "billing-agent": Series(stamps, tuple(0.03 for _ in range(n))),
        "support-agent": Series(stamps, tuple(0.11 if 10 <= i <= 34 else 0.04 for i in range(n))),
        None: Series(stamps, tuple(0.05 for _ in range(n))),
    }
    series["tool_success_rate"] = {
        "billing-agent": Series(stamps, tuple(0.995 for _ in range(n))),
        "support-agent": Series(stamps, tuple(1.0 for _ in range(n))),
        None: Series(stamps, tuple(0.997 for _ in range(n))),
    }
    series["active_sessions"] = {
        "billing-agent": Series(stamps, tuple(12.0 for _ in range(n))),
        "support-agent": Series(stamps, tuple(7.0 for _ in range(n))),
        None: Series(stamps, tuple(19.0 for _ in range(n))),
    }
    series["capacity"] = {None: Series(stamps, tuple(0.38 for _ in range(n)))}
    return MetricsResult(window=WINDOW, series=series, telephony=telephony_series(stamps))


def telephony_series(stamps) -> dict[str, dict[str | None, Series]]:
    """LiveKit nodes nd-a (healthy) and nd-b (incoming loss 2.5 % for the last 5 minutes:
    a per-node warning; the fleet stays under 1 %); no SIP service."""
    n = len(stamps)

    def flat(value: float) -> Series:
        return Series(stamps, tuple(value for _ in range(n)))

    bad = lambda good, worse: Series(stamps, tuple(worse if i >= 40 else good for i in range(n)))  # noqa: E731
    per_node = {
        "rooms": (flat(40.0), flat(20.0), flat(60.0)),
        "participants": (flat(80.0), flat(40.0), flat(120.0)),
        "join_success_rate": (flat(1.0), flat(0.995), flat(0.998)),
        "packet_loss_in": (flat(0.002), bad(0.002, 0.025), bad(0.002, 0.0097)),
        "packet_loss_out": (flat(0.001), flat(0.001), flat(0.001)),
        "jitter_p95": (flat(8.0), bad(9.0, 24.0), bad(9.0, 19.0)),
        "rtt_p95": (flat(90.0), flat(120.0), flat(110.0)),
        "quality_poor": (flat(0.0), flat(0.01), flat(0.004)),
        "quality_lost": (flat(0.0), flat(0.0), flat(0.0)),
        "quality_score_p50": (flat(4.4), flat(4.2), flat(4.35)),
    }
    return {key: {"nd-a": a, "nd-b": b, None: fleet} for key, (a, b, fleet) in per_node.items()}


def frame(thresholds: ThresholdSet | None = None):
    alert = Alert(
        name="VoiceE2EHigh", state="firing", severity="critical", agent_id="billing-agent",
        labels={"agent_id": "billing-agent", "team": "voice"},
        annotations={"summary": f"e2e p99 high, page {EMAIL}"}, active_at=END - 300,
    )
    health = SourceHealth("prometheus", HealthState.OK, "", END, END)
    return build_frame(
        metrics_result(), thresholds or ThresholdSet(), (health,), created_at=END, mode="at",
        alerts=(alert,), context="prod",
    )


def _span(trace_id, span_id, parent, name, start_ms, end_ms, attrs=None, error=False, events=()):
    t0 = int((END - 120) * 1e9)
    return Span(
        trace_id, span_id, parent, name, "voice-agent", t0 + int(start_ms * 1e6), t0 + int(end_ms * 1e6),
        attributes=attrs or {}, status_error=error, events=events,
    )


def turn_with_trace(n: int, e2e_ms: float, agent: str = "billing-agent") -> tuple[Turn, Trace]:
    trace_id = f"{n:032x}"
    root = f"{n:08x}00000001"
    spans = (
        _span(trace_id, root, None, "voice_turn", 0, e2e_ms, {
            "session.id": f"sess-{n}", "agent.id": agent, "transcript": CONTENT,
            "http.request.header.authorization": f"Bearer {TOKEN}",
        }),
        _span(trace_id, f"{n:08x}00000002", root, "stt_processing", 0, 180, {
            "lk.pii.caller_number": PHONE, "stt.provider": "deepgram", "text": CONTENT,
        }),
        _span(trace_id, f"{n:08x}00000003", root, "llm_inference", 200, e2e_ms - 400, {
            "gen_ai.input.messages": f"[{{\"role\": \"user\", \"content\": \"{CONTENT}\"}}]",
            "input": CONTENT, "output": "Sure, refunding now", "llm.prompt_tokens": 812,
            "note": f"customer {EMAIL} called from {PHONE}",
            "api_key": TOKEN,
        }, events=(SpanEvent(int((END - 119) * 1e9), "retry", {"transcript": CONTENT, "attempt": 2}),)),
        _span(trace_id, f"{n:08x}00000004", f"{n:08x}00000003", "tool_invocation", 400, 900, {
            "tool.name": "refund", "tool.success": False, "url": f"https://admin:{TOKEN}@api.example.com/r?token={TOKEN}",
        }, error=True),
        _span(trace_id, f"{n:08x}00000005", root, "tts_synthesis", e2e_ms - 380, e2e_ms, {
            "tts.character_count": 42,
        }),
    )
    turn = Turn(
        trace_id=trace_id, session_id=f"sess-{n}", agent_id=agent, index=n, start=END - 120 + n,
        stages={"stt": 180.0, "llm": e2e_ms - 600, "tts": 380.0, "e2e": e2e_ms},
        interrupted=n % 2 == 0, tokens=900 + n, tool_calls=1, tool_errors=1, root_span_id=root,
        duration_ms=e2e_ms, tools=(ToolCall("refund", True, 500.0),), room=f"room-{n}",
    )
    return turn, Trace(trace_id, spans)


def turns_with_traces() -> list[tuple[Turn, Trace]]:
    return [turn_with_trace(1, 7400.0), turn_with_trace(2, 6100.0, "support-agent")]


def source_info() -> dict:
    return {
        "metrics": {"kind": "prometheus", "url": "https://prom.example:9090/api"},
        "traces": {"kind": "jaeger", "url": "http://jaeger.example:16686"},
        "profile": "seed",
        "context": "prod",
    }
