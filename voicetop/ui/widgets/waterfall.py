"""The span waterfall: a Line-API ScrollView that renders only visible rows.

Columns: tree (indent, fold marker, span name), duration, self time, marks
(``◆`` critical path, ``▲``/``✖`` over a threshold), then the bar on a time
axis whose ticks adapt to the width.  Line 0 is a fixed axis header.
Span names are untrusted: rows carry them through ``safe_text`` (the row's
``label``) and they go into plain Text, never through markup.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.signal import Signal
from textual.strip import Strip

from voicetop.domain.waterfall import Waterfall, WaterfallRow, axis_ticks, bar, toggle
from voicetop.ui.format import Palette

DURATION_WIDTH = 7
MARKS_WIDTH = 3
MIN_TREE_WIDTH = 12
MIN_BAR_WIDTH = 8
#: Stages with their own bar colour (component class ``waterfall--stage-<stage>``).
BAR_STAGES: tuple[str, ...] = ("stt", "eou", "ttft", "llm", "tts", "tool", "e2e", "other")
#: Theme variable colouring each stage's bars (see DEFAULT_CSS).
#: Speech in and out in secondary shades, the LLM in primary shades, tools in
#: the accent colour; severity is never a bar colour (glyphs carry it).
STAGE_VARIABLES = {
    "stt": "secondary-lighten-2", "eou": "foreground-darken-2", "ttft": "primary-lighten-2",
    "llm": "primary", "tts": "secondary-darken-1", "tool": "accent",
}
STAGE_NAMES = {
    "stt": "STT", "eou": "EOU", "ttft": "TTFT", "llm": "LLM", "tts": "TTS",
    "tool": "tool", "e2e": "turn", "other": "other",
}


def short_ms(value: float) -> str:
    """At most 6 cells: ``0.4ms``, ``850ms``, ``3.41s``, ``12.5s``."""
    if value < 10:
        return f"{value:.1f}ms"
    if value < 1000:
        return f"{value:.0f}ms"
    if value < 10_000:
        return f"{value / 1000:.2f}s"
    return f"{value / 1000:.1f}s" if value < 100_000 else f"{value / 1000:.0f}s"


@dataclass(frozen=True)
class Columns:
    """Column widths of one layout; ``bar_start`` is where the time axis begins."""

    tree: int
    bar: int

    @property
    def bar_start(self) -> int:
        return self.tree + 1 + DURATION_WIDTH + 1 + DURATION_WIDTH + 1 + MARKS_WIDTH


@dataclass(frozen=True)
class RowStyles:
    """The rich styles rows are drawn with, for one theme and focus state."""

    plain: Style  # the widget's own (row background)
    cursor: Style  # the cursor row
    header: Style
    synthetic: Style  # foreground of a placeholder root's name
    stages: dict[str, Style]  # bar foreground per stage


def columns_for(width: int, widest_tree: int) -> Columns:
    """Tree column up to 40% of the width (as wide as the names need), the rest bars."""
    fixed = 1 + DURATION_WIDTH + 1 + DURATION_WIDTH + 1 + MARKS_WIDTH
    tree = max(MIN_TREE_WIDTH, min(widest_tree, int(width * 0.4)))
    tree = max(4, min(tree, width - fixed - MIN_BAR_WIDTH))
    return Columns(tree, max(1, width - fixed - tree))


def indent_of(depth: int, tree_width: int) -> int:
    """Indent cells for a depth, capped so a deep tree still shows names."""
    return min(depth * 2, max(0, tree_width // 2))


class WaterfallView(ScrollView, can_focus=True):
    """Keys: j/k or arrows move, space/Enter toggle, h fold (or go to parent),
    l unfold, g/G top/bottom."""

    COMPONENT_CLASSES = {
        "waterfall--header",
        "waterfall--cursor",
        "waterfall--synthetic",
        *(f"waterfall--stage-{stage}" for stage in BAR_STAGES),
    }
    DEFAULT_CSS = """
    WaterfallView { height: 1fr; overflow-x: hidden; overflow-y: auto; scrollbar-size-vertical: 1; }
    WaterfallView > .waterfall--header { background: $panel; text-style: bold; }
    WaterfallView > .waterfall--cursor { background: $boost; }
    WaterfallView:focus > .waterfall--cursor { background: $accent 35%; }
    WaterfallView > .waterfall--synthetic { color: $text-muted; text-style: italic; }
    WaterfallView > .waterfall--stage-stt { color: $secondary-lighten-2; }
    WaterfallView > .waterfall--stage-eou { color: $foreground-darken-2; }
    WaterfallView > .waterfall--stage-ttft { color: $primary-lighten-2; }
    WaterfallView > .waterfall--stage-llm { color: $primary; }
    WaterfallView > .waterfall--stage-tts { color: $secondary-darken-1; }
    WaterfallView > .waterfall--stage-tool { color: $accent; }
    WaterfallView > .waterfall--stage-e2e { color: $foreground 55%; }
    WaterfallView > .waterfall--stage-other { color: $foreground 35%; }
    """
    BINDINGS = [
        Binding("j,down", "move(1)", "Down", show=False),
        Binding("k,up", "move(-1)", "Up", show=False),
        Binding("pagedown", "page(1)", show=False),
        Binding("pageup", "page(-1)", show=False),
        Binding("g,home", "top", "Top", key_display="g"),
        Binding("G,end", "bottom", "Bottom", key_display="G", show=False),
        Binding("space,enter", "toggle", "Fold", key_display="space"),
        Binding("h,left", "fold", "Fold", show=False),
        Binding("l,right", "unfold", "Unfold", show=False),
    ]

    def __init__(self, *, palette: Palette | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._palette = palette
        self.waterfall: Waterfall | None = None
        self.collapsed: frozenset[str] = frozenset()
        self.shown_rows: tuple[WaterfallRow, ...] = ()
        self.cursor = 0
        self._widest = MIN_TREE_WIDTH
        self._lines: LRUCache[tuple, Strip] = LRUCache(1024)
        self._styles: dict[bool, RowStyles] = {}  # by has_focus (the cursor colour depends on it)
        self._rows_changed = False  # rows were replaced since the last cursor move
        #: Published with the row under the cursor (None when empty) whenever it changes.
        #: Subscribe with ``immediate=True`` to repaint in the same frame as the cursor.
        self.highlighted_signal: Signal[WaterfallRow | None] = Signal(self, "highlighted")

    # -- data ----------------------------------------------------------------
    def set_waterfall(self, waterfall: Waterfall, collapsed: frozenset[str] = frozenset()) -> None:
        """Show a new waterfall with the cursor on its first row."""
        self.waterfall = waterfall
        self._widest = max((r.depth * 2 + 2 + len(r.label) for r in waterfall.rows), default=MIN_TREE_WIDTH)
        self.collapsed = frozenset(collapsed)
        self.cursor = 0
        self._relayout()
        self.scroll_to(y=0, animate=False)
        self._announce()

    @property
    def palette(self) -> Palette:
        """The given palette, else the app's current one (it follows the theme)."""
        if self._palette is not None:
            return self._palette
        return getattr(self.app, "palette", None) or Palette()

    def restyle(self) -> None:
        """Drop cached lines (after a theme or palette change) and repaint."""
        self._lines.clear()
        self._styles.clear()
        self.refresh()

    @property
    def current(self) -> WaterfallRow | None:
        return self.shown_rows[self.cursor] if self.shown_rows else None

    def _relayout(self) -> None:
        self.shown_rows = self.waterfall.visible(self.collapsed) if self.waterfall else ()
        self.cursor = max(0, min(self.cursor, len(self.shown_rows) - 1))
        self._lines.clear()
        self.virtual_size = Size(0, len(self.shown_rows) + 1)
        self._rows_changed = True
        self.refresh()

    def _announce(self) -> None:
        self.highlighted_signal.publish(self.current)

    def notify_style_update(self) -> None:
        self._lines.clear()
        self._styles.clear()
        super().notify_style_update()

    def on_resize(self, event: events.Resize) -> None:
        self._lines.clear()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # -- cursor and folding -------------------------------------------------
    @property
    def page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def move_to(self, index: int) -> None:
        """Put the cursor on row ``index`` and scroll it into view, repainting
        only the two rows that changed when the view does not scroll."""
        if not self.shown_rows:
            return
        index = max(0, min(index, len(self.shown_rows) - 1))
        previous, top = self.cursor, int(self.scroll_offset.y)
        if index != previous:
            self.cursor = index
            self._announce()
        self._scroll_to_cursor()
        if int(self.scroll_offset.y) == top and index != previous:
            self.refresh_line(previous + 1)  # line 0 is the axis header
            self.refresh_line(index + 1)
        if self._rows_changed:
            # A scroll right after new rows arrive is clamped to the old size: redo it
            # once the layout has caught up.
            self._rows_changed = False
            self.call_after_refresh(self._scroll_to_cursor)

    def _scroll_to_cursor(self) -> None:
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + self.page_rows:
            self.scroll_to(y=self.cursor - self.page_rows + 1, animate=False)

    def action_move(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * self.page_rows)

    def action_top(self) -> None:
        self.move_to(0)

    def action_bottom(self) -> None:
        self.move_to(len(self.shown_rows) - 1)

    def _set_collapsed(self, collapsed: frozenset[str]) -> None:
        keep = self.current
        self.collapsed = collapsed
        self._relayout()
        if keep is not None:
            index = next(i for i, r in enumerate(self.shown_rows) if r.span_id == keep.span_id)
            self.cursor = index
            self.move_to(index)

    def action_toggle(self) -> None:
        row = self.current
        if row is not None and row.has_children:
            self._set_collapsed(toggle(self.collapsed, row.span_id))

    def action_fold(self) -> None:
        """Fold the row's subtree; on a leaf or folded row go to its parent."""
        row = self.current
        if row is None:
            return
        if row.has_children and row.span_id not in self.collapsed:
            self._set_collapsed(self.collapsed | {row.span_id})
            return
        for index in range(self.cursor - 1, -1, -1):
            if self.shown_rows[index].depth < row.depth:
                self.move_to(index)
                return

    def action_unfold(self) -> None:
        row = self.current
        if row is not None and row.span_id in self.collapsed:
            self._set_collapsed(self.collapsed - {row.span_id})

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self.move_to(int(self.scroll_offset.y) + event.y - 1)

    # -- rendering -------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._cached(("header", width), lambda: self._header(width))
        index = int(self.scroll_offset.y) + y - 1
        if index >= len(self.shown_rows):
            return self._cached(("blank", width), lambda: Strip.blank(width, self.rich_style))
        selected = index == self.cursor
        key = (index, width, selected, self.has_focus)
        return self._cached(key, lambda: self._row_line(self.shown_rows[index], width, selected))

    def _cached(self, key: tuple, build) -> Strip:
        strip = self._lines.get(key)
        if strip is None:
            strip = build()
            self._lines[key] = strip
        return strip

    def row_styles(self) -> RowStyles:
        """Styles of the current theme and focus state (looked up once, not per line)."""
        styles = self._styles.get(self.has_focus)
        if styles is None:
            plain = self.rich_style
            styles = RowStyles(
                plain=plain,
                cursor=plain + self.get_component_rich_style("waterfall--cursor"),
                header=self.get_component_rich_style("waterfall--header"),
                synthetic=self._foreground("waterfall--synthetic"),
                stages={stage: self._foreground(f"waterfall--stage-{stage}") for stage in BAR_STAGES},
            )
            self._styles[self.has_focus] = styles
        return styles

    def _strip(self, text: Text, width: int, style: Style) -> Strip:
        """``text`` over ``style``, cut or padded to ``width`` cells, as one Strip."""
        segments = Segment.apply_style(text.render(self.app.console), style)  # no base style when Text has no spans
        return Strip(Segment.adjust_line_length(list(segments), width, style), width)

    def _header(self, width: int) -> Strip:
        style = self.row_styles().header
        cols = columns_for(width, self._widest)
        text = Text(no_wrap=True, end="", style=style)
        text.append("span".ljust(cols.tree)[: cols.tree])
        text.append(" " + "dur".rjust(DURATION_WIDTH) + " " + "self".rjust(DURATION_WIDTH) + " ")
        text.append("◆▲ " if not self.palette.ascii else "*! ")
        axis = [" "] * cols.bar
        total = self.waterfall.total_ms if self.waterfall else 0.0
        for column, label in axis_ticks(total, cols.bar):
            tick = "|" if self.palette.ascii else "╵"
            for offset, char in enumerate(tick + label if column + len(label) < cols.bar else label):
                if column + offset < cols.bar:
                    axis[column + offset] = char
        text.append("".join(axis))
        return self._strip(text, width, style)

    def _row_line(self, row: WaterfallRow, width: int, selected: bool) -> Strip:
        cols = columns_for(width, self._widest)
        styles = self.row_styles()
        base = styles.cursor if selected else styles.plain
        palette = self.palette
        text = Text(no_wrap=True, end="", style=base)
        text.append_text(self._tree_cell(row, cols.tree, styles))
        severity_style = palette.style(row.severity) if row.severity else ""
        text.append(" " + short_ms(row.duration_ms).rjust(DURATION_WIDTH), style=severity_style)
        text.append(" " + short_ms(row.self_ms).rjust(DURATION_WIDTH) + " ", style="dim")
        critical = ("*" if palette.ascii else "◆") if row.on_critical_path else " "
        text.append(critical, style="bold")
        text.append(palette.glyph(row.severity) if row.severity else " ", style=severity_style)
        text.append(" ")
        text.append_text(self._bar_cell(row, cols.bar, styles))
        return self._strip(text, width, base)

    def _foreground(self, component: str) -> Style:
        """A component's colour and emphasis without its background (the row's shows)."""
        style = self.get_component_rich_style(component)
        return Style(color=style.color, bold=style.bold, italic=style.italic)

    def _tree_cell(self, row: WaterfallRow, width: int, styles: RowStyles) -> Text:
        ascii_glyphs = self.palette.ascii
        if row.has_children:
            folded = row.span_id in self.collapsed
            marker = ("+" if ascii_glyphs else "▸") if folded else ("-" if ascii_glyphs else "▾")
        else:
            marker = " "
        style = styles.synthetic if row.synthetic else ""
        cell = Text(" " * indent_of(row.depth, width) + marker + " ", no_wrap=True, end="")
        cell.append(row.label, style=style or ("bold" if row.on_critical_path else ""))
        cell.truncate(width, overflow="ellipsis", pad=True)
        return cell

    def _bar_cell(self, row: WaterfallRow, width: int, styles: RowStyles) -> Text:
        total = self.waterfall.total_ms if self.waterfall else 0.0
        start, end = bar(row, total, width)
        stage = row.stage if row.stage in BAR_STAGES else "other"
        if row.synthetic:
            stage = "other"
        glyph = ("#" if row.on_critical_path else "=") if self.palette.ascii else ("█" if row.on_critical_path else "▆")
        cell = Text(" " * start, no_wrap=True, end="")
        cell.append(glyph * (end - start), style=styles.stages[stage])
        cell.append(" " * (width - end))
        return cell


def legend() -> list[tuple[str, str]]:
    """(theme variable, label) of the stage colours, for a legend line."""
    return [(STAGE_VARIABLES[stage], STAGE_NAMES[stage]) for stage in ("stt", "eou", "llm", "tool", "tts")]


__all__ = [
    "Columns",
    "WaterfallView",
    "columns_for",
    "legend",
    "short_ms",
]
