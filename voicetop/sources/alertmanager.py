"""Alertmanager v2 API: list alerts and silences, create and expire silences.

Every call has a timeout and runs on the caller's thread (never the UI
thread: the console calls this from a worker).  Failures raise
:class:`SourceError` with a one-line, credential-free message.  Writes are
refused with :class:`ReadOnlyError` unless the source was built with
``write=True`` (``--write`` or ``write = true`` in the context).
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

from voicetop.alerting.silence import (
    Matcher,
    Silence,
    alert_matchers,
    default_author,
    ensure_writable,
    validate_silence,
)
from voicetop.config import Config, Connection
from voicetop.domain.model import Alert
from voicetop.sources.auth import redacted_url, resolve_auth
from voicetop.sources.base import SourceError

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

#: Alertmanager's status.state → the console's alert state.
_STATES = {"active": "firing", "unprocessed": "pending"}


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_time(value: Any) -> float | None:
    """Unix seconds from an RFC 3339 timestamp (Go's nanosecond form too)."""
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", text)
    if match:  # Python wants at most 6 fraction digits
        fraction = (match.group(2) or "")[:7]
        text = match.group(1) + fraction + match.group(3)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def format_time(timestamp: float) -> str:
    """RFC 3339 with milliseconds, as Alertmanager accepts."""
    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _labels(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def alert_from_api(item: Any) -> Alert | None:
    """One ``gettableAlert`` as an :class:`Alert` (None when malformed)."""
    if not isinstance(item, dict):
        return None
    labels = _labels(item.get("labels"))
    name = labels.get("alertname")
    if not name:
        return None
    status = item.get("status") if isinstance(item.get("status"), dict) else {}
    raw_state = str(status.get("state", "active"))
    state = _STATES.get(raw_state, raw_state)
    if raw_state == "suppressed":
        state = "silenced" if status.get("silencedBy") else "inhibited"
    return Alert(
        name=name,
        state=state,
        severity=labels.get("severity", ""),
        agent_id=labels.get("agent_id") or None,
        labels=labels,
        annotations=_labels(item.get("annotations")),
        active_at=parse_time(item.get("startsAt")),
        source="alertmanager",
    )


def silence_from_api(item: Any) -> Silence | None:
    """One ``gettableSilence`` as a :class:`Silence` (None when malformed)."""
    if not isinstance(item, dict) or not item.get("id"):
        return None
    matchers = []
    for raw in item.get("matchers") or ():
        if isinstance(raw, dict) and "name" in raw:
            matchers.append(
                Matcher(
                    str(raw["name"]), str(raw.get("value", "")), bool(raw.get("isRegex", False)),
                    bool(raw.get("isEqual", True)),
                )
            )
    status = item.get("status") if isinstance(item.get("status"), dict) else {}
    return Silence(
        id=str(item["id"]),
        state=str(status.get("state", "")),
        matchers=tuple(matchers),
        starts_at=parse_time(item.get("startsAt")) or 0.0,
        ends_at=parse_time(item.get("endsAt")) or 0.0,
        created_by=str(item.get("createdBy", "")),
        comment=str(item.get("comment", "")),
    )


class AlertmanagerSource:
    """A client for one Alertmanager (or a compatible API such as Mimir's)."""

    name = "alertmanager"

    def __init__(
        self,
        connection: Connection,
        *,
        write: bool = False,
        transport: httpx.BaseTransport | None = None,
        clock=time.time,
    ) -> None:
        auth = resolve_auth(connection)
        parts = urlsplit(connection.url)
        self.url = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
        self.display_url = redacted_url(self.url)
        self.write = write
        self.timeout = auth.timeout
        self._clock = clock
        self._client = httpx.Client(
            base_url=self.url,
            params=parse_qsl(parts.query, keep_blank_values=True),  # e.g. a proxy's ?token=
            headers=dict(auth.headers),
            verify=auth.ssl_context() if self.url.startswith("https") else True,
            timeout=auth.timeout,
            transport=transport,
            follow_redirects=False,
        )

    # -- reads -----------------------------------------------------------
    def alerts(self, *, include_silenced: bool = True) -> list[Alert]:
        """Active (and, by default, silenced/inhibited) alerts."""
        params = {"active": "true", "silenced": str(include_silenced).lower(),
                  "inhibited": str(include_silenced).lower(), "unprocessed": "true"}
        body = self._request("GET", "/api/v2/alerts", params=params)
        if not isinstance(body, list):
            raise SourceError(f"alertmanager {self.display_url}: unexpected answer to /api/v2/alerts")
        return [a for a in (alert_from_api(item) for item in body) if a is not None]

    def silences(self, *, include_expired: bool = False) -> list[Silence]:
        """Silences, newest first; expired ones only when asked."""
        body = self._request("GET", "/api/v2/silences")
        if not isinstance(body, list):
            raise SourceError(f"alertmanager {self.display_url}: unexpected answer to /api/v2/silences")
        found = [s for s in (silence_from_api(item) for item in body) if s is not None]
        if not include_expired:
            found = [s for s in found if s.state != "expired"]
        return sorted(found, key=lambda s: s.starts_at, reverse=True)

    # -- writes ----------------------------------------------------------
    def create_silence(
        self,
        matchers: tuple[Matcher, ...],
        duration: float,
        comment: str,
        *,
        created_by: str | None = None,
        starts_at: float | None = None,
    ) -> str:
        """Create a silence lasting ``duration`` seconds; returns its id."""
        ensure_writable(self.write)
        try:
            validate_silence(duration, comment)
        except ValueError as exc:
            raise SourceError(str(exc)) from None
        if not matchers:
            raise SourceError("a silence needs at least one matcher")
        start = self._clock() if starts_at is None else starts_at
        payload = {
            "matchers": [m.to_api() for m in matchers],
            "startsAt": format_time(start),
            "endsAt": format_time(start + duration),
            "createdBy": created_by or default_author(),
            "comment": comment.strip(),
        }
        body = self._request("POST", "/api/v2/silences", json=payload)
        silence_id = body.get("silenceID") if isinstance(body, dict) else None
        if not silence_id:
            raise SourceError(f"alertmanager {self.display_url}: no silence id in the answer")
        return str(silence_id)

    def silence_alert(self, alert: Alert, duration: float, comment: str, *, created_by: str | None = None) -> str:
        """Silence one alert by name (and agent, when it has one)."""
        return self.create_silence(alert_matchers(alert), duration, comment, created_by=created_by)

    def expire_silence(self, silence_id: str) -> None:
        """Expire (delete) a silence."""
        ensure_writable(self.write)
        if not re.fullmatch(r"[A-Za-z0-9-]+", silence_id):
            raise SourceError("invalid silence id")
        self._request("DELETE", f"/api/v2/silence/{silence_id}")

    def close(self) -> None:
        self._client.close()

    # -- plumbing --------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        where = f"alertmanager {self.display_url}"
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise SourceError(f"{where}: timed out after {self.timeout:g}s") from None
        except httpx.ConnectError:
            raise SourceError(f"{where}: cannot connect") from None
        except httpx.HTTPError as exc:
            raise SourceError(f"{where}: {type(exc).__name__}") from None
        except UnicodeEncodeError:  # a lone surrogate from an answer's labels, sent back in a matcher
            raise SourceError(f"{where}: request not sent (text not encodable)") from None
        if response.status_code in (401, 403):
            raise SourceError(f"{where}: HTTP {response.status_code} (check credentials)")
        if response.status_code >= 400:
            detail = _one_line(response.text) if response.text else ""
            suffix = f": {detail}" if detail else ""
            raise SourceError(f"{where}: HTTP {response.status_code}{suffix}")
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise SourceError(f"{where}: answer is not JSON") from None


def alertmanager_source(config: Config) -> AlertmanagerSource | None:
    """The context's Alertmanager client, or None when none is configured."""
    connection = config.context.alertmanager
    if connection is None:
        return None
    return AlertmanagerSource(connection, write=config.context.write)
