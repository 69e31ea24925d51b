"""Terminal and markup injection: hostile label values, span names and attributes are shown
literally (or stripped), never interpreted — on every screen, in the Markdown report and the SVG.

The hostile data comes through real sources: a PrometheusSource reading a local
server whose query_range answers carry hostile ``agent_id`` label values (and
hostile alerts), and the Jaeger adapter reading the local trace backend serving
OpenTelemetry spans with hostile names, ids and attributes.  The real App is
driven with Pilot; each screen is exported as SVG and checked.
"""

from __future__ import annotations

import html
import json
import re

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rel_checks import assert_no_escape_bytes
from rel_figures import add
from tests.support.canned_http import CannedServer, json_body, matrix
from tests.support.trace_server import TraceBackend
from voicetop.cli import main
from voicetop.config import Config, Connection
from voicetop.poller import ViewWindow
from voicetop.sources.jaeger import JaegerTraceSource
from voicetop.sources.prometheus import PrometheusSource

END = 1_760_000_000.0
MS = 1_000_000
LONG = "L" * 100_000
#: Label values / ids as an attacker would send them, and what must be seen literally.
HOSTILE = {
    "markup": ("[red]x[/red]", "[red]x[/red]"),
    "link": ("[link=http://evil]l[/link]", "[link=http://evil]"),
    "action": ("[@click=app.quit]q[/]", "[@click=app.quit]"),
    "csi": ("\x1b[31mansi-red", "ansi-red"),
    "osc52": ("clip\x1b]52;c;ZXZpbA==\x07board", "clipboard"),
    "osc8": ("\x1b]8;;http://evil\x1b\\hyper\x1b]8;;\x1b\\", "hyper"),
    "bidi": ("\u202eevil-bidi", "evil-bidi"),
    "nul": ("nul\x00id", "nulid"),
    "html": ("<script>x</script>", "<script>x</script>"),
    "long": (LONG, "LLLLLLLLLL"),
}
AGENTS = [value for value, _ in HOSTILE.values()]
SESSION = "sess-[bold]\x1b[5mS\u202e"
SPAN_NAME = "llm_inference"


# -- hostile sources -------------------------------------------------------------------------
def _prometheus_answer(path: str, params: dict) -> tuple[int, str, bytes]:
    if path == "/api/v1/alerts":
        alert = {"labels": {"alertname": "[red]Pwn\x1b[31m", "agent_id": AGENTS[0], "severity": "critical"},
                 "annotations": {"summary": "[link=http://evil]x[/link]\x1b]52;c;ZXZpbA==\x07"},
                 "state": "firing", "activeAt": "2025-10-09T08:00:00Z"}
        return 200, "application/json", json_body({"status": "success", "data": {"alerts": [alert]}})
    stats = re.findall(r'"vt_stat", "(\w+)"', params.get("query", ""))
    start, end, step = float(params["start"]), float(params["end"]), float(params["step"])
    stamps = [start + i * step for i in range(int((end - start) / step) + 1)]
    rows = []
    for stat in stats:
        value = "1500" if stat.startswith(("ttft", "e2e")) else "0.5"
        for agent in AGENTS:
            rows.append(({"vt_stat": stat, "agent_id": agent}, [(t, value) for t in stamps]))
        rows.append(({"vt_stat": stat, "vt_scope": "fleet"}, [(t, value) for t in stamps]))
    if params.get("query", "").startswith("sum by (le, agent_id)"):  # stage buckets: every quantile 1500
        for agent in AGENTS:
            for le, count in (("1500", "0"), ("+Inf", "2")):
                rows.append(({"agent_id": agent, "le": le}, [(t, count) for t in stamps]))
    return 200, "application/json", matrix(rows)


def hostile_spans() -> list:
    """Seed-profile turns whose agent, session, span names and attributes are hostile."""
    spans = []
    for index, agent in enumerate(AGENTS[:3] + [AGENTS[-1]]):
        exporter = InMemorySpanExporter()
        provider = TracerProvider(resource=Resource.create({"service.name": agent}))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("hostile")
        t0 = int((END - 200 + index * 10) * 1e9)
        root = tracer.start_span("voice_turn", start_time=t0, attributes={
            "session.id": SESSION, "agent.id": agent, "turn.index": 0,
            "note": "[@click=app.quit]\x1b]52;c;ZXZpbA==\x07\u202e" + "A" * 5000,
        })
        from opentelemetry import trace as otel_trace

        context = otel_trace.set_span_in_context(root)
        for offset, name in enumerate(("stt_processing", SPAN_NAME, "[red]tool\x1b[31m\u202e", "tts_synthesis")):
            child = tracer.start_span(name, context=context, start_time=t0 + offset * 300 * MS,
                                      attributes={"tool.name": "[link=http://evil]t[/link]\x00"})
            child.end(end_time=t0 + (offset + 1) * 300 * MS)
        root.end(end_time=t0 + 1300 * MS)
        spans.extend(exporter.get_finished_spans())
    return spans


