"""Detail pane of the selected span: name, service, times, status, attributes.

Every value from a trace is untrusted: it goes through ``safe_text`` into a
plain rich Text (no markup parsing).
"""

from __future__ import annotations

from datetime import datetime, timezone

from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.visual import Visual, visualize

from voicetop.domain.model import STAGE_LABELS, Severity
from voicetop.domain.text import safe_text
from voicetop.domain.waterfall import Waterfall, WaterfallRow, format_ms
from voicetop.ui.format import Palette

MAX_ATTRIBUTES = 200
MAX_EVENTS = 50


def clock_ns(ns: int) -> str:
    """``03:12:45.123Z`` (UTC, milliseconds)."""
    moment = datetime.fromtimestamp(ns / 1e9, timezone.utc)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def value_text(value: object, max_len: int = 160) -> str:
    """An attribute value as one safe line (sequences joined with commas)."""
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    elif isinstance(value, float):
        value = f"{value:g}"
    return safe_text(value, max_len)


def _field(text: Text, label: str, value: str, style: str = "") -> None:
    text.append(f"{label:<9}", style="dim")
    text.append(value, style=style)
    text.append("\n")


def detail_text(row: WaterfallRow | None, waterfall: Waterfall | None, palette: Palette) -> Text:
    """The pane's content for ``row`` (a hint when nothing is selected)."""
    text = Text(no_wrap=False, overflow="fold", end="")
    if row is None or waterfall is None:
        text.append("no span selected", style="dim")
        return text
    span = row.span
    text.append(row.label, style="bold")
    text.append("\n")
    if row.synthetic:
        text.append("parent not in this trace (e.g. a live session's root)\n", style="dim italic")
    _field(text, "service", safe_text(span.service, 80) or "–")
    if row.stage:
        _field(text, "stage", STAGE_LABELS.get(row.stage, "tool call" if row.stage == "tool" else row.stage))
    _field(text, "start", f"+{format_ms(row.offset_ms)}  {clock_ns(span.start_ns)}")
    _field(text, "duration", format_ms(row.duration_ms), palette.style(row.severity))
    _field(text, "self", format_ms(row.self_ms))
    status_style = palette.style(Severity.CRITICAL) if span.status_error else ""
    _field(text, "status", "ERROR" if span.status_error else "ok", status_style)
    _field(text, "kind", safe_text(span.kind, 20) or "–")
    if row.on_critical_path:
        _field(text, "critical", f"{'*' if palette.ascii else '◆'} on the critical path", "bold")
    if row.severity:
        text.append(f"{palette.glyph(row.severity)} ", style=palette.style(row.severity))
        text.append(safe_text(row.over_threshold, 120), style=palette.style(row.severity))
        text.append("\n")
    if row.child_count:
        _field(text, "children", str(row.child_count))
    _field(text, "span id", safe_text(span.span_id, 40), "dim")
    if span.parent_id:
        _field(text, "parent", safe_text(span.parent_id, 40), "dim")
    _field(text, "trace", safe_text(span.trace_id, 40), "dim")
    attributes = sorted(span.attributes.items(), key=lambda kv: str(kv[0]))
    text.append(f"\nattributes ({len(attributes)})\n", style="bold")
    for key, value in attributes[:MAX_ATTRIBUTES]:
        text.append("  ")
        text.append(safe_text(key, 60), style="italic")
        text.append(" = ", style="dim")
        text.append(value_text(value))
        text.append("\n")
    if len(attributes) > MAX_ATTRIBUTES:
        text.append(f"  … {len(attributes) - MAX_ATTRIBUTES} more\n", style="dim")
    if span.events:
        text.append(f"\nevents ({len(span.events)})\n", style="bold")
        for event in span.events[:MAX_EVENTS]:
            offset = (event.time_ns - span.start_ns) / 1e6
            text.append(f"  +{format_ms(max(0.0, offset))} ", style="dim")
            text.append(safe_text(event.name, 60))
            text.append("\n")
    text.rstrip()
    return text


class SpanDetail(ScrollView, can_focus=True):
    """A scrollable pane showing :func:`detail_text` of the highlighted span.

    A Line-API view of the text wrapped to the pane's width: a new span repaints
    the pane without a layout pass (only a scrollbar appearing or going needs one).
    """

    DEFAULT_CSS = """
    SpanDetail { width: 44; height: 1fr; border-left: tall $panel; padding: 0 1;
                 overflow-x: hidden; overflow-y: auto; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._text = Text("", end="")
        self._strips: list[Strip] = []
        self._blank = Strip.blank(0)
        self._wrapped_for: tuple[int, int] | None = None  # (pane width, pane height) of ``_strips``

    def show(
        self, row: WaterfallRow | None, waterfall: Waterfall | None, palette: Palette, keep_scroll: bool = False
    ) -> None:
        self._text = detail_text(row, waterfall, palette)
        self._wrapped_for = None
        self._wrap()
        if not keep_scroll:
            self.scroll_to(y=0, animate=False)
        self.refresh()

    @property
    def plain(self) -> str:
        """The pane's text (for tests and the export)."""
        return self._text.plain

    def _wrap(self) -> None:
        """Wrap the text to the pane (narrower by the scrollbar when it overflows)."""
        width, height = self.container_size
        if width <= 0 or self._wrapped_for == (width, height):
            return
        self._wrapped_for = (width, height)
        strips = self._render_text(width)
        if len(strips) > height:
            width = max(1, width - self.styles.scrollbar_size_vertical)
            strips = self._render_text(width)
        self._strips = strips
        self._blank = Strip.blank(width, self.rich_style)
        # At least the pane's height, so spans that fit never resize the scrollable area.
        self._resize_scrollable(Size(width, max(len(strips), height)))

    def _resize_scrollable(self, size: Size) -> None:
        """A new scrollable size; without the layout pass a virtual-size change asks
        for when the scrollbar stays (only its thumb changes)."""
        if size == self.virtual_size:
            return
        if self.show_vertical_scrollbar and size.height > self.container_size.height:
            self.set_reactive(SpanDetail.virtual_size, size)
            self.vertical_scrollbar.window_virtual_size = size.height
            if self.scroll_y > self.max_scroll_y:
                self.scroll_to(y=self.max_scroll_y, animate=False)
        else:
            self.virtual_size = size

    def _render_text(self, width: int) -> list[Strip]:
        """The text as lines exactly ``width`` cells wide."""
        visual = visualize(self, self._text, markup=False)
        return Visual.to_strips(self, visual, width, None, self.visual_style, pad=True)

    def on_resize(self, event: events.Resize) -> None:
        self._wrap()

    def notify_style_update(self) -> None:
        self._wrapped_for = None
        super().notify_style_update()

    def render_line(self, y: int) -> Strip:
        self._wrap()
        index = int(self.scroll_offset.y) + y
        return self._strips[index] if index < len(self._strips) else self._blank
