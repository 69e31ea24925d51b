"""Parse durations (``5m``, ``1h30m``) and times (RFC 3339, Unix, ``-30m``, ``now``)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | int | float) -> float:
    """Seconds in a Prometheus-style duration; a bare number is seconds."""
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, (int, float)):
        if text < 0:
            raise ValueError(f"negative duration: {text}")
        return float(text)
    raw = text.strip()
    try:
        value = float(raw)
    except ValueError:
        pass
    else:
        if value < 0:
            raise ValueError(f"negative duration: {text}")
        return value
    pos, total = 0, 0.0
    for match in _DURATION.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(raw) or not raw:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 5m, 1h30m)")
    return total


def format_duration(seconds: float) -> str:
    """Compact human duration: ``45s``, ``12m``, ``3h05m``, ``2d4h``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        minutes, secs = divmod(seconds, 60)
        return f"{minutes}m" if secs == 0 or minutes >= 10 else f"{minutes}m{secs:02d}s"
    if seconds < 86400:
        hours, rest = divmod(seconds, 3600)
        return f"{hours}h{rest // 60:02d}m"
    days, rest = divmod(seconds, 86400)
    return f"{days}d{rest // 3600}h"


def parse_time(text: str | float, now: float) -> float:
    """Unix seconds from RFC 3339, a Unix time, ``now`` or ``-30m``/``+5m``."""
    if isinstance(text, (int, float)):
        return float(text)
    raw = text.strip()
    if raw == "now":
        return now
    if raw[:1] in "+-" and raw[1:2].isdigit() and not raw[1:].replace(".", "").isdigit():
        offset = parse_duration(raw[1:])
        return now - offset if raw[0] == "-" else now + offset
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"not a time: {text!r} (use RFC 3339, a Unix time, 'now' or e.g. -30m)"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def rfc3339(timestamp: float) -> str:
    """UTC RFC 3339 with a ``Z`` suffix, to the second."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def clock(timestamp: float) -> str:
    """``03:12Z``-style UTC clock time for badges."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%H:%MZ")
