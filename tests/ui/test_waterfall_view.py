"""The waterfall screen: SVG snapshot, axis that adapts to the width, and a
2,000-span trace that opens fast because only visible lines are rendered.

Regenerate the snapshot after an intended visual change with
``pytest tests/ui/test_waterfall_view.py --snapshot-update`` and review it.
"""

from __future__ import annotations

import random
from dataclasses import replace

from conftest import wait_for
from test_drilldown import NOW, MemoryTraces, memory_app, seed_turn

from voicetop.config import Config
from voicetop.domain.model import Span, Trace
from voicetop.domain.turns import derive_turn
from voicetop.ui.app import VoicetopApp
from voicetop.ui.screens.waterfall import WaterfallScreen, lay_out
from voicetop.ui.widgets.waterfall import WaterfallView, columns_for, short_ms

from ui_fakes import FakeMetrics

MS = 1_000_000


def snapshot_trace() -> Trace:
    """A slow turn: a failed tool call, an LLM with nested retries, a slow TTS."""
    base = seed_turn("5eed5eed" * 4, "sess-snap", 3, NOW - 90, stt=180, eou=260, ttft=1350,
                     llm=2400, tts=420, tool=300, attrs={"llm.model": "gpt-4o-mini"})
    llm = next(s for s in base.spans if s.name == "llm_inference")
    extra = [
        Span(base.trace_id, "5eed5eed0000000a", llm.span_id, "http POST /v1/chat/completions", llm.service,
             llm.start_ns + 5 * MS, llm.start_ns + 900 * MS, {"http.status_code": 429}, status_error=True),
        Span(base.trace_id, "5eed5eed0000000b", llm.span_id, "http POST /v1/chat/completions", llm.service,
             llm.start_ns + 950 * MS, llm.end_ns - 10 * MS, {"http.status_code": 200}),
        Span(base.trace_id, "5eed5eed0000000c", "5eed5eed0000000b", "stream tokens", llm.service,
             llm.start_ns + 1400 * MS, llm.end_ns - 20 * MS, {"tokens": 64}),
    ]
    return replace(base, spans=base.spans + tuple(extra))


