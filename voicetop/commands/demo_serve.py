"""``voicetop demo serve``: expose the demo fleet on a real ``/metrics`` endpoint.

A Prometheus scraping it sees every series of the metric contract
(DESIGN.md §2); with ``--otlp URL`` the spans also go to an OTLP/HTTP
collector (Jaeger, Tempo, an OpenTelemetry Collector).  The simulation advances
in the background at ``--demo-speed`` times wall time; at any speed but 1 the
rates Prometheus computes are in simulated, not wall, seconds.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from urllib.parse import urlsplit

from voicetop.cli import EXIT_OK, EXIT_USAGE, UsageError

#: How often the background loop advances the simulation (wall seconds).
ADVANCE_INTERVAL = 0.5
OTLP_PACKAGE = "opentelemetry-exporter-otlp-proto-http"


def otlp_traces_endpoint(url: str) -> str:
    """The OTLP/HTTP traces endpoint: ``/v1/traces`` is added to a bare base URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--otlp: expected an http(s) URL, got {url!r}")
    if parts.path in ("", "/"):
        return url.rstrip("/") + "/v1/traces"
    return url


def _otlp_processor(url: str):
    """A batch span processor exporting to ``url``, or None if the exporter is missing."""
    endpoint = otlp_traces_endpoint(url)
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        return None
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    return BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=10))


def run_demo_serve(args: argparse.Namespace) -> int:
    """Serve the demo fleet's registry until Ctrl-C or SIGTERM; returns the exit code."""
    if args.demo_speed < 0:
        raise UsageError("--demo-speed: must not be negative")
    if not 0 < args.port < 65536:
        raise UsageError(f"--port: {args.port} is not a TCP port")
    processors = []
    if args.otlp:
        processor = _otlp_processor(args.otlp)
        if processor is None:
            print(f"voicetop: --otlp needs the {OTLP_PACKAGE} package (pip install {OTLP_PACKAGE})", file=sys.stderr)
            return EXIT_USAGE
        processors.append(processor)

    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())  # before the slow start-up
    try:
        return _serve(args, processors, stop)
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve(args: argparse.Namespace, processors: list, stop: threading.Event) -> int:
    from prometheus_client import start_http_server

    from voicetop.sources.demo import DemoFleet

    fleet = DemoFleet(seed=args.demo_seed, speed=args.demo_speed, span_processors=processors)
    try:
        try:
            server, _thread = start_http_server(args.port, addr=args.host, registry=fleet.registry)
        except OSError as exc:
            raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
        print(
            f"voicetop demo: {len(fleet.agent_ids)} agents on http://{args.host}:{args.port}/metrics"
            f" (seed {args.demo_seed}, speed {args.demo_speed:g}x); Ctrl-C to stop",
            flush=True,
        )
        try:
            while not stop.wait(ADVANCE_INTERVAL):
                fleet.now()  # simulate up to the current time
        finally:
            server.shutdown()
            server.server_close()
    finally:
        fleet.close()
    return EXIT_OK
