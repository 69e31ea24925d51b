"""Typed configuration: TOML file, named contexts, env overrides.

Lookup order for the file: ``--config``, ``$VOICETOP_CONFIG``, then
``config.toml`` in the platformdirs user config folder.  Every problem becomes
a :class:`ConfigError` whose message names the file, line and key.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from voicetop.domain.text import expected_one_of
from voicetop.domain.thresholds import THRESHOLD_KEYS, ThresholdRule, ThresholdSet
from voicetop.domain.timeparse import parse_duration
from voicetop.tomlread import TomlReader

TRACE_KINDS = ("jaeger", "tempo")


class ConfigError(Exception):
    """A bad configuration; ``str(error)`` is one line for the user."""


@dataclass(frozen=True)
class Connection:
    """How to reach one HTTP backend (credentials by reference, never inline)."""

    url: str
    bearer_token_env: str | None = None
    bearer_token_file: str | None = None
    basic_user: str | None = None
    basic_password_env: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    tenant: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False
    timeout: float = 10.0


@dataclass(frozen=True)
class Context:
    """A named set of backends, like a k9s context."""

    name: str
    prometheus: Connection | None = None
    traces: Connection | None = None
    traces_kind: str = "jaeger"
    alertmanager: Connection | None = None
    profile: str = "seed"
    write: bool = False
    thresholds: ThresholdSet = field(default_factory=ThresholdSet)
    #: Baseline offsets in seconds for ``b`` (issue #9); None: the source's default.
    baseline_offsets: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Config:
    """The effective configuration after file, env and flags."""

    path: Path | None = None
    context: Context = field(default_factory=lambda: Context("default"))
    contexts: tuple[str, ...] = ("default",)
    refresh: float = 2.0
    window: float = 900.0
    step: float = 15.0
    theme: str = "dark"
    low_bandwidth: bool = False


def default_config_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path("voicetop") / "config.toml"


def _line_of(text: str, key: str) -> int | None:
    """Best-effort line number of a key or table header in TOML text."""
    leaf = key.split(".")[-1].strip('"')
    patterns = [
        rf"^\s*\[+[^\]]*\b{re.escape(leaf)}\b[^\]]*\]+",
        rf"^\s*\"?{re.escape(leaf)}\"?\s*=",
        rf"\b{re.escape(leaf)}\b",
    ]
    lines = text.splitlines()
    for pattern in patterns:
        for number, line in enumerate(lines, 1):
            if re.search(pattern, line):
                return number
    return None


class _Reader(TomlReader):
    """Validates a parsed TOML document, raising errors that name file/line/key."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text

    def fail(self, key: str, problem: str) -> ConfigError:
        line = _line_of(self.text, key)
        where = f"{self.path}:{line}" if line else str(self.path)
        return ConfigError(f"{where}: key '{key}': {problem}")

    def offsets(self, value: Any, key: str) -> tuple[float, ...]:
        """``["1d", "7d"]`` (or ``"1d,7d"``) → positive offsets in seconds."""
        from voicetop.domain.compare import parse_offsets

        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = ",".join(value)
        if not isinstance(value, str):
            raise self.fail(key, 'expected a list of durations, e.g. ["1d", "7d"]')
        try:
            return parse_offsets(value)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None

    def check_keys(self, data: Mapping, allowed: set[str], prefix: str) -> None:
        for key in data:
            if key not in allowed:
                name = f"{prefix}.{key}" if prefix else key
                raise self.fail(name, f"unknown key ({expected_one_of(sorted(allowed), str(key), 'README.md')})")


_CONNECTION_KEYS = {
    "url", "bearer_token_env", "bearer_token_file", "basic_user", "basic_password_env",
    "headers", "tenant", "ca_file", "cert_file", "key_file", "insecure", "timeout",
}
_CONTEXT_KEYS = {
    "prometheus", "traces", "traces_kind", "alertmanager", "profile", "write", "thresholds",
    "baseline_offsets",
}
_TOP_KEYS = {
    "current_context", "refresh", "window", "step", "theme", "low_bandwidth", "thresholds",
    "contexts", "baseline_offsets",
}
_RULE_KEYS = {"warning", "critical", "for"}


