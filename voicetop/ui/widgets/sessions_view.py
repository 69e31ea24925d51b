"""The sessions table: a Line-API ScrollView that renders only the rows on screen.

Sessions arrive as a :class:`SessionRows` snapshot (filtered and sorted in
plain Python, usually in a worker thread); no widget or cell exists per
session.  A refresh repaints only the screen cells whose text changed, the
cursor stays on the same session across refreshes and re-sorts, and line 0
is a fixed header.  Session ids and rooms are untrusted: they reach the
screen through ``safe_text`` as plain segments, never markup.
"""

from __future__ import annotations

from typing import Callable, Sequence

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from voicetop.domain.model import Session
from voicetop.ui.widgets.keyed_table import Column, SortCell
from voicetop.ui.widgets.session_rows import EMPTY, Ordering, SessionRows
from voicetop.ui.widgets.sorting import SortCycling

#: Blank cells either side of every column (as in a DataTable).
PAD = 1
#: The free-text columns give up width, down to this, before a line is cut.
SHRINKABLE = {"session": 10, "room": 6}

#: Builds one row's cells in column order: (session, now, columns) → cells, each
#: cell one style (its spans are not drawn).
CellMaker = Callable[[Session, float, Sequence[Column]], Sequence[SortCell]]
#: A row as drawn: (text, style) per column.
Cells = tuple[tuple[str, str], ...]


def layout_widths(columns: Sequence[Column], content: dict[str, int], available: int) -> tuple[int, ...]:
    """Each column as wide as its label and widest value; the free-text columns
    shrink (session last) when the line would not fit in ``available`` cells."""
    widths = {c.key: max(len(c.label), content.get(c.key, 0)) for c in columns}
    excess = sum(widths.values()) + 2 * PAD * len(columns) - available
    for key in ("room", "session"):
        if excess <= 0:
            break
        if key in widths:
            floor = min(widths[key], max(SHRINKABLE[key], len(next(c.label for c in columns if c.key == key))))
            give = min(excess, widths[key] - floor)
            widths[key] -= give
            excess -= give
    return tuple(widths[c.key] for c in columns)


