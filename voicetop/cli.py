"""Command line entry point.  Imports stay lazy so ``--version`` is instant."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from typing import Sequence

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """A bad flag value or unusable setup: one line, exit 2."""


def _add_source_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("sources")
    group.add_argument("--config", metavar="FILE", help="config file (default: $VOICETOP_CONFIG or the user config dir)")
    group.add_argument("--context", metavar="NAME", help="named context from the config file")
    group.add_argument("--prometheus", metavar="URL", help="Prometheus-compatible API base URL")
    group.add_argument("--traces", metavar="URL", help="trace backend base URL (Jaeger or Tempo)")
    group.add_argument("--traces-kind", choices=("jaeger", "tempo"), help="trace backend kind")
    group.add_argument("--alertmanager", metavar="URL", help="Alertmanager base URL")
    group.add_argument("--profile", metavar="NAME|FILE", help="naming profile: seed, livekit, pipecat or a TOML file")
    group.add_argument("--tenant", metavar="ORG", help="X-Scope-OrgID tenant header")
    group.add_argument("--insecure", action="store_true", help="skip TLS verification (shown as a badge)")
    group.add_argument("--at", metavar="TIME", help="view the window ending at TIME (RFC 3339, Unix, -30m, now)")
    group.add_argument("--window", metavar="DUR", help="window length (default 15m)")
    group.add_argument("--step", metavar="DUR", help="evaluation step (default 15s)")
    group.add_argument("--baseline", metavar="DUR,DUR", help="baseline offsets for b (e.g. 1d,7d; default 1d,7d)")
    group.add_argument("--demo", action="store_true", help="use the embedded synthetic fleet")
    group.add_argument("--demo-seed", type=int, default=7, metavar="N", help="demo random seed (default 7)")
    group.add_argument("--demo-speed", type=float, default=1.0, metavar="X", help="demo clock speed factor (default 1)")


def _add_subcommand_source_flags(parser: argparse.ArgumentParser) -> None:
    """Source flags after a sub-command too; unset ones keep the top-level value."""
    _add_source_flags(parser)
    parser.add_argument("--write", action="store_true", help="allow writes (Alertmanager silences)")
    for action in parser._actions:
        if action.dest != "help":
            action.default = argparse.SUPPRESS


def build_parser() -> argparse.ArgumentParser:
    from voicetop import __version__

    parser = argparse.ArgumentParser(
        prog="voicetop",
        description="htop/k9s for voice agents: live latency, breaches and turn waterfalls.",
    )
    parser.add_argument("--version", action="version", version=f"voicetop {__version__}")
    _add_source_flags(parser)
    parser.add_argument("--refresh", metavar="DUR", help="refresh interval (default 2s)")
    parser.add_argument("--theme", metavar="NAME", help="colour theme: dark, light, high-contrast")
    parser.add_argument("--low-bandwidth", action="store_true", help="fewer repaints, ASCII glyphs")
    parser.add_argument("--write", action="store_true", help="allow writes (Alertmanager silences)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="the embedded demo fleet")
    demo_sub = demo.add_subparsers(dest="demo_command", metavar="ACTION", required=True)
    serve = demo_sub.add_parser("serve", help="expose the demo fleet on a real /metrics endpoint")
    serve.add_argument("--port", type=int, default=9464, help="HTTP port (default 9464)")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve.add_argument("--otlp", metavar="URL", help="also export spans over OTLP/HTTP to URL")
    serve.add_argument("--demo-seed", type=int, default=7, metavar="N")
    serve.add_argument("--demo-speed", type=float, default=1.0, metavar="X")
    from voicetop.commands.check import add_check_arguments
    from voicetop.commands.rules import add_rules_arguments

    check = sub.add_parser("check", help="deployment gate: exit 0 when all gates hold, 1 when one fails")
    _add_subcommand_source_flags(check)
    add_check_arguments(check)
    rules = sub.add_parser("rules", help="write Prometheus alerting rules from the thresholds (--recording: recording rules)")
    _add_subcommand_source_flags(rules)
    add_rules_arguments(rules)
    from voicetop.commands.open_snapshot import add_open_arguments
    from voicetop.commands.snapshot import add_snapshot_arguments

    snapshot = sub.add_parser("snapshot", help="headless export: snapshot JSON, Markdown report and SVG")
    _add_subcommand_source_flags(snapshot)
    add_snapshot_arguments(snapshot)
    open_ = sub.add_parser("open", help="replay a snapshot file in the console, read-only")
    add_open_arguments(open_)
    return parser


#: Flags whose values may start with "-" (relative times such as ``--at -30m``).
_DASH_VALUE_FLAGS = ("--at",)


def _join_dash_values(argv: Sequence[str]) -> list[str]:
    """``--at -30m`` → ``--at=-30m`` so argparse does not take -30m for a flag."""
    joined: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        item = items[i]
        if item in _DASH_VALUE_FLAGS and i + 1 < len(items) and items[i + 1][:1] == "-" and items[i + 1][1:2].isdigit():
            joined.append(f"{item}={items[i + 1]}")
            i += 2
            continue
        joined.append(item)
        i += 1
    return joined


def run() -> None:
    """The ``voicetop`` program: :func:`main`, then leave at once.

    Requests still blocked on a backend that stopped answering keep their
    pool's worker threads alive, and the interpreter would join them before
    exiting: ``q`` on a hung Prometheus took the whole HTTP timeout to
    return to the shell.  By now every command has finished its work
    (files written, sources closed, terminal restored), so when such threads
    remain the process exits without waiting for them.
    """
    code = main()
    if threading.active_count() > 1:  # pool workers, daemon or not, are joined at exit
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_join_dash_values(sys.argv[1:] if argv is None else argv))
    from voicetop.lifecycle import signals_raise_exit

    try:
        with signals_raise_exit():  # SIGTERM/SIGHUP: finally blocks run, no temp files left
            return _dispatch(args)
    except UsageError as exc:
        print(f"voicetop: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    """Run the chosen sub-command (the console without one)."""
    if args.command == "demo":
        from voicetop.commands.demo_serve import run_demo_serve

        return run_demo_serve(args)
    if args.command == "check":
        from voicetop.commands.check import run_check

        return run_check(args)
    if args.command == "rules":
        from voicetop.commands.rules import run_rules

        return run_rules(args)
    if args.command == "snapshot":
        from voicetop.commands.snapshot import run_snapshot

        return run_snapshot(args)
    if args.command == "open":
        from voicetop.commands.open_snapshot import run_open

        return run_open(args)
    from voicetop.commands.console import run_console

    return run_console(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
