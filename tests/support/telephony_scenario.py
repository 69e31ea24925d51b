"""LiveKit server and SIP metrics history, in the names, types and ``le`` strings the servers write.

Two media nodes (``nd-a``, ``nd-b``, ``node_type="SERVER"``) and one SIP node
(``sip-1``, ``node_id`` only) every 15 s.  Counters keep the Go client's names
(``livekit_packet_total``; ``livekit_sip_invite_requests`` with no ``_total``),
histogram buckets are the server's own (pkg/telemetry/prometheus) written as
its text format writes floats (``le="1e+06"``, ``le="0.1"``, ``le="0"``).

During ``[incident_start, incident_end)`` node ``nd-b`` degrades: incoming
packet loss 8 % (fleet 4.1 %: critical), jitter 40 ms (fleet p95 48 ms:
warning), RTT 300 ms (fleet p95 475 ms: warning), 1 poor + 1 lost of 10
quality ratings (fleet 10 %: warning), half its joins fail (fleet 71 %:
critical) and a third of the SIP invites fail (critical).  Agent ``support``'s
WER rises to 9 % in that window; agent ``sales``' WER rises to 7 % in
``[quiet_start, quiet_end)`` while the media is healthy.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.support.scenario import Scenario, families

NODES = ("nd-a", "nd-b")
SIP_NODE = "sip-1"
LOSS_BUCKETS = (0.0, 0.1, 0.3, 0.5, 0.7, 1, 5, 10, 40, 100)
JITTER_BUCKETS = (1000, 10000, 30000, 50000, 70000, 100000, 300000, 600000, 1000000)
RTT_BUCKETS = (50, 100, 150, 200, 250, 500, 750, 1000, 5000, 10000)
RATING_BUCKETS = (0, 1, 2)
SCORE_BUCKETS = (1.0, 2.0, 2.5, 3.0, 3.25, 3.5, 3.75, 4.0, 4.25, 4.5)
STREAM = {"source": "MICROPHONE", "type": "AUDIO"}
TRUNK = "trunk.example.com"

Sample = tuple[str, dict, list[tuple[float, float]]]  # sample name, labels, points
Family = tuple[str, str, list[Sample]]  # name, type, samples


def go_float(value: float) -> str:
    """A float as the Go client's text format writes it (strconv 'g', shortest)."""
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    text = repr(float(value))
    if "e" in text or abs(value) >= 1e6:
        mantissa, _, exponent = f"{value:g}".partition("e")
        return f"{mantissa}e{exponent[0]}{int(exponent[1:]):02d}" if exponent else mantissa
    return text


@dataclass(frozen=True)
class TelephonyScenario:
    base: Scenario
    incident_start: float
    incident_end: float
    quiet_start: float
    quiet_end: float
    sip: bool = True
    quality: bool = True

    def degraded(self, node: str, t: float) -> bool:
        return node == "nd-b" and self.incident_start <= t < self.incident_end


def telephony_scenario(base: Scenario, sip: bool = True, quality: bool = True) -> TelephonyScenario:
    """Incident at T0+60m..T0+80m (with the base scenario's), quiet WER breach at T0+20m..T0+40m."""
    t0 = base.start
    return TelephonyScenario(base, t0 + 3600, t0 + 4800, t0 + 1200, t0 + 2400, sip, quality)


class _Histogram:
    """Cumulative buckets, sum and count of one labelled histogram over time."""

    def __init__(self, name: str, labels: dict, bounds: tuple) -> None:
        self.name, self.labels, self.bounds = name, labels, bounds
        self.counts = [0.0] * len(bounds)
        self.inf = self.total = 0.0
        self.points: dict[str, list] = {}

    def observe(self, value: float, times: int = 1) -> None:
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[i] += times
        self.inf += times
        self.total += value * times

    def record(self, t: float) -> None:
        for bound, count in zip(self.bounds, self.counts):
            self.points.setdefault(go_float(bound), []).append((t, count))
        self.points.setdefault("+Inf", []).append((t, self.inf))
        self.points.setdefault("_count", []).append((t, self.inf))
        self.points.setdefault("_sum", []).append((t, self.total))

    def samples(self) -> list[Sample]:
        out = [(f"{self.name}_bucket", {**self.labels, "le": le}, pts) for le, pts in self.points.items() if not le.startswith("_")]
        out.append((f"{self.name}_count", dict(self.labels), self.points["_count"]))
        out.append((f"{self.name}_sum", dict(self.labels), self.points["_sum"]))
        return out


def _node(node: str) -> dict:
    return {"node_id": node, "node_type": "SERVER"}


