"""Shared helpers for the UI tests."""

from __future__ import annotations

import asyncio
import time
from typing import Callable

import pytest

from voicetop.config import Config
from voicetop.ui.app import VoicetopApp

from ui_fakes import FakeMetrics


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


@pytest.fixture
def fake_metrics() -> FakeMetrics:
    return FakeMetrics()


@pytest.fixture
def make_app(fake_metrics):
    def factory(**config_fields) -> VoicetopApp:
        config_fields.setdefault("refresh", 0.1)
        metrics = config_fields.pop("metrics", fake_metrics)
        return VoicetopApp(metrics=metrics, traces=None, config=Config(**config_fields))

    return factory
