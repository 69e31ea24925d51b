"""The recording rules' evaluation probe: what it watches, its PromQL, how its answer compares."""

from __future__ import annotations

from dataclasses import replace

from tests.support.canned_http import CannedServer, json_body, matrix
from voicetop.config import Connection
from voicetop.domain.model import Window
from voicetop.profiles.metrics import SEED
from voicetop.sources.prometheus import PrometheusSource
from voicetop.sources.prometheus import source as source_module
from voicetop.sources.prometheus.evaluations import PROBE_LABEL, evaluations_probe, evaluations_seen, fleet_series
from voicetop.sources.prometheus.queries import plan_queries, profile_recording_rules

RECORDING = replace(SEED, recording_rules=True)


def test_the_probe_watches_every_fleet_series_the_recorded_panels_read_and_no_agents():
    names = fleet_series(plan_queries(RECORDING))
    assert len(names) == len(set(names)) > 10
    assert all(not name.startswith("agent_id") for name in names)
    read = {
        name for query in plan_queries(RECORDING) if query.reads_recordings for name in
        ([query.recorded.recording.fleet_quantile] if query.recorded else
         [recording.fleet_name for recording in query.recorded_stats.recordings])
    }
    assert set(names) == read


def test_the_rule_group_ends_with_a_watched_series():
    """The probe's premise: the group's last rule writes a fleet series the probe watches, so a
    new evaluation moves the probe's sums once all of it is written."""
    watched = set(fleet_series(plan_queries(RECORDING)))
    records = [str(rule["record"]) for rule in profile_recording_rules(RECORDING)]
    assert records[-1] in watched


def test_no_probe_without_recording_rules():
    assert fleet_series(plan_queries(SEED)) == ()
    assert evaluations_probe(()) is None
    source = PrometheusSource(Connection(url="http://127.0.0.1:9"), SEED)
    try:
        assert source._probe is None  # noqa: SLF001
    finally:
        source.close()


def test_the_probe_sums_each_names_sample_times_apart():
    probe = evaluations_probe((":a:rate5m", ":b:rate5m"))
    assert probe == (
        'label_replace(sum(timestamp(:a:rate5m)), "vt_probe", "0", "", "")'
        ' or label_replace(sum(timestamp(:b:rate5m)), "vt_probe", "1", "", "")'
    )


def test_a_probe_answer_compares_by_name_and_sum_whatever_the_row_order():
    rows = [
        {"metric": {"vt_probe": "1"}, "values": [[100, "3520000000.5"]]},
        {"metric": {"vt_probe": "0"}, "values": [[100, "1760000000"]]},
    ]
    seen = evaluations_seen(rows)
    assert seen == (("0", "1760000000"), ("1", "3520000000.5"))
    assert evaluations_seen(list(reversed(rows))) == seen
    moved = [rows[0], {"metric": {"vt_probe": "0"}, "values": [[100, "1760000015"]]}]
    assert evaluations_seen(moved) != seen


def test_an_empty_or_foreign_answer_compares_as_nothing_seen():
    assert evaluations_seen([]) is None  # no recorded series: nothing tells an evaluation apart
    assert evaluations_seen({"resultType": "matrix"}) is None
    assert evaluations_seen([{"metric": {"__name__": "up"}, "values": [[1, "1"]]}]) is None
    assert evaluations_seen([{"metric": {"vt_probe": "0"}, "values": [[1, 5]]}]) is None  # not a sample string
    assert evaluations_seen([{"metric": {"vt_probe": "0"}, "values": []}, "junk", None]) is None


def _recorded_server(probe_answer):
    """A server answering every recorded panel with one fleet row per name it reads, and the probe
    with ``probe_answer()`` (status, body)."""
    def respond(path, params, headers):
        query = params.get("query", "")
        if PROBE_LABEL in query:
            status, body = probe_answer()
            return status, "application/json", body
        names = [name for name in fleet_series(plan_queries(RECORDING)) if name in query]
        stamps = [float(params["end"])]
        rows = [({"__name__": name, "quantile": "0.99"}, [(t, "1") for t in stamps]) for name in names]
        return 200, "application/json", matrix(rows)

    return respond


def _recorded_reads(server, before: int) -> int:
    recorded = {query.promql for query in plan_queries(RECORDING) if query.reads_recordings}
    return sum(params.get("query") in recorded for _, params, _ in server.requests[before:])


def test_without_the_probes_answer_the_recorded_panels_read(monkeypatch):
    """A probe that fails, finds nothing or sees a new evaluation never spares a read; one that
    sees the same as before the last read does, and the result is the same."""
    monkeypatch.setattr(source_module, "PROBE_BACKOFF", 0.0)  # each refresh probes again (see below)
    recorded = sum(query.reads_recordings for query in plan_queries(RECORDING))
    seen_55 = (200, matrix([({PROBE_LABEL: "0"}, [(1_700_000_060, "1700000055")])]))
    seen_58 = (200, matrix([({PROBE_LABEL: "0"}, [(1_700_000_060, "1700000058")])]))
    failed, empty, not_a_matrix = (500, b"boom"), (200, matrix([])), (200, json_body({"status": "success"}))
    steps = [  # the probe's answer, recorded panels read
        (seen_55, recorded),  # a settled window read for the first time: no probe
        (seen_55, recorded),  # read again, now with what the probe saw
        (seen_55, 0),  # nothing evaluated since: kept
        (failed, recorded), (seen_55, recorded),  # no answer: read; the read before had none to compare
        (seen_55, 0),
        (empty, recorded), (not_a_matrix, recorded),
        (seen_58, recorded),  # a new evaluation: read
        (seen_58, 0),
    ]
    answer = {"now": seen_55}
    window = Window(1_700_000_000, 1_700_000_060, 15)
    with CannedServer(_recorded_server(lambda: answer["now"])) as server:
        source = PrometheusSource(Connection(url=server.url, timeout=3.0), RECORDING)
        try:
            reads = []
            for probe, _ in steps:
                answer["now"] = probe
                before = len(server.requests)
                result = source.fetch(window)
                reads.append(_recorded_reads(server, before))
                assert "ttft_p99" in result.series and not result.errors
        finally:
            source.close()
    assert reads == [expected for _, expected in steps]


def test_after_a_failed_probe_the_panels_read_without_one_for_a_while():
    """A slow or failing server does not wait for a probe on every refresh (PROBE_BACKOFF)."""
    seen = (200, matrix([({PROBE_LABEL: "0"}, [(1_700_000_060, "1700000055")])]))
    answer = {"now": seen}
    window = Window(1_700_000_000, 1_700_000_060, 15)
    with CannedServer(_recorded_server(lambda: answer["now"])) as server:
        source = PrometheusSource(Connection(url=server.url, timeout=3.0), RECORDING)
        try:
            source.fetch(window)
            answer["now"] = (500, b"boom")
            probes = []
            for _ in range(3):
                before = len(server.requests)
                source.fetch(window)
                probes.append(sum(PROBE_LABEL in params.get("query", "") for _, params, _ in server.requests[before:]))
            answer["now"] = seen
            source._probe_resumes = 0.0  # noqa: SLF001 - the minute is over
            source.fetch(window)  # probed again: read with what it saw
            before = len(server.requests)
            source.fetch(window)
            assert _recorded_reads(server, before) == 0  # and kept
        finally:
            source.close()
    assert probes == [1, 0, 0]
