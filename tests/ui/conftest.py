"""Fixtures for the UI tests: a deterministic fake source and an app factory."""

from __future__ import annotations

import pytest
from ui_fakes import FakeMetrics
from ui_helpers import screen_text, wait_for  # noqa: F401  (re-exported for other UI tests)

from voicetop.config import Config
from voicetop.ui.app import VoicetopApp


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
