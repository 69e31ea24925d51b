"""One turn's span waterfall with the dominant stage named and a span detail pane.

The trace is fetched and laid out in a worker thread; the detail pane sits on
the right, or at the bottom below 120 columns.  Esc goes back to the turns.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Static

from voicetop.domain.model import Severity, Trace, Turn
from voicetop.domain.text import safe_text
from voicetop.domain.thresholds import ThresholdSet
from voicetop.domain.turns import turn_subtree
from voicetop.domain.waterfall import Waterfall, WaterfallRow, build_waterfall, dominant_text
from voicetop.profiles.spans import SpanProfile
from voicetop.ui.widgets.drill_table import Fetched, FetchWorkerMixin, clock_seconds, fetch
from voicetop.ui.widgets.quiet import update_static
from voicetop.ui.widgets.span_detail import SpanDetail
from voicetop.ui.widgets.steady_footer import SteadyFooter
from voicetop.ui.widgets.waterfall import WaterfallView, legend

NARROW_WIDTH = 120


@dataclass(frozen=True)
class LaidOut:
    """A turn's trace laid out for the screen."""

    waterfall: Waterfall
    dominant: str
    spans: int


def lay_out(
    trace: Trace,
    turn: Turn | None,
    thresholds: ThresholdSet | None,
    profile: SpanProfile | None = None,
) -> LaidOut:
    """The turn's own spans (a multi-turn trace is cut to the turn) as a waterfall."""
    spans = turn_subtree(trace, turn, profile) if turn is not None and turn.root_span_id else trace
    waterfall = build_waterfall(
        spans, profile, thresholds=thresholds, agent_id=turn.agent_id if turn else None
    )
    return LaidOut(waterfall, dominant_text(spans, profile), len(waterfall.rows))


def trace_profile(traces: object) -> SpanProfile | None:
    """The trace source's configured span profile, if it has one (else auto-detect)."""
    profile = getattr(traces, "profile", None)
    return profile if isinstance(profile, SpanProfile) else None


