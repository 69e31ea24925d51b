"""Reliability suite (issue #8): fuzzing, injection, faults, lifecycle, secrets, bad input.

Prints the suite's figures (fuzz cases, soak cycles, faults injected) in the
terminal summary of every run that includes these tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rel_figures import FIGURES, NOTES

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"


def pytest_terminal_summary(terminalreporter) -> None:
    if not FIGURES and not NOTES:
        return
    fuzz = ", ".join(
        f"{FIGURES[key]} {key.removeprefix('fuzz.')}" for key in sorted(FIGURES) if key.startswith("fuzz.")
    )
    terminalreporter.section("reliability figures")
    if fuzz:
        terminalreporter.write_line(f"fuzz: {fuzz} cases")
    for key in sorted(FIGURES):
        if not key.startswith("fuzz."):
            terminalreporter.write_line(f"{key}: {FIGURES[key]}")
    for key in sorted(NOTES):
        terminalreporter.write_line(f"{key}: {NOTES[key]}")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.skip(f"shared fixtures folder {FIXTURES} is absent")
    return FIXTURES


# -- real servers ---------------------------------------------------------------------
@pytest.fixture(scope="session")
def rel_scenario():
    from tests.support.scenario import incident_scenario

    return incident_scenario()


@pytest.fixture(scope="session")
def rel_tsdb(tmp_path_factory, rel_scenario) -> Path:
    """A TSDB holding the incident scenario (copy it before giving it to a server you kill)."""
    from tests.support.scenario import to_openmetrics
    from tests.support.servers import backfill, require_binary

    require_binary("promtool")
    work = tmp_path_factory.mktemp("rel-backfill")
    backfill(to_openmetrics(rel_scenario), work / "tsdb", work)
    return work / "tsdb"


@pytest.fixture(scope="session")
def rel_prometheus(tmp_path_factory, rel_tsdb, rel_scenario):
    """A real Prometheus on the backfilled scenario (shared: never kill it)."""
    from tests.support.servers import PrometheusServer, require_binary

    require_binary("prometheus")
    server = PrometheusServer(tmp_path_factory.mktemp("rel-prom"), tsdb=rel_tsdb)
    server.scenario = rel_scenario
    with server:
        yield server
