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
    CSS = "SparkCell { width: 27; height: 1; }"  # 7 bars, a gap and the value

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
