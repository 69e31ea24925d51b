"""Debian's prometheus scraping the demo fleet live (1 s scrape interval).

``voicetop --prometheus URL`` against a Prometheus that scrapes the demo fleet
must show the same fleet as ``voicetop --demo``.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

from tests.support.demo_target import demo_fleet_target
from tests.support.servers import LOCALHOST, ServerProcess, free_port, prometheus_config, wait_until
from voicetop.config import Connection
from voicetop.domain.model import HealthState
from voicetop.domain.thresholds import ThresholdSet
from voicetop.poller import Poller, ViewWindow
from voicetop.profiles.metrics import SEED
from voicetop.sources.demo import DemoFleet
from voicetop.sources.prometheus import PrometheusSource

SPEED = 5.0
LIVE = ViewWindow(length=120, step=1)
WANTED = ("ttft_p50", "e2e_p90", "stt_p90", "tts_p90", "llm_p99")


def live_frame_once_ready(url: str, expected_agents: tuple[str, ...], timeout: float = 45.0):
    """Poll until every expected agent has every WANTED stat; return that frame."""
    source = PrometheusSource(Connection(url=url, timeout=5.0), SEED)
    poller = Poller(source, ThresholdSet(), lambda f: None, view=LIVE)
    frames = []

    def ready() -> bool:
        frame = poller.poll_once()
        frames.append(frame)
        if frame.health[0].state is not HealthState.OK:
            return False
        if tuple(a.agent_id for a in frame.agents) != tuple(sorted(expected_agents)):
            return False
        return all(
            agent.stat(key) is not None and math.isfinite(agent.stat(key)) for agent in frame.agents for key in WANTED
        )

    try:
        wait_until(ready, timeout=timeout, interval=1.0, what="all demo agents in Prometheus")
    except Exception:
        last = frames[-1] if frames else None
        pytest.fail(f"no complete live frame; last health={last and last.health} agents={last and [a.agent_id for a in last.agents]}")
    finally:
        source.close()
    return frames[-1]


def test_prometheus_scraping_the_demo_fleet_shows_the_same_fleet(prometheus_server):
    with demo_fleet_target(seed=7, speed=SPEED) as (fleet, target):
        prom = prometheus_server(prometheus_config([target], scrape_interval="1s"))
        frame = live_frame_once_ready(prom.url, fleet.agent_ids)
        demo_frame = Poller(fleet.metrics, ThresholdSet(), lambda f: None).poll_once()
    assert frame.mode == "live"
    assert [a.agent_id for a in frame.agents] == [a.agent_id for a in demo_frame.agents]
    for agent in frame.agents:
        demo = demo_frame.agent(agent.agent_id)
        # the same instrumentation: latencies land in the same (plausible) range
        for key in ("ttft_p50", "e2e_p90"):
            assert 0 < agent.stat(key) < 20_000
            assert demo.stat(key) is not None
    assert frame.fleet.stat("active_sessions") is not None


@pytest.mark.skipif(
    importlib.util.find_spec("voicetop.commands.demo_serve") is None,
    reason="`voicetop demo serve` (voicetop/commands/demo_serve.py) is not in this checkout yet",
)
def test_prometheus_scraping_voicetop_demo_serve(prometheus_server, tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "voicetop", "demo", "serve", "--port", str(port),
               "--demo-speed", str(SPEED), "--demo-seed", "7"]
    serve = ServerProcess("demo-serve", command, port, "/metrics", Path(tmp_path) / "serve")
    with serve:
        prom = prometheus_server(prometheus_config([f"{LOCALHOST}:{port}"], scrape_interval="1s"))
        expected = DemoFleet(seed=7, speed=0, history=0).agent_ids
        frame = live_frame_once_ready(prom.url, expected)
    assert [a.agent_id for a in frame.agents] == sorted(expected)
    assert frame.fleet.stat("ttft_p50") is not None
