"""``voicetop check``: the deployment gate.

    voicetop check --prometheus URL --ttft-p99 1200 --p90-max 3500 --p99-max 5000 \\
        --wer-max 8 --success-rate 95 [--max stt_p90=400] [--drift cost_per_session=2] \\
        [--drift-gates] [--window 5m] [--at TIME] [--json]

Each gate is evaluated at the end of the window (``--at``, default now) over a
rate range equal to the window when the source supports it (Prometheus), and
on the fleet unless ``--agent``/``--each-agent`` say otherwise.  A snapshot
file (``--snapshot FILE`` or a positional FILE) is gated at its window's end
with the rate range it was exported with.  Exit 0 when
all gates hold, 1 when one fails, 2 on a usage or source error or when a gate
has no data (a gate without data never passes).  A gated stat whose query the
server rejected (e.g. invalid PromQL in a profile) gets one stderr line naming
the stat and the server's message, and exit 2.

Telephony stats of the ``livekit-server`` profile gate like any other (ratios
in percent): ``--max packet_loss=2 --max jitter_p95=40 --min join_success_rate=99``;
``--critical`` includes them when the source reads telephony.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from voicetop.cli import EXIT_USAGE, UsageError

DEFAULT_WINDOW = "5m"

#: (flag, stat key, direction, help) of the guide's named gates.
NAMED_GATES = (
    ("--ttft-p99", "ttft_p99", "max", "max LLM TTFT p99, ms"),
    ("--p90-max", "e2e_p90", "max", "max end-to-end p90, ms"),
    ("--p99-max", "e2e_p99", "max", "max end-to-end p99, ms"),
    ("--wer-max", "wer", "max", "max word error rate, percent"),
    ("--success-rate", "tool_success_rate", "min", "min tool-call success rate, percent"),
)


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    """The check sub-command's own flags (source flags are added by the CLI)."""
    gates = parser.add_argument_group("gates")
    for flag, key, _, text in NAMED_GATES:
        gates.add_argument(flag, dest=f"gate_{key}", metavar="N", help=text)
    gates.add_argument("--max", action="append", default=[], metavar="KEY=VALUE",
                       help="any stat must stay at or under VALUE (ratios in percent), e.g. stt_p90=400, "
                            "packet_loss=2 (telephony: fleet-wide)")
    gates.add_argument("--min", action="append", default=[], metavar="KEY=VALUE",
                       help="any stat must stay at or over VALUE, e.g. mos=3.8")
    gates.add_argument("--critical", action="store_true",
                       help="also gate every threshold at its critical limit (from the config)")
    gates.add_argument("--drift", action="append", default=[], metavar="KEY=FACTOR",
                       help="a stat must stay at or under FACTOR × its baseline, e.g. cost_per_session=2")
    gates.add_argument("--drift-gates", action="store_true",
                       help="gate every baseline (drift) threshold at its critical factor")
    scope = parser.add_argument_group("scope and output")
    scope.add_argument("--agent", action="append", default=[], metavar="ID",
                       help="gate this agent instead of the fleet (repeatable)")
    scope.add_argument("--each-agent", action="store_true", help="gate every agent separately")
    scope.add_argument("--snapshot", metavar="FILE", dest="snapshot_file", help="evaluate a snapshot file")
    scope.add_argument("file", nargs="?", metavar="FILE", help="snapshot file (same as --snapshot)")
    scope.add_argument("--json", action="store_true", help="machine-readable output")


def _gates(args: argparse.Namespace, thresholds):
    from voicetop.alerting.gates import (
        GateError,
        critical_gates,
        drift_gates,
        make_gate,
        parse_assignment,
        parse_drift,
        parse_number,
    )

    found = []
    try:
        for flag, key, direction, _ in NAMED_GATES:
            raw = getattr(args, f"gate_{key}", None)
            if raw is not None:
                found.append(make_gate(key, parse_number(raw, flag), direction, thresholds=thresholds))
        found.extend(parse_assignment(text, "max", thresholds) for text in args.max)
        found.extend(parse_assignment(text, "min", thresholds) for text in args.min)
        found.extend(parse_drift(text, thresholds) for text in getattr(args, "drift", []))
    except GateError as exc:
        raise UsageError(str(exc)) from None
    if args.critical:
        named = {(g.key, g.direction) for g in found}
        found.extend(g for g in critical_gates(thresholds) if (g.key, g.direction) not in named)
    if getattr(args, "drift_gates", False):
        named = {g.key for g in found if g.baseline}
        found.extend(g for g in drift_gates(thresholds) if g.key not in named)
    if not found:
        raise UsageError("no gates given (e.g. --ttft-p99 1200 --wer-max 8, --drift cost_per_session=2, or --critical)")
    return found


