"""Incremental windows (StepCache) and client-side bucket quantiles, without a server."""

from __future__ import annotations

import math

import pytest

from tests.support.canned_http import CannedServer, matrix
from voicetop.config import Connection
from voicetop.domain.model import HealthState, Window
from voicetop.domain.thresholds import ThresholdSet
from voicetop.poller import Poller, ViewWindow
from voicetop.profiles.metrics import SEED
from voicetop.sources.prometheus import PrometheusSource
from voicetop.sources.prometheus.buckets import HistogramPlan, decode_buckets
from voicetop.sources.prometheus.increments import Span, StepCache

STEP = 15.0
END = 1_700_000_100.0
PAST = 1e12  # a "now" after every step: all settled


def window(end: float = END, length: float = 60.0) -> Window:
    return Window(end - length, end, STEP)


def column(span: Span, value: float) -> dict:
    """One stat for agent ``a``: ``value + timestamp`` at every step of the span."""
    return {"x": {"a": [value + t for t in span.timestamps()]}}


def fetch(cache: StepCache, win: Window, answer, settled: float = PAST):
    """What the source does: fetch the missing chunks (answered by ``answer(span)``), keep, read."""
    return cache.read(win, settled, answer)


def test_first_fetch_asks_for_the_whole_window_then_only_new_steps():
    cache = StepCache()
    first = window()
    (span,) = cache.missing(first)
    assert (span.start, span.end) == (first.start, first.end)
    fetch(cache, first, lambda s: column(s, 0))
    later = window(END + STEP)
    (new,) = cache.missing(later)
    assert (new.start, new.end) == (END + STEP, END + STEP)
    series = fetch(cache, later, lambda s: column(s, 0))["x"]["a"]
    assert series.timestamps == later.timestamps()
    assert series.values == tuple(float(t) for t in later.timestamps())
    earlier = window(END)  # time travel back one step: the new step is the first one
    (back,) = cache.missing(earlier)
    assert (back.start, back.end) == (earlier.start, earlier.start)
    assert fetch(cache, earlier, lambda s: column(s, 0))["x"]["a"].values == tuple(float(t) for t in earlier.timestamps())


def test_same_window_still_asks_for_its_last_step():
    cache = StepCache()
    fetch(cache, window(), lambda s: column(s, 0))
    (again,) = cache.missing(window())
    assert (again.start, again.end) == (END, END)


@pytest.mark.parametrize("other", [window(length=120.0), Window(END - 60, END, 5.0), window(END + 3600)])
def test_other_length_step_or_a_far_jump_starts_over(other):
    cache = StepCache()
    fetch(cache, window(), lambda s: column(s, 0))
    spans = cache.missing(other)
    assert (min(s.start for s in spans), max(s.end for s in spans)) == (other.start, other.end)


def test_a_big_window_comes_in_chunks_newest_first_and_survives_a_failure():
    cache = StepCache()
    big = Window(END - 59 * STEP, END, STEP)  # 60 steps
    spans = cache.missing(big)
    assert [(s.start, s.end) for s in spans] == [
        (END - 19 * STEP, END), (END - 39 * STEP, END - 20 * STEP), (END - 59 * STEP, END - 40 * STEP)
    ]
    cache.store(big, spans[0], column(spans[0], 0), PAST)  # then the next chunk fails
    (rest,) = [(s.start, s.end) for s in cache.missing(big)][:1]
    assert rest == (END - 39 * STEP, END - 20 * STEP)  # the newest chunk is kept
    series = fetch(cache, big, lambda s: column(s, 0))["x"]["a"]
    assert series.values == tuple(float(t) for t in big.timestamps())


