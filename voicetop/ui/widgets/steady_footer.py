"""A Footer that rebuilds its keys only when the keys it would show change.

Textual's Footer unmounts and remounts every key widget on each bindings
refresh, and opening a screen publishes several in a row (screen resume,
focus, the focused widget's bindings), so a screen paid for three or four
identical rebuilds while it was trying to paint its first frame.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class SteadyFooter(Footer):
    """Footer that coalesces a burst of binding refreshes into one rebuild and
    skips rebuilds that would show the same keys."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._rebuild_scheduled = False
        self._shown: tuple | None = None

    def bindings_changed(self, screen: Screen) -> None:
        if self._rebuild_scheduled:
            return
        self._rebuild_scheduled = True
        super().bindings_changed(screen)  # schedules recompose() after the next refresh
        if not self.app.app_focus:  # the base class ignores refreshes while the app is unfocused
            self._rebuild_scheduled = False

    def keys_signature(self) -> tuple:
        """Everything the footer's keys show."""
        keys = tuple(
            (binding.key, self.app.get_key_display(binding), binding.description, binding.action, enabled, tooltip)
            for (_, binding, enabled, tooltip) in self.screen.active_bindings.values()
            if binding.show
        )
        return (keys, self.compact, self.show_command_palette, getattr(self, "combine_groups", None))

    async def recompose(self) -> None:
        self._rebuild_scheduled = False
        if not self.is_attached:
            return
        signature = self.keys_signature()
        if signature == self._shown:
            return
        self._shown = signature
        await super().recompose()
