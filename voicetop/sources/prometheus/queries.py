"""Plan the range queries of one refresh and parse their answers into Series.

One HTTP query per panel, never one per agent: each query ``or``s together
the per-agent and fleet-wide expressions of a panel's stats, each tagged with
``label_replace`` (``vt_stat`` = stat key, ``vt_scope="fleet"`` for fleet
rows), so a panel costs one round trip however many agents there are.
Per-agent rows go through ``topk(max_agents, …)`` so a huge fleet cannot
flood the table.

A stage panel is one bucket-rate query, ``sum by (le, <agent>) (rate(X_bucket
[R]))``, whose p50/p90/p95/p99 per agent and for the fleet are computed
client-side (:mod:`.buckets`): the server reads the histogram's bucket series
once instead of once per quantile and scope.  With ``recording_rules`` in the
profile, a stage panel reads the quantiles voicetop's recording rules keep
instead (:mod:`.recorded`), and a ratio panel the stats the rules keep per
agent and for the fleet (:mod:`.recorded_stats`).  Stages or quantiles given as
raw PromQL by the profile still go to the server as written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Iterable, Mapping, Sequence

from voicetop.domain.model import QUANTILES, STAGES, Series, Window, stage_stat_key
from voicetop.profiles.metrics import SCALAR_FORMULAS, MetricProfile, ScalarFormula, StatExpr, promql_duration
from voicetop.sources.prometheus.buckets import HistogramPlan, decode_buckets
from voicetop.sources.prometheus.matrix import Columns, StepIndex, grid_points, labelled_rows
from voicetop.sources.prometheus.recorded import RecordedPlan, decode_recorded
from voicetop.sources.prometheus.recorded_stats import RecordedStatsPlan, decode_recorded_stats
from voicetop.sources.prometheus.recording import recording_rules, stage_recording, stat_recordings
from voicetop.sources.prometheus.terms import TermPlan, TermStat, decode_terms

STAT_LABEL = "vt_stat"
SCOPE_LABEL = "vt_scope"
FLEET = "fleet"

#: Scalar panels: stats that share one query (a failing query marks all of them).
SCALAR_PANELS: Mapping[str, tuple[str, ...]] = {
    "quality": ("wer", "mos", "rtf"),
    "conversation": ("interruption_rate", "turn_rate", "tts_chars_per_turn", "turns_per_session"),
    "tools": ("tool_success_rate", "tool_call_rate"),
    "errors": ("error_rate",),
    "capacity": ("active_sessions", "max_sessions", "capacity"),
    "cost": ("tokens_per_session", "cost_per_session"),
    "baselines": (
        "tokens_per_session_baseline", "cost_per_session_baseline",
        "tts_chars_per_turn_baseline", "turns_per_session_baseline", "tool_call_rate_baseline",
    ),
}
#: The panel of 7-day baselines: ``avg_over_time(…[range:step])`` changes only at
#: whole multiples of the profile's ``baseline_step``, so it is fetched once per step (:mod:`.held`).
HELD_PANEL = "baselines"


@dataclass(frozen=True)
class PanelQuery:
    """One HTTP range query and the stat keys it answers."""

    name: str
    promql: str
    stats: tuple[str, ...]
    split_prefix: str | None = None  # stats named prefix + label value (per component)
    histogram: HistogramPlan | None = None  # a bucket-rate query: quantiles computed here
    recorded: RecordedPlan | None = None  # recorded quantiles: read as the rules keep them
    terms: TermPlan | None = None  # a term query: scalar ratios computed here
    recorded_stats: RecordedStatsPlan | None = None  # a term panel's stats as the rules keep them
    period: float | None = None  # the value changes only at multiples of this (seconds)

    @property
    def reads_recordings(self) -> bool:
        """True when the query reads series kept by voicetop's recording rules."""
        return self.recorded is not None or self.recorded_stats is not None


def _tag(expr: str, stat: str, fleet: bool, split: tuple[str, str] | None = None) -> str:
    if split is None:
        tagged = f'label_replace({expr}, "{STAT_LABEL}", "{stat}", "", "")'
    else:
        prefix, label = split
        tagged = f'label_replace({expr}, "{STAT_LABEL}", "{prefix}$1", "{label}", "(.+)")'
    if fleet:
        return f'label_replace({tagged}, "{SCOPE_LABEL}", "{FLEET}", "", "")'
    return tagged


def _parts(expr: StatExpr, max_agents: int, split: tuple[str, str] | None = None) -> list[str]:
    parts = []
    if expr.agent:
        parts.append(_tag(f"topk({max_agents}, {expr.agent})", expr.key, False, split))
    if expr.fleet:
        parts.append(_tag(expr.fleet, expr.key, True, split))
    return parts


