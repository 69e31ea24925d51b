"""Recorded panels are read again only when the rules were evaluated since (:mod:`.evaluations`).

On Debian's real Prometheus: over the backfilled recorded scenario (nothing is
evaluated any more: the third refresh of a window sends only the probe and the
raw panels), and evaluating voicetop's recording rules live every second over
the demo fleet it scrapes (a window whose newest step is still ahead is read
again while evaluations land in it; once they stop, the refresh keeps its read,
and what it keeps equals a fresh read).  On VictoriaMetrics, a sample written
into the window since the last read is noticed.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from tests.integration.test_prometheus_incremental import incident_window
from tests.integration.test_prometheus_recording import RECORDING, on_evaluations
from tests.support.demo_target import demo_fleet_target
from tests.support.servers import VictoriaServer, prometheus_config, require_binary, wait_until
from voicetop.config import Connection
from voicetop.domain.model import Window
from voicetop.sources.prometheus import PrometheusSource
from voicetop.sources.prometheus.evaluations import PROBE_LABEL, fleet_series
from voicetop.sources.prometheus.queries import plan_queries



def recorded_promql() -> set[str]:
    return {query.promql for query in plan_queries(RECORDING) if query.reads_recordings}


def sent(source: PrometheusSource) -> tuple[int, int]:
    """(recorded panels read, probes) in the source's last fetch (a first window is read in chunks)."""
    requests = source.last_requests
    return (
        len({request.promql for request in requests} & recorded_promql()),
        sum(PROBE_LABEL in request.promql for request in requests),
    )


def newest_recorded(result) -> dict:
    """The newest value of every recorded stat, per agent (NaN made comparable)."""
    keys = {key for query in plan_queries(RECORDING) if query.reads_recordings for key in query.stats}
    prefixes = tuple(query.split_prefix for query in plan_queries(RECORDING) if query.split_prefix)
    return {
        (key, agent): repr(series.values[-1])
        for key, per_agent in result.series.items() if key in keys or key.startswith(prefixes)
        for agent, series in per_agent.items()
    }


def test_a_window_read_again_with_nothing_evaluated_keeps_its_recorded_read(recorded_scenario):
    window = on_evaluations(recorded_scenario, incident_window(recorded_scenario.scenario))
    source = PrometheusSource(Connection(url=recorded_scenario.url), RECORDING)
    try:
        first = source.fetch(window)
        assert sent(source) == (len(recorded_promql()), 0)  # a settled window not read before: no probe
        second = source.fetch(window)
        assert sent(source) == (len(recorded_promql()), 1)  # read with what the probe saw
        third = source.fetch(window)
        assert sent(source) == (0, 1)  # nothing evaluated since: only the probe (and the raw panels)
        assert len(source.last_requests) == 2
        assert third.series == second.series == first.series and not third.errors
        source.fetch(replace(window, start=window.start - window.step, end=window.end - window.step))
        assert sent(source)[0] == len(recorded_promql())  # another window is read
    finally:
        source.close()


@pytest.fixture
def evaluating_prometheus(prometheus_server, tmp_path):
    """A Prometheus scraping the demo fleet every second and evaluating voicetop's recording rules
    (``voicetop rules --recording --interval 1s``) every second."""
    rules = tmp_path / "recording.yml"
    done = subprocess.run(
        [sys.executable, "-m", "voicetop", "rules", "--recording", "--interval", "1s"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    rules.write_text(done.stdout)
    with demo_fleet_target(seed=7, speed=5.0) as (_fleet, target):
        yield prometheus_server(prometheus_config([target], "1s", rule_files=[str(rules)]))


def test_live_evaluations_are_read_again_and_a_finished_step_is_kept(evaluating_prometheus):
    url = evaluating_prometheus.url
    source = PrometheusSource(Connection(url=url, timeout=5.0), RECORDING)
    try:
        def recorded_ready() -> bool:
            now = time.time()
            result = source.fetch(Window(now - 60, now, 5))
            return all(key in result.series for key in ("ttft_p99", "e2e_p90", "tool_success_rate"))

        wait_until(recorded_ready, timeout=60, interval=1.0, what="recorded series from the live rules")
        end = math.ceil(time.time() / 5) * 5 + 5  # a newest step still ahead: evaluations land in it
        window = Window(end - 60, end, 5)
        source.fetch(window)
        assert sent(source) == (len(recorded_promql()), 1)  # live: probed, then read
        time.sleep(2.5)
        source.fetch(window)
        assert sent(source) == (len(recorded_promql()), 1)  # evaluated since: read again
        wait_until(lambda: time.time() > end + 3, timeout=20, interval=0.2, what="the step to pass")
        settled_read = source.fetch(window)
        kept = source.fetch(window)
        assert sent(source) == (0, 1)  # nothing evaluated at or before the step since: kept
        assert kept.series == settled_read.series
        fresh = PrometheusSource(Connection(url=url, timeout=5.0), RECORDING)
        try:
            current = newest_recorded(fresh.fetch(window))
            assert len(current) > 20 and current == newest_recorded(kept)  # what it kept is current
        finally:
            fresh.close()
    finally:
        source.close()


def test_victoria_metrics_probe_notices_a_sample_written_into_the_window(tmp_path):
    """VictoriaMetrics' ``timestamp()`` is the sample's too: a sample imported before the window's
    end, after its last read, makes the recorded panels read again."""
    require_binary("victoria-metrics")
    names = fleet_series(plan_queries(RECORDING))
    start = 1_760_000_000
    lines = [f'{name}{{quantile="0.99"}} 100 {(start + 15 * i) * 1000}' for name in names for i in range(20)]
    window = Window(start + 120, start + 15 * 19 + 7, 15)  # its end 7 s after the last sample
    with VictoriaServer(tmp_path / "vm") as victoria:
        victoria.import_prometheus("\n".join(lines) + "\n")
        source = PrometheusSource(Connection(url=victoria.url), RECORDING)
        try:
            for _ in range(3):
                source.fetch(window)
            assert sent(source) == (0, 1)
            victoria.import_prometheus(f'{names[-1]}{{quantile="0.99"}} 200 {(start + 15 * 19 + 3) * 1000}\n')
            source.fetch(window)
            assert sent(source) == (len(recorded_promql()), 1)
        finally:
            source.close()