def telephony_families(ts: TelephonyScenario) -> list[Family]:
    times = ts.base.timestamps()
    gauges: dict[str, list[Sample]] = {}
    counters: dict[str, dict[tuple, list]] = {}
    hists: dict[str, list[_Histogram]] = {}

    def hist(name: str, labels: dict, bounds: tuple) -> _Histogram:
        for h in hists.setdefault(name, []):
            if h.labels == labels:
                return h
        made = _Histogram(name, labels, bounds)
        hists[name].append(made)
        return made

    totals: dict[tuple, float] = {}

    def count(name: str, labels: dict, t: float, add: float) -> None:
        key = (name, tuple(sorted(labels.items())))
        totals[key] = totals.get(key, 0.0) + add
        counters.setdefault(name, {}).setdefault(key, []).append((t, totals[key]))

    def gauge(name: str, labels: dict, t: float, value: float) -> None:
        for sample_name, lbl, pts in gauges.setdefault(name, []):
            if lbl == labels:
                pts.append((t, value))
                return
        gauges[name].append((name, labels, [(t, value)]))

    for i, t in enumerate(times):
        for node in NODES:
            bad = ts.degraded(node, t)
            rooms = 40 if node == "nd-a" else 20
            labels = _node(node)
            gauge("livekit_room_total", labels, t, rooms)
            gauge("livekit_participant_total", labels, t, 2 * rooms)
            gauge("livekit_track_published_total", {**labels, "kind": "audio"}, t, 2 * rooms)
            gauge("livekit_track_subscribed_total", {**labels, "kind": "audio"}, t, 2 * rooms)
            joins = 4 if node == "nd-a" else 2
            if i > 0:
                count("livekit_participant_join_total", {**labels, "state": "signal_connected"}, t, joins)
                count("livekit_participant_join_total", {**labels, "state": "rtc_init"}, t, joins)
                count("livekit_participant_join_total", {**labels, "state": "rtc_connected"}, t, joins - (1 if bad else 0))
                count("livekit_participant_join_total", {**labels, "state": "signal_failed"}, t, 1 if bad else 0)
            for direction in ("incoming", "outgoing"):
                stream = {**labels, "direction": direction, **STREAM}
                loss = 8.0 if bad and direction == "incoming" else 0.2
                if i > 0:
                    hist("livekit_packet_loss_percent", stream, LOSS_BUCKETS).observe(loss, 4)
                    hist("livekit_jitter_us", stream, JITTER_BUCKETS).observe(40000 if bad else 8000, 4)
                    hist("livekit_rtt_ms", stream, RTT_BUCKETS).observe(300 if bad else 80, 4)
                    count("livekit_packet_total", {**labels, "direction": direction, "transmission": "initial"}, t, 3000)
                    count("livekit_packet_total", {**labels, "direction": direction, "transmission": "retransmit"}, t, 30 * loss)
                    count("livekit_packet_loss_total", stream, t, 30 * loss)
                    count("livekit_nack_total", {**labels, "direction": direction}, t, 25 * loss)
                    count("livekit_pli_total", {**labels, "direction": direction}, t, 0)
                for h in (hist("livekit_packet_loss_percent", stream, LOSS_BUCKETS),
                          hist("livekit_jitter_us", stream, JITTER_BUCKETS), hist("livekit_rtt_ms", stream, RTT_BUCKETS)):
                    h.record(t)
            if ts.quality:
                quality = {**labels, "env": "prod"}
                rating = hist("livekit_quality_rating", quality, RATING_BUCKETS)
                score = hist("livekit_quality_score", quality, SCORE_BUCKETS)
                if i > 0:
                    spread = {0: 1, 1: 3, 2: 5, 3: 1} if bad else {1: 2, 2: 8}
                    for value, n in spread.items():
                        rating.observe(value, n)
                    score.observe(3.1 if bad else 4.3, 10)
                rating.record(t)
                score.record(t)
        if ts.sip:
            sip = {"node_id": SIP_NODE}
            bad = ts.incident_start <= t < ts.incident_end
            gauge("livekit_sip_calls_active", {**sip, "dir": "in", "to": TRUNK}, t, 12)
            if i > 0:
                count("livekit_sip_invite_requests", {**sip, "dir": "in"}, t, 3)
                count("livekit_sip_invite_error", {**sip, "dir": "in", "to": TRUNK, "reason": "no-trunk"}, t, 1 if bad else 0)
                count("livekit_sip_calls_terminated", {**sip, "dir": "in", "to": TRUNK, "reason": "bye"}, t, 3)
    result: list[Family] = []
    for name, samples in gauges.items():
        result.append((name, "gauge", samples))
    for name, per_series in counters.items():
        result.append((name, "counter", [(name, dict(key[1]), pts) for key, pts in per_series.items()]))
    for name, items in hists.items():
        result.append((name, "histogram", [s for h in items for s in h.samples()]))
    return result


def agent_families(ts: TelephonyScenario) -> list[Family]:
    """The base scenario's agent metrics, WER rising for ``support`` (incident) and ``sales`` (quiet)."""
    out: list[Family] = []
    for name, kind, _, series in families(ts.base):
        if name == "livekit_asr_wer":
            continue
        samples: list[Sample] = []
        for item in series:
            if kind == "histogram":
                suffix, labels, points = item
                samples.append((name + suffix, labels, points))
            else:
                labels, points = item
                samples.append((name + "_total" if kind == "counter" else name, labels, points))
        out.append((name, kind, samples))
    wer = []
    for agent in ts.base.agents:
        points = []
        for t in ts.base.timestamps():
            value = 0.03
            if agent == "support" and ts.incident_start <= t < ts.incident_end:
                value = 0.09
            if agent == "sales" and ts.quiet_start <= t < ts.quiet_end:
                value = 0.07
            points.append((t, value))
        wer.append(("livekit_asr_wer", {"agent_id": agent}, points))
    out.append(("livekit_asr_wer", "gauge", wer))
    return out


def to_openmetrics(family_list: list[Family]) -> str:
    """OpenMetrics text for promtool backfill; sample names are written as given."""
    lines: list[str] = []
    for name, kind, samples in family_list:
        lines.append(f"# HELP {name} {name.replace('_', ' ')}")
        lines.append(f"# TYPE {name} {kind}")
        for sample_name, labels, points in samples:
            label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
            for t, value in points:
                lines.append(f"{sample_name}{{{label_text}}} {value!r} {t:.3f}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"
