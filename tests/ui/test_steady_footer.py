"""SteadyFooter: one rebuild per burst of binding refreshes, none when the keys are the same."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Button, Footer
from textual.widgets._footer import FooterKey
from ui_helpers import wait_for

from voicetop.ui.widgets.steady_footer import SteadyFooter


class FooterApp(App):
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [Binding("q", "quit", "Quit"), Binding("x", "nothing", "Hidden", show=False)]

    def compose(self) -> ComposeResult:
        yield Button("other bindings", id="button")
        yield SteadyFooter()

    def action_nothing(self) -> None:
        pass


class ButtonWithKeys(Button):
    BINDINGS = [Binding("r", "nothing", "Reload")]


def shown_keys(app) -> list[str]:
    return [key.description for key in app.screen.query(FooterKey)]


async def test_a_burst_of_binding_refreshes_rebuilds_once_and_equal_keys_not_at_all(monkeypatch):
    class KeysApp(FooterApp):
        def compose(self) -> ComposeResult:
            yield Button("plain", id="plain")
            yield ButtonWithKeys("with keys", id="keys")
            yield SteadyFooter()

    app = KeysApp()
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: shown_keys(app) == ["Quit"], what="footer keys")
        rebuilds = []
        original = Footer.recompose

        async def counting(self):
            rebuilds.append(1)
            await original(self)

        monkeypatch.setattr(Footer, "recompose", counting)
        first_key = app.screen.query_one(FooterKey)
        for _ in range(5):
            app.screen.refresh_bindings()
        await pilot.pause(0.1)
        assert rebuilds == [] and app.screen.query_one(FooterKey) is first_key  # same keys: nothing rebuilt
        app.screen.query_one("#keys").focus()
        for _ in range(5):
            app.screen.refresh_bindings()
        await wait_for(pilot, lambda: "Reload" in shown_keys(app), what="the focused widget's key")
        await pilot.pause(0.1)
        assert rebuilds == [1]


async def test_new_keys_are_shown_after_a_focus_change():
    class KeysApp(FooterApp):
        def compose(self) -> ComposeResult:
            yield ButtonWithKeys("with keys", id="keys")
            yield Button("plain", id="plain")
            yield SteadyFooter()

    app = KeysApp()
    async with app.run_test() as pilot:
        app.screen.query_one("#plain").focus()
        await wait_for(pilot, lambda: shown_keys(app) == ["Quit"], what="app keys only")
        app.screen.query_one("#keys").focus()
        await wait_for(pilot, lambda: "Reload" in shown_keys(app), what="the focused widget's key")
        app.screen.query_one("#plain").focus()
        await wait_for(pilot, lambda: shown_keys(app) == ["Quit"], what="back to the app keys")
