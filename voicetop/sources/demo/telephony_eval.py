"""Evaluate the demo's telephony stats per node and fleet, as the livekit-server PromQL would.

Mirrors voicetop.profiles.telephony over the demo nodes' stored rows: gauges
are summed, counters and histogram buckets go through the same ``rate()``
(5m) as the agent stats, quantiles through ``histogram_quantile``.  Media
stats exist for media nodes, SIP stats for SIP nodes, like ``sum by (node_id)``
over each family.  Evaluated steps are cached once the store holds them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from voicetop.domain.model import Series, Window
from voicetop.domain.stats import histogram_quantile
from voicetop.sources.demo.telephony import COUNTERS, GAUGES, HISTOGRAMS

if TYPE_CHECKING:
    from voicetop.sources.demo.telephony import DemoTelephony

RATE_RANGE = 300.0
MEDIA_GAUGES = ("rooms", "participants", "tracks_published", "tracks_subscribed")

Values = dict[str, dict[str | None, float]]  # stat -> node (None = fleet) -> value


def _ratio(num: float, den: float) -> float:
    if math.isnan(num) or math.isnan(den) or den == 0:
        return math.nan
    return num / den


#: Per histogram: its bucket bounds (+Inf last) and the stored keys of those buckets.
_BUCKETS = {
    name: ([float(b) for b in bounds] + [math.inf], [f"{name}:{b:g}" for b in bounds] + [f"{name}:+Inf"])
    for name, bounds in HISTOGRAMS.items()
}


def _media_stats(get, gauge) -> dict[str, float]:
    """Media stats from rate/gauge getters of one node (or the fleet's sums)."""
    def buckets(name: str) -> list[tuple[float, float]]:
        bounds, keys = _BUCKETS[name]
        return [(b, get(k)) for b, k in zip(bounds, keys)]

    out = {key: gauge(key) for key in MEDIA_GAUGES}
    joined = _ratio(get("joins_connected"), get("joins_attempted"))
    out["join_success_rate"] = joined if math.isnan(joined) else min(1.0, joined)  # clamp_max(…, 1)
    out["packet_loss_in"] = _ratio(get("loss_in_sum"), get("loss_in_count")) / 100
    out["packet_loss_out"] = _ratio(get("loss_out_sum"), get("loss_out_count")) / 100
    out["jitter_p95"] = histogram_quantile(0.95, buckets("jitter")) / 1000
    out["rtt_p95"] = histogram_quantile(0.95, buckets("rtt"))
    out["nack_rate"] = get("nacks")
    out["pli_rate"] = get("plis")
    rating = dict(buckets("rating"))
    total = rating[math.inf]
    out["quality_poor"] = _ratio(rating[0.0], total)
    out["quality_good"] = _ratio(rating[1.0] - rating[0.0], total)
    out["quality_excellent"] = _ratio(rating[2.0] - rating[1.0], total)
    out["quality_lost"] = _ratio(total - rating[2.0], total)
    out["quality_score_p50"] = histogram_quantile(0.5, buckets("score"))
    return out


class TelephonyEvaluator:
    """Telephony stat series of a :class:`DemoTelephony` over a window."""

    def __init__(self, telephony: "DemoTelephony") -> None:
        self.telephony = telephony
        store = telephony.store
        self._rate_keys = [c for c in store.columns if c[1] not in GAUGES]
        self._rate_pos = {c: i for i, c in enumerate(self._rate_keys)}
        self._rate_cols = [store.index[c] for c in self._rate_keys]
        self._cache: dict[float, Values] = {}
        self.evaluations = 0

    def evaluate(self, t: float) -> Values:
        store = self.telephony.store
        rates = store.rates(t, RATE_RANGE, self._rate_cols)
        row_index = store.instant_row(t)
        row = store.row(row_index) if row_index is not None else None
        out: Values = {}

        def node_getters(nodes):
            def get(key: str) -> float:
                if len(nodes) == 1:
                    return rates[self._rate_pos[(nodes[0], key)]]
                found = [rates[self._rate_pos[(n, key)]] for n in nodes]
                found = [v for v in found if v == v]
                return sum(found) if found else math.nan

            def gauge(key: str) -> float:
                if row is None:
                    return math.nan
                return sum(row[store.index[(n, key)]] for n in nodes)
            return get, gauge

        media, sip = self.telephony.media_nodes, self.telephony.sip_nodes
        for scope, nodes in [(None, media)] + [(n, (n,)) for n in media]:
            for key, value in _media_stats(*node_getters(nodes)).items():
                out.setdefault(key, {})[scope] = value
        if sip:
            for scope, nodes in [(None, sip)] + [(n, (n,)) for n in sip]:
                get, gauge = node_getters(nodes)
                out.setdefault("sip_calls_active", {})[scope] = gauge("sip_calls_active")
                out.setdefault("sip_invite_error_rate", {})[scope] = _ratio(get("sip_errors"), get("sip_invites"))
        return out

    def _step(self, t: float) -> Values:
        key = round(t, 3)
        found = self._cache.get(key)
        if found is None:
            found = self.evaluate(t)
            self.evaluations += 1
            last = self.telephony.store.last_time
            if last is not None and t <= last:
                self._cache[key] = found
                if len(self._cache) > 4096:
                    for old in sorted(self._cache)[:1024]:
                        del self._cache[old]
        return found

    def cached(self, stamps) -> bool:
        """Whether every one of these steps is evaluated and final."""
        return all(round(t, 3) in self._cache for t in stamps)

    def series(self, window: Window) -> dict[str, dict[str | None, Series]]:
        """``{stat: {node or None: Series}}`` over the window's steps."""
        stamps = window.timestamps()
        steps = [self._step(t) for t in stamps]
        if not steps:
            return {}
        return {
            key: {scope: Series(stamps, tuple(step[key][scope] for step in steps)) for scope in per_scope}
            for key, per_scope in steps[0].items()
        }


__all__ = ["COUNTERS", "TelephonyEvaluator"]
