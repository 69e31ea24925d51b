"""Figures the reliability suite reports at the end of a run (cases fuzzed, cycles, faults).

Tests add to :data:`FIGURES`; ``conftest.py`` prints them in the terminal summary,
so a plain ``pytest`` run (no ``-s``) shows e.g.
``reliability: fuzz 900 prometheus, 700 jaeger, 600 tempo cases; soak 2000 cycles``.
"""

from __future__ import annotations

from collections import Counter

FIGURES: Counter[str] = Counter()
NOTES: dict[str, str] = {}


def add(name: str, count: int = 1) -> None:
    FIGURES[name] += count


def note(name: str, text: str) -> None:
    NOTES[name] = text
