"""Sparkline bars in ASCII and one colour, for the ASCII palette (low-bandwidth mode).

Textual's sparkline colours every bar on its own (a blend between two colours),
so redrawing a 16-bar sparkline writes ~600 bytes of escape codes.  With the
ASCII palette (``--low-bandwidth``) the bars are ASCII and share one colour,
one style run per line: a redraw writes a few dozen bytes.  The bars are
bucketed exactly like Textual's, so change markers still line up.  The cells
that draw sparklines pick this or Textual's renderable by the palette
(:func:`voicetop.ui.widgets.spark_cell.sparkline`).
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from textual.renderables.sparkline import Sparkline as SparklineRenderable

#: Low to high, one byte each.
ASCII_BARS = "_.-=+*#"
_TO_ASCII = str.maketrans({"▁": "_", "█": "#"})  # Textual's bars for empty / single-sample data


class FlatSparkline(SparklineRenderable):
    """A sparkline renderable in ASCII bars, every line a single run in the max colour."""

    BARS = ASCII_BARS

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        line: list[str] = []
        for segment in super().__rich_console__(console, options):
            if segment.text == "\n":
                yield Segment("".join(line).translate(_TO_ASCII), self.max_color)
                yield segment
                line = []
            else:
                line.append(segment.text)
        yield Segment("".join(line).translate(_TO_ASCII), self.max_color)
