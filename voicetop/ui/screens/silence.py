"""The silence dialog: duration and comment for an Alertmanager silence.

It only collects and checks the input; the caller sends the request (on a
worker thread).  Dismisses with a :class:`SilenceRequest`, or None on cancel.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from voicetop.alerting.silence import alert_matchers, parse_silence_duration, validate_silence
from voicetop.domain.model import Alert
from voicetop.domain.text import safe_text

DEFAULT_DURATION = "1h"


@dataclass(frozen=True)
class SilenceRequest:
    """What the user asked for: seconds, comment and author."""

    duration: float
    comment: str
    author: str


def matcher_text(alert: Alert) -> Text:
    """``alertname="X" agent_id="Y"`` as plain text."""
    parts = [f'{m.name}="{safe_text(m.value, 60)}"' for m in alert_matchers(alert)]
    return Text("matches " + " ".join(parts), style="dim")


class SilenceDialog(ModalScreen[SilenceRequest | None]):
    """Asks how long to silence an alert and why; Enter in the comment submits."""

    DEFAULT_CSS = """
    SilenceDialog { align: center middle; }
    #silence-box {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: round $warning; background: $surface; padding: 0 1;
    }
    #silence-box Input { margin: 0 0 1 0; }
    #silence-error { color: $error; height: auto; }
    #silence-buttons { height: auto; align-horizontal: right; }
    #silence-buttons Button { margin: 0 0 0 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, alert: Alert, author: str) -> None:
        super().__init__(id="silence-dialog")
        self.alert = alert
        self.author = author

    def compose(self) -> ComposeResult:
        title = Text("Silence ", style="bold")
        title.append(safe_text(self.alert.name, 48), style="bold")
        title.append(f" · {safe_text(self.alert.agent_id or 'fleet', 32)}")
        with Vertical(id="silence-box"):
            yield Static(title, id="silence-title")
            yield Static(matcher_text(self.alert), id="silence-matchers")
            yield Label("Duration (30m, 1h, 2d; at most 7 days)")
            yield Input(DEFAULT_DURATION, id="silence-duration")
            yield Label("Comment (why, ticket)")
            yield Input(
                placeholder="e.g. provider failover in progress, INC-123", id="silence-comment",
                select_on_focus=False,  # coming back from the duration must not wipe the comment
            )
            yield Static("", id="silence-error")
            yield Static(Text(f"created by {safe_text(self.author, 40)} · Enter creates · Esc cancels", style="dim"))
            with Horizontal(id="silence-buttons"):
                yield Button("Cancel", id="silence-cancel")
                yield Button("Create silence", id="silence-create", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#silence-comment", Input).focus()

    # -- input ---------------------------------------------------------
    def request(self) -> SilenceRequest | None:
        """The checked request, or None after showing why the input is unusable."""
        duration_box = self.query_one("#silence-duration", Input)
        comment_box = self.query_one("#silence-comment", Input)
        try:
            duration = parse_silence_duration(duration_box.value)
        except ValueError as exc:
            return self._refuse(f"duration: {exc}", duration_box)
        comment = comment_box.value.strip()
        try:
            validate_silence(duration, comment)
        except ValueError as exc:
            return self._refuse(str(exc), comment_box)
        return SilenceRequest(duration, comment, self.author)

    def _refuse(self, reason: str, field: Input) -> None:
        self.query_one("#silence-error", Static).update(Text(safe_text(reason, 120)))
        field.focus()
        return None

    def submit(self) -> None:
        request = self.request()
        if request is not None:
            self.dismiss(request)

    @on(Input.Submitted, "#silence-duration")
    def _duration_entered(self) -> None:
        self.query_one("#silence-comment", Input).focus()

    @on(Input.Submitted, "#silence-comment")
    def _comment_entered(self) -> None:
        self.submit()

    @on(Button.Pressed, "#silence-create")
    def _create_pressed(self) -> None:
        self.submit()

    @on(Button.Pressed, "#silence-cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
