"""Typed reads of parsed TOML values; subclasses say how a problem is reported."""

from __future__ import annotations

from typing import Any

from voicetop.domain.timeparse import parse_duration


class TomlReader:
    """Checks value types; ``fail`` turns a key and a problem into the caller's error."""

    def fail(self, key: str, problem: str) -> Exception:
        raise NotImplementedError

    def table(self, value: Any, key: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(key, "expected a table")
        return value

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise self.fail(key, "expected a string")
        return value

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, "expected true or false")
        return value

    def number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, "expected a number")
        return float(value)

    def duration(self, value: Any, key: str) -> float:
        try:
            return parse_duration(value)
        except (ValueError, TypeError) as exc:
            raise self.fail(key, str(exc)) from None
