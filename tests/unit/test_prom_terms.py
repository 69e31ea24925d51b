"""decode_terms: scalar ratios per agent, fleet and split value from one read of each term.

Equality with the server's own PromQL is held by tests/integration/test_prometheus_terms.py;
these cover the row handling the server never sends (malformed rows, duplicates, off-grid points).
"""

from __future__ import annotations

import math

from voicetop.sources.prometheus.terms import TermPlan, TermStat, decode_terms

STEPS = (100.0, 115.0, 130.0)
ERRORS = TermPlan(
    terms=("sum by (agent_id, component) (errors)", "sum by (agent_id, component) (requests)"),
    stats=(TermStat("error_rate", 0, 1, zero_numerator=True), TermStat("error_rate_", 0, 1, zero_numerator=True, split=True)),
    max_agents=10,
    split_label="component",
)


def row(term, values, **labels):
    return {"metric": {"vt_term": str(term), **labels}, "values": [[t, v] for t, v in values]}


def test_ratios_per_agent_fleet_and_component():
    rows = [
        row(0, [(100, "1"), (115, "2")], agent_id="a", component="llm"),
        row(1, [(100, "4"), (115, "4"), (130, "4")], agent_id="a", component="llm"),
        row(1, [(100, "4"), (115, "4"), (130, "4")], agent_id="a", component="stt"),
        row(1, [(100, "2")], agent_id="b", component="llm"),  # no errors: 0
        row(0, [(100, "3")], agent_id="c", component="tts"),  # no requests: no value
        row(1, [(100, "0")], agent_id="d", component="llm"),  # 0/0
        row(1, [(100, "2")], component="llm"),  # no agent: fleet only
    ]
    found = decode_terms(rows, ERRORS, STEPS, "agent_id")
    rate = found["error_rate"]
    assert rate["a"] == [1 / 8, 2 / 8, 0.0]
    assert rate["b"] == [0.0, None, None]
    assert "c" not in rate
    assert math.isnan(rate["d"][0])
    assert rate[None][0] == (1 + 3) / (4 + 4 + 2 + 0 + 2)
    assert found["error_rate_llm"]["a"] == [1 / 4, 2 / 4, 0.0]
    assert found["error_rate_stt"]["a"] == [0.0, 0.0, 0.0]
    assert found["error_rate_llm"][None][0] == 1 / (4 + 2 + 0 + 2)
    assert "error_rate_tts" not in found  # errors without requests anywhere


def test_malformed_duplicate_and_untagged_rows_are_skipped():
    rows = [
        row(1, [(100, "4")], agent_id="a", component="llm"),
        row(1, [(100, "8")], agent_id="a", component="llm"),  # duplicate: the first wins
        row(7, [(100, "1")], agent_id="a", component="llm"),  # no such term
        {"metric": {"agent_id": "a"}, "values": [[100, "1"]]},  # untagged
        {"metric": {"vt_term": ["1"], "agent_id": "a"}, "values": [[100, "1"]]},  # tag not a string
        row(1, [(100, "1")], agent_id="a", component=["llm"]),  # split label not a string
        row(1, [(100, "1")], agent_id=5, component="llm"),  # agent label not a string
        row(1, [(107, "2"), ("x", "1"), (999, "1")], agent_id="e", component="llm"),  # snaps; garbage dropped
        "not a row",
        {"metric": "nope"},
    ]
    found = decode_terms(rows, ERRORS, STEPS, "agent_id")
    assert found["error_rate"]["a"] == [0.0, None, None]
    assert found["error_rate"]["e"] == [0.0, None, None]
    assert set(found["error_rate"]) == {"a", "e", None}


def test_single_term_scaled_and_topk_per_step():
    plan = TermPlan(("sum by (agent_id) (x)",), (TermStat("turn_rate", 0, scale=10.0),), max_agents=1)
    rows = [
        row(0, [(100, "1"), (115, "3")], agent_id="a"),
        row(0, [(100, "2"), (115, "1")], agent_id="b"),
        row(0, [(100, "NaN")], agent_id="c"),
    ]
    found = decode_terms(rows, plan, STEPS, "agent_id")["turn_rate"]
    assert found["a"] == [None, 30.0, None] and found["b"] == [20.0, None, None]
    assert "c" not in found  # NaN ranks lowest
    assert found[None][0] != found[None][0]  # 1 + 2 + NaN


def test_split_pairs_share_one_topk():
    rows = [
        row(0, [(100, "1")], agent_id="a", component="llm"),
        row(1, [(100, "2")], agent_id="a", component="llm"),
        row(0, [(100, "3")], agent_id="b", component="stt"),
        row(1, [(100, "4")], agent_id="b", component="stt"),
    ]
    plan = TermPlan(ERRORS.terms, ERRORS.stats, max_agents=1, split_label="component")
    found = decode_terms(rows, plan, STEPS, "agent_id")
    assert set(found["error_rate_llm"]) == {None}  # a's pair lost the one place to b's
    assert found["error_rate_stt"]["b"][0] == 0.75


def test_every_point_shape_reads_as_the_generic_grid_reader_would():
    """The inlined on-grid path and the generic one (off-grid, numeric or odd values) agree."""
    plan = TermPlan(("sum by (agent_id) (x)",), (TermStat("turn_rate", 0),), max_agents=10)
    rows = [
        row(0, [(100, "1.5"), (115.0, "NaN"), (130, "+Inf")], agent_id="a"),  # on the grid, strings
        row(0, [(101, 2.5), (116, "bad"), (129, None)], agent_id="b"),  # snapped; a number; junk
        {"metric": {"vt_term": "0", "agent_id": "c"},
         "values": [[100, 7], [True, "1"], [130], (130, "3"), [115, "2"]]},  # int value; bool time; short; tuple
    ]
    found = decode_terms(rows, plan, STEPS, "agent_id")["turn_rate"]
    assert found["a"][0] == 1.5 and math.isnan(found["a"][1]) and math.isnan(found["a"][2])  # +Inf: no value
    assert found["b"][0] == 2.5 and math.isnan(found["b"][1]) and math.isnan(found["b"][2])
    assert found["c"] == [7.0, 2.0, 3.0]
