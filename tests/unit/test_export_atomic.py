"""Atomic export: temp file then rename, no overwrite without force, no debris on failure."""

from __future__ import annotations

import os

import pytest

from test_export_data import END, frame, turns_with_traces
from voicetop.export import SnapshotError, load_snapshot, write_snapshot
from voicetop.export import atomic
from voicetop.export.atomic import write_files


def _export(tmp_path, **kwargs):
    return write_snapshot(frame(), turns_with_traces(), tmp_path, created_at=END, svg="<svg></svg>", **kwargs)


def test_success_writes_three_complete_files_and_no_temporaries(tmp_path):
    result = _export(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in result.paths)
    assert {p.suffix for p in result.paths} == {".json", ".md", ".svg"}
    assert load_snapshot(result.json_path).context == "prod"
    assert result.describe().startswith("wrote ") and str(result.json_path) in result.describe()


def test_refuses_to_overwrite_without_force_and_leaves_everything_untouched(tmp_path):
    existing = tmp_path / "voicetop-prod-20250101T030000Z.json"
    existing.write_text("keep me")
    with pytest.raises(SnapshotError, match="already exists.*--force") as info:
        _export(tmp_path)
    assert "\n" not in str(info.value)
    assert existing.read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == [existing.name]


def test_existing_report_also_blocks_the_export(tmp_path):
    report = tmp_path / "voicetop-prod-20250101T030000Z.md"
    report.write_text("old report")
    with pytest.raises(SnapshotError, match="already exists"):
        _export(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [report.name]


def test_force_overwrites(tmp_path):
    existing = tmp_path / "voicetop-prod-20250101T030000Z.json"
    existing.write_text("old")
    result = _export(tmp_path, force=True)
    assert load_snapshot(existing).window.end == END
    assert len(list(tmp_path.iterdir())) == 3 and result.json_path == existing


def test_failed_rename_midway_removes_placed_files_and_temporaries(tmp_path, monkeypatch):
    real_replace = os.replace
    calls = []

    def flaky_replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", flaky_replace)
    with pytest.raises(SnapshotError, match="No space left on device.*nothing was written"):
        _export(tmp_path, force=True)
    assert len(calls) == 2, "the first file was placed before the failure"
    assert list(tmp_path.iterdir()) == []


def test_failed_link_of_the_json_removes_the_report_too(tmp_path, monkeypatch):
    real_link = os.link

    def link(src, dst):
        if str(dst).endswith(".json"):
            raise PermissionError(13, "Permission denied")
        return real_link(src, dst)

    monkeypatch.setattr(atomic.os, "link", link)
    monkeypatch.setattr(atomic.os, "replace", lambda src, dst: (_ for _ in ()).throw(PermissionError(13, "Permission denied")))
    with pytest.raises(SnapshotError, match="json: cannot write"):
        _export(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_failure_while_writing_a_temporary_leaves_nothing(tmp_path, monkeypatch):
    real_fsync = os.fsync
    calls = []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(5, "Input/output error")
        return real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    with pytest.raises(SnapshotError, match="Input/output error"):
        _export(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_interrupt_during_placement_cleans_up_and_propagates(tmp_path, monkeypatch):
    real_link = os.link
    calls = []

    def link(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_link(src, dst)

    monkeypatch.setattr(atomic.os, "link", link)
    with pytest.raises(KeyboardInterrupt):
        _export(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_directory_is_one_line_error(tmp_path):
    with pytest.raises(SnapshotError, match="no such directory"):
        write_files([(tmp_path / "nope" / "a.json", b"{}")])


def test_written_file_is_complete_json_ending_in_newline(tmp_path):
    result = _export(tmp_path)
    data = result.json_path.read_bytes()
    assert data.startswith(b"{") and data.endswith(b"}\n")


def test_explicit_json_and_markdown_paths(tmp_path):
    out = tmp_path / "incident.json"
    md = tmp_path / "notes" / "incident-report.md"
    md.parent.mkdir()
    result = write_snapshot(frame(), (), out, markdown=md, created_at=END)
    assert result.json_path == out and result.markdown_path == md and result.svg_path is None
    assert md.read_text().startswith("# voicetop incident snapshot")
    no_md = write_snapshot(frame(), (), tmp_path / "bare.json", markdown=False, created_at=END)
    assert no_md.paths == (tmp_path / "bare.json",)