def _connection(reader: _Reader, value: Any, key: str) -> Connection:
    if isinstance(value, str):
        return Connection(url=value)
    data = reader.table(value, key)
    reader.check_keys(data, _CONNECTION_KEYS, key)
    if "url" not in data:
        raise reader.fail(key, "missing 'url'")
    kwargs: dict[str, Any] = {}
    for name, raw in data.items():
        item = f"{key}.{name}"
        if name == "insecure":
            kwargs[name] = reader.boolean(raw, item)
        elif name == "timeout":
            kwargs[name] = reader.duration(raw, item)
        elif name == "headers":
            headers = reader.table(raw, item)
            kwargs[name] = {str(k): reader.string(v, f"{item}.{k}") for k, v in headers.items()}
        else:
            kwargs[name] = reader.string(raw, item)
    return Connection(**kwargs)


def _rule_fields(reader: _Reader, rule: ThresholdRule, value: Any, key: str) -> dict:
    """Fields to replace on a rule; ratio limits are given in percent."""
    scale = 0.01 if rule.unit == "ratio" else 1.0
    if isinstance(value, list):
        if len(value) != 2:
            raise reader.fail(key, "expected [warning, critical]")
        return {
            "warning": reader.number(value[0], key) * scale,
            "critical": reader.number(value[1], key) * scale,
        }
    data = reader.table(value, key)
    reader.check_keys(data, _RULE_KEYS, key)
    fields: dict[str, float] = {}
    for name in ("warning", "critical"):
        if name in data:
            fields[name] = reader.number(data[name], f"{key}.{name}") * scale
    if "for" in data:
        fields["for_seconds"] = reader.duration(data["for"], f"{key}.for")
    return fields


def _thresholds(reader: _Reader, base: ThresholdSet, value: Any, prefix: str) -> ThresholdSet:
    data = reader.table(value, prefix)
    result = base
    for key, raw in data.items():
        if key == "agents":
            for agent_id, rules in reader.table(raw, f"{prefix}.agents").items():
                agent_prefix = f"{prefix}.agents.{agent_id}"
                overrides = {}
                for rule_key, rule_value in reader.table(rules, agent_prefix).items():
                    overrides[rule_key] = _checked_rule(reader, result, rule_key, rule_value, agent_prefix, agent_id)
                result = result.with_overrides(overrides, agent_id)
            continue
        overrides = {key: _checked_rule(reader, result, key, raw, prefix, None)}
        result = result.with_overrides(overrides)
    return result


def _checked_rule(reader, thresholds: ThresholdSet, key, value, prefix, agent_id) -> dict:
    name = f"{prefix}.{key}"
    if key == "for":
        raise reader.fail(name, "set 'for' inside a threshold, e.g. ttft_p99 = { for = \"3m\" }")
    from voicetop.domain.telephony_rules import TELEPHONY_KEYS

    if key in TELEPHONY_KEYS and agent_id is not None:
        raise reader.fail(name, "telephony thresholds are fleet-wide: set them under [thresholds]")
    if key not in THRESHOLD_KEYS and key not in TELEPHONY_KEYS:
        known = THRESHOLD_KEYS + TELEPHONY_KEYS
        raise reader.fail(name, f"unknown threshold ({expected_one_of(known, str(key), 'README.md')})")
    rule = thresholds.rule(key, agent_id)
    assert rule is not None
    return _rule_fields(reader, rule, value, name)


def _context(
    reader: _Reader, name: str, value: Any, thresholds: ThresholdSet, offsets: tuple[float, ...] | None = None
) -> Context:
    prefix = f"contexts.{name}"
    data = reader.table(value, prefix)
    reader.check_keys(data, _CONTEXT_KEYS, prefix)
    kwargs: dict[str, Any] = {"name": name, "thresholds": thresholds, "baseline_offsets": offsets}
    for key, raw in data.items():
        item = f"{prefix}.{key}"
        if key in ("prometheus", "traces", "alertmanager"):
            kwargs[key] = _connection(reader, raw, item)
        elif key == "traces_kind":
            kind = reader.string(raw, item)
            if kind not in TRACE_KINDS:
                raise reader.fail(item, f"expected one of: {', '.join(TRACE_KINDS)}")
            kwargs[key] = kind
        elif key == "write":
            kwargs[key] = reader.boolean(raw, item)
        elif key == "thresholds":
            kwargs[key] = _thresholds(reader, thresholds, raw, item)
        elif key == "baseline_offsets":
            kwargs[key] = reader.offsets(raw, item)
        else:
            kwargs[key] = reader.string(raw, item)
    return Context(**kwargs)


