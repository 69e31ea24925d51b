"""Shared real-server fixtures: Prometheus (fresh or backfilled) and VictoriaMetrics.

All servers listen on 127.0.0.1 with free ports, live in pytest temp dirs and
are stopped at teardown.  Tests are skipped (with the reason) only when a
binary is not installed.

- ``scenario``: the canonical :func:`tests.support.scenario.incident_scenario`.
- ``backfilled_prometheus``: Prometheus on a TSDB backfilled with that scenario
  (session-scoped; read-only use please).  ``.scenario`` holds the scenario.
- ``recorded_scenario``: Prometheus on a copy of that TSDB plus the series of
  voicetop's recording rules, evaluated over it by promtool (session-scoped;
  read-only use please).  ``.scenario`` holds the scenario.
- ``victoria``: VictoriaMetrics with the same scenario imported (session-scoped).
- ``prometheus_server``: a factory ``(config_text=None, tsdb=None, port=None)``
  for private Prometheus instances, stopped after the test.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from tests.support.scenario import Scenario, incident_scenario, to_openmetrics, to_prometheus_text
from tests.support.servers import PrometheusServer, VictoriaServer, backfill, recorded_prometheus, require_binary
from voicetop.profiles.metrics import SEED
from voicetop.sources.prometheus.queries import profile_recording_rules

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    return incident_scenario()


@pytest.fixture(scope="session")
def backfilled_tsdb(tmp_path_factory, scenario) -> Path:
    """A TSDB folder holding the incident scenario (copy it before mutating)."""
    require_binary("promtool")
    work = tmp_path_factory.mktemp("backfill")
    tsdb = work / "tsdb"
    backfill(to_openmetrics(scenario), tsdb, work)
    return tsdb


@pytest.fixture(scope="session")
def backfilled_prometheus(tmp_path_factory, backfilled_tsdb, scenario):
    require_binary("prometheus")
    server = PrometheusServer(tmp_path_factory.mktemp("prom-backfilled"), tsdb=backfilled_tsdb)
    server.scenario = scenario
    with server:
        yield server


@pytest.fixture(scope="session")
def recorded_scenario(tmp_path_factory, backfilled_tsdb, scenario):
    work = tmp_path_factory.mktemp("recorded")
    shutil.copytree(backfilled_tsdb, work / "tsdb")
    rules = profile_recording_rules(replace(SEED, recording_rules=True))
    with recorded_prometheus(rules, work, work / "tsdb", scenario.start, scenario.end, scenario.step) as server:
        server.scenario = scenario
        yield server


@pytest.fixture(scope="session")
def victoria(tmp_path_factory, scenario):
    require_binary("victoria-metrics")
    server = VictoriaServer(tmp_path_factory.mktemp("victoria"))
    server.scenario = scenario
    with server:
        server.import_prometheus(to_prometheus_text(scenario))
        yield server


@pytest.fixture
def prometheus_server(tmp_path):
    """Factory for private Prometheus instances (stopped at teardown)."""
    require_binary("prometheus")
    started: list[PrometheusServer] = []

    def make(config_text: str | None = None, tsdb: Path | None = None, port: int | None = None,
             extra_args=()) -> PrometheusServer:
        server = PrometheusServer(tmp_path / f"prom{len(started)}", config_text, tsdb, port, extra_args)
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.stop()
