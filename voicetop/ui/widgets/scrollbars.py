"""Scrollbars drawn in whole cells.

Textual draws the ends of a scrollbar thumb with eighth-block glyphs
(``▁▂▃▄▅▆▇``) for sub-cell precision.  Beside voicetop's sparklines (made of the
same glyphs) a thumb end at the right edge of a table read as a stray
sparkline fragment (``▅▅`` in the breach panel and the agent detail).  Whole-cell
thumbs are a plain coloured bar that cannot be mistaken for data.
"""

from __future__ import annotations

from textual.scrollbar import ScrollBar, ScrollBarRender


class CellScrollBarRender(ScrollBarRender):
    """A scrollbar whose thumb covers whole cells only (no partial block glyphs)."""

    VERTICAL_BARS = [" "] * 8
    HORIZONTAL_BARS = [" "] * 8


def use_cell_scrollbars() -> None:
    """Draw every scrollbar of the running app in whole cells."""
    ScrollBar.renderer = CellScrollBarRender
