"""FetchWorkerMixin: finished workers of the node's group reach ``_apply``; others are ignored."""

from __future__ import annotations

from textual.app import App
from textual.screen import Screen
from ui_helpers import wait_for

from voicetop.sources.base import SourceError
from voicetop.ui.widgets.drill_table import Fetched, FetchWorkerMixin, fetch


class LoadingScreen(FetchWorkerMixin, Screen):
    WORKER_GROUP = "load"
    WORKER_FAILED = "could not load the thing"

    def __init__(self) -> None:
        super().__init__()
        self.applied: list[Fetched] = []

    def load(self, call, group: str = "load") -> None:
        self._loading = True
        self.run_worker(call, thread=True, group=group, exit_on_error=False)

    def _apply(self, result: Fetched) -> None:
        self.applied.append(result)


def failing_source() -> Fetched[int]:
    return fetch(lambda: (_ for _ in ()).throw(SourceError("tempo: 503")))


def broken_worker() -> Fetched[int]:
    raise RuntimeError("bug in the worker itself")


async def test_results_errors_and_crashes_reach_apply_and_clear_loading():
    app = App()
    async with app.run_test() as pilot:
        screen = LoadingScreen()
        await app.push_screen(screen)
        screen.load(lambda: fetch(lambda: 42))
        await wait_for(pilot, lambda: len(screen.applied) == 1, what="a result")
        assert screen.applied[0] == Fetched(42) and not screen._loading
        screen.load(failing_source)
        await wait_for(pilot, lambda: len(screen.applied) == 2, what="a source error")
        assert screen.applied[1].error == "tempo: 503" and not screen._loading
        screen.load(broken_worker)
        await wait_for(pilot, lambda: len(screen.applied) == 3, what="a crashed worker")
        assert screen.applied[2] == Fetched(error="could not load the thing") and not screen._loading


async def test_workers_of_other_groups_are_ignored():
    app = App()
    async with app.run_test() as pilot:
        screen = LoadingScreen()
        await app.push_screen(screen)
        screen.load(lambda: fetch(lambda: 1), group="other")
        await pilot.pause(0.2)
        assert screen.applied == [] and screen._loading
