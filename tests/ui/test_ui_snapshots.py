"""SVG snapshots of the fleet screen on a frozen, seeded demo fleet.

Regenerate after an intended visual change with
``pytest tests/ui/test_ui_snapshots.py --snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

import pytest

from voicetop.config import Config
from voicetop.ui.app import VoicetopApp

demo = pytest.importorskip("voicetop.sources.demo")

FROZEN_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def frozen_app() -> VoicetopApp:
    fleet = demo.DemoFleet(seed=7, speed=0, start=FROZEN_START)
    return VoicetopApp(metrics=fleet.metrics, traces=fleet.traces, config=Config(refresh=60))


async def first_frame(pilot) -> None:
    app = pilot.app
    for _ in range(500):
        if app.frame is not None:
            break
        await pilot.pause(0.02)
    assert app.frame is not None, "no frame from the frozen demo"
    # let the footer compose its key list and any focus/scroll animation settle
    for _ in range(50):
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.02)
        if any(True for _ in app.screen.query("FooterKey")):
            break
    await pilot.pause(0.3)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_fleet_screen_snapshot(snap_compare, size):
    assert snap_compare(frozen_app(), terminal_size=size, run_before=first_frame)
