"""Opening a bad file gives one clear line, never a traceback."""

from __future__ import annotations

import json

import pytest

from test_export_data import END, frame, turns_with_traces
from voicetop.export import SnapshotError, load_snapshot, write_snapshot


@pytest.fixture
def good(tmp_path):
    return write_snapshot(frame(), turns_with_traces(), tmp_path / "good.json", created_at=END).json_path


def _error(path) -> str:
    with pytest.raises(SnapshotError) as info:
        load_snapshot(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_truncated_file(good, tmp_path):
    cut = tmp_path / "cut.json"
    cut.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    assert "truncated" in _error(cut)


def test_non_json_file(tmp_path):
    bad = tmp_path / "notes.json"
    bad.write_text("hello, this is not json\n")
    assert "not JSON" in _error(bad)


def test_binary_and_empty_files(tmp_path):
    binary = tmp_path / "b.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert "not UTF-8" in _error(binary)
    empty = tmp_path / "e.json"
    empty.write_text("")
    assert "empty" in _error(empty)


def test_missing_file_and_directory(tmp_path):
    assert "no such file" in _error(tmp_path / "missing.json")
    assert "directory" in _error(tmp_path)


def test_newer_schema_asks_to_upgrade(good, tmp_path):
    doc = json.loads(good.read_text())
    doc["schema"] = "voicetop.snapshot/2"
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(doc))
    message = _error(newer)
    assert "newer" in message and "upgrade" in message


@pytest.mark.parametrize("schema", ["grafana.dashboard/1", "voicetop.snapshot/x", 7])
def test_unknown_schema(tmp_path, schema):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"schema": schema}))
    assert "unknown schema" in _error(path)


def test_json_without_schema(tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[1, 2, 3]")
    assert "not a voicetop snapshot" in _error(path)


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda d: d.pop("window"), "window: missing"),
        (lambda d: d["window"].update(start="yesterday"), "window.start: expected an RFC 3339 time"),
        (lambda d: d["window"].update(end="2000-01-01T00:00:00Z"), "window end is before its start"),
        (lambda d: d["agents"][0]["stages"]["e2e"].update(p99="slow"), "agents[0].stages.e2e.p99: expected a number"),
        (lambda d: d["breaches"][0].update(severity="apocalyptic"), "unknown severity"),
        (lambda d: d["turns"][0]["spans"][0].pop("start_ns"), "turns[0].spans[0].start_ns: missing"),
        (lambda d: d["turns"][0]["spans"][0].update(start_ns=10**400), "start_ns: integer out of the 64-bit range"),
        (lambda d: d["agents"][0]["series"]["e2e_p99"].update(timestamps=[1.0]), "differ in length"),
        (lambda d: d["agents"][0]["series"]["e2e_p99"].update(step=0), "e2e_p99.step: must be positive"),
        (lambda d: d.update(agents={"a": 1}), "agents: expected a list"),
    ],
)
def test_malformed_documents_name_the_field(good, tmp_path, mutate, fragment):
    doc = json.loads(good.read_text())
    mutate(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    message = _error(path)
    assert "not a valid voicetop.snapshot/1 file" in message and fragment in message
