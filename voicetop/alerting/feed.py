"""Gather alerts for the breach panel from Prometheus and Alertmanager.

Call :func:`gather_alerts` from a worker thread (it does network I/O through
the sources, each with its own timeout).  A failing source does not hide the
other's alerts: its one-line reason is returned in ``errors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from voicetop.alerting.merge import merge_alerts
from voicetop.domain.model import Alert
from voicetop.sources.base import SourceError


class AlertLister(Protocol):
    name: str

    def alerts(self) -> list[Alert]: ...


@dataclass(frozen=True)
class AlertFeed:
    """Merged alerts (one per name and agent) and per-source failures."""

    alerts: tuple[Alert, ...]
    errors: tuple[str, ...] = ()


def _fetch(source: AlertLister | None, errors: list[str]) -> list[Alert]:
    if source is None:
        return []
    try:
        return list(source.alerts())
    except SourceError as exc:
        errors.append(str(exc))
    except Exception as exc:  # a source bug must not take the panel down
        errors.append(f"{getattr(source, 'name', 'alerts')}: {type(exc).__name__}")
    return []


def gather_alerts(prometheus: AlertLister | None, alertmanager: AlertLister | None = None) -> AlertFeed:
    """Prometheus' firing/pending alerts merged with Alertmanager's."""
    errors: list[str] = []
    from_prometheus = _fetch(prometheus, errors)
    from_alertmanager = _fetch(alertmanager, errors)
    return AlertFeed(merge_alerts(from_prometheus, from_alertmanager), tuple(errors))
