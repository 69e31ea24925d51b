"""Repaint only what changed: Static updates that skip equal text and needless layout.

``Static.update`` always asks for a layout pass, which reflows and repaints the
whole screen.  A refresh that rewrites a header or a panel title with the same
text (most refreshes) should cost nothing, and one that changes the text of a
widget whose size cannot change should repaint just that widget.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


def text_signature(content: Text | str) -> tuple:
    """What decides whether two contents look the same on screen."""
    if isinstance(content, str):
        return (content,)
    spans = tuple((span.start, span.end, str(span.style)) for span in content.spans)
    return (content.plain, str(content.style), spans, content.no_wrap, content.justify, content.overflow)


def _size_is_fixed(widget: Static, content: Text | str, previous: tuple | None) -> bool:
    """True when the new content cannot change the widget's size."""
    width, height = widget.styles.width, widget.styles.height
    if width is not None and width.is_auto:  # unset: the container's width, whatever the text
        return False
    if height is not None and not height.is_auto:
        return True
    # auto height: unchanged if the text does not wrap and keeps its line count
    if previous is None or isinstance(content, str) or not content.no_wrap:
        return False
    return content.plain.count("\n") == previous[0].count("\n")


def update_static(widget: Static, content: Text | str) -> bool:
    """``widget.update(content)`` unless it already shows exactly that; True if updated."""
    signature = text_signature(content)
    previous = getattr(widget, "_voicetop_shown", None)
    if previous == signature:
        return False
    layout = not _size_is_fixed(widget, content, previous)
    widget._voicetop_shown = signature
    widget.update(content, layout=layout)
    return True
