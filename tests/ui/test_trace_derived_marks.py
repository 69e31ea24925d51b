"""Trace-derived stage percentiles are marked ``ᵗ`` in the fleet table and agent detail."""

from __future__ import annotations

from ui_fakes import FakeMetrics
from ui_helpers import screen_text, wait_for

from voicetop.config import Config
from voicetop.domain.model import MetricsResult, Turn
from voicetop.ui.app import VoicetopApp


class MetricsWithoutStt(FakeMetrics):
    """Like a real LiveKit deployment: no STT latency metrics at all."""

    def fetch(self, window) -> MetricsResult:
        result = super().fetch(window)
        series = {k: v for k, v in result.series.items() if not k.startswith("stt_")}
        return MetricsResult(window=result.window, series=series, queries=result.queries)


class RecentTurns:
    """A trace source whose recent turns carry STT timings (310 ms for support-de)."""

    name = "traces"

    def recent_turns(self, agent_id, since, until, limit=500):
        return [
            Turn(f"t{i}", f"s{i}", agent, i, until - 60, {"stt": 310.0 if agent == "support-de" else 120.0})
            for i, agent in enumerate(["support-de", "billing-en"] * 10)
        ]

    def sessions(self, *args, **kwargs):
        return []

    def close(self):
        pass


async def test_fleet_and_agent_detail_mark_trace_derived_values():
    app = VoicetopApp(
        metrics=MetricsWithoutStt(), traces=RecentTurns(), config=Config(refresh=0.1)
    )
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None and app.frame.agent("support-de"))
        await wait_for(pilot, lambda: "310ᵗ" in screen_text(app))
        text = screen_text(app)
        assert "ᵗ from traces" in text  # legend in the header
        assert "310ᵗ ▲" in text  # still judged against the STT p90 threshold (200 ms)
        assert "120ᵗ" in text
        row = next(line for line in text.splitlines() if line.lstrip().startswith("billing-en"))
        assert row.count("ᵗ") == 1  # only the STT cell; TTFT/E2E come from metrics
        # metrics-backed stages carry no mark
        agent = app.frame.agent("support-de")
        assert agent.stages["stt"].derived_from == "traces"
        assert agent.stages["ttft"].derived_from == "metrics"
        while app.screen.query_one("AgentTable").cursor_key() != "support-de":
            await pilot.press("down")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "LLM TTFT" in screen_text(app) and "310ᵗ" in screen_text(app))
