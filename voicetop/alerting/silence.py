"""Silences: the request a console sends to Alertmanager, and the write guard.

The console is read-only by default; a silence may only be created when the
context allows writes (``--write`` or ``write = true`` in the context).
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from typing import Mapping

from voicetop.domain.model import Alert
from voicetop.sources.base import SourceError

#: Longest silence the console offers (a typo must not mute a fleet for a year).
MAX_SILENCE_SECONDS = 7 * 86400.0


class ReadOnlyError(SourceError):
    """A write was attempted while the context is read-only."""


@dataclass(frozen=True)
class Matcher:
    """One Alertmanager label matcher (equality, no regex by default)."""

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def to_api(self) -> dict:
        return {"name": self.name, "value": self.value, "isRegex": self.is_regex, "isEqual": self.is_equal}


@dataclass(frozen=True)
class Silence:
    """A silence as Alertmanager reports it; times are Unix seconds."""

    id: str
    state: str  # active, pending or expired
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when every (equality) matcher agrees with ``labels``."""
        for matcher in self.matchers:
            if matcher.is_regex:
                return False
            equal = labels.get(matcher.name, "") == matcher.value
            if equal != matcher.is_equal:
                return False
        return True


def alert_matchers(alert: Alert) -> tuple[Matcher, ...]:
    """Matchers that silence exactly this alert name (for this agent, if any)."""
    matchers = [Matcher("alertname", alert.name)]
    if alert.agent_id:
        matchers.append(Matcher("agent_id", alert.agent_id))
    return tuple(matchers)


def default_author(environ: Mapping[str, str] | None = None) -> str:
    """``$USER`` (or the login name), the silence's ``createdBy``."""
    env = os.environ if environ is None else environ
    user = env.get("USER") or env.get("LOGNAME")
    if not user:
        try:
            user = getpass.getuser()
        except (OSError, KeyError):
            user = ""
    return user or "voicetop"


def silence_refusal(alert: Alert | None, *, has_alertmanager: bool, write_allowed: bool) -> str | None:
    """Why the console cannot silence ``alert`` now (one line), or None when it can."""
    if alert is None:
        return "select an alert to silence"
    if not has_alertmanager:
        return "no Alertmanager: start with --alertmanager URL or set alertmanager in the context"
    if not write_allowed:
        return "read-only context: start with --write or set write = true to create silences"
    return None


def ensure_writable(write_allowed: bool) -> None:
    """Raise :class:`ReadOnlyError` unless writes are allowed."""
    if not write_allowed:
        raise ReadOnlyError("read-only context: start with --write or set write = true to create silences")


def parse_silence_duration(text: str) -> float:
    """Seconds from the dialog's duration field (``30m``, ``2h``); ValueError if unusable."""
    from voicetop.domain.timeparse import parse_duration

    seconds = parse_duration(text.strip())
    if not seconds > 0:
        raise ValueError("silence duration must be positive")
    if seconds > MAX_SILENCE_SECONDS:
        raise ValueError("silence duration is longer than 7 days")
    return seconds


def validate_silence(duration: float, comment: str) -> None:
    """Reject a silence the user cannot have meant (raises ValueError)."""
    if not duration > 0:
        raise ValueError("silence duration must be positive")
    if duration > MAX_SILENCE_SECONDS:
        raise ValueError("silence duration is longer than 7 days")
    if not comment.strip():
        raise ValueError("a silence needs a comment")
