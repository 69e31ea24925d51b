"""Build the sources a command needs from the effective :class:`~voicetop.config.Config`.

Profile, URL and credential problems become :class:`voicetop.cli.UsageError`
(exit 2) with one line naming the key; nothing here talks to a backend.
"""

from __future__ import annotations

import importlib
from urllib.parse import urlsplit

from voicetop.cli import UsageError
from voicetop.config import Config, Connection
from voicetop.profiles.metrics import BUILTIN_PROFILES, MetricProfile, ProfileError, load_profile
from voicetop.sources.auth import redacted_url
from voicetop.sources.base import MetricsSource, SourceError, TraceSource

#: traces_kind -> (module, class); the class takes (connection, profile_name).
TRACE_SOURCES = {
    "jaeger": ("voicetop.sources.jaeger", "JaegerTraceSource"),
    "tempo": ("voicetop.sources.tempo", "TempoTraceSource"),
}


def metrics_profile(config: Config) -> MetricProfile:
    """The metric profile named by the context: builtin name or TOML file."""
    try:
        return load_profile(config.context.profile)
    except ProfileError as exc:
        raise UsageError(str(exc)) from None


def trace_profile_name(config: Config) -> str:
    """The span profile for trace sources (a TOML metric profile may name one)."""
    name = config.context.profile
    if name in BUILTIN_PROFILES:
        return BUILTIN_PROFILES[name].traces
    return metrics_profile(config).traces


def _setting(config: Config, backend: str) -> str:
    return f"contexts.{config.context.name}.{backend}"


def check_url(connection: Connection, setting: str) -> None:
    """Reject URLs that are not absolute http(s) URLs, without echoing credentials."""
    try:
        parts = urlsplit(connection.url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        valid = False
    if not valid:
        raise UsageError(f"{setting}: not an http(s) URL: {redacted_url(connection.url)}")


def metrics_source(config: Config) -> MetricsSource:
    """A PrometheusSource for ``config.context.prometheus`` with the context's profile."""
    connection = config.context.prometheus
    setting = _setting(config, "prometheus")
    if connection is None:
        raise UsageError(f"{setting}: no Prometheus URL (pass --prometheus URL or set it in the config)")
    check_url(connection, setting)
    profile = metrics_profile(config)
    from voicetop.sources.prometheus import PrometheusSource

    try:
        return PrometheusSource(connection, profile)
    except SourceError as exc:
        raise UsageError(f"{setting}: {exc}") from None


def trace_source(config: Config) -> TraceSource | None:
    """The trace source of the context, or None without a traces URL.

    Also None while the adapter module for ``traces_kind`` does not exist.
    """
    connection = config.context.traces
    if connection is None:
        return None
    setting = _setting(config, "traces")
    check_url(connection, setting)
    kind = config.context.traces_kind
    if kind not in TRACE_SOURCES:
        raise UsageError(f"contexts.{config.context.name}.traces_kind: unknown kind {kind!r} (jaeger or tempo)")
    module_name, class_name = TRACE_SOURCES[kind]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
    source_class = getattr(module, class_name, None)
    if source_class is None:
        return None
    try:
        return source_class(connection, trace_profile_name(config))
    except (SourceError, ValueError) as exc:
        raise UsageError(f"{setting}: {exc}") from None
