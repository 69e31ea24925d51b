"""Pilot tests of the telephony panel and the STT/WER media-quality correlation (issue #10)."""

from __future__ import annotations

import math

import pytest
from ui_fakes import FakeMetrics
from ui_helpers import wait_for

from voicetop.config import Config
from voicetop.domain.model import Series
from voicetop.ui.app import VoicetopApp
from voicetop.ui.widgets.breaches import BreachTable, breach_id
from voicetop.ui.widgets.telephony import TelCell, TelephonyPanel

demo = pytest.importorskip("voicetop.sources.demo")


@pytest.fixture(scope="module")
def fleet():
    return demo.DemoFleet(seed=7, speed=0, start=1_767_225_600.0)  # frozen at launch: the STT incident


def make_app(metrics) -> VoicetopApp:
    return VoicetopApp(metrics=metrics, traces=None, config=Config(refresh=0.1))


def panel(app) -> TelephonyPanel:
    return app.screen.query_one(TelephonyPanel)


def plain(widget) -> str:
    rendered = widget.render()
    return getattr(rendered, "plain", str(rendered))


async def started(pilot):
    await wait_for(pilot, lambda: pilot.app.frame is not None, timeout=15, what="first frame")
    await pilot.pause(0.1)


async def test_wide_panel_shows_every_figure_with_sparklines(fleet):
    app = make_app(fleet.metrics)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        tel = panel(app)
        assert tel.display and tel.mode == "wide" and tel.region.y == 2  # right under the header
        title = plain(tel.query_one("#tel-title"))
        assert title.startswith("Telephony · 3 media nodes · lk-eu-south-1a ")
        for node in ("lk-us-east-1a", "lk-us-west-2a"):
            assert node in title
        frame_tel = app.frame.telephony
        cells = {cell.cell: cell for cell in tel.query(TelCell)}
        assert set(cells) == {"rooms", "participants", "joins", "sip", "sip_errors", "loss", "jitter", "rtt", "quality", "score"}
        for name, cell in cells.items():
            assert cell.display, name
            assert cell.value.plain not in ("", "–"), name
            assert len(cell.data) >= 30, name  # a point per step of the 15 min window
        assert cells["rooms"].value.plain == f"{frame_tel.value('rooms'):.0f}"
        loss_in = frame_tel.value("packet_loss_in") * 100
        assert cells["loss"].value.plain.startswith(f"{loss_in:.1f}/")
        shares = cells["quality"].value.plain
        assert shares.count("/") == 3 and shares.endswith("%")
        assert cells["jitter"].value.plain == f"{frame_tel.value('jitter_p95'):.0f}ms"


async def test_compact_summary_at_80x24_keeps_the_agent_table(fleet):
    app = make_app(fleet.metrics)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        tel = panel(app)
        assert tel.display and tel.mode == "one-line" and tel.region.height == 1
        line = plain(tel.query_one("#tel-title"))
        assert line.startswith("☎ ") and " rooms " in line
        assert line.index("loss") < line.index("jitter") < line.index("RTT") < 80  # media figures stay visible
        table = app.screen.query_one("#agents")
        assert table.region.height >= 6
    app = make_app(fleet.metrics)
    async with app.run_test(size=(100, 32)) as pilot:
        await started(pilot)
        tel = panel(app)
        assert tel.mode == "two-line" and tel.region.height == 2
        assert plain(tel.query_one("#tel-second")).startswith("loss ")


async def test_hidden_without_telephony_and_cells_hidden_per_missing_family():
    app = make_app(FakeMetrics())
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        assert not panel(app).display
        assert app.screen.query_one("#agents").region.y == 2

    class NoSip(FakeMetrics):
        def fetch(self, window):
            result = super().fetch(window)
            stamps = window.timestamps()
            flat = lambda v: Series(stamps, tuple(v for _ in stamps))  # noqa: E731
            tele = {"rooms": {None: flat(12.0), "nd-1": flat(12.0)}, "participants": {None: flat(24.0)},
                    "packet_loss_in": {None: flat(0.004)}, "packet_loss_out": {None: flat(0.001)},
                    "jitter_p95": {None: flat(math.nan)}}
            from dataclasses import replace
            return replace(result, telephony=tele)

    app = make_app(NoSip())
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        tel = panel(app)
        assert tel.display
        shown = {cell.cell for cell in tel.query(TelCell) if cell.display}
        assert shown == {"rooms", "participants", "loss"}
        assert plain(tel.query_one("#tel-title")).startswith("Telephony · 1 media node · nd-1 12 rooms/– ppl")


async def test_demo_wer_breach_hint_names_packet_loss(fleet):
    app = make_app(fleet.metrics)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        wer = next(b for b in app.frame.breaches if b.key == "wer" and b.agent_id == "support-es")
        table = app.screen.query_one(BreachTable)
        keys = [row.value for row in table.rows]
        table.focus()
        table.move_cursor(row=keys.index(breach_id(wer, app.frame.window.start)))
        await pilot.pause(0.1)
        hint = plain(app.screen.query_one("#breach-hint"))
        assert hint.startswith("Hint: media quality is the likely cause: packet loss")
        assert "on node lk-eu-south-1a" in hint or "(worst node lk-eu-south-1a" in hint
        ttft = next(b for b in app.frame.breaches if b.key == "ttft_p99" and b.agent_id == "billing-agent")
        table.move_cursor(row=keys.index(breach_id(ttft, app.frame.window.start)))
        await pilot.pause(0.1)
        assert "media quality" not in plain(app.screen.query_one("#breach-hint"))
