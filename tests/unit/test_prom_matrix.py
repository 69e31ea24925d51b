"""Reading matrix points: the inlined usual point reads exactly as the general path."""

from __future__ import annotations

import math

from hypothesis import given, settings, strategies as st

from voicetop.sources.prometheus.matrix import StepIndex, _fill_any, fill_scaled

START, STEP, COUNT = 1_700_000_000.0, 15.0, 6
ON_GRID = [START + i * STEP for i in range(COUNT)]


def general(points, step_index: StepIndex, scale: float) -> list:
    """``fill_scaled`` as every point takes the general path (through ``grid_points``)."""
    column: list = [None] * step_index.count
    _fill_any(column, points, step_index, scale)
    return column


timestamps = st.one_of(
    st.sampled_from(ON_GRID), st.sampled_from([int(ON_GRID[2]), ON_GRID[1] + 0.4, START - STEP, START + 99 * STEP]),
    st.sampled_from([str(ON_GRID[3]), "soon", None, True]),
)
values = st.one_of(
    st.sampled_from(["1.5", "0", "-2e3", "NaN", "+Inf", "-Inf", "1e999", "garbage", ""]),
    st.sampled_from([None, 7.0, 3, [1]]),
)
points = st.lists(
    st.one_of(st.tuples(timestamps, values).map(list), st.sampled_from([5, "x", [], [ON_GRID[0]], None])),
    max_size=12,
)


def same(a: list, b: list) -> bool:
    return all(x is y or x == y or (x != x and y != y) for x, y in zip(a, b, strict=True))


@settings(max_examples=300, deadline=None)
@given(points=points, scale=st.sampled_from([1.0, 1000.0, 0.0, -1.0]))
def test_fill_scaled_reads_any_points_as_the_general_path(points, scale):
    step_index = StepIndex(START, STEP, COUNT)
    column: list = [None] * COUNT
    fill_scaled(column, points, step_index, scale)
    assert same(column, general(points, step_index, scale))


def test_the_usual_points_scaled_and_bad_values_are_nan():
    column: list = [None] * COUNT
    fill_scaled(column, [[ON_GRID[0], "1.5"], [ON_GRID[1], "+Inf"], [ON_GRID[2], "x"]], StepIndex(START, STEP, COUNT), 1000.0)
    assert column[0] == 1500.0 and math.isnan(column[1]) and math.isnan(column[2]) and column[3:] == [None] * 3
