"""Durations and times as the CLI accepts them."""

import pytest

from voicetop.domain.timeparse import clock, format_duration, parse_duration, parse_time, rfc3339

NOW = 1_750_000_000.0


@pytest.mark.parametrize(
    "text, seconds",
    [("2s", 2), ("5m", 300), ("1h30m", 5400), ("750ms", 0.75), ("15", 15), (3, 3), ("7d", 604800)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5x", "-5m", "m5", True])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_parse_time_forms():
    assert parse_time("now", NOW) == NOW
    assert parse_time("-30m", NOW) == NOW - 1800
    assert parse_time("1700000000", NOW) == 1_700_000_000
    assert parse_time("2024-01-31T05:28:29Z", NOW) == 1706678909
    assert parse_time("2024-01-31T06:28:29+01:00", NOW) == 1706678909
    with pytest.raises(ValueError):
        parse_time("yesterday", NOW)


def test_formatting():
    assert rfc3339(1706678909) == "2024-01-31T05:28:29Z"
    assert clock(1706678909) == "05:28Z"
    assert format_duration(45) == "45s"
    assert format_duration(125) == "2m05s"
    assert format_duration(3900) == "1h05m"
