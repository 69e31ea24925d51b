"""The HTTP side: a prometheus-api-client connection with auth, and clear failure reasons.

A ``requests`` response hook rejects anything that is not a 200 JSON body
*before* prometheus-api-client parses it, so every failure becomes a
:class:`~voicetop.sources.base.SourceError` with a one-line reason such as
``HTTP 503 from prometheus: Service Unavailable`` or ``not a Prometheus API
response (HTML page)``.  Messages never contain credentials or raw bodies.

The same hook hands prometheus-api-client an answer whose ``json()`` decodes
with orjson: a 1,000-agent refresh reads ~4 MB of JSON, which the standard
library decodes in ~80 ms of held GIL and orjson in ~25 ms.

Answers from a loopback address are asked uncompressed (:func:`answer_encoding`):
there gzip only costs CPU on both ends (a 1,000-agent refresh on a two-core
host: ~40 ms of its wall time, 40–80 ms of the server's CPU).  A connection's
own ``Accept-Encoding`` header, for example through an SSH tunnel to
``localhost``, always wins.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import threading
from http import HTTPStatus
from typing import Mapping
from urllib.parse import urlsplit

import orjson
import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from urllib3.util.retry import Retry

from voicetop.sources.auth import ResolvedAuth, redacted_url
from voicetop.sources.base import SourceError

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
MAX_REASON = 200
#: Per thread: the digest of the last good body this thread received (see :func:`body_digest`).
_received = threading.local()


class ResponseProblem(SourceError):
    """The server answered, but not with a usable API response."""


class FastJSONResponse(requests.Response):
    """A checked answer whose ``json()`` is orjson's; any body orjson refuses (NaN literals, bad UTF-8,
    deep nesting) decodes exactly as before, through requests' own path."""

    def json(self, **kwargs):
        if not kwargs:
            try:
                return orjson.loads(self.content)
            except orjson.JSONDecodeError:
                pass
        return super().json(**kwargs)


def one_line(text: str, limit: int = MAX_REASON) -> str:
    """Collapse control characters and cut to ``limit`` characters."""
    flat = _CONTROL.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _api_error(body: bytes) -> str | None:
    """``errorType: error`` from a Prometheus JSON error body, if it is one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if isinstance(data, dict) and data.get("status") == "error":
        kind = data.get("errorType") or "error"
        return one_line(f"{kind}: {data.get('error', '')}")
    return None


def _body_kind(body: bytes) -> str:
    head = body[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head or b"<body" in head:
        return "HTML page"
    if not head:
        return "empty body"
    return "not JSON"


def describe_status(status: int, body: bytes, server: str = "prometheus") -> str:
    """One-line reason for a non-200 answer."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "unexpected status"
    reason = f"HTTP {status} from {server}: {phrase}"
    detail = _api_error(body)
    if detail:
        reason += f" ({detail})"
    if status in (401, 403):
        reason += " — check the token, basic auth or tenant"
    return one_line(reason, MAX_REASON + 60)


def check_response(response: requests.Response, *args, **kwargs) -> requests.Response:
    """requests hook: raise ResponseProblem unless this is a 200 JSON API answer; that answer decodes fast."""
    body = response.content or b""
    if response.status_code != 200:
        raise ResponseProblem(describe_status(response.status_code, body))
    if not body.lstrip().startswith(b"{"):
        raise ResponseProblem(f"not a Prometheus API response ({_body_kind(body)})")
    _received.digest = hashlib.blake2b(body, digest_size=16).digest()
    response.__class__ = FastJSONResponse  # same fields; only json() differs
    return response


def forget_body() -> None:
    """Clear this thread's body digest: call before a request whose :func:`body_digest` you read."""
    _received.digest = None


def body_digest() -> bytes | None:
    """Digest of the last good answer body this thread received (None after :func:`forget_body`).

    The response hook runs in the requesting thread, so a caller reads the
    digest of its own request right after it returns; equal digests mean a
    byte-identical answer, which need not be decoded again.
    """
    return getattr(_received, "digest", None)


def describe_exception(exc: BaseException, url: str, timeout: float) -> str:
    """A short, credential-free reason for a failed request."""
    where = redacted_url(url)
    if isinstance(exc, SourceError):
        return str(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        text = str(exc)
        detail = "certificate verify failed" if "CERTIFICATE_VERIFY_FAILED" in text else "handshake failed"
        return f"TLS error talking to {where}: {detail}"
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return f"prometheus at {where}: response cut short (connection closed mid-answer)"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"prometheus at {where} did not answer within {timeout:g}s"
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc).lower()
        if "refused" in text:
            detail = "connection refused"
        elif "name or service not known" in text or "nodename nor servname" in text or "name resolution" in text:
            detail = "host not found"
        elif "reset" in text or "aborted" in text or "remotedisconnected" in text:
            detail = "connection reset"
        else:
            detail = "connection failed"
        return f"cannot reach prometheus at {where}: {detail}"
    if isinstance(exc, (ValueError, KeyError, TypeError, IndexError, RecursionError)):
        return "not a Prometheus API response (unexpected JSON)"
    if isinstance(exc, PrometheusApiClientException):
        match = re.match(r"HTTP Status Code (\d+)", str(exc))
        if match:
            return describe_status(int(match.group(1)), b"")
    if isinstance(exc, requests.exceptions.RequestException):
        return f"request to prometheus at {where} failed: {type(exc).__name__}"
    return f"prometheus query failed: {type(exc).__name__}"


def is_loopback(url: str) -> bool:
    """True when ``url``'s host is this machine by name or address (no lookup: ``localhost`` or 127/8, ::1)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def answer_encoding(url: str, headers: Mapping[str, str]) -> str | None:
    """The ``Accept-Encoding`` voicetop asks of ``url``: ``identity`` on loopback, else the HTTP library's default.

    None means "leave the library's default" (gzip); a configured header is never overridden.
    """
    if any(name.lower() == "accept-encoding" for name in headers):
        return None
    return "identity" if is_loopback(url) else None


def make_client(url: str, auth: ResolvedAuth, pool_size: int) -> PrometheusConnect:
    """A PrometheusConnect with our session: auth headers, TLS, no silent retries.

    The poller owns retrying (with jittered backoff), so the client never
    retries by itself; a refresh against a dead server fails fast.
    """
    session = requests.Session()
    session.headers.update(dict(auth.headers))
    encoding = answer_encoding(url, auth.headers)
    if encoding is not None:
        session.headers["Accept-Encoding"] = encoding
    session.verify = auth.verify
    session.cert = auth.cert
    session.hooks["response"].append(check_response)
    client = PrometheusConnect(
        url=url.rstrip("/"),
        session=session,
        retry=Retry(total=0, read=False, raise_on_status=False),
        timeout=auth.timeout,
    )
    adapter = requests.adapters.HTTPAdapter(
        max_retries=Retry(total=0, read=False, raise_on_status=False), pool_maxsize=pool_size
    )
    session.mount(client.url, adapter)
    return client
