"""``voicetop`` (no sub-command): the interactive console."""

from __future__ import annotations

import argparse
import threading
import time

from voicetop.cli import EXIT_OK, UsageError
from voicetop.commands.common import effective_config, view_window, warn_sources


#: How long the demo's earlier history waits for the first frame to be painted.
FIRST_PAINT_TIMEOUT = 10.0


def _complete_demo_history(app, fleet) -> None:
    """Background thread: once the first frame is on screen, simulate the demo's
    earlier history (sparklines fill in) and poll again at once."""
    deadline = time.monotonic() + FIRST_PAINT_TIMEOUT
    while not (app.is_running and app.frames_applied) and time.monotonic() < deadline:
        time.sleep(0.02)
    painted = threading.Event()
    try:
        app.call_from_thread(app.call_after_refresh, painted.set)
    except Exception:  # the app is not running (any more): fill in anyway
        painted.set()
    painted.wait(FIRST_PAINT_TIMEOUT)
    fleet.complete_history()
    app.poller.refresh_now()


def run_console(args: argparse.Namespace) -> int:
    config = effective_config(args)
    if args.demo:
        from voicetop.sources.demo import DemoFleet

        fleet = DemoFleet(seed=args.demo_seed, speed=args.demo_speed, defer_history=True)
        metrics, traces = fleet.metrics, fleet.traces
    elif config.context.prometheus is not None:
        from voicetop.sources.factory import metrics_source, trace_source

        metrics = metrics_source(config)
        traces = trace_source(config)
    else:
        raise UsageError(
            "no metrics source: pass --prometheus URL, set a context in the config file, or try --demo"
        )
    warn_sources(metrics, traces)
    view = view_window(args, config, metrics.now())
    from voicetop.ui.app import VoicetopApp

    from voicetop.lifecycle import signals_exit_app

    app = VoicetopApp(metrics=metrics, traces=traces, config=config, view=view)
    if args.demo:
        # The demo answers at once: the screen mounts with a frame instead of painting twice.
        app.apply_frame(app.poller.poll_once())
        threading.Thread(target=_complete_demo_history, args=(app, fleet), name="demo-history", daemon=True).start()
    try:
        with signals_exit_app(app):  # SIGTERM/SIGHUP: leave through the normal path, terminal restored
            app.run()
    finally:
        metrics.close()
        if traces is not None:
            traces.close()
    return app.return_code or EXIT_OK
