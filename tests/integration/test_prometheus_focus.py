"""Focused reads on Debian's real Prometheus (:mod:`voicetop.sources.prometheus.focus`).

Over the backfilled recorded scenario (and the same recorded series in
VictoriaMetrics): after a full read, a window a step on
reads only the chosen agents' recorded series (and the fleet's); what it
brings equals a full read of that window for those agents, and every other
series is the last full read's, untouched.  The agent matcher is checked
against Prometheus' own regex engine.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from tests.integration.test_prometheus_evaluations import recorded_promql
from tests.integration.test_prometheus_incremental import incident_window
from tests.integration.test_prometheus_recording import RECORDING, on_evaluations, victoria_with_recordings
from tests.support.servers import require_binary
from voicetop.config import Connection
from voicetop.domain.model import Window
from voicetop.domain.query_text import regex_literal
from voicetop.sources.prometheus import PrometheusSource
from voicetop.sources.prometheus.evaluations import PROBE_LABEL
from voicetop.sources.prometheus.queries import plan_queries


def recorded_keys(series) -> set[str]:
    keys = {key for query in plan_queries(RECORDING) if query.reads_recordings for key in query.stats}
    prefixes = tuple(query.split_prefix for query in plan_queries(RECORDING) if query.split_prefix)
    return {key for key in series if key in keys or key.startswith(prefixes)}


def same_values(a, b) -> bool:
    return a.timestamps == b.timestamps and all(
        x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a.values, b.values, strict=True)
    )


def moved_on(window: Window) -> Window:
    """The window a step later (a live console's next step)."""
    return replace(window, start=window.start + window.step, end=window.end + window.step)


def test_a_focused_read_equals_the_full_read_for_its_agents_and_keeps_the_others(recorded_scenario):
    window = on_evaluations(recorded_scenario, incident_window(recorded_scenario.scenario))
    assert "wer" in assert_focused_read(recorded_scenario.url, window)


def test_a_focused_read_on_victoria_metrics_equals_its_full_read(recorded_scenario, tmp_path):
    """The same on VictoriaMetrics, the recorded series imported as they are: its regex matcher and
    ``topk`` answer the focused queries like the full ones."""
    require_binary("victoria-metrics")
    window = on_evaluations(recorded_scenario, incident_window(recorded_scenario.scenario))
    with victoria_with_recordings(recorded_scenario, tmp_path / "vm", moved_on(window)) as victoria:
        assert_focused_read(victoria.url, window)


def assert_focused_read(url: str, window: Window) -> set[str]:
    """After a full read of ``window``, a focused read of the next step brings two agents' recorded
    series (and the fleet's) to what a full read of that step says, and keeps every other's and
    the raw panels' (whose keys it returns)."""
    moved = moved_on(window)
    source = PrometheusSource(Connection(url=url), RECORDING)
    reference = PrometheusSource(Connection(url=url), RECORDING)
    try:
        assert source.fetch_focus(moved, ["a"]) is None  # no full read to start from
        full = source.fetch(window)
        agents = full.agent_ids()
        assert len(agents) >= 3
        focus, others = set(agents[:2]), agents[2:]
        focused = source.fetch_focus(moved, focus)
        assert focused is not None and focused.window == moved
        sent = [request.promql for request in source.last_requests if "agent_id=~" in request.promql]
        assert len(sent) == len([q for q in source.queries if q.reads_recordings])
        assert all(len(request.start) and request.start == request.end for request in source.last_requests
                   if "agent_id=~" in request.promql)  # one step each: the new one
        expected = reference.fetch(moved)
        keys = recorded_keys(expected.series)
        assert keys
        compared = 0
        for key in keys:
            for agent in (*focus, None):
                theirs = expected.series[key].get(agent)
                ours = focused.series.get(key, {}).get(agent)
                assert (theirs is None) == (ours is None), (key, agent)
                if theirs is not None:
                    assert same_values(ours, theirs), (key, agent)
                    compared += 1
            for agent in others:
                assert focused.series[key].get(agent) is full.series[key].get(agent)
        assert compared > len(keys)  # agents' series, not just the fleet's
        raw = full.series.keys() - keys
        assert all(focused.series[key] == full.series[key] for key in raw)  # raw panels: the full read's
        return raw
    finally:
        source.close()
        reference.close()


def test_too_many_steps_or_agents_are_left_to_the_full_read(recorded_scenario):
    window = on_evaluations(recorded_scenario, incident_window(recorded_scenario.scenario))
    source = PrometheusSource(Connection(url=recorded_scenario.url), RECORDING)
    try:
        full = source.fetch(window)
        far = replace(window, start=window.start + 10 * window.step, end=window.end + 10 * window.step)
        assert source.fetch_focus(far, full.agent_ids()[:1]) is None
        assert source.fetch_focus(replace(window, step=window.step * 2), full.agent_ids()[:1]) is None
        assert source.fetch_focus(window, [f"agent-{n}" for n in range(1000)]) is None
    finally:
        source.close()


@pytest.mark.parametrize("agent", ["eu.west(1)", "sp ace-1", "a|b", "x+y*z?", "[q]{2}^$", "back\\slash"])
def test_the_agent_matcher_is_literal_in_prometheus_regex_engine(recorded_scenario, agent):
    pattern = regex_literal(agent)
    quoted = pattern.replace("\\", "\\\\")
    labelled = f'label_replace(vector(1), "x", "{agent.replace(chr(92), chr(92) * 2)}", "", "")'
    matched = recorded_scenario.query(f'label_replace({labelled}, "m", "yes", "x", "{quoted}")')
    assert matched and matched[0]["metric"].get("m") == "yes"
    other = recorded_scenario.query(f'label_replace({labelled}, "m", "yes", "x", "{quoted}x")')
    assert other and "m" not in other[0]["metric"]


def test_a_focused_reads_probe_serves_the_full_read_after_it(recorded_scenario, monkeypatch):
    import voicetop.sources.prometheus.source as source_module

    window = on_evaluations(recorded_scenario, incident_window(recorded_scenario.scenario))
    source = PrometheusSource(Connection(url=recorded_scenario.url), RECORDING)

    def probes(requests) -> int:
        return sum(PROBE_LABEL in request.promql for request in requests)

    try:
        full = source.fetch(window)
        source.fetch(window)  # read with what the probe saw
        issued = len(source.last_requests)
        assert source.fetch_focus(window, full.agent_ids()[:2]) is None  # nothing evaluated since
        assert probes(source.last_requests[issued:]) == 1
        source.fetch(window)
        assert probes(source.last_requests) == 0  # the focused read's probe, taken over
        assert not any(request.promql in recorded_promql() for request in source.last_requests)
        source.fetch(window)
        assert probes(source.last_requests) == 1  # taken once: the next refresh probes again
        monkeypatch.setattr(source_module, "PROBE_KEPT", -1.0)
        source.fetch_focus(window, full.agent_ids()[:2])
        source.fetch(window)
        assert probes(source.last_requests) == 1  # too old to take over
    finally:
        source.close()