@pytest.fixture(scope="module")
def hostile_prometheus():
    with CannedServer(lambda path, params, headers: _prometheus_answer(path, params)) as server:
        yield server


@pytest.fixture(scope="module")
def hostile_traces():
    with TraceBackend(hostile_spans(), "jaeger") as backend:
        yield backend


# -- checks --------------------------------------------------------------------------------
def svg_text(svg: str) -> str:
    """The visible text of a Textual SVG screenshot."""
    return html.unescape(" ".join(re.findall(r">([^<>]*)<", svg))).replace("\xa0", " ")


async def check_screen(app, pilot, where: str, expect_literal: tuple[str, ...] = (), timeout: float = 8.0) -> str:
    """Wait (on a loaded machine) until the expected literals are painted, then check the screen."""
    deadline = app._loop.time() + timeout
    svg = app.export_screenshot()
    while not all(literal in svg_text(svg) for literal in expect_literal) and app._loop.time() < deadline:
        await pilot.pause(0.1)
        svg = app.export_screenshot()
    assert_no_escape_bytes(svg, where)
    assert "http://evil" not in re.sub(r">[^<>]*<", "><", svg), f"{where}: a link target made it into the markup"
    assert "ZXZpbA==" not in svg, f"{where}: an OSC 52 payload made it to the screen"
    text = svg_text(svg)
    for literal in expect_literal:
        assert literal in text, f"{where}: {literal!r} not shown literally"
    assert "L" * 400 not in text, f"{where}: a 100k-character value was not cut"
    assert app.is_running, f"{where}: the app quit"
    return text


async def _settle(pilot, predicate, what: str, timeout: float = 10.0) -> None:
    loop_time = pilot.app._loop.time
    deadline = loop_time() + timeout
    while not predicate():
        assert loop_time() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)
    await pilot.pause(0.1)


# -- the console ------------------------------------------------------------------------------
async def test_every_screen_shows_hostile_text_literally(hostile_prometheus, hostile_traces):
    from voicetop.ui.app import VoicetopApp
    from voicetop.ui.screens.agent import AgentScreen

    metrics = PrometheusSource(Connection(url=hostile_prometheus.url))
    traces = JaegerTraceSource(Connection(url=hostile_traces.url))
    app = VoicetopApp(metrics=metrics, traces=traces, config=Config(refresh=0.5),
                      view=ViewWindow(900, 15, at=END))
    screens = 0
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await _settle(pilot, lambda: app.frame is not None and len(app.frame.agents) == len(AGENTS), "agents")
            assert {a.agent_id for a in app.frame.agents} == set(AGENTS)  # ids kept as data
            await check_screen(app, pilot, "fleet", ("[red]x[/red]", "[link=http://evil]", "[@click=app.quit]", "<script>x</script>"))
            screens += 1
            for _ in AGENTS:  # walk every row; clicking through must not trigger anything
                await pilot.press("down")
            await pilot.click("#agents", offset=(3, 2))
            await pilot.pause(0.2)
            assert app.is_running
            for agent in AGENTS:
                while app.screen is not app.screen_stack[0]:
                    app.pop_screen()
                    await pilot.pause(0.05)
                app.push_screen(AgentScreen(agent))
                await pilot.pause(0.3)
                expected = HOSTILE["long"][1] if agent == LONG else agent.replace("\x00", "")
                literal = next((shown for value, shown in HOSTILE.values() if value == agent), expected)
                await check_screen(app, pilot, f"agent {agent[:20]!r}", (literal[:18],))
                screens += 1
            await _drill_down(app, pilot)
            screens += 3
    finally:
        metrics.close()
        traces.close()
    add("injection screens checked", screens)


