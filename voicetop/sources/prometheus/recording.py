"""Recording rules that let Prometheus evaluate a refresh's expensive parts ahead of it.

At fleet scale a stage panel reads every bucket series of every agent each
refresh (about 10,000 rows per stage at 1,000 agents) and voicetop computes
the quantiles from them; a term panel has the server sum every raw counter
series by agent.  With these rules loaded into Prometheus (``voicetop rules
--recording``) and ``recording_rules = true`` in the profile, the panels read
what the rules keep instead: the p50/p90/p95/p99 per agent and for the fleet
(four rows per agent, nothing left to compute) and each term's per-agent sum.

Names follow Prometheus' ``level:metric:operations`` convention.  Per stage
histogram ``X`` with the profile's agent label ``A`` and rate window ``W``:

- ``A_le:X_bucket:rateW`` = ``sum by (le, A) (rate(X_bucket[W]))``;
- ``A:X:quantile_rateW{quantile="0.99"}`` = its ``histogram_quantile`` per agent;
- ``:X:quantile_rateW{quantile="0.99"}`` = the fleet's, from the buckets summed by ``le``.

(the first level is kept so both quantile rules read the bucket series once),
per term ``sum by (A[, component]) (rate(Y{outcome="success"}[W]))``:
``A[_component]:Y[_outcome_success]:rateW`` (a gauge's sum: ``A:Y:sum``), and per
stat of a term panel its value per agent and for the fleet, read from the
terms (:func:`stat_recordings`): ``A:Y_per_Z:ratio_rateW`` and
``:Y_per_Z:ratio_rateW`` for a ratio, ``:Y:rateW`` for the fleet's sum of a
single term (per agent that is the term's own series), and
``A_component:…``/``component:…`` for the per-component error rate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from voicetop.domain.model import QUANTILES, STAGES
from voicetop.profiles.metrics import MetricProfile, promql_duration
from voicetop.sources.prometheus.terms import TermPlan, TermStat

#: The label carrying the quantile (``"0.99"``) on the recorded quantile series.
QUANTILE_LABEL = "quantile"
#: The rule group written by ``voicetop rules --recording``.
GROUP = "voicetop-recording"


@dataclass(frozen=True)
class StageRecording:
    """The recorded series of one stage histogram and the rules that make them."""

    stage: str
    bucket_rate: str
    agent_quantile: str
    fleet_quantile: str
    bucket_rate_expr: str

    def quantile_exprs(self, q: float) -> tuple[str, str]:
        """(per agent, fleet) PromQL of quantile ``q`` over the recorded bucket rates."""
        return (
            f"histogram_quantile({q!r}, {self.bucket_rate})",
            f"histogram_quantile({q!r}, sum by (le) ({self.bucket_rate}))",
        )

    def selector(self, max_agents: int, agents: str = "") -> str:
        """The query that reads the recorded quantiles of the stage: the fleet's, and per agent the
        ``max_agents`` highest of each quantile at each step (the bucket path's ``topk``); with
        ``agents`` (a label matcher), of those agents only.

        The server keeps the top per quantile, so a fleet over ``max_agents``
        sends only the rows the console keeps (half of them at 1,000 agents and
        the default 500); below it the ``topk`` keeps every row.
        """
        per_agent = f"{self.agent_quantile}{{{agents}}}" if agents else self.agent_quantile
        return f"topk by ({QUANTILE_LABEL}) ({max_agents}, {per_agent}) or {self.fleet_quantile}"


def stage_recording(profile: MetricProfile, stage: str) -> StageRecording | None:
    """The recording of a stage, or None when the profile gives the stage as raw PromQL."""
    if stage in profile.promql or stage not in profile.metrics:
        return None
    metric = profile.metrics[stage].name
    window = promql_duration(profile.rate_window)
    agent = profile.agent_label
    return StageRecording(
        stage=stage,
        bucket_rate=f"{agent}_le:{metric}_bucket:rate{window}",
        agent_quantile=f"{agent}:{metric}:quantile_rate{window}",
        fleet_quantile=f":{metric}:quantile_rate{window}",
        bucket_rate_expr=f"sum by (le, {agent}) (rate({metric}_bucket[{window}]))",
    )


def quantile_label(q: float) -> str:
    """The ``quantile`` label value of quantile ``q`` (``0.99`` → ``"0.99"``)."""
    return repr(q)


_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_TERM = re.compile(r"sum by \(([a-zA-Z0-9_, ]+)\) \((.*)\)")
_RATE = re.compile(rf"rate\(({_NAME})(\{{[^{{}}]*\}})?\[([0-9a-z]+)\]\)")
_MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"')


def term_record_name(term: str) -> str | None:
    """The recorded name of a per-agent term, or None for a form the rules do not record.

    ``sum by (agent_id) (rate(X{outcome="success"}[5m]))`` →
    ``agent_id:X_outcome_success:rate5m``; ``sum by (agent_id) (X)`` → ``agent_id:X:sum``.
    """
    found = _TERM.fullmatch(term)
    if found is None:
        return None
    level = "_".join(label.strip() for label in found.group(1).split(","))
    inner = found.group(2)
    if re.fullmatch(_NAME, inner):
        return f"{level}:{inner}:sum"
    rate = _RATE.fullmatch(inner)
    if rate is None:
        return None
    metric, matchers, window = rate.groups()
    suffix = ""
    if matchers:
        pairs = _MATCHER.findall(matchers[1:-1])
        if not pairs or len(pairs) != matchers.count("="):  # only equality matchers are named
            return None
        suffix = "".join(f"_{label}_{re.sub(r'[^a-zA-Z0-9_]', '_', value)}" for label, value in pairs)
    return f"{level}:{metric}{suffix}:rate{window}"


def term_names(terms: Iterable[str]) -> tuple[str, ...] | None:
    """Recorded names of a panel's terms; None unless every term has its own."""
    names = tuple(term_record_name(term) for term in terms)
    if None in names or len(set(names)) != len(names):
        return None
    return names  # type: ignore[return-value]


@dataclass(frozen=True)
class StatRecording:
    """The recorded series of one term-panel stat (of a split stat: per split value too)."""

    key: str  # the stat key (a split stat: the prefix its values are appended to)
    agent_name: str  # per agent (and split value)
    fleet_name: str  # the fleet's (per split value)
    rules: tuple[tuple[str, str], ...]  # (record, expr) of the series the term rules do not keep
    split: bool = False
    scale: float = 1.0
    needs: tuple[str, ...] = ()  # the recorded terms whose series make the stat's (its denominator, ...)


def _name_parts(name: str) -> tuple[str, str, str]:
    """``level:metric:operations`` → its three parts (the metric may hold colons itself)."""
    level, rest = name.split(":", 1)
    metric, operations = rest.rsplit(":", 1)
    return level, metric, operations


def stat_recordings(plan: TermPlan, agent_label: str) -> tuple[StatRecording, ...] | None:
    """The recorded series of every stat of a term panel; None when a term has no recorded form
    (:func:`term_names`) or two series would share a name."""
    names = term_names(plan.terms)
    if names is None:
        return None
    recordings = tuple(_stat_recording(stat, plan, names, agent_label) for stat in plan.stats)
    series = [name for recording in recordings for name in (recording.agent_name, recording.fleet_name)]
    if len(set(series)) != len(series):
        return None
    return recordings


def _stat_recording(stat: TermStat, plan: TermPlan, names: tuple[str, ...], agent_label: str) -> StatRecording:
    """One stat's series, following :func:`~voicetop.sources.prometheus.terms.decode_terms`:
    per agent the ratio of its sums, for the fleet the ratio of everyone's sums (agent-less rows
    included), a missing numerator 0 only with ``zero_numerator``, a zero denominator NaN."""
    term_labels = (agent_label, plan.split_label) if plan.split_label else (agent_label,)
    agent_labels = term_labels if stat.split else (agent_label,)
    fleet_labels = agent_labels[1:]
    numerator = names[stat.numerator]
    _, metric, operations = _name_parts(numerator)
    denominator = names[stat.denominator] if stat.denominator is not None else None
    if denominator is not None:
        _, below, below_operations = _name_parts(denominator)
        metric = f"{metric}_per_{below}"
        same = below_operations == operations
        operations = f"ratio_{operations}" if same else f"ratio_{operations}_{below_operations}"

    def summed(name: str, labels: tuple[str, ...]) -> str:
        if labels == term_labels:
            return name
        return f"sum by ({', '.join(labels)}) ({name})" if labels else f"sum({name})"

    def value(labels: tuple[str, ...]) -> str:
        top = summed(numerator, labels)
        if denominator is None:
            return top
        bottom = summed(denominator, labels)
        if stat.zero_numerator:
            top = f"({top} or {bottom} * 0)"
        # x/0 is NaN, not ±Inf, as on the computed panels: it then ranks last in the server's topk
        return f"{top} / ({bottom} != 0) or {top} / {bottom} * NaN"

    agent_name = f"{'_'.join(agent_labels)}:{metric}:{operations}"
    fleet_name = f"{'_'.join(fleet_labels)}:{metric}:{operations}"
    rules = [(fleet_name, value(fleet_labels))]
    if agent_name != numerator:  # a single term per agent is the term's own recorded series
        rules.insert(0, (agent_name, value(agent_labels)))
    needs = (numerator,) if denominator is None else (denominator,) if stat.zero_numerator else (numerator, denominator)
    return StatRecording(stat.key, agent_name, fleet_name, tuple(rules), stat.split, stat.scale, needs)


def recording_rules(
    profile: MetricProfile, terms: Iterable[str] = (), stats: Iterable[StatRecording] = ()
) -> list[Mapping[str, object]]:
    """The rules of the recording group, in evaluation order (each level before its readers):
    the stage quantiles, each of ``terms`` (per-agent sums) that has a recorded form, then the
    series of the term panels' ``stats`` (read from the terms' series)."""
    rules: list[Mapping[str, object]] = []
    for stage in STAGES:
        recording = stage_recording(profile, stage)
        if recording is None:
            continue
        rules.append({"record": recording.bucket_rate, "expr": recording.bucket_rate_expr})
        for _, q in QUANTILES:
            per_agent, fleet = recording.quantile_exprs(q)
            labels = {QUANTILE_LABEL: quantile_label(q)}
            rules.append({"record": recording.agent_quantile, "expr": per_agent, "labels": labels})
            rules.append({"record": recording.fleet_quantile, "expr": fleet, "labels": labels})
    recorded: set[str] = set()
    for term in terms:
        name = term_record_name(term)
        if name is not None and name not in recorded:
            recorded.add(name)
            rules.append({"record": name, "expr": term})
    for stat in stats:
        for name, expr in stat.rules:
            if name not in recorded:
                recorded.add(name)
                rules.append({"record": name, "expr": expr})
    return rules
