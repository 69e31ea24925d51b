"""Client-side scalar panels (one read per term) equal the server's own PromQL.

The source reads each term of a panel once (``sum by (agent[, component])
(rate(X[R]))``) and computes the ratios itself; every stat, per agent and for
the fleet, must equal what Prometheus answers for the stat's PromQL
(``topk(max_agents, agent expr)`` over rows with an agent, and the fleet expr).  Besides the canonical
scenario, a small fleet with the awkward cases is backfilled: an agent with
requests but no error series (0 %), errors without requests (no value), a
stopped agent (0/0), series without the agent or component label, and an
agent without interruptions.
"""

from __future__ import annotations

import math

import pytest

from tests.support.servers import PrometheusServer, backfill, require_binary
from voicetop.domain.model import Window
from voicetop.profiles.metrics import SEED, MetricProfile, parse_profile
from voicetop.sources.prometheus.queries import plan_queries
from tests.integration.test_prometheus_incremental import incident_window
from tests.support.server_answers import fetch_once, server_matrix, server_rows

STEP = 15.0
START = 1_700_000_000.0
MINUTES = 30
#: series -> value per minute (a counter grows by it each minute)
EDGE_SERIES: dict[str, float] = {
    # normal agent
    'livekit_requests_total{agent_id="a",component="llm"}': 6,
    'livekit_errors_total{agent_id="a",component="llm"}': 1,
    'livekit_requests_total{agent_id="a",component="stt"}': 4,
    'livekit_conversation_turns_total{agent_id="a"}': 4,
    'livekit_interruptions_total{agent_id="a"}': 1,
    'livekit_tool_calls_total{agent_id="a",outcome="success"}': 3,
    'livekit_tool_calls_total{agent_id="a",outcome="error"}': 1,
    'livekit_active_sessions{agent_id="a"}': 3,
    'livekit_max_sessions{agent_id="a"}': 10,
    # requests but no error series at all; no interruptions; tool calls never succeed
    'livekit_requests_total{agent_id="b",component="llm"}': 5,
    'livekit_conversation_turns_total{agent_id="b"}': 2,
    'livekit_tool_calls_total{agent_id="b",outcome="error"}': 2,
    'livekit_active_sessions{agent_id="b"}': 5,
    # errors without requests: no error rate
    'livekit_errors_total{agent_id="c",component="tts"}': 2,
    'livekit_max_sessions{agent_id="c"}': 4,
    # stopped: counters flat, so 0/0
    'livekit_requests_total{agent_id="d",component="llm"}': 0,
    'livekit_errors_total{agent_id="d",component="llm"}': 0,
    'livekit_conversation_turns_total{agent_id="d"}': 0,
    'livekit_max_sessions{agent_id="d"}': 0,
    'livekit_active_sessions{agent_id="d"}': 0,
    # no agent label (fleet only) and no component label
    'livekit_requests_total{component="llm"}': 3,
    'livekit_errors_total{component="llm"}': 2,
    'livekit_requests_total{agent_id="a"}': 2,
    'livekit_errors_total{agent_id="a"}': 1,
    'livekit_conversation_turns_total': 1,
}


