"""The ``livekit-server`` telephony profile: PromQL for the LiveKit media server and SIP service.

The LiveKit server exports Prometheus metrics when its config has
``prometheus: {port: …}``; every series carries ``node_id`` and ``node_type``
(the SIP service: ``node_id`` only), and the Go client adds no ``_total``
suffix of its own, so ``livekit_sip_invite_requests`` is a counter as named.
Families read here (issue #10)::

    livekit_room_total, livekit_participant_total           gauges
    livekit_track_published_total / _subscribed_total       gauges {kind}
    livekit_participant_join_total{state}                   counter: signal_connected, signal_failed,
                                                            rtc_init, rtc_connected (the join funnel)
    livekit_packet_loss_percent{direction,source,type}      histogram, % per stream report
    livekit_jitter_us, livekit_rtt_ms                       histograms, µs and ms
    livekit_nack_total, livekit_pli_total {direction}       counters
    livekit_quality_rating                                  histogram: le 0 poor, 1 good, 2 excellent, above lost
    livekit_quality_score                                   histogram, MOS-like, max 4.5
    livekit_session_join_latency_ms                         histogram (newer servers)
    livekit_forward_latency_ns                              gauge (when forward stats are enabled)
    livekit_sip_calls_active                                gauge {dir,to}
    livekit_sip_invite_requests, livekit_sip_invite_error   counters {dir}, {dir,to,reason}

A missing family yields no series (its console panel hides), never an error.
``le`` values are matched numerically (``"2"`` from the Go text format,
``"2.0"`` from OpenMetrics or Prometheus 3 both match).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from voicetop.domain.telephony import SOURCE_KEYS
from voicetop.profiles.metrics import StatExpr, promql_duration

#: Metric role -> name exported by the LiveKit server and SIP service.
LIVEKIT_SERVER_METRICS: Mapping[str, str] = {
    "rooms": "livekit_room_total",
    "participants": "livekit_participant_total",
    "tracks_published": "livekit_track_published_total",
    "tracks_subscribed": "livekit_track_subscribed_total",
    "joins": "livekit_participant_join_total",
    "join_latency": "livekit_session_join_latency_ms",
    "packets": "livekit_packet_total",
    "packets_lost": "livekit_packet_loss_total",
    "loss_percent": "livekit_packet_loss_percent",
    "jitter": "livekit_jitter_us",
    "rtt": "livekit_rtt_ms",
    "nacks": "livekit_nack_total",
    "plis": "livekit_pli_total",
    "quality_rating": "livekit_quality_rating",
    "quality_score": "livekit_quality_score",
    "forward_latency": "livekit_forward_latency_ns",
    "sip_calls_active": "livekit_sip_calls_active",
    "sip_invites": "livekit_sip_invite_requests",
    "sip_invite_errors": "livekit_sip_invite_error",
    "sip_calls_terminated": "livekit_sip_calls_terminated",
}

#: ``le`` matchers for the quality-rating buckets (0 poor, 1 good, 2 excellent).
_LE = {q: rf'le=~"{q}(\\.0+)?"' for q in ("0", "1", "2")}
_JOINS = 'state=~"signal_connected|signal_failed"'
_RATE = "rate({m}{sel}[{rw}])"

#: Stat key -> PromQL template.  ``{by}`` is ``by (node)`` or empty (fleet), ``{le}``
#: the histogram grouping, ``{rw}`` the rate window, other names metric roles.
TEMPLATES: Mapping[str, str] = {
    "rooms": "sum {by} ({rooms})",
    "participants": "sum {by} ({participants})",
    "tracks_published": "sum {by} ({tracks_published})",
    "tracks_subscribed": "sum {by} ({tracks_subscribed})",
    "join_success_rate": (
        'clamp_max((sum {by} (rate({joins}{{state="rtc_connected"}}[{rw}]))'
        f" or sum {{by}} (rate({{joins}}{{{{{_JOINS}}}}}[{{rw}}])) * 0)"
        f" / sum {{by}} (rate({{joins}}{{{{{_JOINS}}}}}[{{rw}}])), 1)"
    ),
    "join_latency_p95": "histogram_quantile(0.95, sum by ({le}) (rate({join_latency}_bucket[{rw}])))",
    "packet_loss_in": (
        'sum {by} (rate({loss_percent}_sum{{direction="incoming"}}[{rw}]))'
        ' / sum {by} (rate({loss_percent}_count{{direction="incoming"}}[{rw}])) / 100'
    ),
    "packet_loss_out": (
        'sum {by} (rate({loss_percent}_sum{{direction="outgoing"}}[{rw}]))'
        ' / sum {by} (rate({loss_percent}_count{{direction="outgoing"}}[{rw}])) / 100'
    ),
    "jitter_p95": "histogram_quantile(0.95, sum by ({le}) (rate({jitter}_bucket[{rw}]))) / 1000",
    "rtt_p95": "histogram_quantile(0.95, sum by ({le}) (rate({rtt}_bucket[{rw}])))",
    "nack_rate": "sum {by} (rate({nacks}[{rw}]))",
    "pli_rate": "sum {by} (rate({plis}[{rw}]))",
    "forward_latency": "avg {by} ({forward_latency}) / 1e6",
    "quality_poor": (
        f"sum {{by}} (rate({{quality_rating}}_bucket{{{{{_LE['0']}}}}}[{{rw}}]))"
        " / sum {by} (rate({quality_rating}_count[{rw}]))"
    ),
    "quality_good": (
        f"(sum {{by}} (rate({{quality_rating}}_bucket{{{{{_LE['1']}}}}}[{{rw}}]))"
        f" - sum {{by}} (rate({{quality_rating}}_bucket{{{{{_LE['0']}}}}}[{{rw}}])))"
        " / sum {by} (rate({quality_rating}_count[{rw}]))"
    ),
    "quality_excellent": (
        f"(sum {{by}} (rate({{quality_rating}}_bucket{{{{{_LE['2']}}}}}[{{rw}}]))"
        f" - sum {{by}} (rate({{quality_rating}}_bucket{{{{{_LE['1']}}}}}[{{rw}}])))"
        " / sum {by} (rate({quality_rating}_count[{rw}]))"
    ),
    "quality_lost": (
        "(sum {by} (rate({quality_rating}_count[{rw}]))"
        f" - sum {{by}} (rate({{quality_rating}}_bucket{{{{{_LE['2']}}}}}[{{rw}}])))"
        " / sum {by} (rate({quality_rating}_count[{rw}]))"
    ),
    "quality_score_p50": "histogram_quantile(0.5, sum by ({le}) (rate({quality_score}_bucket[{rw}])))",
    "sip_calls_active": "sum {by} ({sip_calls_active})",
    "sip_invite_error_rate": (
        "(sum {by} (rate({sip_invite_errors}[{rw}])) or sum {by} (rate({sip_invites}[{rw}])) * 0)"
        " / sum {by} (rate({sip_invites}[{rw}]))"
    ),
}

#: One range query per group, whatever the number of nodes (fleet and per node together).
QUERY_GROUPS: Mapping[str, tuple[str, ...]] = {
    "rooms": ("rooms", "participants", "tracks_published", "tracks_subscribed"),
    "joins": ("join_success_rate", "join_latency_p95"),
    "media": ("packet_loss_in", "packet_loss_out", "jitter_p95", "rtt_p95", "nack_rate", "pli_rate", "forward_latency"),
    "quality": ("quality_poor", "quality_good", "quality_excellent", "quality_lost", "quality_score_p50"),
    "sip": ("sip_calls_active", "sip_invite_error_rate"),
}


@dataclass(frozen=True)
class TelephonyProfile:
    """How the telephony stats map to PromQL: metric names, node label, rate window."""

    name: str = "livekit-server"
    node_label: str = "node_id"
    rate_window: float = 300.0
    max_nodes: int = 200
    metrics: Mapping[str, str] = field(default_factory=lambda: dict(LIVEKIT_SERVER_METRICS))

    def _fill(self, template: str, fleet: bool) -> str:
        return template.format(
            by="" if fleet else f"by ({self.node_label})",
            le="le" if fleet else f"le, {self.node_label}",
            rw=promql_duration(self.rate_window),
            **self.metrics,
        )

    def stat_expr(self, key: str) -> StatExpr:
        """PromQL of one telephony stat: per node (keeps the node label) and fleet-wide."""
        template = TEMPLATES[key]
        return StatExpr(key, self._fill(template, False), self._fill(template, True))

    def groups(self) -> dict[str, list[StatExpr]]:
        """The stat expressions of each query group."""
        return {group: [self.stat_expr(k) for k in keys] for group, keys in QUERY_GROUPS.items()}

    def node_expr(self, key: str) -> str:
        """Per-node PromQL of any telephony stat, derived ones included (for alerting rules).

        ``packet_loss`` is the worse direction, ``poor_quality_share`` poor + lost,
        as :func:`voicetop.domain.telephony.with_derived` computes them.
        """
        if key == "packet_loss":
            parts = (
                f'label_replace({self.stat_expr(f"packet_loss_{d}").agent}, "direction", "{d}", "", "")'
                for d in ("in", "out")
            )
            return f"max by ({self.node_label}) ({' or '.join(parts)})"
        if key == "poor_quality_share":
            return f"({self.stat_expr('quality_poor').agent}) + ({self.stat_expr('quality_lost').agent})"
        return self.stat_expr(key).agent


LIVEKIT_SERVER = TelephonyProfile()
TELEPHONY_PROFILES: Mapping[str, TelephonyProfile] = {LIVEKIT_SERVER.name: LIVEKIT_SERVER}

assert set(TEMPLATES) == set(SOURCE_KEYS) == {k for keys in QUERY_GROUPS.values() for k in keys}

__all__ = ["LIVEKIT_SERVER", "LIVEKIT_SERVER_METRICS", "QUERY_GROUPS", "TELEPHONY_PROFILES", "TelephonyProfile"]