def test_unsettled_steps_are_read_while_newest_and_once_more_when_they_settle():
    cache = StepCache()
    first = window()
    moving = END - 2 * STEP  # the last two steps may still get samples
    fetch(cache, first, lambda s: column(s, 0), settled=moving)
    (again,) = cache.missing(first, moving)  # the same window again: only its newest step
    assert (again.start, again.end) == (END, END)
    series = fetch(cache, first, lambda s: column(s, 1000), settled=moving)["x"]["a"]
    assert series.values[-3:] == (END - 2 * STEP, END - STEP, END + 1000)
    later = window(END + STEP)
    (chunk,) = cache.missing(later, moving + STEP)  # a step on: the one settled since and the new one
    assert (chunk.start, chunk.end, chunk.step) == (END - STEP, END + STEP, 2 * STEP)
    assert chunk.timestamps() == (END - STEP, END + STEP)
    series = fetch(cache, later, lambda s: column(s, 2000), settled=moving + STEP)["x"]["a"]
    assert series.timestamps == later.timestamps()
    assert series.values[-3:] == (END - STEP + 2000, END + 1000, END + STEP + 2000)  # END: its last read
    (settling,) = cache.missing(later, END + STEP)  # the same window, but its unsettled steps settled since
    assert (settling.start, settling.end) == (END, END + STEP)


def test_a_newest_step_read_again_without_a_series_leaves_a_gap_there_only():
    cache = StepCache()
    first = window()
    both = {"x": {"a": [1.0] * 5, "b": [2.0] * 5}}
    fetch(cache, first, lambda s: {k: {a: v[:len(s.timestamps())] for a, v in c.items()} for k, c in both.items()},
          settled=END - 2 * STEP)
    again = fetch(cache, first, lambda s: {"x": {"a": [3.0]}}, settled=END - 2 * STEP)  # b lost at the newest step
    assert again["x"]["a"].values[-2:] == (1.0, 3.0)
    assert again["x"]["b"].values[-2] == 2.0 and math.isnan(again["x"]["b"].values[-1])


def test_series_without_a_point_in_the_window_are_left_out():
    cache = StepCache()
    first = window()
    fetch(cache, first, lambda s: {"x": {"a": [1.0, None, None, None, None], "b": [1.0, 2.0, 3.0, 4.0, 5.0]}})
    series = fetch(cache, window(END + STEP), lambda s: {"x": {"b": [6.0]}})["x"]
    assert set(series) == {"b"}  # a's only point fell out of the window
    assert series["b"].values == (2.0, 3.0, 4.0, 5.0, 6.0)
    with_gap = fetch(cache, window(END + 2 * STEP), lambda s: {"x": {"c": [7.0]}})
    assert [math.isnan(v) for v in with_gap["x"]["c"].values] == [True, True, True, True, False]


def buckets_row(agent, le, *values, start=0.0):
    labels = {"le": le} if agent is None else {"agent_id": agent, "le": le}
    return {"metric": labels, "values": [[start + i * STEP, str(v)] for i, v in enumerate(values)]}


def test_bucket_quantiles_fleet_scale_and_topk():
    plan = HistogramPlan((("x_p50", 0.5), ("x_p99", 0.99)), max_agents=1, scale=2.0)
    rows = [
        buckets_row("a", "100", 5, 0), buckets_row("a", "200", 10, 0), buckets_row("a", "+Inf", 10, 0),
        buckets_row("b", "100", 0, 2), buckets_row("b", "200", 10, 4), buckets_row("b", "+Inf", 10, 4),
        buckets_row(None, "100", 5, 0), buckets_row(None, "+Inf", 5, 0),  # no agent label: fleet only
        buckets_row("b", "oops", 1, 1),  # not a bound: ignored
    ]
    found = decode_buckets(rows, plan, (0.0, STEP), "agent_id")
    # step 0: a p50 = 100·5/5 = 100, p99 = 100 + 100·4.9/5 = 198; b p50 = 100 + 100·5/10 = 150, p99 = 199
    # step 1: a has no observations (NaN, ranked lowest); b p50 = 100·2/2 = 100, p99 = 100 + 100·1.96/2 = 198
    assert found["x_p50"]["b"] == pytest.approx([300.0, 200.0])  # scaled ×2
    assert found["x_p99"]["b"] == pytest.approx([398.0, 396.0])
    assert "a" not in found["x_p50"] and "a" not in found["x_p99"]  # never in the top 1
    # fleet: buckets summed by le over everything, the agentless row included
    # step 0: 100 → 10, 200 → 20, +Inf → 25: p50 rank 12.5 in (100, 200] → 100 + 100*(2.5/10)
    assert found["x_p50"][None][0] == pytest.approx(2 * 125.0)
    # step 1: only b has observations: 100 → 2, 200 → 4, +Inf → 4: p50 rank 2 → 100
    assert found["x_p50"][None][1] == pytest.approx(2 * 100.0)


