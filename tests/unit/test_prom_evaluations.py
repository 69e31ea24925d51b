"""The recording rules' evaluation probe: what it watches, its PromQL, how its answer compares."""

from __future__ import annotations

from dataclasses import replace

from voicetop.config import Connection
from voicetop.profiles.metrics import SEED
from voicetop.sources.prometheus import PrometheusSource
from voicetop.sources.prometheus.evaluations import evaluations_probe, evaluations_seen, fleet_series
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
