"""``voicetop open FILE.json``: replay a snapshot in the console, read-only."""

from __future__ import annotations

import argparse
import os
from functools import partial
from typing import TYPE_CHECKING

from voicetop.cli import EXIT_OK, UsageError

if TYPE_CHECKING:  # imported lazily: building the CLI parser must stay instant (--version)
    from voicetop.config import Config
    from voicetop.export.document import Snapshot


def add_open_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.json", help="a voicetop snapshot file")
    parser.add_argument("--theme", metavar="NAME", default=argparse.SUPPRESS, help="colour theme")
    parser.add_argument("--low-bandwidth", action="store_true", default=argparse.SUPPRESS,
                        help="fewer repaints, ASCII glyphs")


def replay_config(snapshot: Snapshot, args: argparse.Namespace | None = None) -> Config:
    """A config that replays ``snapshot``: its thresholds, window and context; no backends.

    Display settings come from the environment and flags only, so a broken or
    absent config file never stops a postmortem from opening the file.
    """
    from dataclasses import replace

    from voicetop.config import Config, ConfigError, Context, apply_env

    profile = str(snapshot.source.get("profile", "seed"))
    context = Context(snapshot.context, thresholds=snapshot.thresholds, profile=profile, write=False)
    base = Config(context=context, window=snapshot.window.duration, step=snapshot.window.step)
    try:
        config = apply_env(base, os.environ)
    except ConfigError:
        config = base
    config = replace(config, context=context, window=base.window, step=base.step)
    if args is not None and getattr(args, "theme", None):
        config = replace(config, theme=args.theme)
    if args is not None and getattr(args, "low_bandwidth", False):
        config = replace(config, low_bandwidth=True)
    return config


def replay_app(snapshot: Snapshot, args: argparse.Namespace | None = None):
    """The console App wired to replay ``snapshot`` (frames in mode "replay")."""
    from voicetop.poller import Poller, ViewWindow
    from voicetop.sources.snapshot import replay_sources
    from voicetop.ui.app import VoicetopApp

    metrics, traces = replay_sources(snapshot)
    config = replay_config(snapshot, args)
    view = ViewWindow(length=snapshot.window.duration, step=snapshot.window.step, at=snapshot.window.end)
    return VoicetopApp(
        metrics=metrics, traces=traces, config=config, view=view,
        poller_factory=partial(Poller, mode="replay"),
    )


def load_or_usage_error(path: str) -> Snapshot:
    from voicetop.export.decode import load_snapshot
    from voicetop.export.document import SnapshotError

    try:
        return load_snapshot(path)
    except SnapshotError as exc:
        raise UsageError(str(exc)) from None


def run_open(args: argparse.Namespace) -> int:
    from voicetop.lifecycle import signals_exit_app

    snapshot = load_or_usage_error(args.file)
    app = replay_app(snapshot, args)
    with signals_exit_app(app):
        app.run()
    return app.return_code or EXIT_OK