class WaterfallScreen(FetchWorkerMixin, Screen):
    """The waterfall of ``turn`` (or of a bare trace id)."""

    SCOPED_CSS = False
    DEFAULT_CSS = """
    WaterfallScreen > .wf-title { width: 1fr; height: 1; background: $panel; }
    WaterfallScreen > .wf-legend { width: 1fr; height: 1; }
    WaterfallScreen > #wf-body { height: 1fr; layout: horizontal; }
    WaterfallScreen.-narrow > #wf-body { layout: vertical; }
    WaterfallScreen.-narrow SpanDetail { width: 100%; height: 9; border-left: none; border-top: tall $panel; }
    """
    BINDINGS = [Binding("escape", "back", "Back")]
    WORKER_GROUP = "waterfall"
    WORKER_FAILED = "could not lay out the trace"

    def __init__(self, turn: Turn | None = None, *, trace_id: str | None = None, trace: Trace | None = None) -> None:
        super().__init__(classes="waterfall-screen")
        if turn is None and trace_id is None and trace is None:
            raise ValueError("a waterfall needs a turn, a trace id or a trace")
        self.turn = turn
        self.trace_id = trace_id or (turn.trace_id if turn is not None else trace.trace_id)
        self.given_trace = trace
        self.laid_out: LaidOut | None = None
        self.error = ""
        self._styled_for: tuple | None = None  # (theme, palette) the rows were last drawn in

    def compose(self) -> ComposeResult:
        yield Static(self._title(), classes="wf-title")
        yield Static(self._legend(), classes="wf-legend")
        with Container(id="wf-body"):
            yield WaterfallView(id="waterfall")
            yield SpanDetail(id="span-detail")
        yield SteadyFooter()

    @property
    def view(self) -> WaterfallView:
        return self.query_one(WaterfallView)

    @property
    def detail(self) -> SpanDetail:
        return self.query_one(SpanDetail)

    def on_mount(self) -> None:
        self._styled_for = (self.app.theme, self.app.palette)
        self._apply_size(self.size.width)
        self.view.focus()  # the title says "loading trace…" until the worker is done
        # Immediate: the detail pane repaints in the same frame as the cursor row.
        self.view.highlighted_signal.subscribe(self, self._highlighted, immediate=True)
        self.run_worker(self._load, thread=True, group=self.WORKER_GROUP, exclusive=True)

    def on_resize(self, event: Resize) -> None:
        self._apply_size(event.size.width)

    def _apply_size(self, width: int) -> None:
        self.set_class(0 < width < NARROW_WIDTH, "-narrow")

    # -- loading -----------------------------------------------------------
    def _load(self) -> Fetched[LaidOut]:
        app, turn = self.app, self.turn

        def call() -> LaidOut:
            trace = self.given_trace if self.given_trace is not None else app.traces.trace(self.trace_id)
            return lay_out(trace, turn, app.thresholds, trace_profile(app.traces))

        if self.given_trace is None and app.traces is None:
            return Fetched(error="no trace backend configured")
        return fetch(call)

    def _apply(self, result: Fetched[LaidOut]) -> None:
        """Render a loaded (or failed) waterfall."""
        self.error = result.error
        if result.ok:
            self.laid_out = result.value
            self.view.set_waterfall(result.value.waterfall)
        update_static(self.query_one(".wf-title", Static), self._title())

    # -- rendering ---------------------------------------------------------
    def show_frame(self, frame: object) -> None:
        """Called by the App on every frame and theme change: repaint in the current theme
        (the rows and the detail pane only when the theme or palette changed)."""
        if not self.is_mounted:
            return
        update_static(self.query_one(".wf-legend", Static), self._legend())
        update_static(self.query_one(".wf-title", Static), self._title())
        style = (self.app.theme, self.app.palette)
        if style != self._styled_for:
            self._styled_for = style
            self.view.restyle()
            self.detail.show(self.view.current, self.view.waterfall, self.app.palette, keep_scroll=True)

    @property
    def dominant(self) -> str:
        return self.laid_out.dominant if self.laid_out else ""

    def _title(self) -> Text:
        palette = self.app.palette
        text = Text(" Waterfall ", style="bold reverse", no_wrap=True, overflow="ellipsis")
        text.append(" ")
        if self.error:
            text.append(f"traces: {self.error}", style=palette.style(Severity.CRITICAL))
        elif self.laid_out is None:
            text.append("loading trace…", style="dim")
        elif self.dominant:
            text.append(self.dominant, style="bold")
        else:
            text.append("no stage timings in this trace", style="dim")
        turn = self.turn
        if turn is not None:
            text.append(f"  turn #{turn.index} {clock_seconds(turn.start)}", style="dim")
            text.append("  ")
            text.append(safe_text(turn.agent_id, 32), style="dim")
            text.append(" · ", style="dim")
            text.append(safe_text(turn.session_id, 40), style="dim")
        if self.laid_out is not None:
            text.append(f"  {self.laid_out.spans} spans", style="dim")
        return text

    def _legend(self) -> Text:
        palette = self.app.palette
        variables = self.app.get_css_variables()
        text = Text(" ", no_wrap=True, overflow="ellipsis")
        for variable, label in legend():
            text.append("█" if not palette.ascii else "#", style=variables.get(variable, ""))
            text.append(f" {label}  ")
        text.append("◆" if not palette.ascii else "*", style="bold")
        text.append(" critical path  ")
        for severity in (Severity.WARNING, Severity.CRITICAL):
            text.append(palette.glyph(severity), style=palette.style(severity))
        text.append(" over p90/p99 limit  ")
        text.append("space/h/l fold  j/k move", style="dim")
        return text

    def _highlighted(self, row: WaterfallRow | None) -> None:
        self.detail.show(row, self.view.waterfall, self.app.palette)

    def action_back(self) -> None:
        self.app.pop_screen()