def test_bucket_rows_absent_at_a_step_mean_no_point_there():
    plan = HistogramPlan((("x_p50", 0.5),), max_agents=10)
    rows = [
        {"metric": {"agent_id": "a", "le": "100"}, "values": [[STEP, "4"]]},
        {"metric": {"agent_id": "a", "le": "+Inf"}, "values": [[STEP, "4"]]},
        {"metric": {"agent_id": "z", "le": "+Inf"}, "values": [[0.0, "0"]]},
        "junk", {"metric": "junk"}, {"metric": {"agent_id": "a", "le": "100"}, "values": [["x", "1"], [1e9, "1"]]},
    ]
    found = decode_buckets(rows, plan, (0.0, STEP), "agent_id")
    assert found["x_p50"]["a"] == [None, 50.0]
    assert math.isnan(found["x_p50"]["z"][0]) and found["x_p50"]["z"][1] is None  # one bucket: NaN, like the server


def test_one_point_rows_read_like_any_other():
    """The one-new-step shortcut: merged equal bounds, numbers, NaN and junk labels as in the general path."""
    plan = HistogramPlan((("x_p50", 0.5),), max_agents=10)
    rows = [
        {"metric": {"agent_id": "a", "le": "100"}, "values": [[0.0, "1"]]},
        {"metric": {"agent_id": "a", "le": "100.0"}, "values": [[0, 3]]},  # the same bound, a bare number
        {"metric": {"agent_id": "a", "le": "+Inf"}, "values": [[0.0, "4"]]},
        {"metric": {"agent_id": "b", "le": "+Inf"}, "values": [[0.0, "NaN"]]},
        {"metric": {"agent_id": "b", "le": "100"}, "values": [[0.0, "2"]]},
        {"metric": {"agent_id": ["x"], "le": "100"}, "values": [[0.0, "9"]]},  # junk agent: skipped
        {"metric": {"agent_id": "c", "le": ["100"]}, "values": [[0.0, "9"]]},  # junk bound: skipped
        {"metric": {"agent_id": "a", "le": "200"}, "values": [[7.5, "9"]]},  # off the grid: no point
    ]
    found = decode_buckets(rows, plan, (0.0,), "agent_id")
    # a: 1 + 3 at 100 of 4, rank 2 → 50; b: its NaN total stays NaN in the envelope and the rank
    # search ends on the first bound (the values the general path gave before the shortcut)
    assert found == {"x_p50": {"a": [50.0], "b": [100.0], None: [100.0]}}


def bucket_answer(value: float, seen: list):
    """Canned Prometheus: bucket queries put every observation above ``value``;
    other panels answer nothing.  Records each request's range."""

    def respond(path, params, headers):
        if path != "/api/v1/query_range":
            return 404, "text/plain", b"not found"
        seen.append((params["query"], float(params["start"]), float(params["end"])))
        rows = []
        if params["query"].startswith("sum by (le, agent_id)"):
            steps = Window(float(params["start"]), float(params["end"]), STEP).timestamps()
            for le, count in ((f"{value:g}", "0"), ("+Inf", "3")):
                rows.append(({"agent_id": "a", "le": le}, [(t, count) for t in steps]))
        return 200, "application/json", matrix(rows)

    return respond


