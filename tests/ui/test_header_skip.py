"""FleetHeader: a frame that differs only in its creation time leaves the header alone."""

from __future__ import annotations

from dataclasses import replace

from textual.app import App, ComposeResult

from voicetop.domain.frame_builder import build_frame
from voicetop.domain.model import HealthState, MetricsResult, Series, SourceHealth, Window
from voicetop.domain.thresholds import ThresholdSet
from voicetop.ui.format import Palette
from voicetop.ui.widgets.header import FleetHeader

WINDOW = Window(0.0, 900.0, 15.0)


def frame(created_at: float, ttft: float = 1500.0, state: HealthState = HealthState.OK):
    stamps = WINDOW.timestamps()
    result = MetricsResult(window=WINDOW, series={"ttft_p99": {"a": Series(stamps, tuple(ttft for _ in stamps))}})
    health = (SourceHealth("metrics", state, "" if state is HealthState.OK else "timeout", 850.0, created_at),)
    return build_frame(result, ThresholdSet(), health, created_at=created_at)


class HeaderApp(App):
    def compose(self) -> ComposeResult:
        yield FleetHeader()


async def test_same_content_is_skipped_and_changes_still_show():
    app = HeaderApp()
    async with app.run_test(size=(120, 5)) as pilot:
        header = app.query_one(FleetHeader)
        calls: list[object] = []
        original = header.update
        header.update = lambda content, **kw: (calls.append(content), original(content, **kw))[1]
        header.show(frame(900.0), Palette(), paused=False)
        header.show(frame(901.0), Palette(), paused=False)  # the next poll, same window and data
        assert len(calls) == 1
        header.show(frame(902.0), Palette(), paused=True)
        assert len(calls) == 2 and "PAUSED" in header.render().plain
        stale = frame(960.0, state=HealthState.STALE)
        header.show(stale, Palette(), paused=True)
        header.show(replace(stale, created_at=975.0, health=(replace(stale.health[0], checked_at=975.0),)),
                    Palette(), paused=True)  # the stale age moved on: shown
        assert len(calls) == 4 and "STALE" in header.render().plain
        await pilot.pause()
