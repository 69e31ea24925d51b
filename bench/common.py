"""Shared bench pieces: figures with targets, timing statistics, machine facts."""

from __future__ import annotations

import compileall
import math
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
VOICETOP = str(VENV_BIN / "voicetop")


def ensure_bytecode() -> None:
    """Write the ``.pyc`` files of voicetop's modules that are missing or stale (compileall
    checks each against its source).

    An installed package has them (pip compiles at install); the README's
    editable install leaves them to the first import, and an environment with
    ``PYTHONDONTWRITEBYTECODE`` (this sandbox) never writes them, so every
    start would compile ~65 modules again: on 2026-12-07 about 0.13 s of the
    demo's first frame, which no user's second start pays.
    """
    import voicetop

    compileall.compile_dir(str(Path(voicetop.__file__).parent), quiet=2)


@dataclass
class Figure:
    """One measured figure, its unit and (optionally) the target it must meet."""

    section: str
    name: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = False
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None or self.value is None or math.isnan(self.value):
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def row(self) -> str:
        value = _fmt(self.value)
        target = "" if self.target is None else ("≥ " if self.higher_is_better else "≤ ") + _fmt(self.target)
        verdict = {True: "ok", False: "MISS", None: ""}[self.met]
        return f"| {self.section} | {self.name} | {value} {self.unit} | {target} | {verdict} | {self.note} |"


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)

    def add(self, *args, **kwargs) -> Figure:
        figure = Figure(*args, **kwargs)
        self.figures.append(figure)
        print(f"  {figure.section}: {figure.name} = {_fmt(figure.value)} {figure.unit}"
              + (f"  (target {'≥' if figure.higher_is_better else '≤'} {_fmt(figure.target)}: "
                 f"{'ok' if figure.met else 'MISS'})" if figure.target is not None else "")
              + (f"  [{figure.note}]" if figure.note else ""), flush=True)
        return figure

    def markdown(self) -> str:
        lines = ["| section | figure | value | target | met | note |", "|---|---|---|---|---|---|"]
        lines += [f.row() for f in self.figures]
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"machine": machine(), "figures": [asdict(f) | {"met": f.met} for f in self.figures]}


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def median(values) -> float:
    values = list(values)
    return statistics.median(values) if values else math.nan


def p95(values) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def machine() -> dict:
    """The facts docs/benchmarks.md reports about the machine."""
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        memory = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    import textual

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "textual": textual.__version__,
        "prometheus": _version(["prometheus", "--version"]),
    }


def _version(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    text = (out.stdout or out.stderr).splitlines()
    return text[0] if text else "?"
