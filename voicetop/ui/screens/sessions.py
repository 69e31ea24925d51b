"""Full-screen sessions list of one agent, with the agent's stage percentiles.

Percentiles the metrics source lacks and the poller computed from recent
turns' spans (``StageStats.derived_from == "traces"``) carry a ``ᵗ`` mark.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from voicetop.domain.model import STAGES, AgentStats, Frame, Severity
from voicetop.domain.text import safe_text
from voicetop.domain.thresholds import ThresholdSet
from voicetop.ui.format import Palette
from voicetop.ui.widgets.drill_table import (
    TRACE_DERIVED_ASCII,
    TRACE_DERIVED_LEGEND,
    TRACE_DERIVED_MARK,
    stat_text,
)
from voicetop.ui.widgets.quiet import update_static
from voicetop.ui.widgets.sessions_table import SessionsPanel
from voicetop.ui.widgets.steady_footer import SteadyFooter

SUMMARY_LABELS = {"stt": "STT", "eou": "EOU", "ttft": "TTFT", "llm": "LLM", "tts": "TTS", "e2e": "E2E"}


def stage_summary(agent: AgentStats, thresholds: ThresholdSet, palette: Palette) -> Text:
    """``p90  STT 146  EOU 285ᵗ …`` with breaching values marked and a legend
    when any value is trace-derived."""
    text = Text(" p90 ", style="bold", no_wrap=True, overflow="ellipsis")
    derived = False
    for stage in STAGES:
        stats = agent.stages.get(stage)
        if stats is None or stats.p90 is None:
            continue
        derived = derived or stats.derived_from == "traces"
        rule = thresholds.rule(f"{stage}_p90", agent.agent_id)
        severity = rule.severity_of(stats.p90) if rule is not None else Severity.OK
        text.append(f" {SUMMARY_LABELS[stage]} ", style="dim")
        text.append(stat_text(stats, "p90", palette.ascii), style=palette.style(severity))
        if severity:
            text.append(palette.glyph(severity), style=palette.style(severity))
    if derived:
        mark = TRACE_DERIVED_ASCII if palette.ascii else TRACE_DERIVED_MARK
        text.append(f"   {mark} {TRACE_DERIVED_LEGEND}", style="dim")
    return text


class SessionsScreen(Screen):
    """Sessions of ``agent_id``; Enter opens a session's turns, Esc goes back."""

    SCOPED_CSS = False
    DEFAULT_CSS = """
    SessionsScreen > .sessions-title { height: 1; width: 100%; background: $panel; }
    SessionsScreen > .sessions-summary { height: 1; width: 100%; }
    """
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, agent_id: str) -> None:
        super().__init__(classes="sessions-screen")
        self.agent_id = agent_id

    def compose(self) -> ComposeResult:
        yield Static("", classes="sessions-title")
        yield Static("", classes="sessions-summary")
        yield SessionsPanel(self.agent_id, id="sessions")
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.query_one(SessionsPanel).focus_table()
        self.show_frame(self.app.frame)

    def show_frame(self, frame: Frame | None) -> None:
        app = self.app
        title = Text(f" {safe_text(self.agent_id, 48)} ", style="bold reverse", no_wrap=True)
        agent = frame.agent(self.agent_id) if frame is not None else None
        summary = Text("")
        if agent is not None:
            title.append("  ")
            title.append_text(app.palette.badge(agent.severity))
            summary = stage_summary(agent, app.thresholds, app.palette)
        if app.paused:
            title.append("  PAUSED", style=f"bold {app.palette.warning}")
        update_static(self.query_one(".sessions-title", Static), title)  # unchanged text: nothing repaints
        update_static(self.query_one(".sessions-summary", Static), summary)

    def action_back(self) -> None:
        self.app.pop_screen()
