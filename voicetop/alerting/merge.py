"""Merge alerts from Prometheus and Alertmanager into one deduplicated list."""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from voicetop.domain.model import Alert

_SEVERITY_RANK = {"critical": 3, "error": 3, "page": 3, "warning": 2, "info": 1}
_STATE_RANK = {"firing": 3, "silenced": 2, "inhibited": 2, "pending": 1}
_SOURCE_RANK = {"alertmanager": 1, "prometheus": 0}


def severity_rank(severity: str) -> int:
    return _SEVERITY_RANK.get(severity.lower(), 0)


def _preference(alert: Alert) -> tuple[int, int, int]:
    """Worst severity first, then the most definite state, then Alertmanager
    (it knows about silences)."""
    return (
        severity_rank(alert.severity),
        _STATE_RANK.get(alert.state, 0),
        _SOURCE_RANK.get(alert.source, 0),
    )


def merge_alerts(
    prometheus_alerts: Iterable[Alert], alertmanager_alerts: Iterable[Alert] = ()
) -> tuple[Alert, ...]:
    """One alert per (alert name, agent id): the worst severity wins.

    Between equal severities a firing alert beats a silenced one beats a
    pending one, and Alertmanager's copy beats Prometheus'.  The earliest
    ``active_at`` of the group is kept.  The result is sorted firing first,
    then by severity, name and agent.
    """
    groups: dict[tuple[str, str | None], list[Alert]] = {}
    for alert in (*prometheus_alerts, *alertmanager_alerts):
        groups.setdefault((alert.name, alert.agent_id), []).append(alert)
    merged: list[Alert] = []
    for members in groups.values():
        best = max(members, key=_preference)
        starts = [a.active_at for a in members if a.active_at is not None]
        if starts and best.active_at != min(starts):
            best = replace(best, active_at=min(starts))
        merged.append(best)
    merged.sort(
        key=lambda a: (a.state != "firing", -severity_rank(a.severity), a.name, a.agent_id or "")
    )
    return tuple(merged)
