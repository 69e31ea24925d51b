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
and per term ``sum by (A[, component]) (rate(Y{outcome="success"}[W]))``:
``A[_component]:Y[_outcome_success]:rateW`` (a gauge's sum: ``A:Y:sum``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from voicetop.domain.model import QUANTILES, STAGES
from voicetop.profiles.metrics import MetricProfile, promql_duration

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

    def selector(self, max_agents: int) -> str:
        """The query that reads the recorded quantiles of the stage: the fleet's, and per agent the
        ``max_agents`` highest of each quantile at each step (the bucket path's ``topk``).

        The server keeps the top per quantile, so a fleet over ``max_agents``
        sends only the rows the console keeps (half of them at 1,000 agents and
        the default 500); below it the ``topk`` keeps every row.
        """
        return f"topk by ({QUANTILE_LABEL}) ({max_agents}, {self.agent_quantile}) or {self.fleet_quantile}"


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


def recording_rules(profile: MetricProfile, terms: Iterable[str] = ()) -> list[Mapping[str, object]]:
    """The rules of the recording group, in evaluation order (each level before its readers):
    the stage quantiles, then each of ``terms`` (per-agent sums) that has a recorded form."""
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
    return rules
