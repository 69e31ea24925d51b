"""Replay keeps the telephony panel (issue #10): export the demo, open the file, same figures."""

from __future__ import annotations

import pytest
from ui_helpers import screen_text, wait_for

from voicetop.commands.open_snapshot import replay_app
from voicetop.domain.thresholds import ThresholdSet
from voicetop.export import load_snapshot, write_snapshot
from voicetop.poller import Poller, ViewWindow
from voicetop.ui.widgets.breaches import BreachTable
from voicetop.ui.widgets.telephony import CELLS, TelCell, TelephonyPanel, cell_value

demo = pytest.importorskip("voicetop.sources.demo")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A snapshot of the frozen demo (the support-es node's loss incident) with 1 h of history."""
    fleet = demo.DemoFleet(seed=7, speed=0, start=1_767_225_600.0)
    poller = Poller(fleet.metrics, ThresholdSet(), lambda frame: None, view=ViewWindow(length=900, step=15))
    frame = poller.poll_once()
    from voicetop.domain.model import Window

    history = fleet.metrics.fetch(Window(frame.window.end - 3600, frame.window.end, frame.window.step))
    path = tmp_path_factory.mktemp("replay") / "demo.json"
    write_snapshot(frame, (), path, context="demo", created_at=frame.window.end, markdown=False, history=history)
    return frame, load_snapshot(path)


def plain(widget) -> str:
    rendered = widget.render()
    return getattr(rendered, "plain", str(rendered))


def test_the_demo_node_loss_incident_is_its_own_breach(exported):
    live, _ = exported
    node = [b for b in live.breaches if b.node == "lk-eu-south-1a" and b.key == "packet_loss" and b.active]
    assert node and node[0].agent_id is None and node[0].scope == "node lk-eu-south-1a"
    assert node[0].value > 0.01 and node[0].hint.startswith("node lk-eu-south-1a · poor media quality")
    assert not any(b.node and b.node != "lk-eu-south-1a" for b in live.breaches)  # the healthy nodes stay quiet


async def test_replay_shows_the_same_telephony_panel_and_the_node_breach(exported):
    live, snapshot = exported
    assert live.telephony is not None and snapshot.telephony is not None
    app = replay_app(snapshot)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None, timeout=15, what="first replay frame")
        await pilot.pause(0.1)
        assert app.frame.mode == "replay" and app.frame.telephony is not None
        tel = app.screen.query_one(TelephonyPanel)
        assert tel.display and tel.mode == "wide"
        assert plain(tel.query_one("#tel-title")).startswith("Telephony · 3 media nodes · lk-eu-south-1a ")
        cells = {cell.cell: cell for cell in tel.query(TelCell)}
        assert set(cells) == set(CELLS)
        for name, cell in cells.items():
            shown = cell.value.plain
            assert shown == cell_value(live.telephony, name), name  # the figures seen when exporting
            assert shown not in ("", "–"), name
            assert len(cell.data) >= 30, name
        # the bad node's own breach row, next to the WER breach that names it
        table = app.screen.query_one(BreachTable)
        rows = [" ".join(getattr(c, "plain", str(c)) for c in table.get_row(key)) for key in table.rows]
        assert any("Packet loss" in row and "node lk-eu-south-1a" in row for row in rows), rows
        wer = next(b for b in app.frame.breaches if b.key == "wer" and b.agent_id == "support-es" and b.active)
        assert wer.hint.startswith("media quality is the likely cause: packet loss")
        assert "on node lk-eu-south-1a" in wer.hint
        assert "node lk-eu-south-1a" in screen_text(app)