def big_trace(count: int = 2000, seed: int = 11) -> Trace:
    """``count`` spans: a root and a random tree up to depth 6 inside 4 s."""
    rng = random.Random(seed)
    trace_id = "b1b1b1b1" * 4
    t0 = int((NOW - 30) * 1e9)
    root = Span(trace_id, f"{0:016x}", None, "voice_turn", "big-agent", t0, t0 + 4000 * MS,
                {"session.id": "big", "agent.id": "big-agent", "turn.index": 0})
    spans = [root]
    depth = {root.span_id: 0}
    names = ("stt_processing", "llm_inference", "tts_synthesis", "tool_invocation", "db query", "cache get")
    while len(spans) < count:
        parent = rng.choice([s for s in spans[-60:] if depth[s.span_id] < 6] or [root])
        length = max(1, (parent.end_ns - parent.start_ns) // rng.randint(2, 8))
        start = parent.start_ns + rng.randint(0, max(0, parent.end_ns - parent.start_ns - length))
        span = Span(trace_id, f"{len(spans):016x}", parent.span_id, f"{rng.choice(names)} #{len(spans)}",
                    "big-agent", start, start + length, {"i": len(spans)})
        depth[span.span_id] = depth[parent.span_id] + 1
        spans.append(span)
    return Trace(trace_id, tuple(spans))


async def open_waterfall(pilot, trace: Trace) -> WaterfallScreen:
    app = pilot.app
    await wait_for(pilot, lambda: app.frame is not None, timeout=10, what="first frame")
    app.push_screen(WaterfallScreen(derive_turn(trace), trace=None))
    await wait_for(pilot, lambda: isinstance(app.screen, WaterfallScreen) and app.screen.laid_out is not None,
                   timeout=10, what="waterfall")
    await pilot.pause(0.05)
    return app.screen


def test_waterfall_snapshot(snap_compare):
    app, _, _ = memory_app([snapshot_trace()])

    async def run_before(pilot) -> None:
        screen = await open_waterfall(pilot, snapshot_trace())
        await pilot.press("j", "j")  # the tool call: detail pane with its attributes
        assert screen.view.current.span.name == "tool_invocation"

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


async def test_title_names_dominant_stage_and_marks_rows():
    trace = snapshot_trace()
    app, _, _ = memory_app([trace])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_waterfall(pilot, trace)
        assert screen.dominant == lay_out(trace, derive_turn(trace), app.thresholds).dominant
        assert screen.dominant.startswith("LLM ") and screen.dominant in screen.query_one(".wf-title").render().plain
        view = screen.view
        lines = {r.span.name: "".join(s.text for s in view.render_line(i + 1)) for i, r in enumerate(view.shown_rows)}
        assert "◆" in lines["llm_inference"] and "✖" in lines["tts_synthesis"]  # critical path; TTS 420 > 300
        assert "✖" not in lines["stt_processing"] and "▲" not in lines["stt_processing"]  # STT 180 < 200
        assert lines["voice_turn"].lstrip().startswith("▾ voice_turn")
        header = "".join(s.text for s in view.render_line(0))
        assert header.startswith("span") and "╵0" in header and "s" in header.split("╵0")[1]
        header_bg = view.get_component_rich_style("waterfall--header").bgcolor
        assert all(seg.style.bgcolor == header_bg for seg in view.render_line(0))
        cursor_bg = view.get_component_rich_style("waterfall--cursor").bgcolor
        assert {seg.style.bgcolor for seg in view.render_line(1)} == {cursor_bg}  # the cursor row
        assert cursor_bg not in {seg.style.bgcolor for seg in view.render_line(2)}


async def test_axis_ticks_adapt_to_width():
    trace = snapshot_trace()
    app, _, _ = memory_app([trace])
    headers = {}
    for width in (80, 200):
        async with app.run_test(size=(width, 30)) as pilot:
            screen = await open_waterfall(pilot, trace)
            view = screen.view
            headers[width] = "".join(s.text for s in view.render_line(0))
            assert len(headers[width]) == view.scrollable_content_region.width
        app, _, _ = memory_app([trace])
    assert headers[200].count("╵") > headers[80].count("╵") >= 2


def test_column_layout_and_short_durations():
    narrow, wide = columns_for(80, 60), columns_for(160, 30)
    assert narrow.tree == 32 and narrow.bar_start + narrow.bar == 80
    assert wide.tree == 30 and wide.bar_start + wide.bar == 160
    assert columns_for(40, 60).bar >= 8  # the bars never vanish
    assert [short_ms(v) for v in (0.42, 850, 3412, 12_500, 250_000)] == ["0.4ms", "850ms", "3.41s", "12.5s", "250s"]


async def test_two_thousand_spans_render_only_visible_lines():
    trace = big_trace()
    metrics = FakeMetrics()
    app = VoicetopApp(metrics=metrics, traces=MemoryTraces([trace]), config=Config(refresh=60))
    built: list[int] = []
    original = WaterfallView._row_line

    def counting(self, row, width, selected):
        built.append(1)
        return original(self, row, width, selected)

    WaterfallView._row_line = counting
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            await wait_for(pilot, lambda: app.frame is not None, timeout=10)
            app.push_screen(WaterfallScreen(trace_id=trace.trace_id))
            await wait_for(pilot, lambda: isinstance(app.screen, WaterfallScreen)
                           and app.screen.laid_out is not None, timeout=10)
            await pilot.pause()
            screen = app.screen
            view = screen.view
            assert len(view.shown_rows) == 2000 and screen.laid_out.spans == 2000
            height = view.scrollable_content_region.height
            assert 0 < len(built) <= 3 * height  # only visible lines were laid out
            built.clear()
            await pilot.press("G")
            await pilot.pause()
            assert view.cursor == 1999 and view.scroll_offset.y >= 2000 - height
            assert len(built) <= 3 * height  # timing lives in bench/ui_scale.py, not in tests
            last = view.shown_rows[-1].span.name
            assert screen.query_one("SpanDetail").plain.startswith(last)
            await pilot.press("g", "space")  # fold the root: one row left
            assert len(view.shown_rows) == 1
    finally:
        WaterfallView._row_line = original


async def test_theme_change_recolours_bars_without_stale_lines():
    trace = snapshot_trace()
    app, _, _ = memory_app([trace])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_waterfall(pilot, trace)
        view = screen.view
        row = next(i for i, r in enumerate(view.shown_rows) if r.span.name == "llm_inference")

        def bar_colour():
            segments = [s for s in view.render_line(row + 1) if s.text.strip("█▆") == "" and s.text.strip()]
            return segments[-1].style.color

        before = bar_colour()
        assert before == view.get_component_rich_style("waterfall--stage-llm").color
        theme = app.theme
        await pilot.press("t")
        await wait_for(pilot, lambda: app.theme != theme, what="theme change")
        await pilot.pause(0.05)
        after = bar_colour()
        assert after == view.get_component_rich_style("waterfall--stage-llm").color
        assert after != before  # every shipped theme has its own primary colour


async def test_low_bandwidth_uses_ascii_glyphs_only():
    trace = snapshot_trace()
    app, _, _ = memory_app([trace], low_bandwidth=True)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_waterfall(pilot, trace)
        view = screen.view
        lines = ["".join(s.text for s in view.render_line(y)) for y in range(len(view.shown_rows) + 1)]
        lines.append(screen.query_one(".wf-legend").render().plain)
        lines.append(screen.detail.plain)
        text = "\n".join(lines)
        assert "|0" in lines[0] and "- voice_turn" in lines[1] and "*X" in lines[1]
        assert all(ord(ch) < 128 for ch in text.replace("…", "")), sorted({ch for ch in text if ord(ch) >= 128})


async def test_deep_chain_keeps_names_visible_and_bottom_key_right_after_load_scrolls():
    t0 = int((NOW - 10) * 1e9)
    chain = tuple(
        Span("c" * 32, f"{i:016x}", f"{i - 1:016x}" if i else None, f"deep-{i}", "svc",
             t0 + i * 1000, t0 + 10**9 - i * 1000)
        for i in range(2000)
    )
    app, _, _ = memory_app([Trace("c" * 32, chain)])
    async with app.run_test(size=(80, 20)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None, timeout=10)
        app.push_screen(WaterfallScreen(trace_id="c" * 32))
        await wait_for(pilot, lambda: isinstance(app.screen, WaterfallScreen) and app.screen.laid_out is not None,
                       timeout=10)
        view = app.screen.view
        await pilot.press("G")  # before the layout has caught up with the new rows
        await pilot.pause(0.05)
        assert view.cursor == 1999 and view.scroll_offset.y == view.max_scroll_y > 1900
        last = "".join(s.text for s in view.render_line(view.scrollable_content_region.height - 1))
        assert "deep-1999" in last  # the indent is capped, the name still shows


async def test_cursor_move_rebuilds_two_rows_and_updates_the_detail_at_once():
    trace = big_trace(200)
    app, _, _ = memory_app([trace])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.frame is not None, timeout=10)
        app.push_screen(WaterfallScreen(trace_id=trace.trace_id))
        await wait_for(pilot, lambda: isinstance(app.screen, WaterfallScreen) and app.screen.laid_out is not None,
                       timeout=10)
        await pilot.pause(0.05)
        screen = app.screen
        view, detail = screen.view, screen.detail
        built: list[str] = []
        original = WaterfallView._row_line

        def counting(self, row, width, selected):
            built.append(row.span_id)
            return original(self, row, width, selected)

        WaterfallView._row_line = counting
        try:
            size_before = detail.virtual_size
            view.action_move(1)  # no await: the detail pane follows in the same call
            assert view.cursor == 1 and detail.plain.startswith(view.shown_rows[1].label)
            await pilot.pause(0.05)
            assert sorted(built) == sorted([view.shown_rows[0].span_id, view.shown_rows[1].span_id])
            assert detail.virtual_size == size_before  # spans that fit the pane never resize it
            built.clear()
            await pilot.press("pagedown")  # scrolls: rows already drawn come from the cache
            assert view.scroll_offset.y > 0 and 0 < len(built) <= 4
        finally:
            WaterfallView._row_line = original


