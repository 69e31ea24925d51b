"""Compare-and-drift queries (issue #9): group-by, ``offset`` baselines, label changes.

Same shape as the refresh queries (:mod:`.queries`): one HTTP query per panel,
never one per agent.

- Group-by keeps one more label server-side (``sum by (le, agent_id, model)``);
  rows are keyed ``agent\\x1fvalue`` with ``label_join`` (fleet rows
  ``\\x1fvalue``, since they carry no agent label).
- Baselines are the same panels with PromQL ``offset`` on every selector, so
  the answer already sits on today's timestamps.
- Label changes: the marker counter's traffic per agent and label value.
"""

from __future__ import annotations

import time
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Sequence

from voicetop.domain.compare import GROUP_SEP
from voicetop.domain.model import QUANTILES, STAGES, MetricsResult, Series, Window, stage_stat_key
from voicetop.profiles.metrics import MetricProfile, StatExpr
from voicetop.sources.base import SourceError
from voicetop.sources.prometheus.http import describe_exception, one_line
from voicetop.sources.prometheus.queries import SCALAR_PANELS, STAT_LABEL, PanelQuery

if TYPE_CHECKING:
    from voicetop.sources.prometheus.source import PrometheusSource

#: Label that carries the composite group key in grouped answers.
KEY_LABEL = "vt_key"
_SEP_LITERAL = '"\\x1f"'  # PromQL string for GROUP_SEP
assert GROUP_SEP == "\x1f"


def _stat_tag(expr: str, stat: str) -> str:
    return f'label_replace({expr}, "{STAT_LABEL}", "{stat}", "", "")'


def _keyed(expr: str, agent_label: str, label: str) -> str:
    return f'label_join({expr}, "{KEY_LABEL}", {_SEP_LITERAL}, "{agent_label}", "{label}")'


def _panel_keys() -> list[tuple[str, tuple[str, ...]]]:
    panels = [(f"stage:{s}", tuple(stage_stat_key(s, q) for q, _ in QUANTILES)) for s in STAGES]
    for name, keys in SCALAR_PANELS.items():
        plain = tuple(k for k in keys if not k.endswith("_baseline"))
        if plain:
            panels.append((name, plain))
    return panels


def grouped_queries(profile: MetricProfile, label: str) -> tuple[PanelQuery, ...]:
    """Every panel by agent and ``label`` (and fleet-wide by ``label``)."""
    queries = []
    for name, keys in _panel_keys():
        exprs = [e for e in (profile.stat_expr(k, group=label) for k in keys) if e is not None]
        parts = []
        for expr in exprs:
            if expr.agent:
                agent = f"topk({profile.max_agents}, {expr.agent})"
                parts.append(_stat_tag(_keyed(agent, profile.agent_label, label), expr.key))
            if expr.fleet:
                parts.append(_stat_tag(_keyed(expr.fleet, profile.agent_label, label), expr.key))
        if parts:
            queries.append(PanelQuery(f"group:{name}", " or ".join(parts), tuple(e.key for e in exprs)))
    return tuple(queries)


def offset_queries(profile: MetricProfile, offset: float) -> tuple[PanelQuery, ...]:
    """Every panel ``offset`` seconds earlier (same tags as the refresh queries)."""
    from voicetop.sources.prometheus.queries import _query

    queries = []
    for name, keys in _panel_keys():
        exprs: list[StatExpr] = [e for e in (profile.stat_expr(k, offset=offset) for k in keys) if e is not None]
        query = _query(f"offset:{name}", exprs, profile.max_agents)
        if query:
            queries.append(query)
    return tuple(queries)


def label_values_query(profile: MetricProfile, labels: Sequence[str]) -> PanelQuery | None:
    """One query: per agent and value of each label, positive while the value is live."""
    parts = [
        _stat_tag(_keyed(profile.label_values_expr(label), profile.agent_label, label), label)
        for label in labels
    ]
    if not parts:
        return None
    return PanelQuery("labels", " or ".join(parts), tuple(labels))


def run_panels(
    source: "PrometheusSource", queries: Sequence[PanelQuery], window: Window, key_label: str | None = None
) -> MetricsResult:
    """Run panel queries concurrently on the source's pool; partial failures become ``errors``."""
    if source._closed:  # noqa: SLF001 - same package
        raise SourceError("prometheus source is closed")
    futures = {q.name: source._pool.submit(source._run_panel, q, window, key_label) for q in queries}  # noqa: SLF001
    deadline = time.monotonic() + source.auth.timeout + 2.0
    series: dict[str, dict[str | None, Series]] = {}
    errors: dict[str, str] = {}
    for query in queries:
        try:
            answer = futures[query.name].result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            futures[query.name].cancel()
            reason = f"prometheus did not answer within {source.auth.timeout:g}s"
        except Exception as exc:
            reason = source.auth.scrub(describe_exception(exc, source.url, source.auth.timeout))
        else:
            for stat, per_key in answer.items():
                series.setdefault(stat, {}).update(per_key)
            continue
        for stat in query.stats:
            errors[stat] = reason
    if queries and len({s for q in queries for s in q.stats}) == len(errors) and not series:
        raise SourceError(one_line(next(iter(errors.values()))))
    return MetricsResult(window=window, series=series, errors=errors, queries=len(queries))


def fetch_grouped(source: "PrometheusSource", window: Window, label: str) -> MetricsResult:
    """Stats per ``agent\\x1fvalue`` (and ``\\x1fvalue`` fleet-wide) of ``label``."""
    return run_panels(source, grouped_queries(source.profile, label), window, KEY_LABEL)


def fetch_offset(source: "PrometheusSource", window: Window, offset: float) -> MetricsResult:
    """Stats of the window ``offset`` seconds earlier, on this window's timestamps."""
    return run_panels(source, offset_queries(source.profile, offset), window)


def fetch_label_values(
    source: "PrometheusSource", window: Window, labels: Sequence[str] | None = None
) -> dict[str, dict[str, Series]]:
    """``{label: {agent\\x1fvalue: series}}``, positive where the value is live."""
    query = label_values_query(source.profile, source.profile.marker_labels if labels is None else labels)
    if query is None:
        return {}
    result = run_panels(source, (query,), window, KEY_LABEL)
    return {label: {k: s for k, s in per_key.items() if k} for label, per_key in result.series.items()}
