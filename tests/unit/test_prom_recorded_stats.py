"""Term-panel stats read from voicetop's recording rules: names, the query, and the decoder.

Equality with the stats computed from the terms is held by
tests/integration/test_prometheus_recording.py (promtool evaluates the rules
over the test fleets); these cover naming and the rows the server never sends.
"""

from __future__ import annotations

import math
from dataclasses import replace

from voicetop.sources.prometheus.recorded_stats import (
    RecordedStatsPlan,
    decode_recorded_stats,
    terms_probe,
    unrecorded,
)
from voicetop.sources.prometheus.recording import stat_recordings
from voicetop.sources.prometheus.terms import TermPlan, TermStat

STEPS = (100.0, 115.0, 130.0)
TERMS = (
    "sum by (agent_id, component) (rate(errors_total[5m]))",
    "sum by (agent_id, component) (rate(requests_total[5m]))",
)
ERRORS = TermPlan(
    terms=TERMS,
    stats=(
        TermStat("error_rate", 0, 1, zero_numerator=True, scale=100.0),
        TermStat("error_rate_", 0, 1, zero_numerator=True, split=True),
    ),
    max_agents=10,
    split_label="component",
)
RATIO = "errors_total_per_requests_total:ratio_rate5m"
AGENT, PAIR, FLEET, PER_VALUE = f"agent_id:{RATIO}", f"agent_id_component:{RATIO}", f":{RATIO}", f"component:{RATIO}"


def plan(max_agents: int = 10) -> RecordedStatsPlan:
    recordings = stat_recordings(ERRORS, "agent_id")
    assert recordings is not None
    return RecordedStatsPlan(recordings, TERMS, max_agents, "agent_id", "component")


def row(name, values, **labels):
    return {"metric": {"__name__": name, **labels}, "values": [[t, v] for t, v in values]}


def test_names_and_query():
    error_rate, by_component = stat_recordings(ERRORS, "agent_id")
    assert (error_rate.agent_name, error_rate.fleet_name, error_rate.scale) == (AGENT, FLEET, 100.0)
    assert (by_component.agent_name, by_component.fleet_name, by_component.split) == (PAIR, PER_VALUE, True)
    assert plan(500).promql() == (
        f'topk by (__name__) (500, {{__name__=~"{AGENT}|{PAIR}", agent_id!=""}}) or {{__name__=~"{FLEET}|{PER_VALUE}"}}'
    )


def test_no_recordings_without_recorded_terms_or_with_clashing_names():
    assert stat_recordings(replace(ERRORS, terms=(TERMS[0], "avg by (agent_id) (x)")), "agent_id") is None
    twice = replace(ERRORS, stats=(ERRORS.stats[0], replace(ERRORS.stats[0], key="again")))
    assert stat_recordings(twice, "agent_id") is None


def test_single_term_reads_the_term_itself_per_agent():
    single = TermPlan(("sum by (agent_id) (active)",), (TermStat("active_sessions", 0),), 10)
    (recording,) = stat_recordings(single, "agent_id")
    assert recording.agent_name == "agent_id:active:sum" and recording.fleet_name == ":active:sum"
    assert recording.rules == ((":active:sum", "sum(agent_id:active:sum)"),)


def test_decode_per_agent_fleet_and_component_scaled():
    rows = [
        row(AGENT, [(100, "0.25"), (115, "+Inf")], agent_id="a"),
        row(FLEET, [(100, "0.5")]),
        row(PAIR, [(100, "0.5"), (130, "NaN")], agent_id="a", component="llm"),
        row(PER_VALUE, [(115, "0.125")], component="llm"),
        row(PER_VALUE, [(115, "9")]),  # the fleet's row of no value: no stat
    ]
    found = decode_recorded_stats(rows, plan(), STEPS, "agent_id")
    assert found["error_rate"]["a"][0] == 25.0 and math.isnan(found["error_rate"]["a"][1])  # x/0: no value
    assert found["error_rate"]["a"][2] is None
    assert found["error_rate"][None] == [50.0, None, None]
    llm = found["error_rate_llm"]
    assert llm["a"][0] == 0.5 and math.isnan(llm["a"][2]) and llm[None] == [None, 0.125, None]
    assert set(found) == {"error_rate", "error_rate_llm"}


def test_malformed_duplicate_and_unknown_rows_are_skipped():
    rows = [
        row(AGENT, [(100, "1")], agent_id="a"),
        row(AGENT, [(100, "2")], agent_id="a"),  # duplicate: the first wins
        row(AGENT, [(100, "3")]),  # per-agent name without the agent label
        row(AGENT, [(100, "3")], agent_id=["b"]),  # agent label not a string
        row(PAIR, [(100, "3")], agent_id="b", component=5),  # split label not a string
        row("other:name", [(100, "4")], agent_id="c"),
        row(AGENT, [(999, "5")], agent_id="d"),  # off the grid only: no column
        row(AGENT, [(107, "6"), ("x", "1")], agent_id="e"),  # snaps to the grid; garbage dropped
        {"metric": {"agent_id": "f"}, "values": [[100, "1"]]},  # no name
        "not a row",
    ]
    found = decode_recorded_stats(rows, plan(), STEPS, "agent_id")
    assert found == {"error_rate": {"a": [100.0, None, None], "e": [600.0, None, None]}}


def test_topk_per_step_and_split_pairs_share_one():
    rows = [
        row(AGENT, [(100, "1"), (115, "3")], agent_id="a"),
        row(AGENT, [(100, "2"), (115, "NaN")], agent_id="b"),
        row(FLEET, [(100, "0.1")]),
        row(PAIR, [(100, "0.2")], agent_id="a", component="llm"),
        row(PAIR, [(100, "0.9")], agent_id="b"),  # no value: no stat, but it takes the place
    ]
    found = decode_recorded_stats(rows, plan(max_agents=1), STEPS, "agent_id")
    assert found["error_rate"]["a"] == [None, 300.0, None]
    assert found["error_rate"]["b"] == [200.0, None, None]  # NaN ranks lowest
    assert found["error_rate"][None] == [10.0, None, None]  # the fleet takes no place
    assert "error_rate_llm" not in found and "error_rate_" not in found


def test_stats_without_a_fleet_series_are_probed_for_their_terms():
    """A stat's fleet series is there whenever any agent's is: without it, the stat's rule may be missing.
    It should be there when the terms it needs (a zero-numerator ratio: its denominator) have series."""
    the_plan = plan()
    error_rate = the_plan.recordings[0]
    assert error_rate.needs == ("agent_id_component:requests_total:rate5m",)
    assert the_plan.absent({"error_rate": {"a": [1.0]}}) == [error_rate]  # agents only: no fleet row
    assert the_plan.absent({"error_rate": {None: [1.0]}}) == []  # the split stat is never probed
    assert terms_probe([error_rate]) == 'count by (__name__) ({__name__=~"agent_id_component:requests_total:rate5m"})'
    assert unrecorded([error_rate], {"agent_id_component:requests_total:rate5m"}) == ["error_rate"]
    assert unrecorded([error_rate], set()) == []  # no requests anywhere: nothing to record
    plain = replace(ERRORS.stats[0], zero_numerator=False)
    (recording, _) = stat_recordings(replace(ERRORS, stats=(plain, ERRORS.stats[1])), "agent_id")
    assert recording.needs == ("agent_id_component:errors_total:rate5m", "agent_id_component:requests_total:rate5m")
    assert unrecorded([recording], {"agent_id_component:requests_total:rate5m"}) == []
