"""Describe the backends behind an export, without credentials."""

from __future__ import annotations

from voicetop.config import Config, Connection
from voicetop.sources.auth import redacted_url


def _connection(kind: str, connection: Connection | None) -> dict[str, str] | None:
    if connection is None:
        return None
    info = {"kind": kind, "url": redacted_url(connection.url)}
    if connection.tenant:
        info["tenant"] = connection.tenant
    return info


def describe_sources(config: Config, *, demo: bool = False, demo_seed: int | None = None) -> dict:
    """The ``source`` block of a snapshot: kinds, credential-free URLs, profile."""
    context = config.context
    if demo:
        info: dict = {"metrics": {"kind": "demo", "url": ""}, "traces": {"kind": "demo", "url": ""}}
        if demo_seed is not None:
            info["demo_seed"] = demo_seed
    else:
        info = {
            "metrics": _connection("prometheus", context.prometheus),
            "traces": _connection(context.traces_kind, context.traces),
            "alertmanager": _connection("alertmanager", context.alertmanager),
        }
    info["profile"] = context.profile
    info["context"] = context.name
    return {k: v for k, v in info.items() if v is not None}
