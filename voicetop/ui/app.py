"""The Textual App: wiring only (poller → frames → screens, themes, keys)."""

from __future__ import annotations

import asyncio
import gc
from concurrent.futures import CancelledError
from typing import Callable

from textual.app import App
from textual.binding import Binding

from voicetop.config import Config
from voicetop.domain.model import Frame
from voicetop.gc_pause import release_held
from voicetop.poller import Poller, ViewWindow
from voicetop.sources.base import MetricsSource, TraceSource
from voicetop.ui.format import Palette
from voicetop.ui.themes import DEFAULT_THEME, load_themes, palette_from
from voicetop.ui.widgets.scrollbars import use_cell_scrollbars

LOW_BANDWIDTH_MIN_REFRESH = 5.0


class VoicetopApp(App):
    """Owns the poller and the latest Frame; screens render what it hands them."""

    CSS_PATH = "app.tcss"
    TITLE = "voicetop"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("e", "export", "Export"),  # early: the footer cuts the last keys on narrow screens
        Binding("space", "toggle_pause", "Pause"),
        Binding("left_square_bracket", "step_window(-1)", "Back", key_display="["),
        Binding("right_square_bracket", "step_window(1)", "Fwd", key_display="]"),
        Binding("0", "go_live", "Live"),
        Binding("t", "cycle_theme", "Theme"),
        Binding("g", "group_by", "Group"),
        Binding("b", "baseline", "Baseline"),
    ]

    def __init__(
        self,
        metrics: MetricsSource,
        traces: TraceSource | None = None,
        config: Config | None = None,
        view: ViewWindow | None = None,
        *,
        poller_factory: Callable[..., Poller] = Poller,
        alertmanager=None,
    ) -> None:
        self.config = config or Config()
        super().__init__()
        self.metrics = metrics
        self.traces = traces
        self.alertmanager = alertmanager if alertmanager is not None else _alertmanager_for(self.config)
        self.last_export = None
        self.export_waiting = False  # ``e`` on a partial frame: export the whole one that follows
        self.last_silence_id: str | None = None
        self.thresholds = self.config.context.thresholds
        refresh = self.config.refresh
        if self.config.low_bandwidth:
            refresh = max(refresh, LOW_BANDWIDTH_MIN_REFRESH)
            self.animation_level = "none"
        view = view or ViewWindow(length=self.config.window, step=self.config.step)
        extra = {"alertmanager": self.alertmanager} if self.alertmanager is not None else {}
        self.poller = poller_factory(
            metrics, self.thresholds, self._frame_from_thread,
            refresh=refresh, view=view, context=self.config.context.name, traces=traces, **extra,
        )
        self.poller.hold_collection = True  # see apply_frame
        self.frame: Frame | None = None
        self.frames_applied = 0
        self.paused = False
        self.closing = False
        self.theme_problems: list[str] = []
        self.voicetop_themes: list[str] = []
        self.palette = Palette(ascii=self.config.low_bandwidth)
        self._install_themes()

    # -- themes --------------------------------------------------------
    def get_theme_variable_defaults(self) -> dict[str, str]:
        default = Palette()
        return {"sev-ok": default.ok, "sev-warning": default.warning, "sev-critical": default.critical}

    def _install_themes(self) -> None:
        themes, self.theme_problems = load_themes()
        for loaded in themes.values():
            self.register_theme(loaded.theme)
        self.voicetop_themes = sorted(themes, key=lambda n: (n != DEFAULT_THEME, n))
        wanted = self.config.theme or DEFAULT_THEME
        if wanted not in self.available_themes:
            self.theme_problems.append(f"unknown theme '{wanted}', using '{DEFAULT_THEME}'")
            wanted = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        self.theme = wanted
        self._theme_changed()

    def _theme_changed(self) -> None:
        self.palette = palette_from(self.get_css_variables(), ascii_glyphs=self.config.low_bandwidth)
        if self.frame is not None:
            self._render(self.frame)

    def action_cycle_theme(self) -> None:
        names = self.voicetop_themes or [self.theme]
        index = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(index + 1) % len(names)]
        self.notify(f"theme: {self.theme}", timeout=2)

    # -- lifecycle -----------------------------------------------------
    def get_default_screen(self):
        from voicetop.ui.screens.fleet import FleetScreen

        return FleetScreen()

    def on_mount(self) -> None:
        use_cell_scrollbars()
        self.theme_changed_signal.subscribe(self, lambda _theme: self._theme_changed())
        for problem in self.theme_problems:
            self.notify(problem, severity="warning", timeout=6)
        self.call_after_refresh(self.poller.start)  # frames arrive once the screen's widgets exist

    def on_unmount(self) -> None:
        self.closing = True
        self.poller.stop(timeout=0)
        if self.alertmanager is not None:
            self.alertmanager.close()
        gc.unfreeze()  # the app's objects become collectable again (tests run many apps)

    async def action_quit(self) -> None:
        """Stop the poller off the UI thread (it may be delivering a frame), then exit."""
        self.closing = True
        await asyncio.to_thread(self.poller.stop, 0.5)  # a poll stuck on a hung backend is left behind
        self.exit()

    # -- frames --------------------------------------------------------
    def _frame_from_thread(self, frame: Frame) -> None:
        """Poller callback (background thread): hand the frame to the UI thread."""
        if self.closing:
            return
        try:
            self.call_from_thread(self.apply_frame, frame)
        except (RuntimeError, CancelledError):  # app not running yet, or its loop closed
            pass

    def apply_frame(self, frame: Frame, force: bool = False) -> None:
        """Show a frame on every screen (dropped while paused unless forced, or unless it completes
        the partial frame on screen: the whole fleet over the same window)."""
        # the poll's leftovers are collected in the idle time after the repaint, not before it
        self.call_after_refresh(release_held)
        if self.closing or (self.paused and not force and not self._completes(frame)):
            return
        had_alerts = bool(self.frame is not None and self.frame.alerts)
        # The frame it replaces is the last hold on most of the last poll's objects (its series,
        # agents, the rows built from them): freeing them waits until the new frame is painted.
        self.call_after_refresh(_let_go, self.frame)
        self.frame = frame
        self.frames_applied += 1
        self._render(frame)
        if self.frames_applied == 1:
            # Start-up objects (modules, widgets, styles) live as long as the app:
            # keep them out of full collections, which otherwise walk them all
            # and stall a key press for 50–300 ms every few seconds.
            self.call_after_refresh(gc.freeze)
        if bool(frame.alerts) != had_alerts:
            self.refresh_bindings()  # ``m`` shows only when there is something to silence
        if self.export_waiting and not frame.partial:
            self.export_waiting = False
            self.action_export()

    def _completes(self, frame: Frame) -> bool:
        """True for the whole fleet's frame of the window of the partial frame on screen."""
        shown = self.frame
        return shown is not None and shown.partial and not frame.partial and frame.window == shown.window

    def _render(self, frame: Frame) -> None:
        for screen in self.screen_stack:
            show = getattr(screen, "show_frame", None)
            if show is not None:
                show(frame)
        # the agents the top screen shows are read first at fleet scale (none before the app runs)
        shown = getattr(self.screen_stack[-1], "agents_in_view", None) if self.screen_stack else None
        self.poller.focus = frozenset(shown()) if shown is not None else frozenset()

    # -- controls ------------------------------------------------------
    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self.poller.set_paused(self.paused)
        if self.frame is not None:
            self._render(self.frame)

    def action_step_window(self, direction: int) -> None:
        """Move the window back/forward by its own length; forward past now is live."""
        view = self.poller.view
        reference = self.frame.window.end if self.frame is not None else None
        if reference is None:
            return
        now = self.frame.created_at
        at = reference + direction * view.length
        if direction > 0 and (view.at is None or at > now - view.step):
            self._set_view(ViewWindow(view.length, view.step, None))
        else:
            self._set_view(ViewWindow(view.length, view.step, at))

    def action_go_live(self) -> None:
        view = self.poller.view
        self._set_view(ViewWindow(view.length, view.step, None))

    def _set_view(self, view: ViewWindow) -> None:
        self.poller.set_view(view)
        if self.paused:  # the poller sleeps while paused: fetch this one window now
            self.run_worker(self._poll_once_forced, thread=True, exclusive=True, group="oneshot")

    def _poll_once_forced(self) -> None:
        frame = self.poller.poll_once()
        if not self.closing:
            try:
                self.call_from_thread(self.apply_frame, frame, True)
            except (RuntimeError, CancelledError):
                pass

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide ``m`` (silence) while there are no alerts and no Alertmanager."""
        if action == "silence":
            return self.alertmanager is not None or bool(self.frame is not None and self.frame.alerts)
        return True

    def action_export(self) -> None:
        """``e``: snapshot JSON, Markdown report and SVG of the frame on screen."""
        from voicetop.ui.exporting import start_export

        start_export(self)

    def action_silence(self) -> None:
        """``m``: silence the alert under the breach panel's cursor (needs --write)."""
        from voicetop.ui.silencing import request_silence, selected_alert

        request_silence(self, selected_alert(self))

    def action_group_by(self) -> None:
        """Regroup by the next label (model, provider, prompt version, …); issue #9."""
        from voicetop.ui.comparing import cycle_group

        cycle_group(self)

    def action_baseline(self) -> None:
        """Toggle the comparison with the same window a day and a week earlier."""
        from voicetop.ui.comparing import toggle_baseline

        toggle_baseline(self)

    def action_help(self) -> None:
        from voicetop.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())


def _let_go(_replaced: object) -> None:
    """Nothing: the argument is released when this returns (see ``apply_frame``)."""


def _alertmanager_for(config: Config):
    """The context's Alertmanager client (alerts and silences), or None.

    A bad URL or credential setting is a UsageError (one line, exit 2)."""
    if config.context.alertmanager is None:
        return None
    from voicetop.cli import UsageError
    from voicetop.sources.alertmanager import alertmanager_source
    from voicetop.sources.base import SourceError
    from voicetop.sources.factory import check_url

    setting = f"contexts.{config.context.name}.alertmanager"
    check_url(config.context.alertmanager, setting)
    try:
        return alertmanager_source(config)
    except (SourceError, ValueError) as exc:
        raise UsageError(f"{setting}: {exc}") from None
