"""RFC 3339 times for snapshot files, exact to the millisecond."""

from __future__ import annotations

from datetime import datetime, timezone


def to_rfc3339(timestamp: float) -> str:
    """UTC RFC 3339 (``Z``), with milliseconds only when the time has them."""
    moment = datetime.fromtimestamp(round(timestamp, 3), tz=timezone.utc)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def from_rfc3339(text: str) -> float:
    """Unix seconds from an RFC 3339 string; ValueError when it is not one."""
    if not isinstance(text, str):
        raise ValueError(f"expected an RFC 3339 time, got {type(text).__name__}")
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return round(parsed.timestamp(), 3)


def stamp(timestamp: float) -> str:
    """Compact UTC time for file names: ``20250101T031200Z``."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ")