def test_source_fetches_new_steps_only_and_a_failing_step_marks_stale():
    seen: list = []
    broken = {"on": False}
    healthy = bucket_answer(250.0, seen)

    def respond(path, params, headers):
        if broken["on"] and "livekit_llm_ttft_ms_bucket" in params.get("query", ""):
            return 503, "text/html", b"<html>down</html>"
        return healthy(path, params, headers)

    with CannedServer(respond) as server:
        source = PrometheusSource(Connection(url=server.url), SEED)
        poller = Poller(source, ThresholdSet(), lambda f: None, view=ViewWindow(60, STEP, at=END))
        panels = {q.promql for q in source.queries if not q.period}
        (held,) = {q.promql for q in source.queries if q.period}
        hour = END - END % 3600
        try:
            first = poller.poll_once()
            assert first.health[0].state is HealthState.OK
            assert {(s, e) for q, s, e in seen if q in panels} == {(END - 60, END)}
            assert {(s, e) for q, s, e in seen if q == held} == {(hour, hour)}  # the baselines' hour
            assert first.agent("a").stat("ttft_p99") == 250.0
            seen.clear()
            poller.set_view(ViewWindow(60, STEP, at=END + STEP))
            poller.poll_once()
            assert {(s, e) for _, s, e in seen} == {(END + STEP, END + STEP)}  # one new step per query
            assert {q for q, _, _ in seen} > panels  # every panel, and the change markers' query
            assert held not in {q for q, _, _ in seen}  # the same hour: its baselines are kept
            broken["on"] = True
            poller.set_view(ViewWindow(60, STEP, at=END + 2 * STEP))
            stale = poller.poll_once()
            health = stale.health[0]
            assert health.state is HealthState.STALE
            assert "ttft_p99: HTTP 503 from prometheus: Service Unavailable (showing data from" in health.message
            assert stale.agent("a").stat("ttft_p99") == 250.0  # the last good answer
            broken["on"] = False
            seen.clear()
            poller.set_view(ViewWindow(60, STEP, at=END + 3 * STEP))
            recovered = poller.poll_once()
            assert recovered.health[0].state is HealthState.OK
            ranges = {(q.split("(rate(")[-1].split("[")[0], s, e) for q, s, e in seen if "_bucket[" in q}
            # the failed panel asks for both steps it lacks, the others for the new one only
            assert ("livekit_llm_ttft_ms_bucket", END + 2 * STEP, END + 3 * STEP) in ranges
            assert ("livekit_e2e_latency_ms_bucket", END + 3 * STEP, END + 3 * STEP) in ranges
        finally:
            source.close()


def _truth(span: Span, gone: frozenset, settled: float) -> dict:
    """A server with agents a, b, c; ``gone`` (agent, step index) pairs have no point.
    Steps after ``settled`` are provisional: c has no point yet, the others are 0.5 off."""
    columns: dict = {"x": {}}
    for agent, base in (("a", 0.0), ("b", 1000.0), ("c", 5000.0)):
        values = [
            None if (agent, round(t / STEP)) in gone or (agent == "c" and t > settled)
            else base + t + (0.5 if t > settled else 0.0)
            for t in span.timestamps()
        ]
        if any(v is not None for v in values):
            columns["x"][agent] = values
    return columns


def _full(win: Window, gone: frozenset, settled: float) -> dict:
    """What a cache-less fetch of the whole window gives."""
    whole = Span(win.start, win.end, win.step)
    return StepCache().series(win, [(whole, _truth(whole, gone, settled))])


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(
    moves=st.lists(st.sampled_from([-3, -1, 0, 0, 1, 1, 2, 40]), min_size=1, max_size=12),
    gone=st.frozensets(st.tuples(st.sampled_from("abc"), st.integers(
        int(END / STEP) - 30, int(END / STEP) + 30)), max_size=25),
    unsettled=st.sampled_from([0, 1, 3]),
)
def test_any_walk_of_windows_reads_the_same_as_a_full_fetch(moves, gone, unsettled):
    assert_walk_reads_like_full_fetches(moves, gone, unsettled)


