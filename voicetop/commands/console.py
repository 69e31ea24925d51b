"""``voicetop`` (no sub-command): the interactive console."""

from __future__ import annotations

import argparse

from voicetop.cli import EXIT_OK, UsageError
from voicetop.commands.common import effective_config, view_window, warn_sources


def run_console(args: argparse.Namespace) -> int:
    config = effective_config(args)
    if args.demo:
        from voicetop.sources.demo import DemoFleet

        fleet = DemoFleet(seed=args.demo_seed, speed=args.demo_speed)
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
    try:
        with signals_exit_app(app):  # SIGTERM/SIGHUP: leave through the normal path, terminal restored
            app.run()
    finally:
        metrics.close()
        if traces is not None:
            traces.close()
    return app.return_code or EXIT_OK
