"""PrometheusSource: fills MetricsResults from any Prometheus-compatible API.

Works against Prometheus, VictoriaMetrics, Thanos and Mimir (``/api/v1``).
The panel queries of a refresh run concurrently on a small thread pool, so a
refresh takes about as long as the slowest query; each asks only for the steps
of the window it has not fetched yet (:mod:`.increments`), and the 7-day
baselines only once per baseline step (:mod:`.held`).  When some queries
fail, their stats are listed in ``MetricsResult.errors`` and keep showing their
last good series (marked with its age); when all fail, ``fetch`` raises
:class:`SourceError`.  Call it from a worker thread (the poller does).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Collection

from voicetop.config import Connection
from voicetop.domain.model import Alert, MetricsResult, Series, Window
from voicetop.domain.timeparse import format_duration, parse_time
from voicetop.profiles.metrics import SEED, MetricProfile
from voicetop.sources.auth import ResolvedAuth, redacted_url, resolve_auth, with_url_credentials
from voicetop.sources.base import SIDE_REQUESTS, SourceError
from voicetop.sources.prometheus.evaluations import Seen, evaluations_probe, evaluations_seen, fleet_series
from voicetop.sources.prometheus.focus import FOCUS_AGENTS, FOCUS_STEPS, agent_matcher, focused_promql, overlay
from voicetop.sources.prometheus.held import PeriodCache
from voicetop.sources.prometheus.http import body_digest, describe_exception, forget_body, make_client, one_line
from voicetop.sources.prometheus.increments import SETTLE, Span, StepCache, window_shape
from voicetop.sources.prometheus.matrix import Columns
from voicetop.sources.prometheus.queries import PanelQuery, decode_answer, plan_queries
from voicetop.sources.prometheus.recorded_stats import terms_probe, unrecorded
from voicetop.sources.prometheus.telephony import TelephonyQueries

MAX_WORKERS = 8
#: The recording rules' probe waits at most this long (seconds); without its answer the panels read.
PROBE_TIMEOUT = 2.0
#: A focused read's probe answers the full read that follows it within this long (seconds); an
#: evaluation landing in between is seen at the next refresh, as one landing after any probe is.
PROBE_KEPT = 1.0
#: A focused read (the agents on screen first) waits at most this long (seconds), then the full read goes.
FOCUS_TIMEOUT = 2.0
#: After a probe fails, the panels read without one for this long (seconds): a slow or failing
#: server is not made to wait for a probe on every refresh.
PROBE_BACKOFF = 60.0
#: Every panel reading recording rules found none of their series in the window.
NO_RECORDINGS = "no recorded series: load voicetop's recording rules (voicetop rules --recording)"
#: A ratio stat has no recorded series, though the terms it is read from are recorded
#: (rules from an older voicetop, or loaded after the window).
OLD_RECORDINGS = (
    "not recorded, but its terms are: load the current recording rules (voicetop rules --recording)"
)


@dataclass(frozen=True)
class RangeRequest:
    """One range query as sent: PromQL and the exact range parameters."""

    promql: str
    start: str
    end: str
    step: str


@dataclass(frozen=True)
class _Decoded:
    """The last decoded answer of one query: what it asked and the digest of the body it got."""

    query: PanelQuery
    span: Span
    digest: bytes
    columns: Columns


@dataclass(frozen=True)
class _RecordedRead:
    """The last read of a recording-reading query: its window, what the probe saw before it, its answer."""

    window: Window
    seen: Seen | None
    answer: dict[str, dict[str | None, Series]]


@dataclass(frozen=True)
class _Good:
    """The last good answer of one panel query."""

    fetched_at: float
    series: dict[str, dict[str | None, Series]]


class PrometheusSource:
    """A :class:`~voicetop.sources.base.MetricsSource` over the Prometheus HTTP API."""

    name = "prometheus"

    def __init__(
        self,
        connection: Connection,
        profile: MetricProfile = SEED,
        *,
        auth: ResolvedAuth | None = None,
    ) -> None:
        self.connection = connection
        self.profile = profile
        resolved = auth if auth is not None else resolve_auth(connection)
        url, self.auth = with_url_credentials(resolved, connection.url)
        self.url = url.rstrip("/")
        self.display_url = redacted_url(self.url)
        self.warnings = self.auth.warnings
        self.queries: tuple[PanelQuery, ...] = plan_queries(profile)
        self.telephony = TelephonyQueries(profile, self.auth.scrub, self.auth.timeout)  # issue #10
        workers = max(1, min(MAX_WORKERS, len(self.queries) + len(self.telephony.queries)))
        self._client = make_client(self.url, self.auth, pool_size=workers + SIDE_REQUESTS + 1)  # + the probe
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="prom-query")
        self._last_good: dict[str, _Good] = {}
        self._caches: dict[tuple[str, str | None], tuple[threading.Lock, StepCache | PeriodCache]] = {}
        self._decoded: dict[tuple[str, str | None], _Decoded] = {}  # written under the query's cache lock
        self._probe = evaluations_probe(fleet_series(self.queries))
        self._probe_resumes = 0.0  # time.monotonic() when a failed probe may be sent again
        self._recorded_reads: dict[tuple[str, str | None], _RecordedRead] = {}  # written under both locks
        self._issued: list[RangeRequest] = []
        self._last_full: MetricsResult | None = None  # the last fetch's result, for focused reads
        self._probe_kept: tuple[Window, Seen | None, float] | None = None  # a focused read's probe, for fetch
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"PrometheusSource(url={self.display_url!r}, profile={self.profile.name!r})"

    # -- MetricsSource ------------------------------------------------------
    def now(self) -> float:
        return time.time()

    def fetch(self, window: Window) -> MetricsResult:
        """Every panel over ``window``: concurrent range queries, partial failure tolerated."""
        if self._closed:
            raise SourceError("prometheus source is closed")
        with self._lock:
            self._issued = []
        deadline = time.monotonic() + self.auth.timeout + 2.0
        futures: dict[str, Future] = {
            q.name: self._pool.submit(self._run_panel, q, window) for q in self.queries if not q.reads_recordings
        }
        telephony_futures = self.telephony.submit(self._pool, self._run_panel, window)
        seen = self._probed_for(window)  # before the recorded panels read, never during
        futures.update(
            (q.name, self._pool.submit(self._run_panel, q, window, seen=seen)) for q in self.queries if q.reads_recordings
        )
        series: dict[str, dict[str | None, Series]] = {}
        failures: dict[str, str] = {}
        answers: dict[str, dict[str, dict[str | None, Series]]] = {}
        for query in self.queries:
            try:
                remaining = max(0.0, deadline - time.monotonic())
                answers[query.name] = futures[query.name].result(timeout=remaining)
            except FutureTimeout:
                failures[query.name] = f"prometheus did not answer within {self.auth.timeout:g}s"
                futures[query.name].cancel()
            except Exception as exc:  # already classified in _run_query, or a bug
                failures[query.name] = self.auth.scrub(describe_exception(exc, self.url, self.auth.timeout))
        for name in _missing_recordings(self.queries, answers):
            failures[name] = NO_RECORDINGS
            del answers[name]
        unrecorded_stats = self._unrecorded_stats(window, answers, deadline)
        for name, answer in answers.items():
            with self._lock:
                self._last_good[name] = _Good(time.time(), answer)
            _merge(series, answer)
        if failures and all(q.name in failures for q in self.queries if not q.period):
            # every query that asks the server each refresh failed (held ones may not have asked)
            raise SourceError(_summary(failures.values()))
        errors = self._fill_stale(series, failures)
        errors.update((key, OLD_RECORDINGS) for key in unrecorded_stats if key not in errors)
        telephony, telephony_errors = self.telephony.collect(telephony_futures, deadline)
        result = MetricsResult(
            window=window, series=series, errors={**errors, **telephony_errors},
            queries=len(self.queries) + len(self.telephony.queries), telephony=telephony,
        )
        with self._lock:
            self._last_full = result
        return result

    def fetch_focus(self, window: Window, agents: Collection[str]) -> MetricsResult | None:
        """The last :meth:`fetch` with ``agents``' recorded series, and the fleet's, brought to ``window``
        (:mod:`.focus`): a frame for the agents on screen before the whole fleet's.

        None when there is nothing to bring forward this way: no recorded
        panels or no agents, no full read of a window of this length and step
        on the same grid,
        the rules' probe saw no evaluation since the last read of this window,
        more than a few steps or too many agents to read, or any focused query
        failed (the full read that follows reports it).
        """
        recorded = [query for query in self.queries if query.reads_recordings]
        with self._lock:
            last = self._last_full
        if self._closed or not recorded or not agents or len(agents) > FOCUS_AGENTS or last is None:
            return None
        if window_shape(last.window) != window_shape(window):
            return None
        seen = self._evaluations_seen(window)
        with self._lock:
            self._probe_kept = (window, seen, time.monotonic())  # the full read that follows uses it
            reads = [self._recorded_reads.get((query.promql, None)) for query in recorded]
        if seen is not None and all(r is not None and r.window == window and r.seen == seen for r in reads):
            return None  # no evaluation since: the full read keeps its last answer too
        plans = self._focused_plans(recorded, window, agents)
        if plans is None:
            return None
        deadline = time.monotonic() + min(FOCUS_TIMEOUT, self.auth.timeout)
        futures = [
            self._pool.submit(self._focused_span, query, span) for query, spans in plans for span in spans
        ]
        try:
            answers = [future.result(timeout=max(0.0, deadline - time.monotonic())) for future in futures]
        except Exception:  # SourceError or a timeout: the full read reports it
            for future in futures:
                future.cancel()
            return None
        series, changed = overlay(last.series, window, answers, agents)
        return replace(last, window=window, series=series, overlaid_on=last, overlaid=changed)

    def _focused_plans(
        self, recorded: list[PanelQuery], window: Window, agents: Collection[str]
    ) -> list[tuple[PanelQuery, list[Span]]] | None:
        """Each recorded panel restricted to ``agents``, with the steps its full read would fetch now;
        None when some panel would fetch none or more than FOCUS_STEPS (a read better done whole)."""
        settled = self.now() - SETTLE
        matcher = agent_matcher(self.profile.agent_label, agents)
        plans = []
        for query in recorded:
            lock, cache = self._cache_for(query, None)
            with lock:
                spans = cache.missing(window, settled) if isinstance(cache, StepCache) else []
            promql = focused_promql(query, matcher)
            if promql is None or not spans or sum(len(span.timestamps()) for span in spans) > FOCUS_STEPS:
                return None
            plans.append((replace(query, promql=promql), spans))
        return plans

    def _focused_span(self, query: PanelQuery, span: Span) -> tuple[tuple[str, ...], tuple[float, ...], Columns]:
        """One focused range request, decoded (nothing cached: the full read stores the steps)."""
        rows = self._range_rows(query.promql, span.start, span.end, span.step, timeout=FOCUS_TIMEOUT)
        return query.stats, span.timestamps(), self._decode(rows, query, span, self.profile.agent_label)

    @property
    def last_requests(self) -> tuple[RangeRequest, ...]:
        """The range queries the last :meth:`fetch` issued (answered or not)."""
        with self._lock:
            return tuple(self._issued)

    def _run_panel(
        self, query: PanelQuery, window: Window, key_label: str | None = None, *, seen: Seen | None = None
    ) -> dict[str, dict[str | None, Series]]:
        """A query over ``window``: its cached settled steps plus the missing ones from the server
        (for a query held per period, the period starts it lacks).  A recording-reading query keeps its
        last read of the same window when the probe saw no evaluation since (``seen``, :mod:`.evaluations`)."""
        lock, cache = self._cache_for(query, key_label)
        with lock:  # a late answer of a timed-out refresh finishes before the next one reads
            if query.reads_recordings:
                last = self._recorded_reads.get((query.promql, key_label))
                if seen is not None and last is not None and last.window == window and last.seen == seen:
                    return last.answer
                answer = self._read_panel(query, window, key_label, cache)
                with self._lock:
                    self._recorded_reads[(query.promql, key_label)] = _RecordedRead(window, seen, answer)
                return answer
            return self._read_panel(query, window, key_label, cache)

    def _read_panel(
        self, query: PanelQuery, window: Window, key_label: str | None, cache: StepCache | PeriodCache
    ) -> dict[str, dict[str | None, Series]]:
        """The cached steps of ``window`` and the missing ones from the server (call under the cache's lock)."""
        settled = self.now() - SETTLE  # the clock the live window ends on
        if isinstance(cache, PeriodCache):
            span = cache.missing(window)
            held = {} if span is None else cache.store(span, self._fetch_span(query, span, key_label), settled)
            return cache.series(window, held)
        return cache.read(window, settled, lambda span: self._fetch_span(query, span, key_label))

    def _probed_for(self, window: Window) -> Seen | None:
        """What the probe sees for ``window``: a focused read's answer of the moment before (the
        same refresh: one probe for both reads), else a probe of its own."""
        with self._lock:
            kept, self._probe_kept = self._probe_kept, None
        if kept is not None and kept[0] == window and time.monotonic() - kept[2] <= PROBE_KEPT:
            return kept[1]
        return self._evaluations_seen(window)

    def _evaluations_seen(self, window: Window) -> Seen | None:
        """What the recording rules' probe sees at the window's end (:mod:`.evaluations`), asked when it
        can spare a read now or next refresh: the window was read last time, or is live (its newest
        step still unsettled: it will be read again).  None when not asked or it failed."""
        if self._probe is None or time.monotonic() < self._probe_resumes:
            return None
        with self._lock:
            read_before = any(read.window == window for read in self._recorded_reads.values())
        if not read_before and window.end <= self.now() - SETTLE:
            return None
        try:
            rows = self._range_rows(self._probe, window.end, window.end, window.step, timeout=PROBE_TIMEOUT)
        except SourceError:  # the panels read, as they would without the probe
            self._probe_resumes = time.monotonic() + PROBE_BACKOFF
            return None
        return evaluations_seen(rows)

    def _cache_for(self, query: PanelQuery, key_label: str | None) -> tuple[threading.Lock, StepCache | PeriodCache]:
        """The lock and cache of one PromQL text (group-by label, offset and profile are in it)."""
        key = (query.promql, key_label)
        with self._lock:
            found = self._caches.get(key)
            if found is None:
                cache = PeriodCache(query.period) if query.period else StepCache()
                found = self._caches[key] = (threading.Lock(), cache)
            return found

    def _fetch_span(self, query: PanelQuery, span: Span, key_label: str | None) -> Columns:
        """One range request for ``span``, decoded into columns.

        An answer byte-identical to this query's last one for the same span —
        a live console between two steps, re-reading a newest step that got no
        new samples — reuses the last decoding (columns are never modified
        once decoded).
        """
        forget_body()
        rows = self._range_rows(query.promql, span.start, span.end, span.step)
        digest = body_digest()
        key = (query.promql, key_label)
        last = self._decoded.get(key)
        if last is not None and last.digest == digest and last.span == span and last.query == query:
            return last.columns
        columns = self._decode(rows, query, span, key_label or self.profile.agent_label)
        if digest is not None:
            self._decoded[key] = _Decoded(query, span, digest, columns)
        return columns

    def _decode(self, rows: list, query: PanelQuery, span: Span, key_label: str):
        try:
            return decode_answer(rows, query, span.timestamps(), span.step, key_label)
        except Exception:  # a shape the decoder did not foresee: still a bad answer
            raise SourceError("not a Prometheus API response (unexpected JSON)") from None

    def _range_rows(self, promql: str, start: float, end: float, step: float, timeout: float | None = None) -> list:
        """The ``result`` rows of one range query; every failure is a SourceError."""
        # exact (non-rounded) bounds so points land on the window's steps
        request = RangeRequest(promql, f"{start:.3f}", f"{end:.3f}", f"{step:g}")
        with self._lock:
            self._issued.append(request)
        try:
            rows = self._client.custom_query_range(
                promql,
                start_time=datetime.fromtimestamp(start, tz=timezone.utc),
                end_time=datetime.fromtimestamp(end, tz=timezone.utc),
                step=request.step,
                params={"start": request.start, "end": request.end},
                timeout=self.auth.timeout if timeout is None else min(timeout, self.auth.timeout),
            )
        except Exception as exc:
            raise SourceError(self.auth.scrub(describe_exception(exc, self.url, self.auth.timeout))) from None
        if not isinstance(rows, list):
            raise SourceError("not a Prometheus API response (unexpected JSON)")
        return rows

    def _unrecorded_stats(self, window: Window, answers: dict[str, dict], deadline: float) -> list[str]:
        """Recorded ratio stats without a series in the window whose terms are recorded at its end.

        A stat without series is usually a metric without data; one whose
        terms are there is missing its rule.  One instant query, asked only
        when some recorded stat is absent; best effort.
        """
        absent = [
            recording for query in self.queries if query.recorded_stats is not None and query.name in answers
            for recording in query.recorded_stats.absent(answers[query.name])
        ]
        remaining = deadline - time.monotonic()
        if not absent or remaining <= 0:
            return []
        try:
            rows = self._client.custom_query(
                terms_probe(absent), params={"time": f"{window.end:.3f}"}, timeout=min(remaining, self.auth.timeout)
            )
        except Exception:  # the stats stay empty, as they would without the probe
            return []
        labels = [row.get("metric") for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []
        return unrecorded(absent, {found.get("__name__") for found in labels if isinstance(found, dict)})

    def _fill_stale(
        self, series: dict[str, dict[str | None, Series]], failures: dict[str, str]
    ) -> dict[str, str]:
        """Reuse the last good series of failed panels; name each failed stat."""
        errors: dict[str, str] = {}
        now = time.time()
        for query in self.queries:
            reason = failures.get(query.name)
            if reason is None:
                continue
            with self._lock:
                good = self._last_good.get(query.name)
            if good is not None:
                reason = f"{reason} (showing data from {format_duration(now - good.fetched_at)} ago)"
                for stat, per_agent in good.series.items():
                    current = series.setdefault(stat, {})
                    for agent, old in per_agent.items():
                        current.setdefault(agent, old)
            for stat in query.stats:
                errors[stat] = reason
        return errors

    # -- compare and drift (issue #9): see .compare ------------------------
    def fetch_grouped(self, window: Window, label: str) -> MetricsResult:
        """Stats per agent and value of ``label`` (keys ``agent\x1fvalue``)."""
        from voicetop.sources.prometheus.compare import fetch_grouped

        return fetch_grouped(self, window, label)

    def fetch_offset(self, window: Window, offset: float) -> MetricsResult:
        """Stats of the same window ``offset`` seconds earlier (PromQL ``offset``)."""
        from voicetop.sources.prometheus.compare import fetch_offset

        return fetch_offset(self, window, offset)

    def fetch_label_values(self, window: Window) -> dict[str, dict[str, Series]]:
        """Live values of the profile's marker labels per agent, step by step."""
        from voicetop.sources.prometheus.compare import fetch_label_values

        return fetch_label_values(self, window)

    def group_labels(self) -> tuple[str, ...]:
        return self.profile.group_labels

    def alerts(self) -> list[Alert]:
        """Firing and pending alerts from ``/api/v1/alerts`` (best effort)."""
        try:
            response = self._client._session.get(
                f"{self.url}/api/v1/alerts", timeout=self.auth.timeout
            )
            payload = response.json()
            raw_alerts = payload["data"]["alerts"]
        except Exception as exc:
            raise SourceError(self.auth.scrub(describe_exception(exc, self.url, self.auth.timeout))) from None
        return [alert for alert in (_alert(a, self.profile.agent_label) for a in raw_alerts) if alert]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()


def _missing_recordings(queries, answers: dict[str, dict]) -> list[str]:
    """The recording-reading queries, when every one answered and none found a series.

    One empty panel is a metric with no data; all of them empty means the
    rules are not loaded (or do not match the profile's names and windows).
    """
    reading = [query.name for query in queries if query.reads_recordings]
    if reading and all(name in answers and not answers[name] for name in reading):
        return reading
    return []


def _merge(into: dict[str, dict[str | None, Series]], answer: dict[str, dict[str | None, Series]]) -> None:
    for stat, per_agent in answer.items():
        into.setdefault(stat, {}).update(per_agent)


def _summary(reasons) -> str:
    """The most common failure reason, one line."""
    reason, _ = Counter(reasons).most_common(1)[0]
    return one_line(reason)


def _alert(raw: object, agent_label: str) -> Alert | None:
    if not isinstance(raw, dict):
        return None
    labels = {str(k): str(v) for k, v in (raw.get("labels") or {}).items()}
    annotations = {str(k): str(v) for k, v in (raw.get("annotations") or {}).items()}
    active_at = None
    if raw.get("activeAt"):
        try:
            active_at = parse_time(str(raw["activeAt"]), time.time())
        except ValueError:
            active_at = None
    return Alert(
        name=labels.get("alertname", "?"),
        state=str(raw.get("state", "firing")),
        severity=labels.get("severity", ""),
        agent_id=labels.get(agent_label),
        labels=labels,
        annotations=annotations,
        active_at=active_at,
        source="prometheus",
    )
