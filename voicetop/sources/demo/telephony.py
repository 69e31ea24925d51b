"""The demo's LiveKit media server and SIP service (issue #10), recorded through prometheus_client.

Every agent's rooms live on one media node (:data:`NODE_OF`).  At each scrape
tick the nodes follow the agents' own exported metrics: rooms and
participants track ``livekit_active_sessions``, joins track new sessions
(``livekit_sessions_completed_total`` + change in active), and a few stream
reports per node feed the loss, jitter, RTT and connection-quality
histograms.  Network impairments come from the incident timeline: the
STT-degradation incident is rising packet loss and jitter on its agent's node
(the same level drives the agent's WER and STT latency, see incidents.py).

Names, labels and buckets are the servers' (``node_id``/``node_type`` on media
series, ``node_id`` only on SIP series); the SIP counters keep the Go client's
names without ``_total`` via a small custom collector.  A row of node values
is kept per tick in a :class:`ScrapeStore` for :mod:`telephony_eval`.
"""

from __future__ import annotations

import math
import random
from typing import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric

from voicetop.sources.demo.catalog import AgentSpec
from voicetop.sources.demo.incidents import Timeline
from voicetop.sources.demo.instruments import add_counts
from voicetop.sources.demo.tsdb import ScrapeStore

LOSS_BUCKETS = (0.0, 0.1, 0.3, 0.5, 0.7, 1, 5, 10, 40, 100)
JITTER_BUCKETS = (1000, 10000, 30000, 50000, 70000, 100000, 300000, 600000, 1000000)
RTT_BUCKETS = (50, 100, 150, 200, 250, 500, 750, 1000, 5000, 10000)
RATING_BUCKETS = (0, 1, 2)
SCORE_BUCKETS = (1.0, 2.0, 2.5, 3.0, 3.25, 3.5, 3.75, 4.0, 4.25, 4.5)

#: Media nodes: node id -> (median RTT ms, healthy jitter ms).
NODES: dict[str, tuple[float, float]] = {
    "lk-us-east-1a": (45.0, 5.0),
    "lk-us-west-2a": (60.0, 6.0),
    "lk-eu-south-1a": (95.0, 7.0),
}
NODE_OF: dict[str, str] = {
    "billing-agent": "lk-us-east-1a", "support-en": "lk-us-east-1a", "booking": "lk-us-east-1a",
    "outbound-sales": "lk-us-east-1a", "pharmacy-refills": "lk-us-east-1a", "insurance-claims": "lk-us-east-1a",
    "triage": "lk-us-west-2a", "it-helpdesk": "lk-us-west-2a", "restaurant-orders": "lk-us-west-2a",
    "hr-benefits": "lk-us-west-2a", "appointments-de": "lk-us-west-2a",
    "support-es": "lk-eu-south-1a",
}
#: Agents reached over the phone: agent -> (SIP node, direction, trunk host).
SIP_OF: dict[str, tuple[str, str, str]] = {
    "billing-agent": ("sip-us-east-1a", "in", "sip.carrier-us.example"),
    "support-en": ("sip-us-east-1a", "in", "sip.carrier-us.example"),
    "pharmacy-refills": ("sip-us-east-1a", "in", "sip.carrier-us.example"),
    "outbound-sales": ("sip-us-east-1a", "out", "sip.carrier-us.example"),
    "support-es": ("sip-eu-south-1a", "in", "sip.carrier-es.example"),
}
PHONE_SHARE = 0.6  # of a phone agent's sessions are SIP calls
HEALTHY_LOSS_PCT = 0.15
JOIN_FAILURE = 0.001
INVITE_FAILURE = 0.006
PACKETS_PER_SECOND = 50.0
STREAM = ("MICROPHONE", "AUDIO")
ENV = "demo"

#: Per-node values stored each tick (cumulative counters and buckets, gauges).
GAUGES = ("rooms", "participants", "tracks_published", "tracks_subscribed", "sip_calls_active")
COUNTERS = ("joins_connected", "joins_attempted", "loss_in_sum", "loss_in_count", "loss_out_sum",
            "loss_out_count", "nacks", "plis", "sip_invites", "sip_errors")
HISTOGRAMS = {"jitter": JITTER_BUCKETS, "rtt": RTT_BUCKETS, "rating": RATING_BUCKETS, "score": SCORE_BUCKETS}


def node_of(agent_id: str) -> str:
    """The media node of an agent (clones ``x-2`` follow ``x``)."""
    base = agent_id.rsplit("-", 1)[0] if agent_id not in NODE_OF and agent_id[-1:].isdigit() else agent_id
    return NODE_OF.get(base, "lk-us-east-1a")


def sip_of(agent_id: str) -> tuple[str, str, str] | None:
    base = agent_id.rsplit("-", 1)[0] if agent_id not in SIP_OF and agent_id[-1:].isdigit() else agent_id
    return SIP_OF.get(base)