async def _drill_down(app, pilot) -> None:
    """Sessions → turns → waterfall for a hostile agent and session."""
    try:
        from voicetop.ui.screens.sessions import SessionsScreen
        from voicetop.ui.screens.turns import TurnsScreen
        from voicetop.ui.screens.waterfall import WaterfallScreen
    except ImportError:  # pragma: no cover - drill-down screens not built
        pytest.xfail("drill-down screens are not available")
    agent = AGENTS[0]
    sessions = app.traces.sessions(agent, END - 900, END)
    assert [s.session_id for s in sessions] == [SESSION]
    app.push_screen(SessionsScreen(agent))
    await pilot.pause(1.0)
    await check_screen(app, pilot, "sessions", ("[red]x[/red]",))
    turns = app.traces.turns(SESSION, END - 900, END)
    assert turns and turns[0].agent_id == agent
    app.push_screen(TurnsScreen(sessions[0]))
    await pilot.pause(1.0)
    await check_screen(app, pilot, "turns")
    app.push_screen(WaterfallScreen(turns[0]))
    await pilot.pause(1.0)
    text = await check_screen(app, pilot, "waterfall", ("[red]tool",))
    assert "[red]tool" in text


# -- exports ----------------------------------------------------------------------------------
def test_report_json_and_svg_are_inert(hostile_prometheus, hostile_traces, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VOICETOP_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    out = tmp_path / "hostile.json"
    code = main(["--prometheus", hostile_prometheus.url, "--traces", hostile_traces.url, "snapshot",
                 "--at", str(END), "--window", "15m", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    raw_json = out.read_text()
    markdown = out.with_suffix(".md").read_text()
    svg = out.with_suffix(".svg").read_text()
    for name, text in (("json", raw_json), ("markdown", markdown), ("svg", svg), ("stdout", captured.out + captured.err)):
        assert_no_escape_bytes(text, name)
        assert "L" * 400 not in text or name == "json", f"{name}: a 100k-character value was not cut"
    # JSON keeps the data (escaped by the encoder), so a replay shows the same thing
    agents = {a["agent_id"] for a in json.loads(raw_json)["agents"]}
    assert "[red]x[/red]" in agents and "[@click=app.quit]q[/]" in agents
    # Markdown: brackets, angle brackets and pipes are escaped, so nothing renders as a link or HTML
    assert r"\[red\]x\[/red\]" in markdown
    assert r"\[link=http://evil\]" in markdown
    assert r"\<script\>" in markdown and "<script>" not in markdown
    assert not re.search(r"(?<!\\)\[[^\]]*\]\((?:http|javascript)", markdown), "a Markdown link was formed"
    for line in markdown.splitlines():
        assert len(line) < 2000, "a very long value was not cut in the report"
    # SVG: shown literally
    text = svg_text(svg)
    assert "[red]x[/red]" in text and "ZXZpbA==" not in svg
    add("injection exports checked", 3)


# -- a real terminal ----------------------------------------------------------------------------
@pytest.mark.integration
def test_real_terminal_gets_no_clipboard_write_or_hyperlink(hostile_prometheus, tmp_path):
    """The installed console in tmux with OSC 52 clipboard writes enabled: no buffer appears."""
    import shutil

    from rel_tmux import Tmux, fleet_shown, wait_file

    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    tmux = Tmux(tmp_path)
    try:
        exit_file = tmux.start("vt", f"--prometheus {hostile_prometheus.url} --at {END:.0f} --refresh 1s")
        tmux.run("set-option", "-g", "set-clipboard", "on")
        tmux.run("set-option", "-s", "set-clipboard", "on")
        screen = tmux.wait_screen("vt", fleet_shown)
        assert "[red]x[/red]" in screen and "[@click=app.quit]" in screen
        styled = tmux.run("capture-pane", "-p", "-e", "-t", "vt").stdout
        assert "\x1b]8;" not in styled and "ZXZpbA" not in styled  # no hyperlink, no OSC 52 payload
        assert tmux.run("list-buffers").stdout.strip() == "", "the app wrote to the clipboard"
        import time

        for key in ("Enter", "Escape", "q"):  # open a hostile agent's detail, back, quit
            tmux.run("send-keys", "-t", "vt", key)
            time.sleep(0.5)  # Escape then q too quickly reads as Alt+q
        assert wait_file(exit_file, timeout=10) == "0"
        assert tmux.run("list-buffers").stdout.strip() == ""
    finally:
        tmux.kill_server()
