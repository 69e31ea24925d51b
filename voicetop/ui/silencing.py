"""The console's ``m``: silence the selected alert in Alertmanager.

Refused (one notification, no request) unless an Alertmanager is configured
and the context allows writes.  The dialog runs on the UI thread; the HTTP
call runs on a worker thread and its outcome is notified.
"""

from __future__ import annotations

import time
from functools import partial

from voicetop.alerting.silence import default_author, silence_refusal
from voicetop.domain.model import Alert
from voicetop.domain.text import safe_text
from voicetop.sources.base import SourceError
from voicetop.ui.format import clock

SILENCE_GROUP = "silence"


def selected_alert(app) -> Alert | None:
    """The alert under the breach panel's cursor on the current screen, if any."""
    from voicetop.ui.widgets.breaches import BreachPanel

    for panel in app.screen.query(BreachPanel):
        alert = panel.selected_alert()
        if alert is not None:
            return alert
    return None


def write_allowed(app) -> bool:
    return bool(app.config.context.write) and bool(getattr(app.alertmanager, "write", False))


def request_silence(app, alert: Alert | None) -> bool:
    """Open the silence dialog for ``alert``, or notify why not; True when it opened."""
    refusal = silence_refusal(
        alert, has_alertmanager=app.alertmanager is not None, write_allowed=write_allowed(app)
    )
    if refusal is not None or alert is None:
        app.notify(refusal or "select an alert to silence", severity="warning", timeout=6)
        return False
    from voicetop.ui.screens.silence import SilenceDialog

    def submitted(request) -> None:
        if request is not None:
            app.run_worker(
                partial(_create, app, alert, request), thread=True, group=SILENCE_GROUP,
                name="silence", exit_on_error=False,
            )

    app.push_screen(SilenceDialog(alert, default_author()), callback=submitted)
    return True


def _create(app, alert: Alert, request) -> None:
    """Worker body: create the silence, then notify on the UI thread."""
    where = safe_text(alert.name, 40) + (f" ({safe_text(alert.agent_id, 30)})" if alert.agent_id else "")
    try:
        silence_id = app.alertmanager.silence_alert(
            alert, request.duration, request.comment, created_by=request.author
        )
    except SourceError as exc:
        message, severity = f"silence failed: {safe_text(exc, 200)}", "error"
    except Exception as exc:  # a client bug must not take the console down
        message, severity = f"silence failed: {type(exc).__name__}", "error"
    else:
        until = clock(time.time() + request.duration)
        message = f"silence {safe_text(silence_id, 40)} created for {where} until {until}"
        severity = "information"
        app.last_silence_id = silence_id
        app.poller.refresh_now()
    if getattr(app, "closing", False):
        return
    try:
        app.call_from_thread(app.notify, message, title="silence", severity=severity, timeout=12)
    except RuntimeError:
        pass
