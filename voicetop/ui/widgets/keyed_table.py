"""A DataTable that is updated in place by row key, never cleared and refilled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence, Union

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual._two_way_dict import TwoWayDict
from textual.geometry import Region
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from voicetop.ui.widgets.sorting import SortCycling, ordered


class SortCell(Text):
    """A table cell that remembers a sortable value."""

    def __init__(self, text: str = "", style: str = "", sort_key: Any = None) -> None:
        super().__init__(text, style=style, no_wrap=True, overflow="ellipsis", end="")
        self.sort_key = sort_key

    def signature(self) -> tuple:
        """What decides whether a repaint is needed."""
        spans = tuple((s.start, s.end, str(s.style)) for s in self.spans)
        return (self.plain, str(self.style), spans, self.sort_key)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int | None = None
    numeric: bool = True


class LazyRow:
    """A row whose cells are made only when read: on screen, or asked for.

    Subclasses give ``cells(columns)``, the cells in column order, and
    ``sort_key(column)``, the sort value the cell of that column carries,
    without building it.  A table of a thousand rows that all change every
    refresh then builds only the rows on screen.  :meth:`KeyedTable.sync`
    skips a row given the very same LazyRow object as last time.  (One small
    object per row: a refresh of a big table makes a thousand of them, and
    every allocation brings the next garbage collection nearer.)
    """

    __slots__ = ()

    def cells(self, columns: Sequence[Column]) -> Sequence[Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def sort_key(self, column: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


Row = Union[Sequence[Any], LazyRow]


class _RowCells(dict):
    """DataTable's cell mapping of one row, filled from a :class:`LazyRow` on first read."""

    __slots__ = ("table", "row", "built")

    def __init__(self, table: "KeyedTable", row: LazyRow) -> None:
        super().__init__()
        self.table, self.row, self.built = table, row, False

    def __missing__(self, column_key):
        if self.built:
            raise KeyError(column_key)
        self.table._build_row(self)
        return dict.__getitem__(self, column_key)

    def reset(self, row: LazyRow) -> None:
        """Hold ``row`` instead, unbuilt."""
        if self.built:
            self.clear()
            self.built = False
        self.row = row


@dataclass
class SyncStats:
    """What one :meth:`KeyedTable.sync` call changed (for tests and tuning)."""

    added: int = 0
    removed: int = 0
    updated_cells: int = 0  # of LazyRows only the rows on screen are compared
    resorted: bool = False


