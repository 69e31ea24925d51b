"""update_static: equal text never repaints; fixed-size widgets update without a layout pass."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Static

from voicetop.ui.widgets.quiet import update_static


class Probe(Static):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.calls: list[bool] = []

    def refresh(self, *regions, repaint=True, layout=False, recompose=False):
        self.calls.append(layout)
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)


class ProbeApp(App):
    CSS = "#fixed { height: 2; width: 1fr; } #auto { width: 1fr; } #line { height: 1; } #grows { width: auto; height: 1; }"

    def compose(self) -> ComposeResult:
        yield Probe(id="fixed")
        yield Probe(id="auto")
        yield Probe(id="line")
        yield Probe(id="grows")


async def test_equal_text_is_skipped_and_fixed_size_skips_layout():
    app = ProbeApp()
    async with app.run_test() as pilot:
        fixed = app.query_one("#fixed", Probe)
        await pilot.pause()
        fixed.calls.clear()
        assert update_static(fixed, Text("a", style="bold")) is True
        assert update_static(fixed, Text("a", style="bold")) is False  # same look: nothing
        assert update_static(fixed, Text("b", style="bold")) is True
        assert fixed.calls == [False, False]  # height fixed by CSS: never a layout pass
        await pilot.pause()
        assert fixed.render().plain == "b"


async def test_auto_height_needs_layout_unless_one_unwrapped_line_stays_one_line():
    app = ProbeApp()
    async with app.run_test() as pilot:
        auto = app.query_one("#auto", Probe)
        await pilot.pause()
        auto.calls.clear()
        update_static(auto, Text("one", no_wrap=True))  # first update: size unknown → layout
        update_static(auto, Text("two", no_wrap=True))  # still one unwrapped line → no layout
        update_static(auto, Text("three\nlines", no_wrap=True))  # line count changed → layout
        update_static(auto, Text("wraps maybe"))  # wrapping text → layout
        assert auto.calls == [True, False, True, True]


async def test_unset_width_is_the_containers_so_a_fixed_height_skips_layout():
    app = ProbeApp()
    async with app.run_test() as pilot:
        line, grows = app.query_one("#line", Probe), app.query_one("#grows", Probe)
        await pilot.pause()
        line.calls.clear()
        grows.calls.clear()
        update_static(line, Text("short"))
        update_static(line, Text("a longer text"))
        update_static(grows, Text("short"))
        update_static(grows, Text("a longer text"))
        assert line.calls == [False, False]  # no width set: it fills its container
        assert grows.calls == [True, True]  # width: auto follows the text
