"""One call to export what is on screen: snapshot JSON, Markdown report, SVG.

Safe to call from a worker thread (no Textual, no network).  The document is
redacted before anything else sees it, so the report and the file agree.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from voicetop.domain.model import Frame, MetricsResult, Session, Trace, Turn
from voicetop.domain.thresholds import ThresholdSet
from voicetop.export.atomic import write_files
from voicetop.export.decode import parse_document
from voicetop.export.document import Snapshot, SnapshotError
from voicetop.export.encode import build_document
from voicetop.export.redact import redact_document, redact_svg
from voicetop.export.report import render_report
from voicetop.export.timefmt import stamp

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
#: C1 controls and bidi overrides, escaped in the JSON so ``cat file.json`` cannot
#: drive a terminal or reorder text (they only ever occur inside JSON strings).
_TERMINAL_UNSAFE = re.compile("[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class ExportResult:
    """Where an export went, and the snapshot exactly as written."""

    json_path: Path
    markdown_path: Path | None
    svg_path: Path | None
    snapshot: Snapshot

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(p for p in (self.json_path, self.markdown_path, self.svg_path) if p is not None)

    def describe(self) -> str:
        """One line for a notification: ``wrote a.json, a.md, a.svg``."""
        return "wrote " + ", ".join(str(p) for p in self.paths)


def dumps_document(doc: dict) -> str:
    """Indented JSON, with each series kept on one line so files stay small."""
    compact: list[str] = []
    nonce = secrets.token_hex(8)

    def fold(node):
        if isinstance(node, dict):
            if set(node) in ({"timestamps", "values"}, {"start", "step", "values"}) and isinstance(
                node.get("values"), list
            ):
                compact.append(json.dumps(node, separators=(",", ":"), allow_nan=False))
                return f"\x00{nonce}:{len(compact) - 1}\x00"
            return {k: fold(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fold(v) for v in node]
        return node

    text = json.dumps(fold(doc), indent=1, ensure_ascii=False, allow_nan=False)
    marker = re.compile(r'"\\u0000' + nonce + r':(\d+)\\u0000"')
    text = marker.sub(lambda m: compact[int(m.group(1))], text)
    return _TERMINAL_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def default_name(context: str, created_at: float) -> str:
    """``voicetop-<context>-<UTC time>.json`` with a file-system-safe context."""
    safe = _UNSAFE_NAME.sub("_", context).strip("._") or "default"
    return f"voicetop-{safe[:60]}-{stamp(created_at)}.json"


def resolve_json_path(out: str | Path | None, context: str, created_at: float) -> Path:
    """``out`` as a file path; a directory (or None: the current one) gets a default name."""
    if out is None:
        return Path.cwd() / default_name(context, created_at)
    path = Path(out).expanduser()
    if path.is_dir() or str(out).endswith(("/", "\\")):
        return path / default_name(context, created_at)
    return path


def build_snapshot_document(
    frame: Frame,
    turns_with_traces: Iterable[tuple[Turn, Trace | None]] = (),
    *,
    context: str | None = None,
    source_info: Mapping[str, object] | None = None,
    thresholds: ThresholdSet | None = None,
    redact: bool = True,
    recent_turns: Iterable[Turn] = (),
    sessions: Iterable[Session] = (),
    created_at: float | None = None,
    history: MetricsResult | None = None,
) -> dict:
    """The redacted snapshot document (a JSON-ready dict)."""
    doc = build_document(
        frame,
        list(turns_with_traces),
        context=context or frame.context,
        source_info=source_info or {},
        thresholds=thresholds or ThresholdSet(),
        created_at=time.time() if created_at is None else created_at,
        recent_turns=recent_turns,
        sessions=sessions,
        redacted=redact,
        history=history,
    )
    return redact_document(doc, redact=redact)


def write_snapshot(
    frame: Frame,
    turns_with_traces: Iterable[tuple[Turn, Trace | None]] = (),
    out: str | Path | None = None,
    *,
    context: str | None = None,
    source_info: Mapping[str, object] | None = None,
    thresholds: ThresholdSet | None = None,
    redact: bool = True,
    force: bool = False,
    svg: str | None = None,
    markdown: bool | str | Path = True,
    recent_turns: Iterable[Turn] = (),
    sessions: Iterable[Session] = (),
    created_at: float | None = None,
    history: MetricsResult | None = None,
) -> ExportResult:
    """Write the snapshot JSON, its Markdown report and (given) the SVG, atomically.

    ``out`` is a ``.json`` path or a directory (default: the current one, with
    ``voicetop-<context>-<UTC time>.json``).  The report goes beside it as
    ``.md`` unless ``markdown`` is False or a path; the SVG beside it as
    ``.svg``.  Raises :class:`SnapshotError` (one line) and leaves nothing
    behind when anything fails; never overwrites unless ``force``.
    ``history`` optionally stores series over a longer range than the window
    (for replay's time cursor); ``recent_turns``/``sessions`` feed replay's
    session list.
    """
    created = time.time() if created_at is None else created_at
    name = context or frame.context
    doc = build_snapshot_document(
        frame, turns_with_traces, context=name, source_info=source_info, thresholds=thresholds,
        redact=redact, recent_turns=recent_turns, sessions=sessions, created_at=created,
        history=history,
    )
    snapshot = parse_document(doc)
    json_path = resolve_json_path(out, name, created)
    files: list[tuple[Path, bytes]] = []
    md_path: Path | None = None
    if markdown:
        md_path = json_path.with_suffix(".md") if markdown is True else Path(markdown).expanduser()
        files.append((md_path, render_report(snapshot).encode("utf-8")))
    svg_path: Path | None = None
    if svg is not None:
        svg_path = json_path.with_suffix(".svg")
        files.append((svg_path, redact_svg(svg, redact=redact).encode("utf-8")))
    try:
        data = dumps_document(doc).encode("utf-8")
    except ValueError as exc:
        raise SnapshotError(f"cannot encode snapshot: {exc}") from None
    files.append((json_path, data))  # last: a present .json means the export completed
    write_files(files, force=force)
    return ExportResult(json_path, md_path, svg_path, snapshot)


def export_frame(
    frame: Frame,
    *,
    config,
    traces=None,
    out: str | Path | None = None,
    svg: str | None = None,
    redact: bool = True,
    force: bool = False,
    demo: bool = False,
    turns: int = 20,
) -> ExportResult:
    """The console's ``e``: collect the slowest turns, then :func:`write_snapshot`.

    Call it from a worker thread (it queries the trace source).  ``config`` is
    the effective :class:`~voicetop.config.Config`; ``svg`` the screen's
    ``export_screenshot()`` text.  Trace failures only lose turns (noted in
    the snapshot's health); write failures raise SnapshotError.
    """
    from dataclasses import replace as _replace

    from voicetop.domain.model import HealthState, SourceHealth
    from voicetop.export.collect import collect_turns
    from voicetop.export.sources_info import describe_sources

    collected = collect_turns(traces, frame.window, turns)
    if traces is not None and collected.error:
        health = SourceHealth(traces.name, HealthState.ERROR, collected.error, None, frame.created_at)
        frame = _replace(frame, health=tuple(h for h in frame.health if h.name != traces.name) + (health,))
    return write_snapshot(
        frame, collected.slowest, out, context=config.context.name,
        source_info=describe_sources(config, demo=demo), thresholds=config.context.thresholds,
        redact=redact, force=force, svg=svg, recent_turns=collected.recent, sessions=collected.sessions,
    )