def edge_openmetrics(fleet: dict[str, float] = EDGE_SERIES) -> str:
    lines = []
    names = sorted({series.split("{")[0] for series in fleet})
    for name in names:
        kind = "gauge" if name.endswith("sessions") else "counter"
        family = name.removesuffix("_total")
        lines.append(f"# TYPE {family} {kind}")
        for series, per_minute in fleet.items():
            if series.split("{")[0] != name:
                continue
            for minute in range(MINUTES + 1):
                value = per_minute if kind == "gauge" else per_minute * minute
                lines.append(f"{series} {value} {START + 60 * minute:.0f}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def edge_prometheus(tmp_path_factory):
    require_binary("promtool")
    require_binary("prometheus")
    work = tmp_path_factory.mktemp("terms")
    backfill(edge_openmetrics(), work / "tsdb", work)
    with PrometheusServer(work / "prom", tsdb=work / "tsdb") as server:
        yield server


TERM_PANELS = ("conversation", "tools", "errors", "capacity", "cost")


def assert_equal_to_server(url: str, profile: MetricProfile, window: Window, ties: bool = False) -> int:
    """Every stat of the term panels equals the server's topk'd agent and fleet PromQL; returns pairs compared."""
    result = fetch_once(url, profile, window)
    assert result.errors == {}
    compared = 0
    for query in plan_queries(profile):
        if query.name not in TERM_PANELS:
            continue
        assert query.terms is not None, query.name
        keys = list(query.stats)
        for key in keys:
            expr = profile.stat_expr(key)
            agents = server_matrix(url, top_agents(profile, expr.agent), window)
            fleet = server_matrix(url, expr.fleet, window)
            compared += compare(result.series.get(key, {}), agents, fleet, key, ties)
        if query.split_prefix:
            component = profile.component_error_expr()
            pairs = server_rows(url, top_agents(profile, component.agent), window)
            fleet_rows = server_rows(url, component.fleet, window)
            ours = {k: v for k, v in result.series.items() if k.startswith(query.split_prefix)}
            expected_keys = {query.split_prefix + labels["component"] for labels, _ in pairs + fleet_rows
                             if labels.get("component")}
            assert set(ours) == expected_keys
            for key in expected_keys:
                part = key[len(query.split_prefix):]
                agents = {labels.get("agent_id"): values for labels, values in pairs if labels.get("component") == part}
                fleet = {None: values for labels, values in fleet_rows if labels.get("component") == part}
                compared += compare(ours[key], agents, fleet, key, ties)
    return compared


def top_agents(profile: MetricProfile, agent_expr: str) -> str:
    """The server's ``topk`` over rows that have an agent (agent-less rows count for the fleet only)."""
    having_agent = 'count by (agent_id) ({__name__=~"livekit_.+", agent_id!=""})'
    return f"topk({profile.max_agents}, ({agent_expr}) and on (agent_id) {having_agent})"


def compare(ours: dict, agents: dict, fleet: dict, key: str, ties: bool = False) -> int:
    """Our series per agent (None: fleet) against the server's values per step; NaN and no value alike.

    With ``ties`` the agents are compared as the values kept at each step
    (topk may keep either of two agents tied on a value).
    """
    theirs = {**{a: v for a, v in agents.items() if a is not None}, None: fleet.get(None, {})}
    if ties:
        assert_same_steps({None: ours.get(None)}, {None: theirs.pop(None)}, key)
        kept = {a: s for a, s in ours.items() if a is not None}
        steps = {t for values in theirs.values() for t in values} | {t for s in kept.values() for t in s.timestamps}
        for timestamp in steps:
            mine = sorted(_key(v) for s in kept.values() for t, v in zip(s.timestamps, s.values) if t == timestamp)
            server = sorted(_key(v[timestamp]) for v in theirs.values() if timestamp in v)
            assert [m for m in mine if m[0]] == pytest.approx([s for s in server if s[0]], rel=1e-9), (key, timestamp)
        return len(theirs) + 1
    assert_same_steps(ours, theirs, key)
    return len(theirs)


def _key(value: float) -> tuple[int, float]:
    """Sortable, NaN as (0, 0) so present values compare by number."""
    return (0, 0.0) if math.isnan(value) or math.isinf(value) else (1, value)


def assert_same_steps(ours: dict, theirs: dict, key: str) -> None:
    for agent in set(ours) | {a for a, v in theirs.items() if any(not math.isnan(x) for x in v.values())}:
        series = ours.get(agent)
        expected = theirs.get(agent, {})
        values = dict(zip(series.timestamps, series.values)) if series is not None else {}
        for timestamp in set(values) | set(expected):
            mine, server = values.get(timestamp, math.nan), expected.get(timestamp, math.nan)
            if math.isnan(server) or math.isinf(server):
                assert math.isnan(mine), (key, agent, timestamp, mine, server)
            else:
                assert mine == pytest.approx(server, rel=1e-9, abs=1e-12), (key, agent, timestamp)


def test_term_panels_read_each_metric_once():
    panels = {q.name: q for q in plan_queries(SEED)}
    errors = panels["errors"].promql
    assert errors.count("livekit_requests_total") == 1 and errors.count("livekit_errors_total") == 1
    conversation = panels["conversation"].promql
    assert conversation.count("livekit_conversation_turns_total") == 1
    assert {name for name, q in panels.items() if q.terms is not None} == set(TERM_PANELS)


def test_edge_cases_equal_the_servers_promql(edge_prometheus):
    window = Window(START + 600, START + 1800, STEP)
    assert assert_equal_to_server(edge_prometheus.url, SEED, window) > 20


def test_topk_of_one_keeps_the_servers_agents_and_component_pairs(edge_prometheus):
    window = Window(START + 600, START + 1800, STEP)
    profile = parse_profile("[profile]\nmax_agents = 1\n", "top1.toml")
    assert assert_equal_to_server(edge_prometheus.url, profile, window, ties=True) > 10


def test_scenario_equals_the_servers_promql(backfilled_prometheus):
    window = incident_window(backfilled_prometheus.scenario)
    assert assert_equal_to_server(backfilled_prometheus.url, SEED, window) > 40
