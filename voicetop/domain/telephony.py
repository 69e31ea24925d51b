"""Telephony figures of a frame: LiveKit server rooms, media quality, joins and SIP (issue #10).

A metrics source that reads the ``livekit-server`` profile publishes telephony
stat series per node in ``MetricsResult.telephony`` (node ``None`` = the
fleet).  Here they become a :class:`TelephonyStats`, fleet-wide breaches of
the telephony thresholds, and the media-quality correlation added to the hint
of STT and WER breaches: the telephony figures over the breach's own run and
whether media quality is the likely cause.  Pure: no I/O, no Textual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

from voicetop.domain.model import Breach, MetricsResult, Series
from voicetop.domain.text import safe_text
from voicetop.domain.thresholds import ThresholdSet, evaluate_rule

#: Every telephony stat: key -> (label, unit).  Ratios are 0–1, times in ms.
STATS: Mapping[str, tuple[str, str]] = {
    "rooms": ("Rooms", "count"),
    "participants": ("Participants", "count"),
    "tracks_published": ("Tracks published", "count"),
    "tracks_subscribed": ("Tracks subscribed", "count"),
    "join_success_rate": ("Join success", "ratio"),
    "join_latency_p95": ("Join latency p95", "ms"),
    "packet_loss_in": ("Loss in", "ratio"),
    "packet_loss_out": ("Loss out", "ratio"),
    "packet_loss": ("Packet loss", "ratio"),
    "jitter_p95": ("Jitter p95", "ms"),
    "rtt_p95": ("RTT p95", "ms"),
    "nack_rate": ("NACKs", "per_second"),
    "pli_rate": ("PLIs", "per_second"),
    "forward_latency": ("Forward latency", "ms"),
    "quality_poor": ("Poor", "ratio"),
    "quality_good": ("Good", "ratio"),
    "quality_excellent": ("Excellent", "ratio"),
    "quality_lost": ("Lost", "ratio"),
    "poor_quality_share": ("Poor/lost quality", "ratio"),
    "quality_score_p50": ("Quality score p50", "score"),
    "sip_calls_active": ("SIP calls", "count"),
    "sip_invite_error_rate": ("SIP invite errors", "ratio"),
}

#: Stats computed here from others: key -> the stats they combine.
DERIVED: Mapping[str, tuple[str, ...]] = {
    "packet_loss": ("packet_loss_in", "packet_loss_out"),  # the worse direction
    "poor_quality_share": ("quality_poor", "quality_lost"),  # their sum
}

#: The stats a source publishes (everything not derived).
SOURCE_KEYS: tuple[str, ...] = tuple(k for k in STATS if k not in DERIVED)

#: Console panels and the stats that make each one appear (hidden when all are absent).
PANELS: Mapping[str, tuple[str, ...]] = {
    "rooms": ("rooms", "participants"),
    "joins": ("join_success_rate", "join_latency_p95"),
    "loss": ("packet_loss_in", "packet_loss_out"),
    "jitter": ("jitter_p95",),
    "rtt": ("rtt_p95",),
    "quality": ("quality_poor", "quality_good", "quality_excellent", "quality_lost", "quality_score_p50"),
    "sip": ("sip_calls_active", "sip_invite_error_rate"),
}

#: Agent breaches that get the media-quality correlation (STT latency and WER).
CORRELATED_PREFIXES: tuple[str, ...] = ("stt_", "wer")
#: Telephony stats that can explain poor transcription, in tie-break order.
MEDIA_SUSPECTS: tuple[str, ...] = ("packet_loss", "jitter_p95", "poor_quality_share")
#: Figures quoted in a correlated hint.
QUOTED: tuple[tuple[str, str], ...] = (
    ("packet_loss_in", "loss in"), ("packet_loss_out", "out"), ("jitter_p95", "jitter p95"),
    ("rtt_p95", "RTT p95"), ("poor_quality_share", "poor/lost"),
)


def fmt_value(value: float | None, unit: str) -> str:
    """A telephony figure in its display unit (``1.6%``, ``41ms``, ``3.92``)."""
    if value is None or math.isnan(value):
        return "–"
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "ms":
        return f"{value:.0f}ms"
    if unit == "score":
        return f"{value:.2f}"
    if unit == "per_second":
        return f"{value:.1f}/s"
    return f"{value:.0f}"


def _mean(series: Series | None, since: float, until: float) -> float | None:
    if series is None:
        return None
    values = [v for t, v in zip(series.timestamps, series.values) if since <= t <= until and not math.isnan(v)]
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class NodeTelephony:
    """Telephony series of one node (``node_id`` None: the whole fleet)."""

    node_id: str | None
    series: Mapping[str, Series]

    def value(self, key: str) -> float | None:
        found = self.series.get(key)
        return None if found is None else found.last()

    def mean(self, key: str, since: float, until: float) -> float | None:
        """Average of the key's values with timestamps in ``[since, until]``."""
        return _mean(self.series.get(key), since, until)

    def has_data(self, key: str) -> bool:
        found = self.series.get(key)
        return found is not None and bool(found.finite_values())


