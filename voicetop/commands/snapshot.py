"""``voicetop snapshot``: headless export for cron, incident bots and CI.

    voicetop snapshot --prometheus URL --at -30m --window 15m -o out.json

Polls once through the normal Poller, writes the snapshot JSON, the Markdown
report beside it and (unless ``--no-svg``) an SVG of the console replaying
that snapshot, rendered headless at 160×48 (about a second).  Exit 0 on
success, 2 on a source error or a usage/write problem.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from voicetop.cli import EXIT_OK, EXIT_USAGE, UsageError

SVG_SIZE = (160, 48)
SVG_TIMEOUT = 20.0


def add_snapshot_arguments(parser: argparse.ArgumentParser) -> None:
    out = parser.add_argument_group("output")
    out.add_argument("-o", "--output", metavar="FILE.json",
                     help="snapshot file, or a directory (default: ./voicetop-<context>-<UTC time>.json)")
    out.add_argument("--markdown", metavar="FILE.md", help="Markdown report path (default: beside the JSON)")
    out.add_argument("--no-markdown", action="store_true", help="skip the Markdown report")
    out.add_argument("--no-svg", action="store_true", help="skip the SVG screenshot (saves ~1 s)")
    out.add_argument("--no-redact", action="store_true",
                     help="keep user content (transcripts, e-mails, phone numbers); credentials are never written")
    out.add_argument("--force", action="store_true", help="overwrite existing files")
    out.add_argument("--history", metavar="DUR", default="1h",
                     help="series kept for replay's time cursor, ending with the window (default 1h; 0 = window only)")
    out.add_argument("--turns", type=int, default=20, metavar="N",
                     help="slowest turns kept with their span trees (default 20)")


def _sources(args: argparse.Namespace, config):
    if getattr(args, "demo", False):
        from voicetop.sources.demo import DemoFleet

        fleet = DemoFleet(seed=args.demo_seed, speed=args.demo_speed)
        return fleet.metrics, fleet.traces
    if config.context.prometheus is None:
        raise UsageError("no metrics source: pass --prometheus URL, set a context in the config file, or use --demo")
    from voicetop.sources.factory import metrics_source, trace_source

    metrics = metrics_source(config)
    try:
        return metrics, trace_source(config)
    except BaseException:
        metrics.close()
        raise


def render_svg(snapshot, size: tuple[int, int] = SVG_SIZE, timeout: float = SVG_TIMEOUT) -> str:
    """An SVG of the console replaying ``snapshot`` (the real App, headless)."""
    import asyncio

    from voicetop.commands.open_snapshot import replay_app

    app = replay_app(snapshot)

    async def shoot() -> str:
        async with app.run_test(size=size) as pilot:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while app.frame is None and loop.time() < deadline:
                await pilot.pause(0.05)
            await pilot.pause()
            return app.export_screenshot(title=f"voicetop — {snapshot.context}")

    return asyncio.run(shoot())


def _history(metrics, window, length: float):
    """Series over ``length`` seconds ending with the window (None: just the window)."""
    from voicetop.domain.model import Window
    from voicetop.sources.base import SourceError

    if length <= window.duration:
        return None
    try:
        return metrics.fetch(Window(window.end - length, window.end, window.step))
    except SourceError:
        return None


def run_snapshot(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from voicetop.commands.common import effective_config, view_window, warn_sources
    from voicetop.domain.model import HealthState, SourceHealth
    from voicetop.domain.timeparse import parse_duration
    from voicetop.export import SnapshotError, parse_document, write_snapshot
    from voicetop.export.collect import collect_turns
    from voicetop.export.sources_info import describe_sources
    from voicetop.export.writer import build_snapshot_document
    from voicetop.poller import Poller, with_health

    out = out or sys.stdout
    err = err or sys.stderr
    config = effective_config(args)
    try:
        history_length = parse_duration(args.history)
    except ValueError as exc:
        raise UsageError(f"--history: {exc}") from None
    if args.turns < 0:
        raise UsageError("--turns: must not be negative")
    metrics, traces = _sources(args, config)
    warn_sources(metrics, traces, err=err)
    try:
        view = view_window(args, config, metrics.now())
        poller = Poller(metrics, config.context.thresholds, lambda frame: None, view=view,
                        context=config.context.name)
        frame = poller.poll_once()
        health = frame.health[0]
        if health.state is HealthState.ERROR:
            print(f"voicetop: {metrics.name}: {health.message}", file=err)
            return EXIT_USAGE
        if health.state is HealthState.STALE:  # some panels failed (e.g. invalid PromQL in a profile)
            print(f"voicetop: warning: {metrics.name}: {health.message} (those stats are missing)", file=err)
        history = _history(metrics, frame.window, history_length)
        collected = collect_turns(traces, frame.window, args.turns)
        if traces is not None:
            state = HealthState.ERROR if collected.error else HealthState.OK
            frame = with_health(frame, SourceHealth(traces.name, state, collected.error, None, frame.created_at))
            if collected.error:
                print(f"voicetop: warning: {traces.name}: {collected.error} (turns may be missing)", file=err)
        options = dict(
            context=config.context.name,
            source_info=describe_sources(config, demo=getattr(args, "demo", False)),
            thresholds=config.context.thresholds,
            redact=not args.no_redact,
            recent_turns=collected.recent,
            sessions=collected.sessions,
            history=history,
        )
        svg = None
        if not args.no_svg:
            doc = build_snapshot_document(frame, collected.slowest, **options)
            svg = render_svg(parse_document(doc))
        markdown = False if args.no_markdown else (args.markdown or True)
        try:
            result = write_snapshot(
                frame, collected.slowest, args.output, force=args.force, svg=svg, markdown=markdown, **options
            )
        except SnapshotError as exc:
            print(f"voicetop: {exc}", file=err)
            return EXIT_USAGE
    finally:
        metrics.close()
        if traces is not None:
            traces.close()
    snapshot = result.snapshot
    active = sum(1 for b in snapshot.breaches if b.active)
    print(result.describe(), file=out)
    print(f"{len(snapshot.breaches)} breaches ({active} active), {len(snapshot.turns)} turns with spans", file=out)
    return EXIT_OK
