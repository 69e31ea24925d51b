"""The virtualised sessions table on its own: keys, mouse, cursor across refreshes,
cell-level repaints, narrow terminals, ASCII glyphs and hostile session ids."""

from __future__ import annotations

from dataclasses import replace

from textual.app import App, ComposeResult

from voicetop.domain.model import Session
from voicetop.domain.thresholds import ThresholdSet
from voicetop.ui.format import Palette
from voicetop.ui.widgets.session_rows import Ordering, session_rows
from voicetop.ui.widgets.sessions_table import LABELS, columns_for, session_cells
from voicetop.ui.widgets.sessions_view import SessionsView, layout_widths

NOW = 1_760_000_000.0


def make_sessions(count: int) -> dict[str, Session]:
    """``sess-0000`` … with distinct worst end-to-end times, highest first by index."""
    return {
        f"sess-{i:04d}": Session(f"sess-{i:04d}", "agent", f"room-{i % 7}", NOW - 30 - i, NOW, 1 + i % 9,
                                 800.0 + i, 5000.0 - i, i % 3, 400 + i)
        for i in range(count)
    }


class ViewApp(App):
    """A SessionsView filled with ``sessions``, cells as the sessions panel makes them."""

    def __init__(self, sessions: dict[str, Session], palette: Palette | None = None) -> None:
        super().__init__()
        self.thresholds = ThresholdSet()
        self.palette = palette or Palette()
        self.initial = sessions
        self.selected: list[str] = []

    def compose(self) -> ComposeResult:
        yield SessionsView(LABELS, lambda s, now, columns: session_cells(s, now, self, tuple(columns)), "worst", True)

    def on_mount(self) -> None:
        view = self.query_one(SessionsView)
        view.set_columns(columns_for(self.size.width))
        view.show(session_rows(self.initial, view.ordering, NOW))
        view.focus()

    def on_sessions_view_selected(self, event: SessionsView.Selected) -> None:
        self.selected.append(event.key)


def line_text(view: SessionsView, y: int) -> str:
    return "".join(segment.text for segment in view.render_line(y))


def reload(view: SessionsView, sessions: dict[str, Session]) -> None:
    """What the panel does with a worker's result (ordered with the view's ordering)."""
    view.show(session_rows(sessions, view.ordering, NOW))


async def test_cursor_keys_page_and_jump_keeping_the_cursor_on_screen():
    app = ViewApp(make_sessions(500))
    async with app.run_test(size=(120, 30)) as pilot:
        view = app.query_one(SessionsView)
        page = view.page_rows
        assert view.row_count == 500 and view.cursor_key() == "sess-0000"  # worst first
        await pilot.press("down", "down", "up")
        assert view.cursor_row == 1
        await pilot.press("pagedown")
        assert view.cursor_row == 1 + page and view.scroll_offset.y == page
        await pilot.press("pageup")
        assert view.cursor_row == 1 and view.scroll_offset.y == 0
        await pilot.press("end")
        assert view.cursor_key() == "sess-0499"
        await pilot.pause()
        assert view.scroll_offset.y == 500 - page
        assert line_text(view, page).lstrip().startswith("sess-0499")  # the last row is painted, not just counted
        await pilot.press("home")
        assert view.cursor_row == 0 and view.scroll_offset.y == 0


async def test_enter_and_clicks_select_the_session_under_the_cursor():
    app = ViewApp(make_sessions(20))
    async with app.run_test(size=(120, 30)) as pilot:
        view = app.query_one(SessionsView)
        await pilot.press("down", "enter")
        assert app.selected == ["sess-0001"]
        await pilot.click(SessionsView, offset=(3, 4))  # line 0 is the header
        assert view.cursor_key() == "sess-0003" and app.selected == ["sess-0001"]
        await pilot.click(SessionsView, offset=(3, 4))  # a click on the cursor row selects it
        assert app.selected == ["sess-0001", "sess-0003"]
        await pilot.click(SessionsView, offset=(3, 0))  # the header selects nothing
        assert view.cursor_key() == "sess-0003" and len(app.selected) == 2


async def test_cursor_follows_its_session_through_refreshes_and_re_sorts():
    sessions = make_sessions(50)
    app = ViewApp(sessions)
    async with app.run_test(size=(120, 30)) as pilot:
        view = app.query_one(SessionsView)
        await pilot.press("down", "down", "down")
        assert view.cursor_key() == "sess-0003"
        worse = {"sess-0040": replace(sessions["sess-0040"], worst_e2e_ms=9000.0)}
        reload(view, sessions | worse)  # a session overtakes it: the cursor stays on its session
        assert view.row_keys()[0] == "sess-0040" and view.cursor_key() == "sess-0003" and view.cursor_row == 4
        view.cycle_sort()  # ``s`` in the sessions panel
        assert view.sort_column == "intr" and view.cursor_key() == "sess-0003"
        assert view.row_keys().index("sess-0003") == view.cursor_row
        view.reverse_sort()
        assert not view.sort_reverse and view.cursor_key() == "sess-0003"
        gone = {k: s for k, s in sessions.items() if k != "sess-0003"}
        index = view.cursor_row
        reload(view, gone)  # its session ended: the cursor keeps its place
        assert view.cursor_row == index and view.cursor_key() != "sess-0003"
        view.set_filter("ROOM-1")
        assert view.row_keys() and all(gone[k].room == "room-1" for k in view.row_keys())
        view.set_filter("")
        assert view.row_count == 49


