"""A DataTable that is updated in place by row key, never cleared and refilled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from voicetop.ui.widgets.sorting import SortCycling, ordered


class SortCell(Text):
    """A table cell that remembers a sortable value and the row it belongs to."""

    def __init__(self, text: str = "", style: str = "", sort_key: Any = None) -> None:
        super().__init__(text, style=style, no_wrap=True, overflow="ellipsis", end="")
        self.sort_key = sort_key
        self.row_key: str = ""

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


@dataclass
class SyncStats:
    """What one :meth:`KeyedTable.sync` call changed (for tests and tuning)."""

    added: int = 0
    removed: int = 0
    updated_cells: int = 0
    resorted: bool = False


class KeyedTable(SortCycling, DataTable):
    """Rows identified by stable string keys; only changed cells are written.

    Subclasses set the columns with :meth:`set_columns`; :meth:`sync` takes the
    wanted rows and adds, removes and updates in place, re-sorting only when the
    order changes, with the cursor kept on the same row key.  A changed cell
    repaints only its own region of the screen, and a row given the very same
    cell list as in the previous sync is not compared again.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", False)
        super().__init__(**kwargs)
        self.columns_spec: tuple[Column, ...] = ()
        self.sort_column: str | None = None
        self.sort_reverse = False
        self.tie_break: Callable[[str], Any] = lambda key: key
        self.last_sync = SyncStats()
        self._synced: dict[str, Sequence[Any]] = {}  # row key → the cell list last synced
        _cap_render_caches(self)

    def set_columns(self, columns: Sequence[Column]) -> None:
        """(Re)define the columns; existing rows are kept by key."""
        if tuple(columns) == self.columns_spec:
            return
        rows = {str(rk.value): list(self.get_row(rk)) for rk in self.rows}
        old_keys = [c.key for c in self.columns_spec]
        cursor = self.cursor_key()
        self.clear(columns=True)
        self._synced.clear()
        self.columns_spec = tuple(columns)
        for col in self.columns_spec:
            self.add_column(Text(col.label, justify="right" if col.numeric else "left"), key=col.key, width=col.width)
        for key, cells in rows.items():
            by_col = dict(zip(old_keys, cells))
            new_cells = [by_col.get(c.key) or SortCell() for c in self.columns_spec]
            for cell in new_cells:
                cell.row_key = key
            self.add_row(*new_cells, key=key)
        self._restore_order(cursor)

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

    def sync(self, wanted: Mapping[str, Sequence[SortCell]]) -> SyncStats:
        """Make the table show ``wanted`` (row key → cells in column order)."""
        stats = SyncStats()
        cursor = self.cursor_key()
        present = {str(rk.value): rk for rk in self.rows}
        for key in [k for k in present if k not in wanted]:
            self.remove_row(present.pop(key))
            self._synced.pop(key, None)
            stats.removed += 1
        col_keys = [c.key for c in self.columns_spec]
        changed: dict[RowKey, dict[str, Any]] = {}
        for key, cells in wanted.items():
            if key in present and self._synced.get(key) is cells:
                continue  # the caller reused last sync's cells: nothing changed
            self._synced[key] = cells
            for cell in cells:
                if isinstance(cell, SortCell):
                    cell.row_key = key
            if key not in present:
                self.add_row(*cells, key=key)
                stats.added += 1
                continue
            current = self.get_row(present[key])
            for col_key, old, new in zip(col_keys, current, cells):
                if _signature(old) != _signature(new):
                    changed.setdefault(present[key], {})[col_key] = new
                    stats.updated_cells += 1
        if changed:
            self._write_cells(changed)
        if stats.added or stats.removed or stats.updated_cells:
            stats.resorted = self._restore_order(cursor)
        self.last_sync = stats
        return stats

    def _write_cells(self, changed: Mapping[RowKey, Mapping[str, Any]]) -> None:
        """Put new values in cells and repaint only the part of each row they span.

        ``DataTable.update_cell`` repaints the whole table, so a refresh that
        changes a few values rewrote every visible row on the terminal.  Wider
        text (e.g. after a resize switched from compact to full cells) grows its
        column, which moves other cells: that goes through ``update_cell``.
        """
        spans: list[tuple[int, int, int]] = []  # (row, first column, last column) to repaint
        for row_key, cells in changed.items():
            columns = []
            for col_key, value in cells.items():
                column = ColumnKey(col_key)
                if _cell_width(value) > self.columns[column].content_width:
                    self.update_cell(row_key, column, value, update_width=True)
                    continue
                self._data[row_key][column] = value
                columns.append(self._column_locations.get(column))
            if columns:
                spans.append((self._row_locations.get(row_key), min(columns), max(columns)))
        self._update_count += 1  # the render caches are keyed on it
        for row, first, last in spans:
            region = self._get_cell_region(Coordinate(row, first))
            if last != first:
                region = region.union(self._get_cell_region(Coordinate(row, last)))
            self._refresh_region(region)

    def _update_dimensions(self, new_rows) -> None:
        # Textual re-measures columns here without bumping the update count its row
        # render cache is keyed on, so a row painted before this ran (right after
        # add_row) could keep its old, narrower column widths: drop those renders.
        widths = [column.content_width for column in self.columns.values()]
        super()._update_dimensions(new_rows)
        self._row_render_cache.clear()
        if widths != [column.content_width for column in self.columns.values()]:
            # Lines already painted with the narrower widths sit in the line
            # cache too: invalidate every render and repaint the table once.
            self._update_count += 1
            self._line_cache.clear()
            self.refresh()

    def set_sort(self, column: str | None, reverse: bool) -> None:
        self.sort_column, self.sort_reverse = column, reverse
        self._restore_order(self.cursor_key())

    def _wanted_order(self) -> list[str]:
        keys = sorted((str(rk.value) for rk in self.rows), key=self.tie_break)
        column = self.sort_column
        if column is None or column not in [c.key for c in self.columns_spec]:
            return keys
        return ordered(keys, lambda key: getattr(self.get_cell(key, column), "sort_key", None), self.sort_reverse)

    def _restore_order(self, cursor: str | None) -> bool:
        """Re-sort if the display order differs; keep the cursor on its row."""
        wanted = self._wanted_order()
        resorted = False
        if wanted != self.row_keys() and self.columns_spec:
            position = {k: i for i, k in enumerate(wanted)}
            first = self.columns_spec[0].key
            self.sort(first, key=lambda cell: position[cell.row_key])
            resorted = True
        if cursor is not None and cursor in wanted:
            index = wanted.index(cursor)
            if index != self.cursor_row:
                self.move_cursor(row=index, animate=False, scroll=False)
        return resorted


#: Entries kept in DataTable's render caches.  Their keys include the table's update
#: count, which every update_cell bumps, so a table refreshed once a second fills
#: Textual's defaults (10,000 cells, 1,000 rows and lines: megabytes of dead renders
#: and the old cells they hold) before anything is evicted.  A few screenfuls is all
#: a repaint can reuse.
RENDER_CACHE_LIMITS = {
    "_cell_render_cache": 2000,
    "_row_render_cache": 200,
    "_row_renderable_cache": 200,
    "_line_cache": 200,
}


def _cap_render_caches(table: DataTable) -> None:
    for name, limit in RENDER_CACHE_LIMITS.items():
        cache = getattr(table, name, None)
        if cache is not None and getattr(cache, "maxsize", 0) > limit:
            cache.maxsize = limit


def _signature(cell: Any) -> tuple:
    if isinstance(cell, SortCell):
        return cell.signature()
    return (str(cell),)


def _cell_width(cell: object) -> int:
    """Terminal cells a table cell's text needs."""
    return cell.cell_len if isinstance(cell, Text) else len(str(cell))
