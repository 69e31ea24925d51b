"""Focused reads (:mod:`voicetop.sources.prometheus.focus`): the agents on screen first, at fleet scale."""

import math
import re
from dataclasses import replace

import pytest

from voicetop.domain.model import Series, Window
from voicetop.profiles.metrics import SEED
from voicetop.domain.query_text import string_literal
from voicetop.sources.prometheus.focus import agent_matcher, focused_promql, overlay
from voicetop.sources.prometheus.queries import plan_queries

STEP = 15.0


def window(end: float, steps: int = 4) -> Window:
    return Window(end - (steps - 1) * STEP, end, STEP)


def series(w: Window, *values: float) -> Series:
    return Series(w.timestamps(), tuple(values))


def test_string_literal_escapes_quotes_backslashes_and_newlines():
    assert string_literal('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'


@pytest.mark.parametrize("agent", ["agent-1", "eu.west(1)", 'quote"d', "back\\slash", "a|b", "plus+star*", "sp ace^$[x]{2}?"])
def test_agent_matcher_matches_each_agent_literally_and_nothing_else(agent):
    matcher = agent_matcher("agent_id", [agent, "other"])
    label, literal = matcher.split("=~", 1)
    assert label == "agent_id"
    # the PromQL string, unquoted as Prometheus would, is a regex matching exactly the two agents
    pattern = literal[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    assert re.fullmatch(pattern, agent) and re.fullmatch(pattern, "other")
    assert not re.fullmatch(pattern, agent + "x") and not re.fullmatch(pattern, "a")


def test_focused_promql_restricts_every_recorded_panel_and_keeps_the_fleet():
    queries = plan_queries(replace(SEED, recording_rules=True))
    recorded = [query for query in queries if query.reads_recordings]
    assert recorded, "the seed profile with recording rules reads recorded panels"
    for query in recorded:
        promql = focused_promql(query, agent_matcher("agent_id", ["a-1", "b-2"]))
        assert promql is not None and 'agent_id=~"a-1|b-2"' in promql
        assert promql.count("agent_id=~") == 1  # the fleet's series are read whole: they are few
        assert " or " in promql
    raw = [query for query in queries if not query.reads_recordings]
    assert raw and all(focused_promql(query, agent_matcher("agent_id", ["a"])) is None for query in raw)


def test_focused_promql_names_the_same_series_as_the_full_query():
    for query in plan_queries(replace(SEED, recording_rules=True)):
        promql = focused_promql(query, agent_matcher("agent_id", ["x"]))
        if promql is None:
            continue
        names = set(re.findall(r"[a-z_]*:[a-z_0-9:]+", query.promql))
        assert names and names == set(re.findall(r"[a-z_]*:[a-z_0-9:]+", promql))


def test_overlay_brings_focus_agents_and_fleet_to_the_window_and_keeps_the_rest():
    old, new = window(1000.0), window(1015.0)
    kept_agent = series(old, 1, 2, 3, 4)
    base = {
        "ttft_p99": {"a": series(old, 10, 11, 12, 13), "b": kept_agent, None: series(old, 5, 5, 5, 5)},
        "wer": {"a": series(old, 1, 1, 1, 1)},
        "tts_p50": {"a": series(old, 9, 9, 9, 9)},
    }
    # the focused answer: the step that settled (985) and the new one (1015), a strided span
    answer = (("ttft_p99",), (985.0, 1015.0), {"ttft_p99": {"a": [12.5, 14.0], None: [5.0, 6.0]}})
    other_panel = (("wer",), (1015.0,), {})  # another query's answer: says nothing of ttft_p99
    result, changed = overlay(base, new, [answer, other_panel], {"a"})
    assert changed == {"a", None}
    assert result["ttft_p99"]["a"] == Series(new.timestamps(), (11, 12.5, 13, 14))
    assert result["ttft_p99"][None] == Series(new.timestamps(), (5, 5, 5, 6))
    assert result["ttft_p99"]["b"] is kept_agent  # not on screen: its last full read, as it was
    assert result["wer"]["a"].values[:3] == (1, 1, 1)  # its panel answered without it: no point at the new step
    assert math.isnan(result["wer"]["a"].values[3])
    assert result["tts_p50"]["a"] is base["tts_p50"]["a"]  # a stat no focused query reads
    assert base["ttft_p99"]["a"].timestamps == old.timestamps()  # the base is not modified


def test_overlay_without_a_point_for_a_focus_agent_leaves_a_gap_and_drops_an_empty_series():
    old, new = window(1000.0, 2), window(1015.0, 2)
    base = {"ttft_p99": {"a": series(old, 7, 8), "gone": series(old, 9, math.nan)}}
    answer = (("ttft_p99",), (1015.0,), {"ttft_p99": {"new": [3.0]}})
    result, changed = overlay(base, new, [answer], {"a", "gone", "new", "absent"})
    assert changed == {"a", "gone", "new"}  # an agent with no series there nor in the answer: untouched
    a = result["ttft_p99"]["a"]
    assert a.values[0] == 8 and math.isnan(a.values[1])  # answered without it: no point at the new step
    assert "gone" not in result["ttft_p99"]  # its only point left the window
    assert result["ttft_p99"]["new"].values[-1] == 3.0  # a focus agent new to the stat


def test_a_slow_or_failing_focused_read_gives_way_to_the_full_read(monkeypatch):
    """The focused read waits at most FOCUS_TIMEOUT, and any failure drops just its frame."""
    import time

    from tests.support.canned_http import CannedServer
    from tests.unit.test_prom_evaluations import _recorded_server
    from voicetop.config import Connection
    from voicetop.sources.prometheus import PrometheusSource
    from voicetop.sources.prometheus import source as source_module

    recording = replace(SEED, recording_rules=True)
    monkeypatch.setattr(source_module, "FOCUS_TIMEOUT", 0.3)
    behaviour = {"focused": "slow"}
    recorded = _recorded_server(lambda: (500, b"no probe"))  # every recorded panel: one fleet row per name

    def respond(path, params, headers):
        if "agent_id=~" in params.get("query", ""):
            if behaviour["focused"] == "slow":
                time.sleep(1.5)
            else:
                return 500, "text/plain", b"boom"
        return recorded(path, params, headers)

    first = Window(1_700_000_000, 1_700_000_060, STEP)
    moved = Window(1_700_000_015, 1_700_000_075, STEP)
    with CannedServer(respond) as server:
        source = PrometheusSource(Connection(url=server.url, timeout=5.0), recording)
        try:
            source.fetch(first)
            started = time.monotonic()
            assert source.fetch_focus(moved, ["a"]) is None
            assert time.monotonic() - started < 1.2  # not the 1.5 s answer, nor the 5 s client timeout
            behaviour["focused"] = "failing"
            assert source.fetch_focus(moved, ["a"]) is None
            assert "ttft_p99" in source.fetch(moved).series  # the full read goes on as ever
        finally:
            source.close()
