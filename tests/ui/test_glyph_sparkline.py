"""Cell sparklines: Textual's sparkline normally, ASCII bars in one colour with the ASCII palette."""

from __future__ import annotations

from rich.color import Color
from rich.console import Console
from rich.text import Text
from textual.app import App, ComposeResult
from textual.renderables.sparkline import Sparkline as SparklineRenderable

from voicetop.ui.format import Palette
from voicetop.ui.widgets.glyph_sparkline import ASCII_BARS, FlatSparkline
from voicetop.ui.widgets.spark_cell import SparkCell, sparkline


class SparkApp(App):
    CSS = """
    SparkCell { width: 27; height: 1; }  /* 7 bars, a gap and the value */
    SparkCell.-critical > .sparkline--max-color { color: red; }
    SparkCell.-warning > .sparkline--max-color { color: yellow; }
    """

    def __init__(self, ascii: bool) -> None:
        super().__init__()
        self.palette = Palette(ascii=ascii)

    def compose(self) -> ComposeResult:
        yield SparkCell()

    def on_mount(self) -> None:
        self.query_one(SparkCell).show(tuple(range(7)), Text("p90 7ms"), Text(""))


def segments(renderable, width: int = 7):
    console = Console(width=width, color_system="truecolor")
    return list(console.render(renderable, console.options.update_width(width)))


async def test_ascii_palette_draws_ascii_bars_in_one_run():
    app = SparkApp(ascii=True)
    async with app.run_test(size=(20, 3)):
        cell = app.query_one(SparkCell)
        drawn = sparkline(cell, cell.data, 7)
        assert isinstance(drawn, FlatSparkline)
        runs = [s for s in segments(drawn) if s.text.strip("\n")]
        assert [s.text for s in runs] == [ASCII_BARS]  # lowest to highest, a single styled run
        assert runs[0].style is not None and runs[0].style.color is not None
        assert cell.render_line(0).text == f"{ASCII_BARS} p90 7ms" + " " * 12  # the cell draws it, gap, value


async def test_unicode_palette_keeps_textuals_sparkline():
    app = SparkApp(ascii=False)
    async with app.run_test(size=(20, 3)):
        cell = app.query_one(SparkCell)
        drawn = sparkline(cell, cell.data, 7)
        assert type(drawn) is SparklineRenderable
        assert "".join(s.text for s in segments(drawn)).strip() == "▁▂▃▄▅▆█"
        assert cell.render_line(0).text.startswith("▁▂▃▄▅▆█ p90 7ms")


def test_flat_bars_use_textuals_buckets_and_empty_data_stays_ascii():
    data = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]  # bucket maxima 3 4 9 6 5 over 5 columns
    colour = Color.parse(Palette().ok)
    unicode = SparklineRenderable(data, width=5, min_color=colour, max_color=colour)
    flat = FlatSparkline(data, width=5, min_color=colour, max_color=colour)
    assert "".join(s.text for s in segments(unicode, 5)) == "▂▃█▅▄"
    assert "".join(s.text for s in segments(flat, 5)) == ".-#=="
    empty = FlatSparkline([], width=4, min_color=colour, max_color=colour)
    assert "".join(s.text for s in segments(empty, 4)) == "____"


def _columns(strip) -> list[tuple[str, str]]:
    """(character, style) of each column of a rendered line."""
    return [(char, str(segment.style)) for segment in strip for char in segment.text]


async def test_a_cell_repaints_only_the_part_that_changed():
    """Only the dirtied columns go to the terminal: every column whose character or style
    changed must lie in a region the cell refreshed, and an unchanged show refreshes nothing."""
    from textual.geometry import Region

    from voicetop.domain.model import Severity

    app = SparkApp(ascii=False)
    async with app.run_test(size=(30, 3)) as pilot:
        cell = app.query_one(SparkCell)
        await pilot.pause()
        dirtied: list[Region] = []
        real_refresh = cell.refresh

        def spy(*regions, **kwargs):
            dirtied.extend(regions or [Region(0, 0, cell.size.width, cell.size.height)])
            return real_refresh(*regions, **kwargs)

        cell.refresh = spy
        steps = [  # contents, and whether only a part of the cell may be repainted
            ((0, 1, 2, 3, 4, 5, 6), "p90 7ms", Severity.OK, True),  # what on_mount showed: nothing to do
            ((0, 1, 2, 3, 4, 5, 6), "p90 9ms", Severity.OK, True),  # the value alone
            ((6, 5, 4, 3, 2, 1, 0), "p90 9ms", Severity.OK, True),  # the sparkline alone
            ((6, 5, 4, 3, 2, 1, 0), "p90 9ms", Severity.CRITICAL, False),  # a class change: Textual repaints all
            ((1, 1, 4, 3, 2, 1, 0), "p99 1s ✖>800", Severity.WARNING, False),  # everything
        ]
        for data, value, severity, partial in steps:
            before = _columns(cell.render_line(0))
            dirtied.clear()
            cell.show(data, Text(value), Text(""), severity)
            await pilot.pause()
            after = _columns(cell.render_line(0))
            changed = [x for x, (old, new) in enumerate(zip(before, after)) if old != new]
            assert all(any(r.x <= x < r.right for r in dirtied) for x in changed), (value, changed, dirtied)
            if value == "p90 7ms":
                assert not dirtied and not changed
            else:
                assert changed
                assert not partial or sum(r.width for r in dirtied) < cell.size.width
