"""Snapshot export and replay files (issue #5): JSON, Markdown report, SVG.

Public API::

    result = write_snapshot(frame, turns_with_traces, "out/", source_info=..., svg=svg_text)
    result = export_frame(frame, config=config, traces=traces, svg=app.export_screenshot())
    snapshot = load_snapshot("out/voicetop-prod-20250101T031200Z.json")

Never imports Textual; safe to call from a worker thread.
"""

from voicetop.export.decode import load_snapshot, parse_document
from voicetop.export.document import SCHEMA, Snapshot, SnapshotError
from voicetop.export.report import render_report
from voicetop.export.writer import (
    ExportResult,
    build_snapshot_document,
    default_name,
    export_frame,
    write_snapshot,
)

__all__ = [
    "SCHEMA",
    "ExportResult",
    "Snapshot",
    "SnapshotError",
    "build_snapshot_document",
    "default_name",
    "export_frame",
    "load_snapshot",
    "parse_document",
    "render_report",
    "write_snapshot",
]