class KeyedTable(SortCycling, DataTable):
    """Rows identified by stable string keys; only changed cells are written.

    Subclasses set the columns with :meth:`set_columns`; :meth:`sync` takes the
    wanted rows and adds, removes and updates in place, re-sorting only when the
    order changes, with the cursor kept on the same row key.  A changed cell
    repaints only its own region of the screen, and a row given the very same
    cell list (or :class:`LazyRow`) as in the previous sync is not compared
    again.  LazyRows are built only when on screen or read, so a refresh costs
    the rows in view, not the rows in the table.  Every row is one line high.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", False)
        super().__init__(**kwargs)
        self.columns_spec: tuple[Column, ...] = ()
        self.sort_column: str | None = None
        self.sort_reverse = False
        self.tie_break: Callable[[str], Any] | None = None  # None: by row key
        self.last_sync = SyncStats()
        self._synced: dict[str, Row] = {}  # row key → the cell list or LazyRow last synced
        self._wider: dict[ColumnKey, int] = {}  # widths lazy rows built while painting need
        _cap_render_caches(self)

    def on_resize(self, event: events.Resize) -> None:
        """Caches sized to the screen (DataTable's own handler has made their renders stale)."""
        size_render_caches(self, event.size.height, len(self.columns))

    def set_columns(self, columns: Sequence[Column]) -> None:
        """(Re)define the columns; existing rows are kept by key."""
        if tuple(columns) == self.columns_spec:
            return
        rows: dict[str, Row] = {}
        for row_key in self.rows:
            key = str(row_key.value)
            synced = self._synced.get(key)
            rows[key] = synced if isinstance(synced, LazyRow) else list(self.get_row(row_key))
        old_keys = [c.key for c in self.columns_spec]
        cursor = self.cursor_key()
        self.clear(columns=True)
        self._synced.clear()
        self.columns_spec = tuple(columns)
        for col in self.columns_spec:
            self.add_column(Text(col.label, justify="right" if col.numeric else "left"), key=col.key, width=col.width)
        for key, cells in rows.items():
            if isinstance(cells, LazyRow):  # built for the new columns when read
                self._add_lazy(key, cells)
                self._synced[key] = cells
                continue
            by_col = dict(zip(old_keys, cells))
            self.add_row(*[by_col.get(c.key) or SortCell() for c in self.columns_spec], key=key)
        self._restore_order(cursor)
        if self.size.height:
            size_render_caches(self, self.size.height, len(self.columns))

    def cursor_key(self) -> str | None:
        """Row key under the cursor, or None when the table is empty."""
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:
            return None
        return None if row_key.value is None else str(row_key.value)

    def row_keys(self) -> list[str]:
        """Row keys in display order."""
        return [str(row.key.value) for row in self.ordered_rows]

    def row_key_object(self, key: str) -> RowKey | None:
        for row_key in self.rows:
            if row_key.value == key:
                return row_key
        return None

    def sync(self, wanted: Mapping[str, Row], resort: bool = False) -> SyncStats:
        """Make the table show ``wanted`` (row key → cells in column order, or a LazyRow);
        ``resort``: some kept rows' sort values changed in place, so check the order anyway."""
        stats = SyncStats()
        cursor = self.cursor_key()
        present = {str(rk.value): rk for rk in self.rows}
        gone = [key for key in present if key not in wanted]
        if gone:
            self._remove_rows([present.pop(key) for key in gone])
            for key in gone:
                self._synced.pop(key, None)
            stats.removed = len(gone)
        col_keys = [c.key for c in self.columns_spec]
        changed: dict[RowKey, dict[str, Any]] = {}
        swapped = False  # a lazy row was replaced
        on_screen = self.keys_on_screen()
        data = self._data
        for key, cells in wanted.items():
            if key in present and self._synced.get(key) is cells:
                continue  # the caller reused last sync's cells: nothing changed
            self._synced[key] = cells
            if key not in present:
                if isinstance(cells, LazyRow):
                    self._add_lazy(key, cells)
                else:
                    self.add_row(*cells, key=key)
                stats.added += 1
                continue
            row_key = present[key]
            if isinstance(cells, LazyRow):
                swapped = True
                holder = data[row_key]
                if key not in on_screen and isinstance(holder, _RowCells):
                    holder.reset(cells)  # built when it scrolls into view
                    continue
                current = self.get_row(row_key)
                data[row_key] = _RowCells(self, cells)
                cells = self.get_row(row_key)
            else:
                current = self.get_row(row_key)
            for col_key, old_cell, new_cell in zip(col_keys, current, cells):
                if _signature(old_cell) != _signature(new_cell):
                    changed.setdefault(row_key, {})[col_key] = new_cell
                    stats.updated_cells += 1
        if changed or swapped:
            self._write_cells(changed)
        if stats.added or stats.removed or stats.updated_cells or swapped or resort:
            stats.resorted = self._restore_order(cursor)
        self.last_sync = stats
        return stats

    def keys_on_screen(self) -> set[str]:
        """Keys of the rows in view (every row is one line high)."""
        locations = self._row_locations
        keys = set()
        for index in self._rows_on_screen():
            row_key = locations.get_key(index)
            if row_key is None:
                break
            keys.add(str(row_key.value))
        return keys

    def _rows_on_screen(self) -> range:
        """Indexes of the rows in view (every row is one line high)."""
        top = int(self.scroll_offset.y)
        return range(top, top + self.scrollable_content_region.height)

    def _remove_rows(self, row_keys: Sequence[RowKey]) -> None:
        """Remove rows in one pass (``remove_row`` renumbers all rows for each)."""
        if len(row_keys) == 1:
            self.remove_row(row_keys[0])
            return
        for row_key in row_keys:
            del self.rows[row_key]
            del self._data[row_key]
        remaining = sorted(self.rows, key=self._row_locations.get)
        self._row_locations = TwoWayDict({row_key: index for index, row_key in enumerate(remaining)})
        self._new_rows.difference_update(row_keys)
        self._updated_cells = {cell for cell in self._updated_cells if cell.row_key in self.rows}
        self._require_update_dimensions = True
        self.check_idle()
        self.cursor_coordinate = self.cursor_coordinate
        self.hover_coordinate = self.hover_coordinate
        self._update_count += 1
        self.refresh(layout=True)

    def _add_lazy(self, key: str, row: LazyRow) -> None:
        row_key = self.add_row(key=key)
        self._data[row_key] = _RowCells(self, row)

    def _build_row(self, cells: _RowCells) -> None:
        """Fill a lazy row's cells.  A cell wider than its column widens the column
        right after this paint (columns only grow, as with eager rows)."""
        cells.built = True
        for column, cell in zip(self.columns_spec, cells.row.cells(self.columns_spec)):
            key = ColumnKey(column.key)
            dict.__setitem__(cells, key, cell)
            known = self.columns.get(key)
            width = _cell_width(cell)
            if known is not None and width > known.content_width and width > self._wider.get(key, 0):
                if not self._wider:
                    self.call_later(self._widen_columns)
                self._wider[key] = width

    def _widen_columns(self) -> None:
        wider, self._wider = self._wider, {}
        grown = False
        for key, width in wider.items():
            column = self.columns.get(key)
            if column is not None and width > column.content_width:
                column.content_width = width
                grown = True
        if grown:
            self._relayout()

    def _relayout(self) -> None:
        """Column widths changed: every render is stale, the table repaints once."""
        self._require_update_dimensions = True  # the virtual width follows
        self.check_idle()
        self._repaint_all()

    def _repaint_all(self) -> None:
        """Invalidate every render (the caches are keyed on the update count) and repaint once."""
        self._update_count += 1
        self._line_cache.clear()
        self.refresh()

    def _write_cells(self, changed: Mapping[RowKey, Mapping[str, Any]]) -> None:
        """Put new values in cells and repaint only the part of each row they span.

        ``DataTable.update_cell`` repaints the whole table, so a refresh that
        changes a few values rewrote every visible row on the terminal.  Wider
        text (e.g. after a resize switched from compact to full cells) grows its
        column, which moves other cells: the whole table repaints then.
        """
        spans: list[tuple[int, int, int]] = []  # (row, first column, last column) to repaint
        widened = False
        for row_key, cells in changed.items():
            columns = []
            for col_key, value in cells.items():
                column_key = ColumnKey(col_key)
                self._data[row_key][column_key] = value
                column = self.columns[column_key]
                width = _cell_width(value)
                if width > column.content_width:
                    column.content_width = width
                    widened = True
                columns.append(self._column_locations.get(column_key))
            spans.append((self._row_locations.get(row_key), min(columns), max(columns)))
        if widened:
            self._relayout()
            return
        self._update_count += 1  # the render caches are keyed on it
        on_screen = self._rows_on_screen()
        for row, first, last in spans:
            if row in on_screen:
                self._refresh_region(self._cells_region(row, first, last))

    def _cells_region(self, row: int, first: int, last: int) -> Region:
        """Where columns ``first``..``last`` of display row ``row`` are (as ``_get_cell_region``,
        without summing the heights of all rows above: every row is one line)."""
        widths = [column.get_render_width(self) for column in self.ordered_columns]
        x = sum(widths[:first]) + self._row_label_column_width
        y = row + (self.header_height if self.show_header else 0)
        return Region(x, y, sum(widths[first:last + 1]), 1)

    def _update_dimensions(self, new_rows) -> None:
        # Textual measures every new row's cells here, which builds every new lazy row: at
        # fleet scale a frame bringing 1,800 new breaches spent ~0.4 s on rows nobody sees.
        # When more rows come than a few screenfuls, a lazy row off screen is measured when
        # it is built (_build_row widens its column then), as a changed row already is.
        new_rows = list(new_rows)
        on_screen = self._rows_on_screen()
        if on_screen and len(new_rows) > MEASURED_SCREENFULS * len(on_screen):
            locations, data = self._row_locations, self._data
            new_rows = [
                key for key in new_rows
                if not isinstance(cells := data.get(key), _RowCells) or cells.built or locations.get(key) in on_screen
            ]
        # Textual re-measures columns here without bumping the update count its row
        # render cache is keyed on, so a row painted before this ran (right after
        # add_row) could keep its old, narrower column widths: drop those renders.
        widths = [column.content_width for column in self.columns.values()]
        super()._update_dimensions(new_rows)
        self._row_render_cache.clear()
        if widths != [column.content_width for column in self.columns.values()]:
            # Lines already painted with the narrower widths sit in the line cache too.
            self._repaint_all()

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False):
        """DataTable's cell rendering, with a one-line Text cell of a data row rendered
        without the generic Padding and Styled renderables: rich's own steps, in the same
        order and with the same styles (the same segments), at a third of the cost.

        Such a render is cached by what it shows, not by the table's update count, so
        the cells a refresh did not change are not rendered again."""
        padding = self.cell_padding
        if row_index < self.fixed_rows or column_index < self.fixed_columns or width <= 2 * padding:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row = self.rows.get(self._row_locations.get_key(row_index))
        cell = self._get_row_renderables(row_index).cells[column_index]
        if row is None or row.height != 1 or not isinstance(cell, Text) or "\n" in cell.plain:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        cache_key = (row_index, column_index, width, base_style, cursor, hover, self.show_cursor,
                     self._show_hover_cursor, self._pseudo_class_state, cell.plain, cell.style, tuple(cell.spans),
                     cell.justify, cell.overflow, cell.no_wrap, cell.end, cell.tab_size)
        lines = self._cell_render_cache.get(cache_key)
        if lines is None:
            component_style, post_style = self._get_styles_to_render_cell(
                False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor,
                self.cursor_foreground_priority == "css", self.cursor_background_priority == "css",
            )
            pre_style = base_style + Style.from_meta({"row": row_index, "column": column_index}) + component_style
            lines = [_one_line_cell(self.app.console, cell, width, padding, pre_style, post_style)]
            self._cell_render_cache[cache_key] = lines
        return lines

    def set_sort(self, column: str | None, reverse: bool) -> None:
        self.sort_column, self.sort_reverse = column, reverse
        self._restore_order(self.cursor_key())

    def sort_value(self, key: str, column: str) -> Any:
        """The sort value of row ``key`` in ``column`` (a LazyRow is not built for it)."""
        row = self._synced.get(key)
        if isinstance(row, LazyRow):
            return row.sort_key(column)
        return getattr(self.get_cell(key, column), "sort_key", None)

    def _wanted_order(self) -> list[str]:
        keys = sorted((str(rk.value) for rk in self.rows), key=self.tie_break)
        column = self.sort_column
        if column is None or column not in [c.key for c in self.columns_spec]:
            return keys
        return ordered(keys, lambda key: self.sort_value(key, column), self.sort_reverse)

    def _restore_order(self, cursor: str | None) -> bool:
        """Re-sort if the display order differs; keep the cursor on its row."""
        wanted = self._wanted_order()
        resorted = False
        if wanted != self.row_keys() and self.columns_spec:
            position = {k: i for i, k in enumerate(wanted)}
            # DataTable.sort reads a cell of every row (building every lazy row)
            self._row_locations = TwoWayDict({rk: position[str(rk.value)] for rk in self.rows})
            self._update_count += 1
            self.refresh()
            resorted = True
        if cursor is not None and cursor in wanted:
            index = wanted.index(cursor)
            if index != self.cursor_row:
                self.move_cursor(row=index, animate=False, scroll=False)
        return resorted


