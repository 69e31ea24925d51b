"""Pilot tests of the drill-down path fleet → agent sessions → turns → waterfall.

The acceptance path runs on the real embedded demo fleet (fixed seed, frozen
clock).  Edge cases (threshold marks, untrusted text, failing backends) use
an in-memory TraceSource over hand-built span trees, derived with the same
domain functions a real adapter uses.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import wait_for
from textual.widgets import DataTable

from voicetop.config import Config
from voicetop.domain.model import STAGES, AgentStats, Severity, Span, StageStats, Trace
from voicetop.domain.thresholds import ThresholdSet
from voicetop.domain.turns import sessions_from_turns, turns_from_traces
from voicetop.domain.waterfall import STAGE_WORDS, dominant_text
from voicetop.sources.base import SourceError
from voicetop.ui.app import VoicetopApp
from voicetop.ui.format import Palette
from voicetop.ui.screens.agent import AgentScreen
from voicetop.ui.screens.fleet import FleetScreen
from voicetop.ui.screens.sessions import SessionsScreen, stage_summary
from voicetop.ui.screens.turns import TurnsScreen
from voicetop.ui.screens.waterfall import WaterfallScreen
from voicetop.ui.widgets import sessions_table
from voicetop.ui.widgets.agent_table import AgentTable
from voicetop.ui.widgets.drill_table import stage_severity
from voicetop.ui.widgets.sessions_table import SessionsPanel
from voicetop.ui.widgets.span_detail import SpanDetail
from voicetop.ui.widgets.waterfall import WaterfallView

from ui_fakes import FakeMetrics

demo = pytest.importorskip("voicetop.sources.demo")

FROZEN_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
MS = 1_000_000


# --- hand-built traces and an in-memory TraceSource ------------------------------


def seed_turn(
    trace_id: str,
    session: str,
    index: int,
    start: float,
    *,
    agent: str = "billing-en",
    stt: float = 100,
    eou: float = 200,
    ttft: float = 300,
    llm: float = 900,
    tts: float = 80,
    tool: float | None = None,
    names: dict[str, str] | None = None,
    attrs: dict[str, object] | None = None,
) -> Trace:
    """One seed-profile turn: voice_turn → stt, [tool], llm, tts (times in ms)."""
    names = names or {}
    t0 = int(start * 1e9)
    llm_begin = max(stt, eou) + (tool or 0)
    end = llm_begin + llm + tts

    def span(suffix: str, name: str, begin: float, length: float, extra=None, parent=f"{trace_id[:8]}00000000"):
        return Span(
            trace_id, f"{trace_id[:8]}{suffix:0>8}", parent, names.get(name, name), agent,
            t0 + int(begin * MS), t0 + int((begin + length) * MS), extra or {},
        )

    root = Span(
        trace_id, f"{trace_id[:8]}00000000", None, "voice_turn", agent, t0, t0 + int(end * MS),
        {"session.id": session, "agent.id": agent, "room.name": f"room-{session}", "turn.index": index,
         "eou.delay_ms": eou, "llm.ttft_ms": ttft, **(attrs or {})},
    )
    spans = [
        root,
        span("1", "stt_processing", 0, stt),
        span("3", "llm_inference", llm_begin, llm, {"llm.prompt_tokens": 500, "llm.completion_tokens": 40}),
        span("4", "tts_synthesis", llm_begin + ttft, tts),
    ]
    if tool is not None:
        failed = span("2", "tool_invocation", max(stt, eou), tool, {"tool.name": "lookup", "tool.success": False})
        spans.append(replace(failed, status_error=True))
    return Trace(trace_id, tuple(spans))


class MemoryTraces:
    """A TraceSource over fixed traces (``fail`` makes every call raise SourceError)."""

    name = "memory-traces"

    def __init__(self, traces: list[Trace]) -> None:
        self.by_id = {t.trace_id: t for t in traces}
        self.fail: str | None = None
        self.calls: list[str] = []

    def _check(self, call: str) -> None:
        self.calls.append(call)
        if self.fail:
            raise SourceError(self.fail)

    def _turns(self, since: float, until: float):
        return [t for t in turns_from_traces(self.by_id.values()) if since <= t.start <= until]

    def sessions(self, agent_id, since, until, limit=500):
        self._check("sessions")
        turns = [t for t in self._turns(since, until) if agent_id is None or t.agent_id == agent_id]
        return sessions_from_turns(turns)[:limit]

    def turns(self, session_id, since, until):
        self._check("turns")
        return [t for t in self._turns(since, until) if t.session_id == session_id]

    def recent_turns(self, agent_id, since, until, limit=500):
        self._check("recent_turns")
        return [t for t in self._turns(since, until) if agent_id is None or t.agent_id == agent_id][-limit:]

    def trace(self, trace_id):
        self._check("trace")
        if trace_id not in self.by_id:
            raise SourceError(f"trace {trace_id} not found")
        return self.by_id[trace_id]

    def close(self) -> None:
        pass


def memory_app(traces: list[Trace], **config) -> tuple[VoicetopApp, MemoryTraces, FakeMetrics]:
    metrics = FakeMetrics()
    source = MemoryTraces(traces)
    config.setdefault("refresh", 60)  # the first poll gives the frame; no need for more
    return VoicetopApp(metrics=metrics, traces=source, config=Config(**config)), source, metrics


# --- helpers -----------------------------------------------------------------------


def panel(app) -> SessionsPanel:
    return app.screen.query_one(SessionsPanel)


async def open_agent_sessions(pilot, agent_id: str | None = None) -> SessionsPanel:
    """From the fleet: optionally filter to ``agent_id``, Enter, wait for sessions."""
    app = pilot.app
    await wait_for(pilot, lambda: app.frame is not None and app.screen.query_one(AgentTable).row_count > 0,
                   timeout=10, what="first frame")
    if agent_id is not None:
        await pilot.press("slash", *agent_id, "enter")
        table = app.screen.query_one(AgentTable)
        await wait_for(pilot, lambda: table.row_keys() == [agent_id], what="filtered fleet")
    await pilot.press("enter")
    assert isinstance(app.screen, AgentScreen)
    sessions = panel(app)
    await wait_for(pilot, lambda: sessions.loaded and sessions.table.row_count > 0, timeout=10, what="sessions")
    return sessions


def painted_cells(table) -> list[list[tuple[str, object]]]:
    """Each visible line of a Line-API table as (character, style) per cell."""
    return [[(char, segment.style) for segment in table.render_line(y) for char in segment.text]
            for y in range(table.scrollable_content_region.height)]


async def wait_waterfall(pilot) -> WaterfallScreen:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, WaterfallScreen)
                   and (app.screen.laid_out is not None or app.screen.error), timeout=10, what="waterfall")
    return app.screen


def title_of(screen) -> str:
    return screen.query_one(".wf-title").render().plain


# --- the acceptance path on the demo fleet ----------------------------------------------


@pytest.fixture
def fleet():
    fleet = demo.DemoFleet(seed=7, speed=0, start=FROZEN_START)
    yield fleet
    fleet.close()


@pytest.fixture
def demo_app(fleet):
    # one metrics poll is enough: the drill-down screens query the trace source themselves
    return VoicetopApp(metrics=fleet.metrics, traces=fleet.traces, config=Config(refresh=60))


async def test_enter_enter_enter_on_breaching_agent_names_dominant_stage_and_esc_walks_back(demo_app, fleet):
    app = demo_app
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None and app.screen.query_one(AgentTable).row_count > 0,
                       timeout=10, what="first frame")
        fleet_table = app.screen.query_one(AgentTable)
        agent_id = fleet_table.cursor_key()  # the fleet sorts the worst agent first
        assert app.frame.agent(agent_id).severity > Severity.OK
        await pilot.press("enter")
        assert isinstance(app.screen, AgentScreen) and app.screen.agent_id == agent_id
        sessions = panel(app)
        await wait_for(pilot, lambda: sessions.loaded and sessions.table.row_count > 0, timeout=10, what="sessions")
        assert app.focused is sessions.table  # Enter goes straight to a session
        assert all(s.agent_id == agent_id for s in sessions.sessions.values())
        await pilot.press("down")
        session_key = sessions.table.cursor_key()
        await pilot.press("enter")
        turns_screen = app.screen
        assert isinstance(turns_screen, TurnsScreen) and turns_screen.session.session_id == session_key
        await wait_for(pilot, lambda: turns_screen.loaded, timeout=10, what="turns")
        turns_table = turns_screen.table
        assert turns_table.row_count == len(fleet.traces.turns(session_key, 0, fleet.now()))
        turn_key = turns_table.cursor_key()
        await pilot.press("enter")
        screen = await wait_waterfall(pilot)
        assert not screen.error
        turn = turns_screen.turns[turn_key]
        expected = dominant_text(fleet.traces.trace(turn.trace_id))
        stage_word = expected.rsplit(" ", 4)[0]
        assert expected and stage_word in STAGE_WORDS.values()
        assert screen.dominant == expected and expected in title_of(screen)
        assert screen.view.waterfall.rows[0].span.name == "voice_turn"
        await pilot.press("escape")
        assert app.screen is turns_screen and turns_table.cursor_key() == turn_key
        await pilot.press("escape")
        assert isinstance(app.screen, AgentScreen) and sessions.table.cursor_key() == session_key
        await pilot.press("escape")
        assert isinstance(app.screen, FleetScreen) and fleet_table.cursor_key() == agent_id


async def test_llm_slowdown_agent_waterfall_is_dominated_by_llm(demo_app):
    app = demo_app
    async with app.run_test(size=(80, 24)) as pilot:
        await open_agent_sessions(pilot, "billing-agent")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TurnsScreen) and app.screen.loaded, timeout=10)
        await pilot.press("enter")
        screen = await wait_waterfall(pilot)
        assert screen.dominant.startswith("LLM ") and "% of " in screen.dominant
        assert title_of(screen).startswith(" Waterfall  LLM ")
        assert screen.has_class("-narrow")  # 80 columns: detail pane below the waterfall
        detail = screen.query_one(SpanDetail)
        assert detail.region.y > screen.view.region.y and detail.region.width == 80


async def test_sessions_sort_filter_and_in_place_refresh(demo_app, fleet, monkeypatch):
    monkeypatch.setattr(sessions_table, "REFRESH_SECONDS", 0.2)
    app = demo_app
    async with app.run_test(size=(140, 40)) as pilot:
        sessions = await open_agent_sessions(pilot)
        table = sessions.table
        worst = [table.get_cell(k, "worst").sort_key for k in table.row_keys()]
        assert worst == sorted(worst, reverse=True)  # default: worst end-to-end first
        await pilot.press("s")  # next column: intr
        assert table.sort_column == "intr"
        await pilot.press("S")
        ascending = [table.get_cell(k, "intr").sort_key for k in table.row_keys()]
        assert ascending == sorted(ascending) and not table.sort_reverse
        await pilot.press("s", "s", "s")  # tokens, age, session (wraps)
        assert table.sort_column == "session" and table.row_keys() == sorted(table.row_keys())
        await pilot.press("home", "down", "down")
        assert table.cursor_row == 2 and table.scroll_offset.y == 0
        cursor = table.cursor_key()
        shown = painted_cells(table)
        fleet.advance(20)  # new turns arrive; the panel re-queries by itself
        before = set(sessions.sessions)
        await wait_for(pilot, lambda: set(sessions.sessions) != before, timeout=10, what="refresh")
        repainted = table.repainted
        now_shown = painted_cells(table)
        assert table.cursor_key() == cursor
        changed = {(y, x) for y, line in enumerate(now_shown) for x, cell in enumerate(line) if shown[y][x] != cell}
        dirty = {(y, x) for r in repainted for y in range(r.y, r.bottom) for x in range(r.x, r.right)}
        assert changed and changed <= dirty  # every changed cell is repainted …
        for region in repainted:  # … and nothing that stayed the same
            assert any((y, x) in changed for y in range(region.y, region.bottom) for x in range(region.x, region.right))
        assert len(dirty) < sum(map(len, now_shown)) and any(r.width < table.size.width for r in repainted)  # cells
        needle = cursor[-6:]
        await pilot.press("slash", *needle)
        assert table.row_keys() == [cursor]
        assert f'filter "{needle}"' in sessions.query_one(".sessions-status").render().plain
        await pilot.press("escape")  # clears the filter, stays on the agent screen
        assert isinstance(app.screen, AgentScreen) and table.row_count == len(sessions.sessions) > 1
        await pilot.press("escape")
        assert isinstance(app.screen, FleetScreen)


async def test_v_opens_full_sessions_screen(demo_app):
    app = demo_app
    async with app.run_test(size=(120, 30)) as pilot:
        await open_agent_sessions(pilot, "billing-agent")
        await pilot.press("v")
        assert isinstance(app.screen, SessionsScreen)
        full = panel(app)
        await wait_for(pilot, lambda: full.loaded and full.table.row_count > 0, timeout=10)
        assert "CRITICAL" in app.screen.query_one(".sessions-title").render().plain
        assert "TTFT" in app.screen.query_one(".sessions-summary").render().plain
        await pilot.press("escape")
        assert isinstance(app.screen, AgentScreen)


# --- hand-built traces ----------------------------------------------------------------


NOW = 1_760_000_000.0  # FakeMetrics' clock


def marked_traces(agent: str = "billing-en") -> list[Trace]:
    return [
        seed_turn("aaaaaaaa" * 4, "sess-1", 0, NOW - 120, agent=agent),
        seed_turn("bbbbbbbb" * 4, "sess-1", 1, NOW - 100, stt=250, tts=400, tool=120, agent=agent),
        seed_turn("cccccccc" * 4, "sess-2", 0, NOW - 60, ttft=1300, llm=2000, agent=agent),
    ]


async def test_turns_table_marks_breaching_values():
    app, source, _ = memory_app(marked_traces())
    async with app.run_test(size=(120, 30)) as pilot:
        sessions = await open_agent_sessions(pilot, "billing-en")
        assert set(sessions.sessions) == {"sess-1", "sess-2"}
        cells = {k: [c.plain for c in sessions.table.get_row(k)] for k in sessions.table.row_keys()}
        assert cells["sess-1"][2] == "2" and cells["sess-1"][1] == "room-sess-1"
        sessions.table.move_to(sessions.table.row_keys().index("sess-1"))
        await pilot.press("enter")
        turns = app.screen
        await wait_for(pilot, lambda: isinstance(turns, TurnsScreen) and turns.loaded)
        rows = [[c.plain for c in turns.table.get_row(k)] for k in turns.table.row_keys()]
        assert [r[0] for r in rows] == ["0", "1"]
        first, second = rows
        assert first[2] == "100  " and first[7] == "1180  "  # STT 100, E2E = root span
        assert second[2] == "250 ▲"  # STT p90 limit 200/400
        assert second[6] == "400 ✖"  # TTS p90 limit 150/300
        assert second[8] == "1/1"  # one tool call, failed
        stt_cell = turns.table.get_row(turns.table.row_keys()[1])[2]
        assert Palette().warning in str(stt_cell.style) or app.palette.warning in str(stt_cell.style)
        summary = turns.query_one(".turns-summary").render().plain
        assert "STT 175ᵗ/235ᵗ" in summary and "trace-derived" in summary  # p50/p90 of 100 and 250
        assert "Tools n/err" in turns.query_one(".turns-status").render().plain


def test_stage_severity_uses_each_stages_percentile_limits():
    rules = ThresholdSet()
    assert stage_severity("ttft", 1300, rules, None) == (Severity.CRITICAL, "ttft_p99")
    assert stage_severity("ttft", 900, rules, None) == (Severity.WARNING, "ttft_p99")
    assert stage_severity("e2e", 3200, rules, None)[0] is Severity.WARNING
    assert stage_severity("e2e", 5200, rules, None)[0] is Severity.CRITICAL
    assert stage_severity("llm", 99_000, rules, None) == (Severity.OK, "")  # no LLM-total rule
    assert stage_severity("tts", None, rules, None) == (Severity.OK, "")


def test_stage_summary_marks_trace_derived_values():
    stages = {
        "ttft": StageStats("ttft", p90=900.0, derived_from="metrics"),
        "stt": StageStats("stt", p90=250.0, derived_from="traces"),
    }
    agent = AgentStats("a", stages, {}, {})
    text = stage_summary(agent, ThresholdSet(), Palette()).plain
    assert "STT 250ᵗ▲" in text and "TTFT 900" in text and "TTFT 900ᵗ" not in text
    assert "ᵗ trace-derived" in text
    plain_only = stage_summary(AgentStats("a", {"ttft": stages["ttft"]}, {}, {}), ThresholdSet(), Palette()).plain
    assert "trace-derived" not in plain_only
    ascii_text = stage_summary(agent, ThresholdSet(), Palette(ascii=True)).plain
    assert "STT 250~!" in ascii_text and "ᵗ" not in ascii_text
    assert set(STAGES) >= set(stages)


async def test_markup_in_span_names_and_attributes_is_shown_literally():
    trace = seed_turn(
        "dddddddd" * 4, "[b]sess[/b]", 0, NOW - 30,
        names={"llm_inference": "[red]x[/red]"},
        attrs={"note": "[bold]hi[/bold]\x1b[31m\x07", "[link=http://e]k[/link]": "v"},
    )
    app, _, _ = memory_app([trace])
    async with app.run_test(size=(140, 36)) as pilot:
        sessions = await open_agent_sessions(pilot, "billing-en")
        assert sessions.table.row_keys() == ["[b]sess[/b]"]
        assert "[b]sess[/b]" in "".join(s.text for s in sessions.table.render_line(1))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TurnsScreen) and app.screen.loaded)
        assert "[b]sess[/b]" in app.screen.query_one(".turns-title").render().plain
        await pilot.press("enter")
        screen = await wait_waterfall(pilot)
        view = screen.view
        names = [r.span.name for r in view.shown_rows]
        index = names.index("[red]x[/red]")
        lines = ["".join(s.text for s in view.render_line(y)) for y in range(len(names) + 1)]
        assert any("[red]x[/red]" in line for line in lines)
        detail = screen.query_one(SpanDetail)
        assert detail.plain.startswith("voice_turn")
        assert "note = [bold]hi[/bold]" in detail.plain and "\x1b" not in detail.plain and "\x07" not in detail.plain
        assert "[link=http://e]k[/link] = v" in detail.plain
        for _ in range(index):
            await pilot.press("j")
        assert detail.plain.startswith("[red]x[/red]")


async def test_trace_backend_errors_show_a_line_and_the_rest_keeps_working():
    app, source, _ = memory_app(marked_traces("support-de"))  # the fake fleet's worst agent
    source.fail = "connection refused (127.0.0.1:16686)"
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None, timeout=10)
        await pilot.press("enter")
        sessions = panel(app)
        await wait_for(pilot, lambda: sessions.loaded, timeout=10, what="failed load")
        status = sessions.query_one(".sessions-status").render().plain
        assert "traces: connection refused (127.0.0.1:16686)" in status
        assert app.screen.query_one("#stage-table", DataTable).row_count == 6  # metrics still shown
        source.fail = None
        sessions.reload()
        await wait_for(pilot, lambda: sessions.table.row_count == 2, timeout=10, what="recovery")
        assert "traces:" not in sessions.query_one(".sessions-status").render().plain
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TurnsScreen) and app.screen.loaded)
        source.fail = "timeout after 10s"
        await pilot.press("enter")
        screen = await wait_waterfall(pilot)
        assert screen.error == "timeout after 10s" and "traces: timeout after 10s" in title_of(screen)
        await pilot.press("escape")
        assert isinstance(app.screen, TurnsScreen)


async def test_unexpected_source_exception_is_reported_without_its_text():
    class Broken(MemoryTraces):
        def sessions(self, *args, **kwargs):
            raise RuntimeError("https://user:secret@traces.example failed")

    app = VoicetopApp(metrics=FakeMetrics(), traces=Broken([]), config=Config(refresh=0.1))
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None, timeout=10)
        await pilot.press("enter")
        sessions = panel(app)
        await wait_for(pilot, lambda: sessions.loaded, timeout=10)
        status = sessions.query_one(".sessions-status").render().plain
        assert "traces: unexpected RuntimeError" in status and "secret" not in status


async def test_no_trace_backend_says_so():
    app = VoicetopApp(metrics=FakeMetrics(), traces=None, config=Config(refresh=0.1))
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None, timeout=10)
        await pilot.press("enter")
        status = panel(app).query_one(".sessions-status").render().plain
        assert "no trace backend configured" in status
        await pilot.press("v")
        assert isinstance(app.screen, AgentScreen)


async def test_waterfall_keys_move_fold_and_detail():
    app, _, _ = memory_app(marked_traces())
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None, timeout=10)
        app.push_screen(WaterfallScreen(trace_id="bbbbbbbb" * 4))
        screen = await wait_waterfall(pilot)
        view: WaterfallView = screen.view
        detail = screen.query_one(SpanDetail)
        assert app.focused is view
        assert [r.span.name for r in view.shown_rows] == [
            "voice_turn", "stt_processing", "tool_invocation", "llm_inference", "tts_synthesis"]
        assert view.cursor == 0 and detail.plain.startswith("voice_turn")
        await pilot.press("j", "j")
        assert view.cursor == 2 and detail.plain.startswith("tool_invocation")
        assert "tool.name = lookup" in detail.plain and "status   ERROR" in detail.plain
        await pilot.press("k")
        assert view.cursor == 1 and detail.plain.startswith("stt_processing")
        assert "STT 250 ms > 200 ms (stt_p90)" in detail.plain
        await pilot.press("G")
        assert view.cursor == 4
        await pilot.press("h")  # on a leaf: go to the parent
        assert view.cursor == 0
        await pilot.press("space")  # fold the root: children hidden
        assert [r.span.name for r in view.shown_rows] == ["voice_turn"]
        assert "▸ voice_turn" in "".join(s.text for s in view.render_line(1))
        await pilot.press("j")
        assert view.cursor == 0
        await pilot.press("l")
        assert len(view.shown_rows) == 5
        await pilot.press("h")
        assert len(view.shown_rows) == 1
        await pilot.press("enter")
        assert len(view.shown_rows) == 5
        await pilot.press("G", "g")
        assert view.cursor == 0
        await pilot.click(WaterfallView, offset=(5, 4))  # header is line 0
        assert view.cursor == 3 and detail.plain.startswith("llm_inference")


async def test_livekit_conversation_trace_shows_only_the_chosen_turn():
    from tests.support.otel_traces import livekit_sessions, to_otlp
    from voicetop.sources.otlp import parse_otlp_traces

    generated = livekit_sessions(agent_id="support-de", sessions=1, turns=3, live_last=True,
                                 start_ns=int((NOW - 300) * 1e9))
    traces = parse_otlp_traces(to_otlp(generated.spans))
    assert len(traces) == 1  # the whole live conversation is one trace
    app, _, _ = memory_app(traces)
    async with app.run_test(size=(140, 40)) as pilot:
        sessions = await open_agent_sessions(pilot)
        assert sessions.table.row_count == 1
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TurnsScreen) and app.screen.loaded)
        turns_screen = app.screen
        assert turns_screen.table.row_count == 3
        await pilot.press("down", "enter")
        screen = await wait_waterfall(pilot)
        chosen = turns_screen.turns[turns_screen.table.cursor_key()]
        spans = [r.span for r in screen.view.waterfall.rows if not r.synthetic]
        roots = [s for s in spans if s.name == "agent_turn"]
        assert [s.span_id for s in roots] == [chosen.root_span_id]  # the other turns are cut away
        assert "user_turn" in {s.name for s in spans}  # its companion (STT/EOU timing) stays
        assert len(spans) < len(traces[0].spans)
        assert screen.dominant and "% of " in screen.dominant


async def test_the_table_has_the_focus_even_when_the_first_load_is_slow():
    import threading

    release = threading.Event()

    class Slow(MemoryTraces):
        def sessions(self, *args, **kwargs):
            release.wait(10)  # worker thread: the screen mounts and focuses meanwhile
            return super().sessions(*args, **kwargs)

    app = VoicetopApp(metrics=FakeMetrics(), traces=Slow(marked_traces()), config=Config(refresh=60))
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None, timeout=10)
        app.push_screen(SessionsScreen("billing-en"))
        await pilot.pause(0.3)
        sessions = panel(app)
        assert not sessions.loaded and "loading…" in sessions.query_one(".sessions-status").render().plain
        release.set()
        await wait_for(pilot, lambda: sessions.loaded, timeout=10, what="slow load")
        assert app.focused is sessions.table and sessions.table.row_count == 2
        await pilot.press("down")
        assert sessions.table.cursor_row == 1