def _open_source(args: argparse.Namespace, config, window_seconds: float):
    """The metrics source to gate: a snapshot file, the demo, or Prometheus.

    Prometheus gets the context's profile with its rate range set to the
    window, so ``--window 5m`` gates "p99 over the last five minutes".
    """
    path = getattr(args, "snapshot_file", None) or getattr(args, "file", None)
    if path:
        from voicetop.export.decode import load_snapshot
        from voicetop.export.document import SnapshotError
        from voicetop.sources.snapshot import SnapshotMetricsSource

        try:
            return SnapshotMetricsSource(load_snapshot(path), name=f"snapshot {path}")
        except SnapshotError as exc:
            raise UsageError(str(exc)) from None
    if getattr(args, "demo", False):
        from voicetop.sources.demo import DemoFleet

        return DemoFleet(seed=args.demo_seed, speed=args.demo_speed).metrics
    if config.context.prometheus is None:
        raise UsageError("no metrics source: pass --prometheus URL, a snapshot FILE, or set a context")
    from dataclasses import replace

    from voicetop.sources.factory import check_url, metrics_profile
    from voicetop.sources.prometheus import PrometheusSource

    connection = config.context.prometheus
    setting = f"contexts.{config.context.name}.prometheus"
    check_url(connection, setting)
    profile = replace(metrics_profile(config), rate_window=window_seconds)
    return PrometheusSource(connection, profile)


def run_check(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from voicetop.alerting.gates import evaluate_gates
    from voicetop.alerting.report import render_json, render_table
    from voicetop.commands.common import effective_config, warn_sources
    from voicetop.domain.model import Window
    from voicetop.domain.timeparse import parse_duration, parse_time
    from voicetop.sources.base import SourceError

    out = out or sys.stdout
    config = effective_config(args)
    try:
        length = parse_duration(getattr(args, "window", None) or DEFAULT_WINDOW)
    except ValueError as exc:
        raise UsageError(f"--window: {exc}") from None
    if length <= 0:
        raise UsageError("--window: must be positive")
    if args.agent and args.each_agent:
        raise UsageError("use either --agent or --each-agent")
    gates = _gates(args, config.context.thresholds)
    try:
        source = _open_source(args, config, length)
    except SourceError as exc:
        print(f"voicetop check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    warn_sources(source)
    try:
        now = source.now()
        end = now
        if getattr(args, "at", None):
            try:
                end = parse_time(args.at, now)
            except ValueError as exc:
                raise UsageError(f"--at: {exc}") from None
        step = min(config.step, length)
        window = Window(end - length, end, step)
        result = source.fetch(window)
    except SourceError as exc:
        print(f"voicetop check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        source.close()
    report = evaluate_gates(
        result, gates, agents=args.agent or None, each_agent=args.each_agent, window=window,
        thresholds=config.context.thresholds,
    )
    source_name = getattr(source, "display_url", None) or getattr(source, "name", "")
    if args.json:
        out.write(json.dumps(render_json(report, source_name), indent=2) + "\n")
    else:
        out.write(render_table(report, source_name))
    if _query_errors(gates, result.errors):
        return EXIT_USAGE
    return report.exit_code


def _query_errors(gates, errors) -> list[str]:
    """One stderr line per gated stat whose query failed, naming it and the server's message."""
    from voicetop.alerting.report import clean
    from voicetop.domain.telephony import DERIVED

    by_message: dict[str, list[str]] = {}
    for gate in gates:
        for key in (gate.key, f"{gate.key}_baseline", *DERIVED.get(gate.key, ())):
            if errors.get(key) and key not in by_message.setdefault(errors[key], []):
                by_message[errors[key]].append(key)
    lines = [
        f"voicetop check: stat {', '.join(keys)}: {clean(message, 400)}" for message, keys in by_message.items() if keys
    ]
    for line in lines:
        print(line, file=sys.stderr)
    return lines