def _query(name: str, exprs: Sequence[StatExpr], max_agents: int) -> PanelQuery | None:
    parts = [part for expr in exprs for part in _parts(expr, max_agents)]
    if not parts:
        return None
    return PanelQuery(name, " or ".join(parts), tuple(e.key for e in exprs))


def _bucket_query(stage: str, profile: MetricProfile, quantiles: list[tuple[str, float]]) -> PanelQuery:
    """One ``sum by (le, <agent>) (rate(X_bucket[R]))`` query for a stage's quantiles
    (with recording rules: one read of the recorded quantiles)."""
    ref = profile.metrics[stage]
    recording = stage_recording(profile, stage) if profile.recording_rules else None
    if recording is not None:
        recorded = RecordedPlan(recording, tuple(quantiles), profile.max_agents, ref.scale)
        selector = recording.selector(profile.max_agents)
        return PanelQuery(f"stage:{stage}", selector, tuple(k for k, _ in quantiles), recorded=recorded)
    promql = (
        f"sum by (le, {profile.agent_label}) "
        f"(rate({ref.name}_bucket[{promql_duration(profile.rate_window)}]))"
    )
    plan = HistogramPlan(tuple(quantiles), profile.max_agents, ref.scale)
    return PanelQuery(f"stage:{stage}", promql, tuple(k for k, _ in quantiles), histogram=plan)


def _stage_query(stage: str, profile: MetricProfile, custom: list[StatExpr]) -> PanelQuery | None:
    """A stage's panel query; quantiles with raw PromQL of their own go to ``custom``."""
    exprs: list[StatExpr] = []
    quantiles: list[tuple[str, float]] = []
    for quantile, q in QUANTILES:
        key = stage_stat_key(stage, quantile)
        expr = profile.stat_expr(key)
        if expr is None:
            continue
        if key in profile.promql:
            custom.append(expr)
        elif stage in profile.promql:  # raw PromQL for the whole stage: the server computes it
            exprs.append(expr)
        else:
            quantiles.append((key, q))
    if quantiles:
        return _bucket_query(stage, profile, quantiles)
    return _query(f"stage:{stage}", exprs, profile.max_agents)


def _summable(profile: MetricProfile, key: str) -> bool:
    formula = profile.scalar_formula(key)
    return formula is not None and formula.aggregate == "sum"


def _term_query(name: str, keys: list[str], profile: MetricProfile, component: StatExpr | None) -> PanelQuery:
    """One query reading each distinct term of the panel's formulas once (:mod:`.terms`); with
    recording rules, one reading the panel's stats as the rules keep them."""
    split_label = (component.split_label or "component") if component is not None else None
    inners: list[str] = []

    def term(inner: str | None) -> int | None:
        if inner is None:
            return None
        if inner not in inners:
            inners.append(inner)
        return inners.index(inner)

    def term_stat(key: str, formula: ScalarFormula, scale: float = 1.0, split: bool = False) -> TermStat:
        return TermStat(key, term(formula.numerator), term(formula.denominator), formula.zero_numerator, scale, split)

    # keys are summable: their formula is the builtin one (raw PromQL stats have their own queries)
    stats = [term_stat(key, SCALAR_FORMULAS[key], profile.stat_scale(key)) for key in keys]
    if component is not None:  # the error rate's formula, by component
        stats.append(term_stat(component.key, SCALAR_FORMULAS["error_rate"], split=True))
    terms = tuple(profile.per_agent_sum(inner, split_label) for inner in inners)
    plan = TermPlan(terms, tuple(stats), profile.max_agents, split_label)
    split_prefix = component.key if component is not None else None
    recordings = stat_recordings(plan, profile.agent_label) if profile.recording_rules else None
    if recordings is not None:
        recorded = RecordedStatsPlan(recordings, terms, profile.max_agents, profile.agent_label, split_label)
        return PanelQuery(name, recorded.promql(), tuple(keys), split_prefix=split_prefix, recorded_stats=recorded)
    return PanelQuery(name, plan.promql(), tuple(keys), split_prefix=split_prefix, terms=plan)