#: Entries kept in DataTable's render caches before the table is first sized.  Their
#: keys include the table's update count, which every update_cell (and resize) bumps,
#: so a table refreshed once a second fills Textual's defaults (10,000 cells, 1,000
#: rows and lines: megabytes of dead renders and the old cells they hold) before
#: anything is evicted.  Once sized, :func:`size_render_caches` keeps two screenfuls.
RENDER_CACHE_LIMITS = {
    "_cell_render_cache": 2000,
    "_row_render_cache": 200,
    "_row_renderable_cache": 200,
    "_line_cache": 200,
}
#: New rows are all measured as they come unless they are more than this many screenfuls.
MEASURED_SCREENFULS = 4
#: Screenfuls of renders a table keeps: the current update's and the one before.
SCREENFULS = 2
#: A table's caches never go below this many lines' worth.
MIN_CACHED_LINES = 8


def _cap_render_caches(table: DataTable) -> None:
    for name, limit in RENDER_CACHE_LIMITS.items():
        cache = getattr(table, name, None)
        if cache is not None and getattr(cache, "maxsize", 0) > limit:
            cache.maxsize = limit


def render_cache_sizes(lines: int, columns: int) -> dict[str, int]:
    """Render cache sizes for a table ``lines`` high with ``columns`` columns.

    Only renders keyed with the current update count can be reused, and a row
    renders all its cells, so :data:`SCREENFULS` screenfuls of lines and cells
    is all a repaint can use.
    """
    lines = max(lines, MIN_CACHED_LINES) * SCREENFULS
    return {
        "_cell_render_cache": lines * max(columns, 1),
        "_row_render_cache": lines,
        "_row_renderable_cache": lines,
        "_line_cache": lines,
    }