async def test_detail_pane_wraps_scrolls_and_keeps_untrusted_text_plain():
    base = snapshot_trace()
    tool = next(s for s in base.spans if s.name == "tool_invocation")
    attributes = {f"attr.{i:02d}": "[bold]x[/bold] " + "long value " * 6 for i in range(30)}
    hostile = replace(tool, name="tool \x1b[31mred\x1b[0m [link=x]call[/link]", attributes=attributes)
    trace = replace(base, spans=tuple(hostile if s is tool else s for s in base.spans))
    app, _, _ = memory_app([trace])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_waterfall(pilot, trace)
        view, detail = screen.view, screen.detail
        row = next(i for i, r in enumerate(view.shown_rows) if r.span_id == tool.span_id)
        view.move_to(row)
        await pilot.pause(0.05)
        assert detail.plain.startswith("tool red [link=x]call[/link]") and "\x1b" not in detail.plain
        assert "attr.00 = [bold]x[/bold] long value" in detail.plain
        lines = ["".join(s.text for s in detail.render_line(y)) for y in range(detail.scrollable_content_region.height)]
        width = detail.scrollable_content_region.width
        assert all(len(line) == width for line in lines)  # wrapped to the pane, beside its scrollbar
        assert detail.virtual_size.height > detail.scrollable_content_region.height
        detail.scroll_to(y=detail.max_scroll_y, animate=False)
        await pilot.pause(0.05)
        last = "".join(s.text for s in detail.render_line(detail.scrollable_content_region.height - 1))
        assert last.strip()  # the end of the attributes is reachable
        view.move_to(0)  # another span: back to the top of the pane
        await pilot.pause(0.05)
        assert detail.scroll_offset.y == 0 and detail.plain.startswith("voice_turn")


async def test_narrow_detail_pane_follows_each_spans_length_with_its_scrollbar():
    trace = snapshot_trace()
    app, _, _ = memory_app([trace])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_waterfall(pilot, trace)
        view, detail = screen.view, screen.detail
        assert screen.has_class("-narrow")
        heights = set()
        for index in range(len(view.shown_rows)):
            view.move_to(index)
            await pilot.pause(0.02)
            height = detail.virtual_size.height
            heights.add(height)
            assert detail.show_vertical_scrollbar and detail.vertical_scrollbar.window_virtual_size == height
            detail.scroll_to(y=detail.max_scroll_y, animate=False)
            await pilot.pause(0.02)
            bottom = "".join(s.text for s in detail.render_line(detail.scrollable_content_region.height - 1))
            last_line = detail.plain.rstrip().splitlines()[-1].strip()
            assert bottom.strip().endswith(last_line[-10:])  # the end of every span's detail is reachable
        assert len(heights) > 1  # spans of different lengths