@dataclass(frozen=True)
class TelephonyStats:
    """The fleet's and every node's telephony series over a frame's window."""

    fleet: NodeTelephony
    nodes: tuple[NodeTelephony, ...] = ()
    errors: Mapping[str, str] = field(default_factory=dict)

    def value(self, key: str) -> float | None:
        """The fleet's latest value of a stat."""
        return self.fleet.value(key)

    def series(self, key: str) -> Series | None:
        return self.fleet.series.get(key)

    def node(self, node_id: str) -> NodeTelephony | None:
        return next((n for n in self.nodes if n.node_id == node_id), None)

    def has(self, panel: str) -> bool:
        """True when any stat of the panel has data (fleet or a node)."""
        keys = PANELS[panel]
        return any(part.has_data(key) for part in (self.fleet, *self.nodes) for key in keys)

    def panels(self) -> tuple[str, ...]:
        """The panels with data, in display order."""
        return tuple(panel for panel in PANELS if self.has(panel))

    def worst_node(self, key: str, since: float, until: float, direction: str = "above") -> tuple[str, float] | None:
        """The node whose average of ``key`` over ``[since, until]`` is worst."""
        found = [(n.node_id, n.mean(key, since, until)) for n in self.nodes if n.node_id is not None]
        found = [(node, value) for node, value in found if value is not None]
        if not found:
            return None
        pick = max if direction == "above" else min
        return pick(found, key=lambda item: item[1])


# -- building -------------------------------------------------------------------
def _combine(a: Series | None, b: Series | None, how) -> Series | None:
    if a is None or b is None:
        return a if b is None else b
    if len(a) != len(b):
        return a
    values = []
    for x, y in zip(a.values, b.values):
        if math.isnan(x) or math.isnan(y):
            values.append(y if math.isnan(x) else x)
        else:
            values.append(how(x, y))
    return Series(a.timestamps, tuple(values))


def with_derived(series: Mapping[str, Series]) -> dict[str, Series]:
    """A node's series plus ``packet_loss`` (worse direction) and ``poor_quality_share`` (poor + lost)."""
    out = dict(series)
    loss = _combine(series.get("packet_loss_in"), series.get("packet_loss_out"), max)
    if loss is not None:
        out["packet_loss"] = loss
    poor = _combine(series.get("quality_poor"), series.get("quality_lost"), lambda x, y: x + y)
    if poor is not None:
        out["poor_quality_share"] = poor
    return out


def build_telephony(
    series: Mapping[str, Mapping[str | None, Series]], errors: Mapping[str, str] | None = None
) -> TelephonyStats | None:
    """Per-node telephony stats from ``{stat: {node or None: Series}}``; None when empty."""
    if not series:
        return None
    by_node: dict[str | None, dict[str, Series]] = {}
    for key, per_node in series.items():
        for node, values in per_node.items():
            by_node.setdefault(node, {})[key] = values
    fleet = NodeTelephony(None, with_derived(by_node.pop(None, {})))
    nodes = tuple(NodeTelephony(node, with_derived(by_node[node])) for node in sorted(n for n in by_node if n))
    return TelephonyStats(fleet, nodes, dict(errors or {}))


def _end(stats: TelephonyStats) -> float:
    stamps = [s.timestamps[-1] for s in stats.fleet.series.values() if s.timestamps]
    return max(stamps) if stamps else math.inf


def telephony_breaches(stats: TelephonyStats, thresholds: ThresholdSet) -> list[Breach]:
    """Breaches of the telephony thresholds: fleet-wide (the hint names the worst
    node) and, from each node's own series with the same ``for``, per node."""
    found: list[Breach] = []
    end = _end(stats)
    for rule in thresholds.telephony.values():
        series = stats.fleet.series.get(rule.key)
        for breach in evaluate_rule(rule, series, None) if series is not None else ():
            until = end if breach.until is None else breach.until
            worst = stats.worst_node(rule.key, breach.since, until, rule.direction)
            if worst is not None and len(stats.nodes) > 1:
                node, value = worst
                where = f"worst node {safe_text(node, 40)} {fmt_value(value, rule.unit)}"
                breach = replace(breach, hint=f"{where} · {breach.hint}" if breach.hint else where)
            found.append(breach)
        found.extend(node_breaches(stats, rule))
    return found


def node_breaches(stats: TelephonyStats, rule) -> list[Breach]:
    """Breaches of one telephony rule on each node's own series (``Breach.node`` set)."""
    found: list[Breach] = []
    for node in stats.nodes:
        series = node.series.get(rule.key)
        if node.node_id is None or series is None:
            continue
        for breach in evaluate_rule(rule, series, None):
            where = f"node {safe_text(node.node_id, 40)}"
            found.append(replace(breach, node=node.node_id, hint=f"{where} · {breach.hint}" if breach.hint else where))
    return found