def size_render_caches(table: DataTable, lines: int, columns: int) -> None:
    """Resize the render caches to the table's screen (emptied: a resize made their renders stale)."""
    for name, size in render_cache_sizes(lines, columns).items():
        cache = getattr(table, name, None)
        if cache is not None and hasattr(cache, "maxsize"):
            cache.maxsize = size
            cache.clear()  # also lets a full cache grow to a larger size


def _one_line_cell(console, cell: Text, width: int, padding: int, pre_style: Style, post_style: Style) -> list[Segment]:
    """``Styled(Padding(cell, (0, padding)), pre_style, post_style)`` rendered one line high
    in ``width`` cells without wrapping, as DataTable renders a cell: the same rich steps."""
    inner = width - 2 * padding
    pad_style = console.get_style("none")  # Padding's style
    justify = cell.justify or "default"
    overflow = cell.overflow or "fold"
    tab_size = console.tab_size if cell.tab_size is None else cell.tab_size
    no_wrap = True if cell.no_wrap is None else cell.no_wrap
    wrapped = cell.wrap(console, inner, justify=justify, overflow=overflow, tab_size=tab_size or 8, no_wrap=no_wrap)
    segments = Text("\n").join(wrapped).render(console, end=cell.end)
    if pad_style:
        segments = Segment.apply_style(segments, pad_style)
    line = next(iter(Segment.split_and_crop_lines(segments, inner, include_new_lines=False, pad=True, style=pad_style)),
                [Segment(" " * inner, pad_style)])
    edge = Segment(" " * padding, pad_style)
    styled = Segment.apply_style([edge, *line, edge, Segment.line()], style=pre_style, post_style=post_style)
    return next(iter(Segment.split_and_crop_lines(styled, width, include_new_lines=False, pad=True)))


def _signature(cell: Any) -> tuple:
    if isinstance(cell, SortCell):
        return cell.signature()
    return (str(cell),)


def _cell_width(cell: object) -> int:
    """Terminal cells a table cell's text needs."""
    return cell.cell_len if isinstance(cell, Text) else len(str(cell))
