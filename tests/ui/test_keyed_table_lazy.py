"""KeyedTable with LazyRows: only rows on screen are built, and its quick cell
rendering gives DataTable's very segments."""

from __future__ import annotations

import itertools

import pytest
from rich.segment import Segment
from rich.style import Style
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from voicetop.ui.widgets.keyed_table import Column, KeyedTable, LazyRow, SortCell

COLUMNS = [Column("name", "Name", numeric=False), Column("value", "Value")]


class CountedRow(LazyRow):
    def __init__(self, owner: "CountingRows", key: str, value: int, name: str) -> None:
        self.owner, self.key, self.value, self.name = owner, key, value, name

    def cells(self, columns):
        self.owner.built.append(self.key)
        by_column = {"name": SortCell(self.name, "", self.key), "value": SortCell(str(self.value), "bold", self.value)}
        by_column["value"].justify = "right"
        return [by_column[c.key] for c in columns]

    def sort_key(self, column: str):
        return self.key if column == "name" else self.value


class CountingRows:
    """LazyRows of ``count`` rows whose builds are counted per key."""

    def __init__(self, count: int, offset: int = 0, wide: str | None = None) -> None:
        self.built: list[str] = []
        keys = [f"r{i:03d}" for i in range(count)]
        self.rows = {key: CountedRow(self, key, i + offset, wide if wide and i == count - 1 else key)
                     for i, key in enumerate(keys)}


class TableApp(App):
    def compose(self) -> ComposeResult:
        yield KeyedTable()

    def on_mount(self) -> None:
        self.query_one(KeyedTable).set_columns(COLUMNS)


async def synced(app: TableApp, pilot, rows: dict, sort_column: str, reverse: bool = False) -> KeyedTable:
    """The app's table, sorted by ``sort_column``, showing ``rows``."""
    table = app.query_one(KeyedTable)
    table.sort_column, table.sort_reverse = sort_column, reverse
    table.sync(rows)
    await pilot.pause()
    return table


async def test_only_rows_on_screen_are_built_and_sorting_needs_none():
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        # new rows are built when on screen too (they size their columns then)
        first = CountingRows(500)
        table = await synced(app, pilot, first.rows, "value", reverse=True)
        assert table.row_keys()[:3] == ["r499", "r498", "r497"]
        assert len(set(first.built)) < 30
        second = CountingRows(500, offset=1000)
        stats = table.sync(second.rows)
        await pilot.pause()
        assert len(set(second.built)) < 30  # the rows on screen, not 500
        assert table.row_keys()[:3] == ["r499", "r498", "r497"]  # sorted without building
        assert stats.updated_cells and stats.updated_cells < 60  # compared on screen only
        assert table.get_cell("r250", "value").plain == "1250"  # read: built on demand
        assert "1499" in table.render_line(1).text


@pytest.mark.parametrize("before, after", [(200, 200), (3, 300)], ids=["changed rows", "new rows"])
async def test_a_row_off_screen_is_built_when_scrolled_into_view_and_widens_its_column(before, after):
    """Changed rows, and more new rows than a few screenfuls, are built (and measured) when seen."""
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = await synced(app, pilot, CountingRows(before).rows, "name")
        narrow = table.ordered_columns[0].content_width
        wide = "a-much-longer-name-than-the-others"
        rows = CountingRows(after, wide=wide)  # the widest row last
        last = f"r{after - 1:03d}"
        table.sync(rows.rows)
        await pilot.pause()
        await pilot.pause()
        assert last not in rows.built and table.ordered_columns[0].content_width == narrow
        table.move_cursor(row=after - 1)
        await pilot.pause()
        await pilot.pause()
        assert last in rows.built
        assert table.ordered_columns[0].content_width == len(wide) > narrow
        assert any(wide in table.render_line(y).text for y in range(12))


async def test_the_cursor_keeps_its_row_when_lazy_rows_reorder():
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = await synced(app, pilot, CountingRows(50).rows, "value")
        table.move_cursor(row=3)
        chosen = table.cursor_key()
        table.sort_reverse = True
        table.sync(CountingRows(50, offset=7).rows)  # new rows, new order
        await pilot.pause()
        assert table.cursor_key() == chosen and table.cursor_row == 46
        fewer = CountingRows(50).rows
        del fewer["r000"], fewer["r010"]
        stats = table.sync(fewer)
        assert stats.removed == 2 and table.row_count == 48 and table.cursor_key() == chosen


CELLS = [
    SortCell("plain", ""),
    SortCell("bold red", "bold red"),
    SortCell("1340 ✖", "#ff0000"),
    SortCell("a text far too long for its column", "italic"),
    SortCell("日本語のテキスト", "underline"),
    SortCell("", ""),
]


async def test_quick_cell_rendering_gives_datatables_segments():
    cells = []
    for cell, justify in itertools.product(CELLS, (None, "left", "right", "center")):
        made = cell.copy()
        made.justify = justify
        made.stylize("reverse", 0, 2)
        cells.append(made)

    app = TableApp()
    async with app.run_test(size=(80, 30)) as pilot:
        table = app.query_one(KeyedTable)
        table.sync({str(index): [cell, SortCell()] for index, cell in enumerate(cells)})
        await pilot.pause()
        base = Style(bgcolor="#101010", color="white")
        for index, width, cursor, hover in itertools.product(range(len(cells)), (3, 6, 12, 40), (False, True), (False, True)):
            table._cell_render_cache.clear()
            mine = table._render_cell(index, 0, base, width, cursor, hover)
            table._cell_render_cache.clear()
            theirs = DataTable._render_cell(table, index, 0, base, width, cursor, hover)
            assert [list(Segment.simplify(line)) for line in mine] == [list(Segment.simplify(line)) for line in theirs], (
                cells[index].plain, cells[index].justify, width, cursor, hover)