def plan_queries(profile: MetricProfile) -> tuple[PanelQuery, ...]:
    """The queries of one refresh: one per stage, one per scalar panel, one per raw stat."""
    queries: list[PanelQuery] = []
    custom: list[StatExpr] = []
    for stage in STAGES:
        query = _stage_query(stage, profile, custom)
        if query:
            queries.append(query)
    for panel, keys in SCALAR_PANELS.items():
        exprs = []
        for key in keys:
            expr = profile.stat_expr(key)
            if expr is None:
                continue
            base = key.removesuffix("_baseline")
            (custom if base in profile.promql or key in profile.promql else exprs).append(expr)
        component = profile.component_error_expr() if panel == "errors" else None
        if panel != HELD_PANEL and exprs and all(_summable(profile, e.key) for e in exprs):
            queries.append(_term_query(panel, [e.key for e in exprs], profile, component))
            continue
        if component is not None:
            split = (component.key, component.split_label or "component")
            extra = _parts(component, profile.max_agents, split)
            base_query = _query(panel, exprs, profile.max_agents)
            promql = " or ".join(([base_query.promql] if base_query else []) + extra)
            stats = base_query.stats if base_query else ()
            queries.append(PanelQuery(panel, promql, stats, split_prefix=component.key))
            continue
        query = _query(panel, exprs, profile.max_agents)
        if query and panel == HELD_PANEL:
            query = replace(query, period=profile.baseline_step)
        if query:
            queries.append(query)
    for expr in custom:
        query = _query(f"stat:{expr.key}", [expr], profile.max_agents)
        if query:
            queries.append(query)
    return tuple(queries)


def profile_recording_rules(profile: MetricProfile) -> list[Mapping[str, object]]:
    """voicetop's recording rules for ``profile``: the stage quantiles, every term panel's terms
    and the stats read from them."""
    plans = [query.recorded_stats for query in plan_queries(replace(profile, recording_rules=True))]
    terms = [term for plan in plans if plan is not None for term in plan.terms]
    stats = [stat for plan in plans if plan is not None for stat in plan.recordings]
    return recording_rules(profile, terms, stats)


def clean_value(raw: object) -> float:
    """A sample value as float; NaN, ±Inf and garbage all become NaN."""
    try:
        value = float(raw)  # Prometheus sends "NaN", "+Inf", "-Inf" as strings
    except (TypeError, ValueError, OverflowError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def decode_answer(
    rows: Iterable[Mapping], query: PanelQuery, timestamps: Sequence[float], step: float, agent_label: str
) -> Columns:
    """Columns per stat and agent over ``timestamps`` (None where there is no point)."""
    if query.histogram is not None:
        return decode_buckets(rows, query.histogram, timestamps, agent_label)
    if query.terms is not None:
        return decode_terms(rows, query.terms, timestamps, agent_label)
    if query.recorded is not None:
        return decode_recorded(rows, query.recorded, timestamps, agent_label)
    if query.recorded_stats is not None:
        return decode_recorded_stats(rows, query.recorded_stats, timestamps, agent_label)
    index = StepIndex(timestamps[0], step, len(timestamps)) if timestamps else StepIndex(0.0, step, 0)
    return _decode_tagged(rows, query, len(timestamps), agent_label, index)


def _decode_tagged(
    rows: Iterable[Mapping], query: PanelQuery, count: int, agent_label: str, step_index: StepIndex
) -> Columns:
    found: Columns = {}
    for labels, points in labelled_rows(rows):
        stat = labels.get(STAT_LABEL)
        if not stat or not isinstance(stat, str):
            continue
        if query.split_prefix is None or not stat.startswith(query.split_prefix):
            if stat not in query.stats:
                continue
        if labels.get(SCOPE_LABEL) == FLEET:
            agent: str | None = None
        else:
            agent = labels.get(agent_label) or None
            if not isinstance(agent, str):
                continue
        per_agent = found.setdefault(stat, {})
        if agent in per_agent:
            continue
        values: list[float | None] = [None] * count
        for index, raw in grid_points(points, step_index):
            values[index] = clean_value(raw)
        per_agent[agent] = values
    return found


def parse_matrix(
    rows: Iterable[Mapping],
    query: PanelQuery,
    window: Window,
    agent_label: str,
) -> dict[str, dict[str | None, Series]]:
    """Series per stat and agent, aligned on the window's steps (NaN where absent).

    Rows without a stat tag, or per-agent rows without the agent label, are
    ignored; the first row for a (stat, agent) pair wins.  Malformed rows
    (non-string labels, points that are not ``[time, value]``) are skipped.
    Bucket-rate queries yield their quantiles.
    """
    timestamps = window.timestamps()
    columns = decode_answer(rows, query, timestamps, window.step, agent_label)
    return {
        stat: {
            agent: Series(timestamps, tuple(math.nan if v is None else v for v in values))
            for agent, values in per_agent.items()
        }
        for stat, per_agent in columns.items()
    }
