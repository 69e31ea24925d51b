"""Shared set-up for commands: effective config, sources and the view window."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import TextIO

from voicetop.cli import UsageError
from voicetop.config import Config, ConfigError, Connection, load_config
from voicetop.domain.timeparse import parse_duration, parse_time
from voicetop.poller import ViewWindow


def effective_config(args: argparse.Namespace) -> Config:
    """Config file + env, then command-line flags on top."""
    try:
        config = load_config(getattr(args, "config", None), getattr(args, "context", None))
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    changes = {}
    for flag in ("refresh", "window", "step"):
        value = getattr(args, flag, None)
        if value:
            try:
                changes[flag] = parse_duration(value)
            except ValueError as exc:
                raise UsageError(f"--{flag}: {exc}") from None
            if changes[flag] <= 0:
                raise UsageError(f"--{flag}: must be positive")
    if getattr(args, "theme", None):
        changes["theme"] = args.theme
    if getattr(args, "low_bandwidth", False):
        changes["low_bandwidth"] = True
    context = config.context
    ctx_changes = {}
    if getattr(args, "prometheus", None):
        ctx_changes["prometheus"] = _url(context.prometheus, args.prometheus)
    if getattr(args, "traces", None):
        ctx_changes["traces"] = _url(context.traces, args.traces)
    if getattr(args, "traces_kind", None):
        ctx_changes["traces_kind"] = args.traces_kind
    if getattr(args, "alertmanager", None):
        ctx_changes["alertmanager"] = _url(context.alertmanager, args.alertmanager)
    if getattr(args, "profile", None):
        ctx_changes["profile"] = args.profile
    if getattr(args, "write", False):
        ctx_changes["write"] = True
    if getattr(args, "baseline", None):
        from voicetop.domain.compare import parse_offsets

        try:
            ctx_changes["baseline_offsets"] = parse_offsets(args.baseline)
        except ValueError as exc:
            raise UsageError(f"--baseline: {exc}") from None
    for name in ("prometheus", "traces", "alertmanager"):
        conn = ctx_changes.get(name, getattr(context, name))
        if conn is not None:
            if getattr(args, "tenant", None):
                conn = replace(conn, tenant=args.tenant)
            if getattr(args, "insecure", False):
                conn = replace(conn, insecure=True)
            ctx_changes[name] = conn
    return replace(config, context=replace(context, **ctx_changes), **changes)


def _url(connection: Connection | None, url: str) -> Connection:
    return Connection(url=url) if connection is None else replace(connection, url=url)


def view_window(args: argparse.Namespace, config: Config, now: float) -> ViewWindow:
    """The window the user asked for (``--at`` relative to ``now``)."""
    at = None
    if getattr(args, "at", None):
        try:
            at = parse_time(args.at, now)
        except ValueError as exc:
            raise UsageError(f"--at: {exc}") from None
    return ViewWindow(length=config.window, step=config.step, at=at)


def warn_sources(*sources: object, err: TextIO | None = None) -> list[str]:
    """Print each source's set-up warnings (e.g. a token file readable by others) once to stderr."""
    shown: list[str] = []
    for source in sources:
        for warning in getattr(source, "warnings", ()) or ():
            if warning not in shown:
                shown.append(warning)
                print(f"voicetop: warning: {warning}", file=err or sys.stderr)
    return shown
