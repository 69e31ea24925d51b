"""Helpers shared by the UI tests (imported as a plain module, not via conftest)."""

from __future__ import annotations

import time
from typing import Callable


async def wait_for(pilot, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Let the app run until ``predicate()`` holds (fails the test after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.02)
        if predicate():
            return
    raise AssertionError(f"timed out waiting for {what}")


def screen_text(app) -> str:
    """Plain text of everything on the current screen (for content assertions)."""
    from textual.widgets import DataTable, Static

    parts: list[str] = []
    for widget in app.screen.query(Static):
        rendered = widget.render()
        parts.append(getattr(rendered, "plain", str(rendered)))
    for table in app.screen.query(DataTable):
        for row_key in table.rows:
            parts.append(" ".join(getattr(c, "plain", str(c)) for c in table.get_row(row_key)))
    return "\n".join(parts)
