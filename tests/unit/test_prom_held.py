"""PeriodCache: a query whose value changes only at whole periods is fetched once per period."""

from __future__ import annotations

import math

from voicetop.domain.model import Window
from voicetop.sources.prometheus import held
from voicetop.sources.prometheus.held import PeriodCache

HOUR = 3600.0
T = 1_700_002_800.0  # a whole hour


def answer(span, base: float = 0.0) -> dict:
    """Agent a: base + the boundary's hour number; b only at even hours; the fleet always."""
    stamps = span.timestamps()
    return {
        "x_baseline": {
            "a": [base + t / HOUR for t in stamps],
            "b": [1.0 if round(t / HOUR) % 2 == 0 else None for t in stamps],
            None: [2.0 for _ in stamps],
        }
    }


def read(cache: PeriodCache, window: Window, settled: float, base: float = 0.0, asked: list | None = None):
    span = cache.missing(window)
    fresh = {}
    if span is not None:
        if asked is not None:
            asked.append((span.start, span.end, span.step))
        fresh = cache.store(span, answer(span, base), settled)
    return cache.series(window, fresh)


def test_each_step_takes_the_value_of_its_period_start_fetched_once():
    cache = PeriodCache(HOUR)
    window = Window(T - 900, T + 900, 15.0)  # crosses the hour at T
    asked: list = []
    series = read(cache, window, settled=T + 10 * HOUR, asked=asked)
    assert asked == [(T - HOUR, T, HOUR)]  # one range query at step = period over both hours
    a = series["x_baseline"]["a"]
    assert a.timestamps == window.timestamps()
    assert all(v == (T - HOUR) / HOUR for t, v in zip(a.timestamps, a.values) if t < T)
    assert all(v == T / HOUR for t, v in zip(a.timestamps, a.values) if t >= T)
    assert series["x_baseline"][None].values == (2.0,) * len(window.timestamps())
    b = series["x_baseline"]["b"]  # present only in the even hour: NaN in the other
    for t, v in zip(b.timestamps, b.values):
        assert v == 1.0 if math.floor(t / HOUR) % 2 == 0 else math.isnan(v)
    again: list = []
    later = Window(T - 600, T + 1200, 15.0)
    assert read(cache, later, settled=T + 10 * HOUR, asked=again)["x_baseline"]["a"].values[-1] == T / HOUR
    assert again == []  # both hours kept: no request


def test_a_boundary_not_yet_settled_is_asked_again():
    cache = PeriodCache(HOUR)
    window = Window(T, T + 300, 15.0)
    asked: list = []
    read(cache, window, settled=T - 30, base=0.0, asked=asked)  # the hour began 30 s ago
    series = read(cache, window, settled=T + 60, base=100.0, asked=asked)
    assert asked == [(T, T, HOUR), (T, T, HOUR)]
    assert series["x_baseline"]["a"].values[0] == 100.0 + T / HOUR  # the newer answer wins
    read(cache, window, settled=T + 120, asked=asked)
    assert len(asked) == 2  # settled now: kept


def test_a_window_far_back_asks_only_for_its_own_hours_and_old_ones_are_forgotten(monkeypatch):
    monkeypatch.setattr(held, "MAX_PERIODS", 3)
    cache = PeriodCache(HOUR)
    asked: list = []
    for hours_back in range(6):
        start = T - hours_back * HOUR
        read(cache, Window(start, start + 60, 15.0), settled=T + HOUR, asked=asked)
    assert asked == [(T - h * HOUR, T - h * HOUR, HOUR) for h in range(6)]
    assert len(cache._values) == 3
