"""Telephony range queries of one refresh (issue #10): a constant five, however many nodes.

Each query ``or``s the fleet-wide and per-node expressions of a group of
telephony stats, tagged like the agent panels (``vt_stat``, ``vt_scope``);
per-node rows also get the node id copied into the agent label, so the
source's own query runner and matrix parser serve them unchanged.  Failed
groups keep their last good series (named in ``errors``); a family the
server does not export simply yields no series.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Callable

from voicetop.domain.model import Series, Window
from voicetop.domain.timeparse import format_duration
from voicetop.profiles.metrics import MetricProfile, StatExpr
from voicetop.profiles.telephony import TELEPHONY_PROFILES, TelephonyProfile
from voicetop.sources.prometheus.queries import FLEET, SCOPE_LABEL, STAT_LABEL, PanelQuery

Matrix = dict[str, dict[str | None, Series]]


def telephony_profile(profile: MetricProfile) -> TelephonyProfile | None:
    """The telephony profile a metric profile enables (``telephony = "livekit-server"``)."""
    name = getattr(profile, "telephony", "")
    return TELEPHONY_PROFILES.get(name) if name else None


def _tag(expr: str, stat: str, fleet: bool, agent_label: str, node_label: str) -> str:
    tagged = f'label_replace({expr}, "{STAT_LABEL}", "{stat}", "", "")'
    if fleet:
        return f'label_replace({tagged}, "{SCOPE_LABEL}", "{FLEET}", "", "")'
    if agent_label == node_label:
        return tagged
    return f'label_replace({tagged}, "{agent_label}", "$1", "{node_label}", "(.+)")'


def _group_query(name: str, exprs: list[StatExpr], profile: TelephonyProfile, agent_label: str) -> PanelQuery:
    parts = []
    for expr in exprs:
        parts.append(_tag(f"topk({profile.max_nodes}, {expr.agent})", expr.key, False, agent_label, profile.node_label))
        parts.append(_tag(expr.fleet, expr.key, True, agent_label, profile.node_label))
    return PanelQuery(f"telephony:{name}", " or ".join(parts), tuple(e.key for e in exprs))


def plan_telephony(profile: TelephonyProfile, agent_label: str = "agent_id") -> tuple[PanelQuery, ...]:
    """One query per telephony group (rooms, joins, media, quality, SIP)."""
    return tuple(_group_query(name, exprs, profile, agent_label) for name, exprs in profile.groups().items())


class TelephonyQueries:
    """Runs the telephony queries next to the agent panels and keeps their last good answers."""

    def __init__(self, profile: MetricProfile, scrub: Callable[[str], str], timeout: float) -> None:
        found = telephony_profile(profile)
        self.profile = found
        self.queries: tuple[PanelQuery, ...] = plan_telephony(found, profile.agent_label) if found else ()
        self._scrub = scrub
        self._timeout = timeout
        self._last_good: dict[str, tuple[float, Matrix]] = {}
        self._lock = threading.Lock()

    def submit(self, pool: ThreadPoolExecutor, run: Callable[[PanelQuery, Window], Matrix], window: Window) -> dict[str, Future]:
        return {q.name: pool.submit(run, q, window) for q in self.queries}

    def collect(self, futures: dict[str, Future], deadline: float) -> tuple[Matrix, dict[str, str]]:
        """Series per stat and node (None = fleet), and the stats whose group failed."""
        series: Matrix = {}
        errors: dict[str, str] = {}
        for query in self.queries:
            try:
                answer = futures[query.name].result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                futures[query.name].cancel()
                self._stale(query, f"prometheus did not answer within {self._timeout:g}s", series, errors)
                continue
            except Exception as exc:  # a SourceError from the runner (already one safe line)
                self._stale(query, self._scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__), series, errors)
                continue
            with self._lock:
                self._last_good[query.name] = (time.time(), answer)
            _merge(series, answer)
        return series, errors

    def _stale(self, query: PanelQuery, reason: str, series: Matrix, errors: dict[str, str]) -> None:
        with self._lock:
            good = self._last_good.get(query.name)
        if good is not None:
            fetched_at, answer = good
            reason = f"{reason} (showing data from {format_duration(time.time() - fetched_at)} ago)"
            for stat, per_node in answer.items():
                current = series.setdefault(stat, {})
                for node, old in per_node.items():
                    current.setdefault(node, old)
        for stat in query.stats:
            errors[stat] = reason


def _merge(into: Matrix, answer: Matrix) -> None:
    for stat, per_node in answer.items():
        into.setdefault(stat, {}).update(per_node)


__all__ = ["TelephonyQueries", "plan_telephony", "telephony_profile"]
