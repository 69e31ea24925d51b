"""All-or-nothing writes of a set of files (temporary file, fsync, rename).

Targets are placed in the given order; if any step fails, temporary files and
the targets this call already placed are removed, so a failed export leaves
nothing half-written.  Without ``force`` an existing target is never
replaced: the check happens up front and again, atomically, at placement
(``os.link`` refuses an existing name).
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Sequence

from voicetop.export.document import SnapshotError


def _short(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _write_temp(target: Path, data: bytes) -> Path:
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    temp = Path(name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, 0o644 & ~_umask())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _place(temp: Path, target: Path, force: bool) -> None:
    """Move ``temp`` to ``target``; without ``force`` never replace a file."""
    if force:
        os.replace(temp, target)
        return
    try:
        os.link(temp, target)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "File exists", str(target)) from None
    except OSError:  # file systems without hard links: checked rename
        if target.exists():
            raise FileExistsError(errno.EEXIST, "File exists", str(target)) from None
        os.replace(temp, target)
        return
    temp.unlink(missing_ok=True)


def _sync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_files(files: Sequence[tuple[Path, bytes]], *, force: bool = False) -> list[Path]:
    """Write every ``(path, data)`` atomically; SnapshotError (one line) on failure."""
    targets = [Path(p) for p, _ in files]
    if len(set(targets)) != len(targets):
        raise SnapshotError("two export files would have the same name")
    for target in targets:
        if not target.parent.is_dir():
            raise SnapshotError(f"{target.parent}: no such directory")
        if not force and (target.exists() or target.is_symlink()):
            raise SnapshotError(f"{target}: already exists (use --force to overwrite)")
    temps: list[Path] = []
    placed: list[Path] = []
    current = targets[0] if targets else Path(".")
    try:
        for target, data in zip(targets, (d for _, d in files)):
            current = target
            temps.append(_write_temp(target, data))
        for temp, target in zip(temps, targets):
            current = target
            _place(temp, target, force)
            placed.append(target)
        for directory in {t.parent for t in targets}:
            _sync_dir(directory)
    except BaseException as exc:
        for temp in temps:
            temp.unlink(missing_ok=True)
        for target in placed:
            target.unlink(missing_ok=True)
        if isinstance(exc, FileExistsError):
            raise SnapshotError(f"{current}: already exists (use --force to overwrite)") from None
        if isinstance(exc, OSError):
            raise SnapshotError(f"{current}: cannot write ({_short(exc)}); nothing was written") from None
        raise
    return targets