def store_columns(nodes: Sequence[str]) -> list[tuple[str, str]]:
    columns = [(n, k) for n in nodes for k in GAUGES + COUNTERS]
    for n in nodes:
        for name, bounds in HISTOGRAMS.items():
            columns += [(n, f"{name}:{b:g}") for b in bounds] + [(n, f"{name}:+Inf")]
    return columns


class _SipCounters:
    """The SIP service's counters, exposed under their own names (no ``_total``)."""

    FAMILIES = {
        "livekit_sip_invite_requests": ("Number of valid SIP INVITE requests received", ("node_id", "dir")),
        "livekit_sip_invite_error": ("Number of rejected SIP INVITE requests", ("node_id", "dir", "to", "reason")),
        "livekit_sip_calls_terminated": ("Number of calls terminated by SIP bridge", ("node_id", "dir", "to", "reason")),
    }

    def __init__(self) -> None:
        self.values: dict[str, dict[tuple[str, ...], float]] = {name: {} for name in self.FAMILIES}

    def inc(self, name: str, labels: tuple[str, ...], amount: float = 1.0) -> None:
        family = self.values[name]
        family[labels] = family.get(labels, 0.0) + amount

    def collect(self):
        for name, (doc, labelnames) in self.FAMILIES.items():
            metric = Metric(name, doc, "counter")
            for labels, value in sorted(self.values[name].items()):
                metric.add_sample(name, dict(zip(labelnames, labels)), value)
            yield metric


