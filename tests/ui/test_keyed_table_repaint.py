"""KeyedTable.sync repaints only the changed cells' span of a row, never the whole table."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.geometry import Region

from voicetop.ui.widgets.keyed_table import MIN_CACHED_LINES, Column, KeyedTable, SortCell, render_cache_sizes


class ProbeTable(KeyedTable):
    refreshes: list[tuple[Region, ...]]

    def refresh(self, *regions, **kwargs):
        if not hasattr(self, "refreshes"):  # DataTable's constructor refreshes already
            self.refreshes = []
        self.refreshes.append(regions)
        return super().refresh(*regions, **kwargs)


class TableApp(App):
    def compose(self) -> ComposeResult:
        yield ProbeTable()

    def on_mount(self) -> None:
        table = self.query_one(ProbeTable)
        table.set_columns([Column("name", "Name", 10, numeric=False), Column("a", "A", 6), Column("b", "B", 6)])


def rows(a_of_two: str = "20") -> dict[str, list[SortCell]]:
    return {
        key: [SortCell(key, sort_key=key), SortCell(a, sort_key=a), SortCell("x", sort_key="x")]
        for key, a in (("one", "10"), ("two", a_of_two), ("three", "30"))
    }


async def test_a_changed_cell_repaints_its_own_region_only():
    app = TableApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(ProbeTable)
        table.sync(rows())
        await pilot.pause()
        table.refreshes.clear()
        stats = table.sync(rows(a_of_two="21"))
        assert stats.updated_cells == 1 and not stats.added and not stats.removed
        assert table.get_cell("two", "a").plain == "21"
        assert table.refreshes and all(regions for regions in table.refreshes)  # never the whole table
        painted = Region.from_union([r for regions in table.refreshes for r in regions])
        row = table.row_keys().index("two")
        cell = table._get_cell_region((row, 1))  # the "A" cell of row "two"
        assert painted == cell.translate(-table.scroll_offset)
        await pilot.pause()
        assert "21" in table.render_line(row + 1).text  # +1: the header line


async def test_the_same_cell_lists_are_not_compared_or_repainted():
    app = TableApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(ProbeTable)
        wanted = rows()
        table.sync(wanted)
        await pilot.pause()
        table.refreshes.clear()
        wanted["two"][1] = SortCell("99", sort_key="99")  # mutated in place: sync trusts the same list
        stats = table.sync(wanted)
        assert stats.updated_cells == 0 and table.refreshes == []
        assert table.get_cell("two", "a").plain == "20"
        stats = table.sync({**wanted, "two": list(wanted["two"])})  # a new list is compared
        assert stats.updated_cells == 1 and table.get_cell("two", "a").plain == "99"


async def test_render_caches_hold_two_screenfuls_however_many_refreshes():
    """DataTable keys its renders by update count, so only the current screen's are reusable."""
    app = TableApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(ProbeTable)
        table.sync({f"r{i:02d}": [SortCell(f"r{i:02d}"), SortCell("1"), SortCell("2")] for i in range(40)})
        await pilot.pause()
        sizes = render_cache_sizes(table.size.height, 3)
        assert sizes["_line_cache"] == 2 * max(table.size.height, MIN_CACHED_LINES)
        assert sizes["_cell_render_cache"] == 3 * sizes["_line_cache"]
        for refresh in range(30):  # each sync bumps the update count: every render is new
            table.sync({f"r{i:02d}": [SortCell(f"r{i:02d}"), SortCell(str(refresh)), SortCell("2")] for i in range(40)})
            await pilot.pause()
            assert table.get_cell("r00", "a").plain == str(refresh)
        for name, size in sizes.items():
            cache = getattr(table, name)
            assert cache.maxsize == size
            assert 0 < len(cache) <= size
        await pilot.resize_terminal(60, 30)
        await pilot.pause()
        bigger = render_cache_sizes(table.size.height, 3)
        assert bigger["_line_cache"] > sizes["_line_cache"]
        assert table._line_cache.maxsize == bigger["_line_cache"]
        table.scroll_to(y=5, animate=False)
        await pilot.pause()
        first = table.render_line(1).text.split()  # still renders after the resize emptied its caches
        assert first == [f"r{int(table.scroll_y):02d}", "29", "2"]
