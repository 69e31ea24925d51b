"""Group-by rows get trace-derived stages where the metrics lack them (issue #9):
the Poller fetches recent turns while grouping and ``enrich`` groups them."""

from __future__ import annotations

import pytest

from voicetop.compare_view import CompareView, enrich
from voicetop.domain.compare import group_key
from voicetop.domain.model import MetricsResult, Series, Turn
from voicetop.domain.stats import percentile
from voicetop.domain.thresholds import ThresholdSet
from voicetop.poller import Poller, ViewWindow

AGENT = "sales"


def flat(window, value):
    stamps = window.timestamps()
    return Series(stamps, tuple(value for _ in stamps))


class NoE2EMetrics:
    """Metrics with LLM TTFT and cost, grouped by prompt version, but no end-to-end histogram."""

    name = "metrics"

    def __init__(self):
        self.grouped_calls = 0

    def now(self):
        return 50_000.0

    def fetch(self, window):
        return MetricsResult(window, {
            "ttft_p99": {AGENT: flat(window, 700.0), None: flat(window, 700.0)},
            "cost_per_session": {AGENT: flat(window, 0.1)},
        })

    def group_labels(self):
        return ("prompt_version",)

    def fetch_grouped(self, window, label):
        self.grouped_calls += 1
        return MetricsResult(window, {
            "ttft_p99": {group_key(AGENT, "v1"): flat(window, 600.0), group_key(AGENT, "v2"): flat(window, 800.0)},
            "cost_per_session": {group_key(AGENT, "v1"): flat(window, 0.1), group_key(AGENT, "v2"): flat(window, 0.2)},
        })

    def alerts(self):
        return []

    def close(self):
        pass


V1_E2E = [1000.0, 1100.0, 1200.0, 1300.0]
V2_E2E = [3000.0, 3300.0, 3600.0]


class VersionedTurns:
    """Recent turns of two prompt versions, with end-to-end and TTFT timings."""

    name = "traces"

    def __init__(self):
        self.calls = 0

    def recent_turns(self, agent_id, since, until, limit=500):
        self.calls += 1
        turns = [
            Turn(f"t{version}{i}", f"s{version}", AGENT, i, since + i, {"e2e": e2e, "ttft": 9999.0},
                 labels={"prompt_version": version, "model": "m"})
            for version, values in (("v1", V1_E2E), ("v2", V2_E2E))
            for i, e2e in enumerate(values)
        ]
        return turns + [Turn("tx", "sx", AGENT, 0, since, {"e2e": 50_000.0})]  # no version: no group


def poller(metrics, traces):
    return Poller(metrics, ThresholdSet(), lambda frame: None, refresh=1, view=ViewWindow(600, 15), traces=traces)


def groups(frame):
    return {(g.agent_id, g.value): g.stats for g in frame.grouping.groups}


def test_grouped_rows_take_trace_derived_e2e_and_keep_metric_ttft():
    metrics, traces = NoE2EMetrics(), VersionedTurns()
    p = poller(metrics, traces)
    p.set_compare(CompareView(group_by="prompt_version"))
    frame = p.poll_once()
    rows = groups(frame)
    assert set(rows) == {(AGENT, "v1"), (AGENT, "v2"), (None, "v1"), (None, "v2")}
    v1, v2 = rows[(AGENT, "v1")], rows[(AGENT, "v2")]
    assert v1.stages["e2e"].derived_from == "traces"
    assert v1.stage_value("e2e", "p50") == pytest.approx(percentile(V1_E2E, 0.5))
    assert v2.stage_value("e2e", "p99") == pytest.approx(percentile(V2_E2E, 0.99))
    # the grouped metrics have TTFT: they win over the traces' 9999 ms
    assert v2.stages["ttft"].derived_from == "metrics" and v2.stage_value("ttft", "p99") == 800.0
    assert v2.scalar("cost_per_session") == pytest.approx(0.2)
    # a version seen only in traces fleet-wide still gets a row with its stages
    assert rows[(None, "v2")].stage_value("e2e", "p50") == pytest.approx(percentile(V2_E2E, 0.5))
    # the agent row itself: e2e from traces too (all its turns), ttft from metrics
    assert frame.agent(AGENT).stages["e2e"].derived_from == "traces"
    assert frame.agent(AGENT).stage_value("ttft", "p99") == 700.0


def test_turns_are_fetched_once_per_trace_refresh_and_only_when_needed():
    metrics, traces = NoE2EMetrics(), VersionedTurns()
    p = poller(metrics, traces)
    frame = p.poll_once()  # e2e missing: fetched for the agent rows
    assert frame.grouping is None and traces.calls == 1
    p.set_compare(CompareView(group_by="prompt_version"))
    frame = p.poll_once()
    assert traces.calls == 1  # cached turns serve the grouping too
    assert groups(frame)[(AGENT, "v1")].stages["e2e"].derived_from == "traces"


def test_enrich_without_turns_leaves_group_stages_empty():
    metrics = NoE2EMetrics()
    p = poller(metrics, None)
    p.set_compare(CompareView(group_by="prompt_version"))
    frame = p.poll_once()
    v1 = groups(frame)[(AGENT, "v1")]
    assert v1.stage_value("e2e", "p50") is None and v1.stage_value("ttft", "p99") == 600.0
    # and enrich itself takes turns directly
    window = frame.window
    turns = VersionedTurns().recent_turns(None, window.start, window.end)
    again = enrich(frame, metrics, metrics.fetch(window), ThresholdSet(), CompareView(group_by="prompt_version"), turns)
    assert groups(again)[(AGENT, "v1")].stages["e2e"].derived_from == "traces"