class DemoTelephony:
    """The media and SIP nodes of a demo fleet, advanced at every scrape tick."""

    def __init__(self, specs: Sequence[AgentSpec], registry: CollectorRegistry, timeline: Timeline, seed: int) -> None:
        self.agent_ids = tuple(s.agent_id for s in specs)
        self.timeline = timeline
        self.rng = random.Random(seed * 7919 + 10)
        self.media_nodes = tuple(sorted({node_of(a) for a in self.agent_ids}))
        self.sip_nodes = tuple(sorted({sip[0] for a in self.agent_ids if (sip := sip_of(a))}))
        self.nodes = self.media_nodes + self.sip_nodes
        self.store = ScrapeStore(store_columns(self.nodes), retention=7200.0)
        self._state = {column: 0.0 for column in self.store.columns}
        self._last_active: dict[str, float] = {}
        self._last_done: dict[str, float] = {}
        self._phone_active: dict[str, float] = {}
        self._columns: tuple | None = None
        self._instruments(registry)
        self._children = {node: self._node_children(node) for node in self.media_nodes}

    def _instruments(self, r: CollectorRegistry) -> None:
        node = ["node_id", "node_type"]
        stream = node + ["direction", "source", "type"]
        self.rooms = Gauge("livekit_room_total", "", node, registry=r)
        self.participants = Gauge("livekit_participant_total", "", node, registry=r)
        self.published = Gauge("livekit_track_published_total", "", node + ["kind"], registry=r)
        self.subscribed = Gauge("livekit_track_subscribed_total", "", node + ["kind"], registry=r)
        self.joins = Counter("livekit_participant_join", "", node + ["state"], registry=r)
        self.packets = Counter("livekit_packet", "", node + ["direction", "transmission"], registry=r)
        self.lost = Counter("livekit_packet_loss", "", stream, registry=r)
        self.nacks = Counter("livekit_nack", "", node + ["direction"], registry=r)
        self.plis = Counter("livekit_pli", "", node + ["direction"], registry=r)
        self.loss = Histogram("livekit_packet_loss_percent", "", stream, buckets=LOSS_BUCKETS, registry=r)
        self.jitter = Histogram("livekit_jitter_us", "", stream, buckets=JITTER_BUCKETS, registry=r)
        self.rtt = Histogram("livekit_rtt_ms", "", stream, buckets=RTT_BUCKETS, registry=r)
        self.rating = Histogram("livekit_quality_rating", "", node + ["env"], buckets=RATING_BUCKETS, registry=r)
        self.score = Histogram("livekit_quality_score", "", node + ["env"], buckets=SCORE_BUCKETS, registry=r)
        self.sip_active = Gauge("livekit_sip_calls_active", "Number of currently active SIP calls", ["node_id", "dir", "to"], registry=r)
        self.sip = _SipCounters()
        r.register(self.sip)

    def _node_children(self, node: str) -> dict:
        """prometheus_client label children of one media node (``labels()`` is slow)."""
        labels = (node, "SERVER")
        out: dict = {
            "rooms": self.rooms.labels(*labels), "participants": self.participants.labels(*labels),
            "tracks_published": self.published.labels(*labels, "audio"),
            "tracks_subscribed": self.subscribed.labels(*labels, "audio"),
            "joins": {s: self.joins.labels(*labels, s) for s in ("signal_connected", "rtc_init", "rtc_connected")},
            "rating": self.rating.labels(*labels, ENV), "score": self.score.labels(*labels, ENV),
        }
        for direction in ("incoming", "outgoing"):
            out[direction] = {
                "loss": self.loss.labels(*labels, direction, *STREAM), "jitter": self.jitter.labels(*labels, direction, *STREAM),
                "rtt": self.rtt.labels(*labels, direction, *STREAM), "lost": self.lost.labels(*labels, direction, *STREAM),
                "initial": self.packets.labels(*labels, direction, "initial"),
                "retransmit": self.packets.labels(*labels, direction, "retransmit"),
                "nacks": self.nacks.labels(*labels, direction), "plis": self.plis.labels(*labels, direction),
            }
        return out

    def _counted(self) -> tuple:
        """The counter and histogram families (the gauges are levels, not totals)."""
        return (self.joins, self.packets, self.lost, self.nacks, self.plis, self.loss, self.jitter, self.rtt,
                self.rating, self.score)

    def absorb(self, earlier: "DemoTelephony", agents: ScrapeStore) -> None:
        """Continue from ``earlier``, the same nodes over the history before ours.

        Its totals are added to our counters, histograms and stored rows, its
        rows go in front of ours, and the next tick's join baseline is taken
        from the agents' (already shifted) last row.
        """
        offsets = [0.0 if key in GAUGES else earlier._state[(node, key)] for node, key in self.store.columns]
        self.store.shift(offsets)
        for column, amount in zip(self.store.columns, offsets):
            self._state[column] += amount
        older = earlier.store
        self.store.prepend(older.times, [older.row(i) for i in range(len(older))])
        for mine, theirs in zip(self._counted(), earlier._counted()):
            add_counts(mine, theirs)
        for name, family in earlier.sip.values.items():
            for labels, value in family.items():
                self.sip.inc(name, labels, value)
        if self._columns is not None and len(agents):
            row = agents.row(len(agents) - 1)
            for agent, (_, done_cols) in self._columns[0].items():
                if agent in self._last_done:
                    self._last_done[agent] = sum(row[c] for c in done_cols if c < len(row))

    # -- reading the agents' own metrics ---------------------------------------
    def _agent_columns(self, store: ScrapeStore) -> dict[str, tuple[list[int], list[int]]]:
        """Per agent: columns of livekit_active_sessions and livekit_sessions_completed_total."""
        found: dict[str, tuple[list[int], list[int]]] = {a: ([], []) for a in self.agent_ids}
        for i, (name, labels) in enumerate(store.columns):
            agent = dict(labels).get("agent_id")
            if agent in found and name == "livekit_active_sessions":
                found[agent][0].append(i)
            elif agent in found and name == "livekit_sessions_completed_total":
                found[agent][1].append(i)
        return found

    def scrape(self, t: float, agents: ScrapeStore) -> None:
        """Advance every node to the agents' scrape at ``t`` (its last row)."""
        if self._columns is None or len(self._columns[1]) != len(agents.columns):
            self._columns = (self._agent_columns(agents), tuple(agents.columns))
        row = agents.row(len(agents) - 1)
        per_node: dict[str, list[tuple[str, float, float]]] = {n: [] for n in self.media_nodes}
        for agent, (active_cols, done_cols) in self._columns[0].items():
            active = sum(row[c] for c in active_cols if c < len(row))
            done = sum(row[c] for c in done_cols if c < len(row))
            started = max(0.0, active - self._last_active.get(agent, active) + done - self._last_done.get(agent, done))
            self._last_active[agent], self._last_done[agent] = active, done
            per_node[node_of(agent)].append((agent, active, started))
        for node, agents_here in per_node.items():
            self._media_tick(t, node, agents_here)
        self._sip_tick(per_node)
        self.store.append(t, [self._state[c] for c in self.store.columns])

    # -- one tick of one media node ----------------------------------------------
    def _impairment(self, t: float, agents_here) -> tuple[float, float]:
        """Extra (loss %, jitter ms) on a node: the worst incident of its agents."""
        loss = jitter = 0.0
        for agent, _, _ in agents_here:
            fx = self.timeline.effects(agent, t)
            loss, jitter = max(loss, fx.packet_loss_pct), max(jitter, fx.jitter_ms)
        return loss, jitter

    def _set(self, node: str, key: str, value: float) -> None:
        self._state[(node, key)] = value

    def _add(self, node: str, key: str, value: float) -> None:
        self._state[(node, key)] += value

    def _observe(self, node: str, name: str, value: float, times: int = 1) -> None:
        for bound in HISTOGRAMS[name]:
            if value <= bound:
                self._state[(node, f"{name}:{bound:g}")] += times
        self._state[(node, f"{name}:+Inf")] += times

    def _media_tick(self, t: float, node: str, agents_here) -> None:
        rng, labels, child = self.rng, (node, "SERVER"), self._children[node]
        rooms = sum(active for _, active, _ in agents_here)
        joins = 2 * sum(started for _, _, started in agents_here)
        rtt_ms, base_jitter = NODES.get(node, (60.0, 6.0))
        extra_loss, extra_jitter = self._impairment(t, agents_here)
        for key, value in (("rooms", rooms), ("participants", 2 * rooms), ("tracks_published", 2 * rooms),
                           ("tracks_subscribed", 2 * rooms)):
            child[key].set(value)
            self._set(node, key, value)
        failed = sum(1 for _ in range(int(joins)) if rng.random() < JOIN_FAILURE)
        for state, amount in (("signal_connected", joins), ("rtc_init", joins), ("rtc_connected", joins - failed)):
            child["joins"][state].inc(amount)
        if failed:
            self.joins.labels(*labels, "signal_failed").inc(failed)
        self._add(node, "joins_connected", joins - failed)
        self._add(node, "joins_attempted", joins + failed)
        if rooms <= 0:
            return
        reports = max(2, min(8, round(rooms / 5)))
        for direction, share in (("incoming", 1.0), ("outgoing", 0.2)):
            stream = child[direction]
            loss_sum = 0.0
            for _ in range(reports):
                pct = min(100.0, (HEALTHY_LOSS_PCT + share * extra_loss) * math.exp(0.5 * rng.gauss(0, 1)))
                stream["loss"].observe(pct)
                loss_sum += pct
                jitter_ms = (base_jitter * math.exp(0.35 * rng.gauss(0, 1)) + share * extra_jitter * rng.uniform(0.8, 1.2))
                stream["jitter"].observe(jitter_ms * 1000)
                self._observe(node, "jitter", jitter_ms * 1000)
                rtt = rtt_ms * math.exp(0.2 * rng.gauss(0, 1)) + 2.0 * extra_jitter
                stream["rtt"].observe(rtt)
                self._observe(node, "rtt", rtt)
            key = "in" if direction == "incoming" else "out"
            self._add(node, f"loss_{key}_sum", loss_sum)
            self._add(node, f"loss_{key}_count", reports)
            packets = 2 * rooms * PACKETS_PER_SECOND * 15.0
            lost = packets * loss_sum / reports / 100.0
            stream["initial"].inc(packets)
            stream["retransmit"].inc(0.8 * lost)
            stream["lost"].inc(lost)
            stream["nacks"].inc(0.9 * lost)  # audio only: no PLIs, their series stay at 0
            self._add(node, "nacks", 0.9 * lost)
        loss_now = HEALTHY_LOSS_PCT + extra_loss
        p_poor = min(0.5, 0.003 + 0.02 * loss_now)
        p_lost = min(0.2, 0.001 + 0.002 * loss_now)
        p_good = min(0.6, 0.12 + 0.06 * loss_now + extra_jitter / 200)
        for _ in range(2 * reports):
            draw = rng.random()
            rating = 0 if draw < p_poor else 3 if draw < p_poor + p_lost else 1 if draw < p_poor + p_lost + p_good else 2
            child["rating"].observe(rating)
            self._observe(node, "rating", rating)
            score = 4.45 - 0.12 * loss_now - extra_jitter / 100 + 0.08 * rng.gauss(0, 1)
            score = max(1.0, min(4.5, score))
            child["score"].observe(score)
            self._observe(node, "score", score)

    def _sip_tick(self, per_node) -> None:
        rng = self.rng
        calls: dict[tuple[str, str, str], float] = {}
        for agents_here in per_node.values():
            for agent, active, started in agents_here:
                sip = sip_of(agent)
                if sip is None:
                    continue
                node, direction, trunk = sip
                phone = round(PHONE_SHARE * active)
                calls[sip] = calls.get(sip, 0.0) + phone
                invites = sum(1 for _ in range(int(started)) if rng.random() < PHONE_SHARE)
                errors = sum(1 for _ in range(invites) if rng.random() < INVITE_FAILURE)
                ended = max(0.0, self._phone_active.get(agent, phone) - phone + invites - errors)
                self._phone_active[agent] = phone
                self.sip.inc("livekit_sip_invite_requests", (node, direction), invites)
                self.sip.inc("livekit_sip_invite_error", (node, direction, trunk, "no-answer"), errors)
                self.sip.inc("livekit_sip_calls_terminated", (node, direction, trunk, "bye"), ended)
                self._add(node, "sip_invites", invites)
                self._add(node, "sip_errors", errors)
        for node in self.sip_nodes:
            self._set(node, "sip_calls_active", 0.0)
        for (node, direction, trunk), value in calls.items():
            self.sip_active.labels(node, direction, trunk).set(value)
            self._add(node, "sip_calls_active", value)
