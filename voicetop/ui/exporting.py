"""The console's ``e``: export what is on screen without blocking the UI.

The SVG screenshot is taken on the UI thread (cheap); collecting turns from
the trace backend and writing the files happen on a worker thread.  The
notification says where the files went, or gives the one-line reason.
"""

from __future__ import annotations

from functools import partial

from voicetop.domain.model import Frame
from voicetop.domain.text import safe_text
from voicetop.export import ExportResult, SnapshotError, export_frame

EXPORT_GROUP = "export"


def is_demo(app) -> bool:
    """True when the console runs on the embedded demo fleet."""
    return getattr(app.metrics, "name", "") == "demo"


def export_running(app) -> bool:
    return any(w.group == EXPORT_GROUP and not w.is_finished for w in app.workers)


def start_export(app) -> bool:
    """Export ``app.frame`` (JSON, Markdown, SVG) from a worker; False when it cannot start.

    A partial frame (the agents on screen read first, the others a step older)
    is not exported: the whole fleet's frame of the same window follows within
    about a second, and the export starts when it is on screen.
    """
    frame = app.frame
    if frame is None:
        app.notify("nothing to export yet: waiting for the first poll", severity="warning", timeout=4)
        return False
    if export_running(app):
        app.notify("an export is already running", severity="warning", timeout=3)
        return False
    if frame.partial and not app.paused:  # the agents on screen came first: the rest is a second away
        if not app.export_waiting:
            app.export_waiting = True
            app.notify("export: reading the rest of the fleet first", timeout=3)
        return True
    svg = app.export_screenshot(title=f"voicetop · {safe_text(frame.context, 40)}")
    app.run_worker(
        partial(_export, app, frame, svg), thread=True, group=EXPORT_GROUP, name="export",
        exit_on_error=False,
    )
    return True


def _export(app, frame: Frame, svg: str) -> None:
    """Worker body: write the files, then notify on the UI thread."""
    result: ExportResult | None = None
    try:
        result = export_frame(
            frame, config=app.config, traces=app.traces, out=None, svg=svg,
            redact=True, force=False, demo=is_demo(app),
        )
    except SnapshotError as exc:
        message, severity = f"export failed: {safe_text(exc, 200)}", "error"
    except Exception as exc:  # an exporter bug must not take the console down
        message, severity = f"export failed: {type(exc).__name__}: {safe_text(exc, 160)}", "error"
    else:
        message, severity = result.describe(), "information"
    _on_ui(app, _finished, app, result, message, severity)


def _finished(app, result: ExportResult | None, message: str, severity: str) -> None:
    if result is not None:
        app.last_export = result
    app.notify(message, title="export", severity=severity, timeout=12)


def _on_ui(app, callback, *args) -> None:
    if getattr(app, "closing", False):
        return
    try:
        app.call_from_thread(callback, *args)
    except RuntimeError:  # the app stopped while the worker ran
        pass