def parse_config(text: str, path: Path, context_name: str | None = None) -> Config:
    """Parse and validate a TOML config document."""
    reader = _Reader(path, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    reader.check_keys(data, _TOP_KEYS, "")
    thresholds = ThresholdSet()
    if "thresholds" in data:
        thresholds = _thresholds(reader, thresholds, data["thresholds"], "thresholds")
    offsets = reader.offsets(data["baseline_offsets"], "baseline_offsets") if "baseline_offsets" in data else None
    contexts = {
        name: _context(reader, name, value, thresholds, offsets)
        for name, value in reader.table(data.get("contexts", {}), "contexts").items()
    }
    chosen = context_name or data.get("current_context")
    if chosen is not None:
        chosen = reader.string(chosen, "current_context")
        if chosen not in contexts:
            known = ", ".join(sorted(contexts)) or "none defined"
            raise reader.fail("current_context", f"no context named '{chosen}' (known: {known})")
        context = contexts[chosen]
    elif contexts:
        context = next(iter(contexts.values()))
    else:
        context = Context("default", thresholds=thresholds, baseline_offsets=offsets)
    kwargs: dict[str, Any] = {}
    for key in ("refresh", "window", "step"):
        if key in data:
            kwargs[key] = reader.duration(data[key], key)
            if kwargs[key] <= 0:
                raise reader.fail(key, "must be positive")
    if "theme" in data:
        kwargs["theme"] = reader.string(data["theme"], "theme")
    if "low_bandwidth" in data:
        kwargs["low_bandwidth"] = reader.boolean(data["low_bandwidth"], "low_bandwidth")
    return Config(
        path=path, context=context, contexts=tuple(contexts) or ("default",), **kwargs
    )


def load_config(
    path: str | os.PathLike | None = None,
    context_name: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Load the config file (if any), then apply ``VOICETOP_*`` env overrides."""
    env = os.environ if environ is None else environ
    explicit = path or env.get("VOICETOP_CONFIG")
    chosen = Path(explicit) if explicit else default_config_path()
    if chosen.exists() or explicit:
        try:
            text = chosen.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{chosen}: config file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{chosen}: cannot read config: {exc}") from None
        config = parse_config(text, chosen, context_name or env.get("VOICETOP_CONTEXT"))
    else:
        if context_name:
            raise ConfigError(f"{chosen}: no config file, so no context named '{context_name}'")
        config = Config()
    return apply_env(config, env)


def apply_env(config: Config, env: Mapping[str, str]) -> Config:
    """Apply ``VOICETOP_REFRESH``, ``_THEME``, ``_LOW_BANDWIDTH``, ``_PROMETHEUS_URL``…"""
    changes: dict[str, Any] = {}
    try:
        if "VOICETOP_REFRESH" in env:
            changes["refresh"] = parse_duration(env["VOICETOP_REFRESH"])
        if "VOICETOP_WINDOW" in env:
            changes["window"] = parse_duration(env["VOICETOP_WINDOW"])
    except ValueError as exc:
        raise ConfigError(f"environment: {exc}") from None
    if "VOICETOP_THEME" in env:
        changes["theme"] = env["VOICETOP_THEME"]
    if env.get("VOICETOP_LOW_BANDWIDTH", "").lower() in ("1", "true", "yes", "on"):
        changes["low_bandwidth"] = True
    context = config.context
    if env.get("VOICETOP_BASELINE_OFFSETS", "").strip():
        from voicetop.domain.compare import parse_offsets

        try:
            context = replace(context, baseline_offsets=parse_offsets(env["VOICETOP_BASELINE_OFFSETS"]))
        except ValueError as exc:
            raise ConfigError(f"environment: VOICETOP_BASELINE_OFFSETS: {exc}") from None
    if env.get("VOICETOP_PROMETHEUS_URL"):
        context = replace(context, prometheus=_with_url(context.prometheus, env["VOICETOP_PROMETHEUS_URL"]))
    if env.get("VOICETOP_TRACES_URL"):
        context = replace(context, traces=_with_url(context.traces, env["VOICETOP_TRACES_URL"]))
    return replace(config, context=context, **changes)


def _with_url(connection: Connection | None, url: str) -> Connection:
    return Connection(url=url) if connection is None else replace(connection, url=url)