# -- correlation ------------------------------------------------------------------
@dataclass(frozen=True)
class MediaVerdict:
    """Whether media quality explains an STT/WER breach, from the figures over its run."""

    figures: Mapping[str, float | None]
    cause: str | None = None  # the suspect stat when media quality is the likely cause
    value: float | None = None
    limit: float | None = None
    node: str | None = None
    node_value: float | None = None

    @property
    def likely(self) -> bool:
        return self.cause is not None

    def figures_text(self) -> str:
        parts = [f"{label} {fmt_value(self.figures.get(key), STATS[key][1])}" for key, label in QUOTED]
        return ", ".join(parts)

    def text(self) -> str:
        """One line, verdict first (the hint box may show only its start)."""
        if self.cause is None:
            return f"media quality is not the likely cause (telephony over the breach: {self.figures_text()})"
        label, unit = STATS[self.cause]
        limit = fmt_value(self.limit, unit)
        head = f"media quality is the likely cause: {label.lower()}"
        fleet_over = self.value is not None and self.limit is not None and self.value > self.limit
        if self.node is None:
            head += f" {fmt_value(self.value, unit)} > {limit}"
        elif fleet_over:
            head += f" {fmt_value(self.value, unit)} > {limit} (worst node {safe_text(self.node, 40)} {fmt_value(self.node_value, unit)})"
        else:
            head += (
                f" {fmt_value(self.node_value, unit)} > {limit} on node {safe_text(self.node, 40)}"
                f" (fleet {fmt_value(self.value, unit)})"
            )
        return f"{head} · telephony over the breach: {self.figures_text()}"


def media_verdict(stats: TelephonyStats, thresholds: ThresholdSet, since: float, until: float) -> MediaVerdict | None:
    """Telephony figures over ``[since, until]`` and the likeliest media cause; None without data."""
    keys = {key for key, _ in QUOTED} | set(MEDIA_SUSPECTS)
    figures = {key: stats.fleet.mean(key, since, until) for key in keys}
    if all(value is None for value in figures.values()):
        return None
    best: tuple[float, str, float | None, tuple[str, float] | None] | None = None
    for key in MEDIA_SUSPECTS:
        rule = thresholds.telephony.get(key)
        if rule is None or rule.warning <= 0:
            continue
        fleet_value = figures.get(key)
        worst = stats.worst_node(key, since, until) if len(stats.nodes) > 1 else None
        scores = [v / rule.warning for v in (fleet_value, worst[1] if worst else None) if v is not None]
        if not scores:
            continue
        score = max(scores)
        if score > 1.0 and (best is None or score > best[0]):
            best = (score, key, fleet_value, worst)
    if best is None:
        return MediaVerdict(figures)
    _, key, fleet_value, worst = best
    node, node_value = (worst if worst is not None and worst[1] > (fleet_value or 0.0) else (None, None))
    return MediaVerdict(figures, key, fleet_value, thresholds.telephony[key].warning, node, node_value)


def is_correlated(key: str) -> bool:
    """STT latency and WER breaches get the media-quality correlation."""
    return key.startswith(CORRELATED_PREFIXES)


def correlate(breach: Breach, stats: TelephonyStats, thresholds: ThresholdSet, end: float) -> Breach:
    """The breach with the media verdict for its own run put in front of its hint."""
    if not is_correlated(breach.key):
        return breach
    until = end if breach.until is None else breach.until
    verdict = media_verdict(stats, thresholds, breach.since, until)
    if verdict is None:
        return breach
    hint = verdict.text() if not breach.hint else f"{verdict.text()} · {breach.hint}"
    return replace(breach, hint=hint)


def with_telephony(
    result: MetricsResult, thresholds: ThresholdSet, breaches: Iterable[Breach]
) -> tuple[TelephonyStats | None, list[Breach]]:
    """The frame's telephony stats, and its breaches plus telephony ones, STT/WER hints correlated."""
    telephony_errors = {k: v for k, v in result.errors.items() if k in STATS}
    stats = build_telephony(result.telephony, telephony_errors)
    found = list(breaches)
    if stats is None:
        return None, found
    found.extend(telephony_breaches(stats, thresholds))
    end = result.window.end
    return stats, [correlate(b, stats, thresholds, end) for b in found]


__all__ = [
    "DERIVED", "MEDIA_SUSPECTS", "MediaVerdict", "NodeTelephony", "PANELS", "SOURCE_KEYS", "STATS",
    "TelephonyStats", "build_telephony", "correlate", "fmt_value", "media_verdict", "node_breaches",
    "telephony_breaches",
    "with_telephony",
]