@settings(max_examples=100, deadline=None)
@given(
    moves=st.lists(st.sampled_from([0, 0, 1, 1, 1, 2, -1]), min_size=2, max_size=30),
    gone=st.frozensets(st.tuples(st.sampled_from("abc"), st.integers(
        int(END / STEP) - 30, int(END / STEP) + 40)), max_size=40),
    unsettled=st.sampled_from([1, 2, 4]),
)
def test_a_live_walk_done_in_one_pass_reads_the_same_as_a_full_fetch(moves, gone, unsettled):
    """Mostly a step on or the same window again: the live steady state (``StepCache._advance``),
    in and out of it."""
    assert_walk_reads_like_full_fetches(moves, gone, unsettled)


def test_a_live_console_moves_its_window_in_one_pass():
    cache = StepCache()
    end = END
    for _ in range(6):
        for again in range(3):  # a step on, then the same window twice more
            settled = end - 2 * STEP
            got = fetch(cache, window(end, length=10 * STEP), lambda span: _truth(span, frozenset(), settled), settled)
            assert got["x"]["a"].values[-1] == end + 0.5
        end += STEP
    assert cache._tails == 2 and cache._provisional[3] is None  # the one-pass form: unsettled steps as tails


def assert_walk_reads_like_full_fetches(moves, gone, unsettled) -> None:
    cache = StepCache()
    end, settled = END, -math.inf
    for move in moves:  # forward: live; back: time travel (the clock never goes back)
        end += move * STEP
        win = window(end, length=10 * STEP)
        settled = max(settled, end - unsettled * STEP)
        got = fetch(cache, win, lambda span: _truth(span, gone, settled), settled=settled)
        want = _full(win, gone, settled)
        assert set(got) == set(want)
        for stat in want:
            assert set(got[stat]) == set(want[stat])
            for agent, series in want[stat].items():
                assert series.timestamps == got[stat][agent].timestamps
                assert [v if v == v else None for v in series.values] == [
                    v if v == v else None for v in got[stat][agent].values
                ]


def test_a_refetched_step_without_a_series_has_no_point_there():
    cache = StepCache()
    win = window()
    fetch(cache, win, lambda s: {"x": {"a": [1.0] * len(s.timestamps()), "b": [2.0] * len(s.timestamps())}})
    again = fetch(cache, win, lambda s: {"x": {"a": [3.0] * len(s.timestamps())}})  # b lost on the server
    assert again["x"]["a"].values[-1] == 3.0
    assert math.isnan(again["x"]["b"].values[-1]) and again["x"]["b"].values[0] == 2.0
    moved = fetch(cache, window(END + STEP), lambda s: {"x": {"a": [4.0] * len(s.timestamps())}})
    assert math.isnan(moved["x"]["b"].values[-2])  # the gap stays a gap in the cache


def test_the_same_answers_over_the_same_window_give_the_last_series_and_new_ones_are_merged():
    cache = StepCache()
    live = window()
    settled = END - 2 * STEP  # the last two steps may still get samples
    fetch(cache, live, lambda s: column(s, 0), settled=settled)
    (newest,) = cache.missing(live, settled)
    answer = column(newest, 1000)
    first = cache.series(live, [(newest, answer)])
    assert cache.series(live, [(newest, answer)]) is first  # byte-identical answer reused by the source
    assert first["x"]["a"].values[-1] == END + 1000
    changed = cache.series(live, [(newest, column(newest, 2000))])  # a new answer: merged again
    assert changed is not first and changed["x"]["a"].values[-1] == END + 2000
    assert changed["x"]["a"].values[:-1] == first["x"]["a"].values[:-1]
    moved = window(END + STEP)  # the cache changes as the window moves: never the old read
    moved_series = fetch(cache, moved, lambda s: column(s, 3000), settled=settled + STEP)["x"]["a"]
    assert moved_series.timestamps == moved.timestamps() and moved_series.values[-1] == END + STEP + 3000
