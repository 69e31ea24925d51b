"""Acceptance (issue #10): a real Prometheus scraping ``voicetop demo serve``; the console's telephony panel.

The demo exporter runs as a real process; Prometheus scrapes it every second;
the console reads it with ``--profile livekit-server`` (through the source
factory, as the CLI does) and shows rooms, participants, loss, jitter, RTT and
quality in its telephony panel.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import httpx
import pytest

from tests.support.servers import PrometheusServer, free_port, require_binary, wait_until
from voicetop.config import Config, Connection, Context
from voicetop.domain.frame_builder import build_frame
from voicetop.domain.model import Window
from voicetop.domain.thresholds import ThresholdSet
from voicetop.sources.factory import metrics_source
from voicetop.ui.app import VoicetopApp
from voicetop.ui.widgets.telephony import TelCell, TelephonyPanel

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_exporter():
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "voicetop", "demo", "serve", "--port", str(port), "--demo-speed", "20"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}/metrics"

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"demo serve exited: {process.stderr.read()}")
        try:
            return "livekit_room_total" in httpx.get(url, timeout=2.0).text
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, timeout=30, what="demo exporter")
        yield url
    finally:
        process.kill()
        process.wait(10)


@pytest.fixture(scope="module")
def scraping(demo_exporter, tmp_path_factory):
    target = urllib.parse.urlsplit(demo_exporter).netloc
    config = (
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"scrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: ['{target}']\n"
    )
    require_binary("prometheus")
    prometheus = PrometheusServer(tmp_path_factory.mktemp("demo-scrape"), config).start()

    def ready() -> bool:
        rows = prometheus.query(
            "histogram_quantile(0.95, sum by (le) (rate(livekit_jitter_us_bucket[1m]))) "
            "and on() (sum(rate(livekit_sip_invite_requests[1m])) > 0)"
            " and on() (min(count_over_time(livekit_room_total[1m])) >= 6)"  # a few scrapes before the window end
        )
        return bool(rows) and rows[0]["value"][1] not in ("NaN", "+Inf")

    try:
        wait_until(ready, timeout=60, interval=0.5, what="rates of the scraped telephony series")
        yield prometheus
    finally:
        prometheus.stop()


def config_for(url: str) -> Config:
    return Config(context=Context("demo-scrape", prometheus=Connection(url, timeout=10), profile="livekit-server"), refresh=0.5)


def test_source_reads_every_telephony_panel_from_the_scraped_demo(scraping):
    source = metrics_source(config_for(scraping.url))
    try:
        end = math.floor(time.time())
        result = source.fetch(Window(end - 60, end, 2))
    finally:
        source.close()
    assert result.errors == {}
    frame = build_frame(result, ThresholdSet(), [], created_at=end)
    tel = frame.telephony
    assert tel is not None
    assert tel.panels() == ("rooms", "joins", "loss", "jitter", "rtt", "quality", "sip")
    media = {n.node_id for n in tel.nodes if n.value("rooms") is not None}
    assert media == {"lk-us-east-1a", "lk-us-west-2a", "lk-eu-south-1a"}
    # rooms follow the sessions at each simulated scrape tick; the live gauge moves in between
    assert tel.value("rooms") == pytest.approx(frame.fleet.scalar("active_sessions"), rel=0.1)
    assert tel.value("participants") == 2 * tel.value("rooms")
    assert 0 < tel.value("packet_loss_in") < 0.2 and 0 < tel.value("jitter_p95") < 1000
    assert 10 < tel.value("rtt_p95") < 1000
    shares = [tel.value(k) for k in ("quality_poor", "quality_good", "quality_excellent", "quality_lost")]
    assert sum(shares) == pytest.approx(1.0) and tel.value("quality_excellent") > 0.5
    assert 1.0 <= tel.value("quality_score_p50") <= 4.5


async def test_console_panel_on_prometheus_scraping_the_demo(scraping):
    source = metrics_source(config_for(scraping.url))
    app = VoicetopApp(metrics=source, traces=None, config=config_for(scraping.url))
    async with app.run_test(size=(160, 48)) as pilot:
        panel = app.screen.query_one(TelephonyPanel)
        names = ("rooms", "participants", "loss", "jitter", "rtt", "quality", "score", "joins", "sip")

        def shown() -> dict[str, str]:
            return {
                cell.cell: cell.value.plain
                for cell in panel.query(TelCell)
                if cell.display
            }

        # rate()-based panels (loss, joins) need a few scrapes; a loaded CI machine is slower
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            values = shown()
            if app.frame is not None and all(values.get(n, "–") not in ("", "–") for n in names):
                break
            await pilot.pause(0.2)
        assert panel.display
        title = panel.query_one("#tel-title").render().plain
        assert title.startswith("Telephony · 3 media nodes")
        values = shown()
        for name in names:
            assert values.get(name, "–") not in ("", "–"), (name, values)
        assert values["jitter"].endswith("ms") and values["quality"].endswith("%")
    source.close()
