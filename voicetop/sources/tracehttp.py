"""Shared plumbing for HTTP trace backends (Jaeger, Tempo).

:class:`TraceHttp` wraps an httpx client built from a
:class:`~voicetop.config.Connection` (auth, TLS, tenant, timeout) and turns
every failure into a one-line, credential-free :class:`SourceError`.
:class:`HttpTraceSource` implements the :class:`TraceSource` protocol on top
of two backend hooks: search turn traces in a time range, and fetch a trace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import httpx

from voicetop.config import Connection
from voicetop.domain.model import Session, Trace, Turn
from voicetop.domain.turns import sessions_from_turns, turns_from_traces
from voicetop.profiles.spans import BUILTIN_PROFILES, SpanProfile, load_span_profile
from voicetop.sources.auth import redacted_url, resolve_auth
from voicetop.sources.base import SourceError

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
USER_AGENT = "voicetop"


@dataclass(frozen=True)
class TraceSummary:
    """One search hit: a trace id with its root and time range (ns)."""

    trace_id: str
    root_service: str
    root_name: str
    start_ns: int
    end_ns: int
    span_count: int | None = None
    error_count: int | None = None
    services: tuple[str, ...] = ()


def _one_line(text: str, limit: int = 160) -> str:
    text = _CONTROL.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TraceHttp:
    """An httpx client for one backend that raises SourceError on any failure."""

    def __init__(self, connection: Connection, name: str) -> None:
        auth = resolve_auth(connection)
        self.name = name
        self.warnings = auth.warnings
        self.timeout = auth.timeout
        self.base_url = connection.url.rstrip("/")
        self.safe_url = redacted_url(self.base_url)
        verify: Any = auth.ssl_context() if self.base_url.startswith("https") else True
        self._client = httpx.Client(
            headers={"Accept": "application/json", "User-Agent": USER_AGENT, **auth.headers},
            verify=verify,
            timeout=httpx.Timeout(auth.timeout),
            follow_redirects=True,
        )

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> httpx.Response:
        """GET ``path`` under the base URL; transport failures become SourceError."""
        url = self.base_url + path
        try:
            return self._client.get(url, params=_clean(params))
        except (httpx.InvalidURL, UnicodeEncodeError):  # e.g. a 100k-character or lone-surrogate service name
            raise SourceError(
                f"{self.name}: request to {self.safe_url} not sent (URL invalid, too long or not encodable)"
            ) from None
        except httpx.TimeoutException:
            raise SourceError(f"{self.name}: timed out after {self.timeout:g}s ({self.safe_url})") from None
        except httpx.HTTPError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise SourceError(
                    f"{self.name}: TLS error talking to {self.safe_url}: certificate verify failed"
                ) from None
            reason = _one_line(type(exc).__name__)
            raise SourceError(f"{self.name}: cannot reach {self.safe_url} ({reason})") from None

    def get_json(
        self, path: str, params: Mapping[str, Any] | None = None, *, missing_ok: bool = False
    ) -> Any:
        """The JSON body of a GET; None on 404 when ``missing_ok``."""
        response = self.get(path, params)
        if response.status_code == 404 and missing_ok:
            return None
        self.raise_for_status(response, path)
        return self.decode(response, path)

    def raise_for_status(self, response: httpx.Response, path: str) -> None:
        if response.status_code < 400:
            return
        if response.status_code in (401, 403):
            raise SourceError(f"{self.name}: HTTP {response.status_code} (check credentials/tenant) from {path}")
        raise SourceError(f"{self.name}: HTTP {response.status_code} from {path}")

    def decode(self, response: httpx.Response, path: str) -> Any:
        try:
            return response.json()
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise SourceError(f"{self.name}: response from {path} is not JSON") from None

    def close(self) -> None:
        self._client.close()


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}


class HttpTraceSource:
    """A :class:`TraceSource` built on ``_search`` and ``_fetch`` hooks.

    ``profile`` is a builtin name, a TOML file, a :class:`SpanProfile`, or None
    to auto-detect from span names per trace.
    """

    name = "traces"
    kind = "traces"

    def __init__(self, connection: Connection, profile: str | SpanProfile | None = None) -> None:
        self.connection = connection
        self.profile: SpanProfile | None = (
            profile if isinstance(profile, SpanProfile) else load_span_profile(profile)
        )
        self.http = TraceHttp(connection, self.kind)
        self.name = f"{self.kind} {self.http.safe_url}"

    @property
    def warnings(self) -> tuple[str, ...]:
        """Set-up warnings, e.g. a token file readable by others."""
        return self.http.warnings

    # --- backend hooks ---------------------------------------------------------

    def _search(
        self, agent_id: str | None, since: float, until: float, limit: int, session_id: str | None = None
    ) -> list[Trace]:
        """Traces holding turn spans that started in [since, until]."""
        raise NotImplementedError

    def _fetch(self, trace_id: str) -> Trace | None:
        """One full trace, or None when the backend does not have it."""
        raise NotImplementedError

    # --- helpers ----------------------------------------------------------------

    def turn_root_names(self) -> tuple[str, ...]:
        profiles = [self.profile] if self.profile else list(BUILTIN_PROFILES.values())
        return tuple(dict.fromkeys(n for p in profiles for n in p.turn_roots))

    def _turns(self, traces: Iterable[Trace], since: float, until: float) -> list[Turn]:
        return [t for t in turns_from_traces(traces, self.profile) if since <= t.start <= until]

    def _agent_turns(self, agent_id: str | None, since: float, until: float, limit: int) -> list[Turn]:
        turns = self._turns(self._search(agent_id, since, until, limit), since, until)
        if agent_id is not None:
            matching = [t for t in turns if t.agent_id == agent_id]
            if not matching:
                everyone = self._turns(self._search(None, since, until, limit), since, until)
                matching = [t for t in everyone if t.agent_id == agent_id]
            turns = matching
        return turns

    # --- TraceSource ------------------------------------------------------------

    def sessions(self, agent_id: str | None, since: float, until: float, limit: int = 500) -> list[Session]:
        return sessions_from_turns(self._agent_turns(agent_id, since, until, limit))[:limit]

    def recent_turns(self, agent_id: str | None, since: float, until: float, limit: int = 500) -> list[Turn]:
        turns = self._agent_turns(agent_id, since, until, limit)
        return turns[-limit:] if limit else turns

    def turns(self, session_id: str, since: float, until: float) -> list[Turn]:
        traces = self._search(None, since, until, 1000, session_id=session_id)
        found = [t for t in self._turns(traces, since, until) if t.session_id == session_id]
        if not found and re.fullmatch(r"[0-9a-fA-F]{16,32}", session_id):
            trace = self._fetch(session_id)
            if trace is not None:
                found = [t for t in self._turns([trace], since, until) if t.session_id == session_id]
        if not found:
            traces = self._search(None, since, until, 1000)
            found = [t for t in self._turns(traces, since, until) if t.session_id == session_id]
        return found

    def trace(self, trace_id: str) -> Trace:
        found = self._fetch(trace_id)
        if found is None or not found.spans:
            raise SourceError(f"{self.kind}: trace {_one_line(trace_id, 40)} not found")
        return found

    def close(self) -> None:
        self.http.close()