async def test_a_refresh_repaints_only_the_cells_that_changed():
    sessions = make_sessions(100)
    app = ViewApp(sessions)
    async with app.run_test(size=(120, 30)) as pilot:
        view = app.query_one(SessionsView)
        await pilot.pause()
        reload(view, dict(sessions))  # same data: nothing to repaint
        assert view.repainted == ()
        changed = {"sess-0005": replace(sessions["sess-0005"], turns=12, tokens=999)}
        reload(view, sessions | changed)
        columns = [c.key for c in view.columns_spec]
        spans = [view.column_spans[columns.index(key)] for key in ("turns", "tokens")]
        assert sorted((r.x, r.width) for r in view.repainted) == sorted(spans)
        assert {r.y for r in view.repainted} == {6}  # row 5 is screen line 6 (under the header)
        await pilot.pause()
        assert " 12 " in line_text(view, 6) and " 999 " in line_text(view, 6)
        off_screen = {"sess-0090": replace(sessions["sess-0090"], turns=40)}
        reload(view, sessions | changed | off_screen)
        assert view.repainted == ()  # not on screen: nothing to draw


async def test_80_columns_fit_with_ascii_glyphs_and_hostile_ids_shown_literally():
    hostile = Session("[red]x[/red]\x1b[31m\x07" + "y" * 60, "agent", "[b]room[/b]", NOW - 4000, NOW, 2,
                      5200.0, 5200.0, 1, 123456)
    sessions = make_sessions(3) | {hostile.session_id: hostile}
    app = ViewApp(sessions, palette=Palette(ascii=True))
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(SessionsView)
        await pilot.pause()
        assert [c.key for c in view.columns_spec] == [c.key for c in columns_for(80)]  # room hidden
        header = line_text(view, 0)
        assert header.rstrip().endswith("Age") and len(header) == view.scrollable_content_region.width
        top = line_text(view, 1)
        assert view.cursor_key() == hostile.session_id
        assert top.lstrip().startswith("[red]x[/red]") and "\x1b" not in top and "\x07" not in top
        assert "…" in top  # the long id is cut, the line still ends with its age
        assert "5200 X" in top and "1h06m" in top
        assert not any(ch in top for ch in "▲✖●")


def test_free_text_columns_give_way_on_narrow_lines():
    columns = columns_for(200)
    content = {"session": 28, "room": 24, "turns": 2, "last": 6, "worst": 6, "intr": 1, "tokens": 6, "age": 6}
    wide = layout_widths(columns, content, 200)
    assert wide[0] == 28 and wide[1] == 24
    narrow = layout_widths(columns, content, 90)
    assert sum(narrow) + 2 * len(columns) <= 90 and narrow[2:] == wide[2:]
    assert narrow[0] >= 10 and narrow[1] >= len("Room")


async def test_ordering_hides_a_sort_on_a_hidden_column():
    app = ViewApp(make_sessions(5))
    async with app.run_test(size=(80, 24)):
        view = app.query_one(SessionsView)
        view.set_sort("room", False)
        assert view.ordering == Ordering(None, False, "")
        assert view.row_keys() == sorted(view.row_keys())


async def test_a_refresh_leaves_a_view_scrolled_away_from_the_cursor_where_it_is():
    sessions = make_sessions(200)
    app = ViewApp(sessions)
    async with app.run_test(size=(120, 30)) as pilot:
        view = app.query_one(SessionsView)
        await pilot.pause()
        view.scroll_relative(y=20, animate=False)  # as the mouse wheel does: the view moves, not the cursor
        await pilot.pause()
        top = view.scroll_offset.y
        assert top > 0 and view.cursor_row == 0
        worse = {"sess-0150": replace(sessions["sess-0150"], worst_e2e_ms=9000.0)}
        reload(view, sessions | worse)
        await pilot.pause()
        assert view.scroll_offset.y == top and view.cursor_key() == "sess-0000" and view.cursor_row == 1
        await pilot.press("down")  # a key brings the cursor back into view
        assert view.cursor_row == 2 and view.scroll_offset.y == 2  # scrolled just enough to show it
