"""The demo fleet as a live scrape target, as ``voicetop demo serve`` runs it, for a real Prometheus."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from prometheus_client import start_http_server

from tests.support.servers import LOCALHOST, free_port
from voicetop.sources.demo import DemoFleet


@contextmanager
def demo_fleet_target(seed: int = 7, speed: float = 5.0) -> Iterator[tuple[DemoFleet, str]]:
    """The fleet and its ``host:port``, its simulation kept running (stopped on exit)."""
    fleet = DemoFleet(seed=seed, speed=speed)
    port = free_port()
    server, _thread = start_http_server(port, addr=LOCALHOST, registry=fleet.registry)
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(0.2):
            fleet.now()

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield fleet, f"{LOCALHOST}:{port}"
    finally:
        stop.set()
        ticker.join(2)
        server.shutdown()
        server.server_close()
        fleet.close()
