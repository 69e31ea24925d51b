"""One quantile's cell of a stage row — sparkline, value, baseline value — as one widget.

The stage panel has 18 such cells (6 stages × p50/p90/p99) plus the change-marker
row's 3.  As a container of a Sparkline and two Statics each, they were 84 widgets,
and every widget costs Textual CSS matching, layout and compositing: about a
third of the demo's time from ``App.run`` to its first frame.  Drawn as one
widget per cell they cost a few milliseconds.

Layout, left to right: the sparkline takes what the fixed parts leave, then a
one-column gap, the value (:data:`VALUE_WIDTH`) and, when a baseline is on and
there is room, the baseline's value (:data:`BASE_WIDTH`).  The marker cell uses
the same split, so a change's ``▲`` lands under the sparkline column it marks.
"""

from __future__ import annotations

from typing import ClassVar, Sequence

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment
from rich.text import Text
from textual.renderables.sparkline import Sparkline as SparklineRenderable
from textual.widget import Widget

from voicetop.ui.widgets.glyph_sparkline import FlatSparkline
from voicetop.ui.widgets.quiet import text_signature

VALUE_WIDTH = 19
BASE_WIDTH = 12
SPARK_GAP = 1


def cell_widths(width: int, with_base: bool) -> tuple[int, int, int]:
    """(sparkline, value, baseline) columns of a cell ``width`` wide; the gap follows the sparkline."""
    base = BASE_WIDTH if with_base else 0
    spark = max(0, width - SPARK_GAP - VALUE_WIDTH - base)
    value = max(0, min(VALUE_WIDTH, width - spark - SPARK_GAP))
    return spark, value, max(0, min(base, width - spark - SPARK_GAP - value))


def sparkline(widget: Widget, data: Sequence[float], width: int) -> RenderableType:
    """Textual's sparkline renderable of ``data``, ``width`` wide and as high as ``widget``, in the
    colours of the widget's ``sparkline--min-color`` / ``--max-color`` component classes; flat
    ASCII bars in one colour while the app's palette is ASCII (see :mod:`.glyph_sparkline`)."""
    _, background = widget.background_colors
    low = background + widget.get_component_styles("sparkline--min-color").color
    high = background + widget.get_component_styles("sparkline--max-color").color
    palette = getattr(widget.app, "palette", None)
    kind = FlatSparkline if palette is not None and palette.ascii else SparklineRenderable
    return kind(list(data), width=width, height=max(1, widget.size.height), min_color=low.rich_color,
                max_color=high.rich_color, summary_function=max)


class Columns:
    """Renderables side by side, each in a fixed number of columns, ``height`` lines."""

    def __init__(self, parts: Sequence[tuple[RenderableType | None, int]]) -> None:
        self.parts = parts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = options.height or 1
        columns = []
        for renderable, width in self.parts:
            if width <= 0:
                continue
            if renderable is None:
                columns.append([[Segment(" " * width)]] * height)
            else:
                columns.append(console.render_lines(renderable, options.update(width=width, height=height), pad=True))
        new_line = Segment.line()
        for y in range(height):
            for lines in columns:
                yield from lines[y]
            if y < height - 1:
                yield new_line


class CellWidget(Widget):
    """Shared by the two cells: whether the baseline column is drawn."""

    DEFAULT_CSS = "CellWidget { width: 1fr; height: 100%; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.base_room = True  # False on narrow screens: the baseline column does not fit
        self._with_base = False  # a baseline is on

    def set_baseline(self, on: bool, room: bool) -> None:
        """Draw the baseline column when ``on`` and there is ``room`` for it."""
        if (self._with_base, self.base_room) != (on, room):
            self._with_base, self.base_room = on, room
            self.refresh()

    def widths(self) -> tuple[int, int, int]:
        return cell_widths(self.size.width, self._with_base and self.base_room)

    def spark_span(self) -> tuple[int, int]:
        """Screen x and width of the sparkline (or marker strip) part."""
        return self.region.x, self.widths()[0]


class SparkCell(CellWidget):
    """A stage quantile: sparkline of the window, current value with its threshold, baseline value."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"sparkline--max-color", "sparkline--min-color"}
    DEFAULT_CSS = """
    SparkCell > .sparkline--max-color { color: $primary; }
    SparkCell > .sparkline--min-color { color: $primary 30%; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.data: tuple[float, ...] = ()
        self.value = Text("")
        self.base = Text("")
        self._signature: tuple = ((), "", "")

    def show(self, data: tuple[float, ...], value: Text, base: Text) -> None:
        """New contents; repaints (this cell only) when they differ from the shown ones."""
        signature = (data, text_signature(value), text_signature(base))
        if signature != self._signature:
            self._signature = signature
            self.data, self.value, self.base = data, value, base
            self.refresh()

    def render(self) -> RenderableType:
        spark, value, base = self.widths()
        return Columns(((sparkline(self, self.data, spark) if spark else None, spark), (None, SPARK_GAP),
                        (self.value, value), (self.base, base)))