class SessionsView(SortCycling, ScrollView, can_focus=True):
    """Keys: ↑/↓ move, PgUp/PgDn page, Home/End first/last, Enter selects;
    a click moves the cursor, a click on the cursor row selects it."""

    COMPONENT_CLASSES = {"sessions-view--header", "sessions-view--cursor"}
    DEFAULT_CSS = """
    SessionsView { height: 1fr; overflow-x: hidden; overflow-y: auto; scrollbar-size-vertical: 1;
                   background: $surface; color: $foreground; }
    SessionsView:focus { background-tint: $foreground 5%; }
    SessionsView > .sessions-view--header { background: $panel; color: $foreground; text-style: bold; }
    SessionsView > .sessions-view--cursor {
        background: $block-cursor-blurred-background; color: $block-cursor-blurred-foreground;
        text-style: $block-cursor-blurred-text-style;
    }
    SessionsView:focus > .sessions-view--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground; text-style: $block-cursor-text-style;
    }
    """
    BINDINGS = [
        Binding("enter", "select", "Select", show=False),
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", show=False),
        Binding("pagedown", "page(1)", show=False),
        Binding("home,ctrl+home", "top", show=False),
        Binding("end,ctrl+end", "bottom", show=False),
    ]

    class Selected(Message):
        """Enter (or a click on the cursor row) on the session ``key``."""

        def __init__(self, view: "SessionsView", key: str) -> None:
            super().__init__()
            self.view = view
            self.key = key

        @property
        def control(self) -> "SessionsView":
            return self.view

    def __init__(self, labels: dict[str, str], cells: CellMaker, sort_column: str, reverse: bool, *,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.labels = labels
        self.make_cells = cells
        self.sort_column: str | None = sort_column
        self.sort_reverse = reverse
        self.filter_needle = ""
        self.columns_spec: tuple[Column, ...] = ()
        self.rows: SessionRows = EMPTY
        self.cursor_row = 0
        self.repainted: tuple[Region, ...] = ()  # what the last refresh marked dirty (for tests and tuning)
        self._widths: tuple[int, ...] = ()
        self._spans: tuple[tuple[int, int], ...] = ()  # (x, width) of each column on a line
        self._painted: dict[int, tuple] = {}  # screen line → signature of what it shows
        # A few screenfuls of plain tuples.  Rendered lines are not kept: Textual keeps
        # the ones on screen, and a Strip is a score of objects the garbage collector
        # would scan on every full collection once they lived long.
        self._cells: LRUCache[tuple, Cells] = LRUCache(256)
        self._header_line: Strip | None = None
        self._styles: dict[tuple[Style, str], Style] = {}

    # -- data -------------------------------------------------------------------
    @property
    def ordering(self) -> Ordering:
        """The order and filter the rows should be in (sort on a hidden column: by id)."""
        visible = self.sort_column in {c.key for c in self.columns_spec}
        return Ordering(self.sort_column if visible else None, self.sort_reverse, self.filter_needle)

    def show(self, rows: SessionRows) -> None:
        """Show a new load; the cursor stays on its session, only changed cells repaint."""
        rows = rows.rearranged(self.ordering)
        cursor = self.cursor_key()
        widths_before = self.rows.widths
        self.rows = rows
        scrolled = self._follow(cursor, keep_in_view=self._cursor_in_view())  # scrolled away: stay there
        if rows.widths != widths_before and self._column_widths() != self._widths:
            self._relayout()
        elif not scrolled:
            self._repaint_changed()

    def set_columns(self, columns: Sequence[Column]) -> None:
        """(Re)define the columns (e.g. fewer on a narrow screen)."""
        if tuple(columns) == self.columns_spec:
            return
        self.columns_spec = tuple(columns)
        self._rearrange()
        self._relayout()

    def set_filter(self, needle: str) -> None:
        """Show only sessions whose id or room contains ``needle`` (any case)."""
        if needle.lower() != self.filter_needle:
            self.filter_needle = needle.lower()
            self._rearrange()

    def set_sort(self, column: str | None, reverse: bool) -> None:
        self.sort_column, self.sort_reverse = column, reverse
        self._rearrange()

    def sort_note(self, ascii_arrows: bool = False) -> str:
        arrow = ("v" if ascii_arrows else "▼") if self.sort_reverse else ("^" if ascii_arrows else "▲")
        return f"sort {self.labels.get(self.sort_column or '', '?')}{arrow}"

    def _rearrange(self) -> None:
        cursor = self.cursor_key()
        self.rows = self.rows.rearranged(self.ordering)
        if not self._follow(cursor, keep_in_view=True):
            self._repaint_changed()

    def _follow(self, cursor: str | None, keep_in_view: bool) -> bool:
        """Put the cursor back on ``cursor`` (or keep its index when that row went),
        scrolling to it if ``keep_in_view``; True when that scrolled (all repaints)."""
        index = self.rows.position(cursor)
        if index is None:
            index = self.cursor_row
        self.cursor_row = max(0, min(index, self.row_count - 1))
        height = self.row_count + 1
        if self.virtual_size.height != height:
            self.virtual_size = Size(0, height)
            if keep_in_view:
                self.call_after_refresh(self._scroll_to_cursor)  # a scroll now is clamped to the old size
        return keep_in_view and self._scroll_to_cursor()

    def _cursor_in_view(self) -> bool:
        top = int(self.scroll_offset.y)
        return top <= self.cursor_row < top + self.page_rows

    # -- the surface screens and tests use ----------------------------------------
    @property
    def row_count(self) -> int:
        return len(self.rows.keys)

    def row_keys(self) -> list[str]:
        """Session ids in display order."""
        return list(self.rows.keys)

    def cursor_key(self) -> str | None:
        """Session id under the cursor, or None when the table is empty."""
        keys = self.rows.keys
        return keys[self.cursor_row] if 0 <= self.cursor_row < len(keys) else None

    def get_row(self, key: str) -> list[SortCell]:
        """The cells shown for session ``key`` (in column order)."""
        return list(self.make_cells(self.rows.sessions[key], self.rows.now, self.columns_spec))

    def get_cell(self, key: str, column: str) -> SortCell:
        index = [c.key for c in self.columns_spec].index(column)
        return self.get_row(key)[index]

    # -- cursor -------------------------------------------------------------------
    @property
    def page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def move_to(self, index: int) -> None:
        """Move the cursor to display row ``index`` and scroll it into view."""
        if not self.row_count:
            return
        index = max(0, min(index, self.row_count - 1))
        if index != self.cursor_row:
            old, self.cursor_row = self.cursor_row, index
            if not self._scroll_to_cursor():
                self._refresh_rows(old, index)

    def _scroll_to_cursor(self) -> bool:
        """Scroll just enough to show the cursor row; True when it scrolled."""
        top = int(self.scroll_offset.y)
        if self.cursor_row < top:
            target = self.cursor_row
        elif self.cursor_row >= top + self.page_rows:
            target = self.cursor_row - self.page_rows + 1
        else:
            return False
        self.scroll_to(y=target, animate=False)
        return int(self.scroll_offset.y) != top

    def _refresh_rows(self, *indexes: int) -> None:
        top = int(self.scroll_offset.y)
        regions = [Region(0, index - top + 1, self.size.width, 1) for index in indexes
                   if 0 <= index - top < self.page_rows]
        if regions:
            self.repainted = tuple(regions)
            self.refresh(*regions)

    def action_move(self, delta: int) -> None:
        self.move_to(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        """Scroll a page and move the cursor a page, as a DataTable does."""
        page = self.page_rows
        self.scroll_to(y=int(self.scroll_offset.y) + direction * page, animate=False)
        self.move_to(self.cursor_row + direction * page)

    def action_top(self) -> None:
        self.move_to(0)

    def action_bottom(self) -> None:
        self.move_to(self.row_count - 1)

    def action_select(self) -> None:
        key = self.cursor_key()
        if key is not None:
            self.post_message(self.Selected(self, key))

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            return
        index = int(self.scroll_offset.y) + event.y - 1
        if index >= self.row_count:
            return
        event.stop()
        if index == self.cursor_row:
            self.action_select()
        else:
            self.move_to(index)

    # -- repainting ------------------------------------------------------------------
    def _relayout(self) -> None:
        """Column widths (or the width) changed: every line is drawn anew."""
        self._header_line = None
        self._cells.clear()
        self._painted.clear()
        self._widths = ()
        self.repainted = (self.size.region,)
        self.refresh()

    def notify_style_update(self) -> None:
        self._header_line = None
        self._styles.clear()
        super().notify_style_update()

    def on_resize(self, event: events.Resize) -> None:
        self._relayout()

    def on_focus(self) -> None:
        self._refresh_rows(self.cursor_row)

    def on_blur(self) -> None:
        self._refresh_rows(self.cursor_row)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self.repainted = (self.size.region,)

    def _repaint_changed(self) -> None:
        """Mark dirty only the cells of visible lines whose content changed."""
        if not self._painted or not self._spans:
            self.repainted = (self.size.region,)
            self.refresh()
            return
        regions: list[Region] = []
        width = self.size.width
        for y in range(1, self.page_rows + 1):
            old, new = self._painted.get(y), self._signature(y)
            if old == new:
                continue
            if old is None or new is None or old[0] != new[0] or len(old[1]) != len(new[1]):
                regions.append(Region(0, y, width, 1))  # blank ↔ row, or cursor moved here
                continue
            for (x, span), before, after in zip(self._spans, old[1], new[1]):
                if before != after:
                    regions.append(Region(x, y, span, 1))
        self.repainted = tuple(regions)
        if regions:
            self.refresh(*regions)

    def _signature(self, y: int) -> tuple | None:
        """What screen line ``y`` shows: (is the cursor row, per-cell text and style)."""
        index = int(self.scroll_offset.y) + y - 1
        if not 0 <= index < self.row_count:
            return None
        return index == self.cursor_row, self._row_cells(self.rows.sessions[self.rows.keys[index]])

    def _row_cells(self, session: Session) -> Cells:
        """(text, style) of each cell: plain strings, which the collector soon stops tracking."""
        key = (session, self.rows.now, self.columns_spec, self.app.palette)
        cells = self._cells.get(key)
        if cells is None:
            made = self.make_cells(session, self.rows.now, self.columns_spec)
            cells = tuple((cell.plain, str(cell.style)) for cell in made)
            self._cells[key] = cells
        return cells

    # -- rendering ---------------------------------------------------------------------
    @property
    def column_spans(self) -> tuple[tuple[int, int], ...]:
        """(x, width) of each column on a line, padding included."""
        return self._spans

    def _column_widths(self) -> tuple[int, ...]:
        return layout_widths(self.columns_spec, dict(self.rows.widths), self.scrollable_content_region.width)

    def _layout(self) -> None:
        self._widths = self._column_widths()
        x, spans = 0, []
        for column_width in self._widths:
            spans.append((x, column_width + 2 * PAD))
            x += column_width + 2 * PAD
        self._spans = tuple(spans)

    def render_line(self, y: int) -> Strip:
        if not self._widths and self.columns_spec:
            self._layout()
        width = self.scrollable_content_region.width
        if y == 0:
            if self._header_line is None or self._header_line.cell_length != width:
                self._header_line = self._header()
            return self._header_line
        signature = self._signature(y)
        self._painted[y] = signature
        if signature is None:
            return Strip.blank(width, self.rich_style)
        selected, cells = signature
        return self._row_line(cells, selected)

    def _line(self, cells: Cells, base: Style) -> Strip:
        """One line from (text, style) cells: a segment per cell, no markup, no wrapping."""
        pad = " " * PAD
        segments = [
            Segment(pad + fit(plain, column_width, column.numeric) + pad, self._style(base, style))
            for (plain, style), column_width, column in zip(cells, self._widths, self.columns_spec)
        ]
        length = sum(self._widths) + 2 * PAD * len(segments)
        width = self.scrollable_content_region.width
        if length < width:
            segments.append(Segment(" " * (width - length), base))
        elif length > width:
            return Strip(segments, length).crop(0, width)
        return Strip(segments, width)

    def _style(self, base: Style, style: str) -> Style:
        combined = self._styles.get((base, style))
        if combined is None:
            combined = base + Style.parse(style) if style else base
            self._styles[(base, style)] = combined
        return combined

    def _header(self) -> Strip:
        base = self.rich_style + self.get_component_rich_style("sessions-view--header")
        return self._line([(c.label, "") for c in self.columns_spec], base)

    def _row_line(self, cells: Cells, selected: bool) -> Strip:
        base = self.rich_style
        if selected:
            base += self.get_component_rich_style("sessions-view--cursor")
        return self._line(cells, base)


def fit(text: str, width: int, right: bool) -> str:
    """``text`` in exactly ``width`` cells: cut with an ellipsis, padded left or right."""
    length = cell_len(text)
    if length > width:
        text = set_cell_size(text, width - 1) + "…" if width > 0 else ""
        length = width
    padding = " " * (width - length)
    return padding + text if right else text + padding
