"""Resolve a :class:`~voicetop.config.Connection` into HTTP client settings.

Credentials are referenced by the config (an env var name, a file path) and
resolved here, at connection time.  Nothing secret ever reaches an exception
message or a ``repr``: :class:`ResolvedAuth` hides header values and
:func:`redacted_url` strips userinfo and secret-looking query parameters.

Usage with requests::

    auth = resolve_auth(connection)
    session.headers.update(auth.headers); session.verify = auth.verify; session.cert = auth.cert

and with httpx::

    httpx.Client(headers=auth.headers, verify=auth.ssl_context(), timeout=auth.timeout)
"""

from __future__ import annotations

import base64
import os
import ssl
import stat
from dataclasses import dataclass, field, replace
from typing import Mapping
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from voicetop.config import Connection
from voicetop.sources.base import SourceError

#: Query parameter names whose values are redacted in URLs shown to users.
SECRET_PARAMS = frozenset(
    {"token", "access_token", "api_key", "apikey", "key", "password", "passwd", "secret", "auth", "authorization", "sig", "signature"}
)
#: Header names whose values are secret even when they come from ``headers``.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie", "x-auth-token"})


class AuthError(SourceError):
    """Credentials cannot be resolved; the message names the setting, never the secret."""


@dataclass(frozen=True, repr=False)
class ResolvedAuth:
    """Ready-to-use HTTP settings for one backend.

    ``verify`` is True, a CA bundle path, or False (``insecure``); ``cert`` is
    None or ``(certificate, key)`` paths; ``warnings`` holds one-line notes
    such as a token file readable by others.
    """

    headers: Mapping[str, str] = field(default_factory=dict)
    verify: bool | str = True
    cert: tuple[str, str] | None = None
    timeout: float = 10.0
    warnings: tuple[str, ...] = ()

    def __repr__(self) -> str:
        shown = {name: "***" for name in self.headers}
        return (
            f"ResolvedAuth(headers={shown}, verify={self.verify!r}, cert={self.cert!r}, "
            f"timeout={self.timeout!r}, warnings={list(self.warnings)!r})"
        )

    __str__ = __repr__

    @property
    def insecure(self) -> bool:
        return self.verify is False

    def secrets(self) -> tuple[str, ...]:
        """Secret header values and the bare credentials inside them (longest first)."""
        found: set[str] = set()
        for name, value in self.headers.items():
            if name.lower() not in SECRET_HEADERS or not value:
                continue
            found.add(value)
            scheme, _, credential = value.partition(" ")
            if credential:
                found.add(credential.strip())
                if scheme.lower() == "basic":
                    try:
                        password = base64.b64decode(credential).decode("utf-8").partition(":")[2]
                    except (ValueError, UnicodeDecodeError):
                        continue
                    if password:
                        found.add(password)
        return tuple(sorted((s for s in found if len(s) >= 4), key=len, reverse=True))

    def scrub(self, text: str) -> str:
        """``text`` with every credential of these settings replaced by ``***``
        (a server may echo a token back in an error message)."""
        for secret in self.secrets():
            text = text.replace(secret, "***")
        return text

    def ssl_context(self) -> ssl.SSLContext:
        """An SSL context honouring ``verify`` and ``cert`` (for httpx)."""
        if self.verify is False:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif isinstance(self.verify, str):
            context = ssl.create_default_context(cafile=self.verify)
        else:
            context = ssl.create_default_context()
        if self.cert is not None:
            try:
                context.load_cert_chain(self.cert[0], self.cert[1])
            except (OSError, ssl.SSLError) as exc:
                raise AuthError(f"cannot load client certificate {self.cert[0]}: {_reason(exc)}") from None
        return context


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__


def _check_header(name: str, value: str) -> None:
    if any(c in name for c in "\r\n:") or not name.strip():
        raise AuthError(f"invalid header name {name!r}")
    if "\r" in value or "\n" in value:
        raise AuthError(f"header '{name}': value contains a line break")


def _env(environ: Mapping[str, str], name: str, setting: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise AuthError(f"{setting}: environment variable {name} is not set or empty")
    return value


def _token_from_file(path: str) -> tuple[str, list[str]]:
    warnings: list[str] = []
    try:
        info = os.stat(path)
        with open(path, encoding="utf-8") as handle:
            token = handle.read().strip()
    except FileNotFoundError:
        raise AuthError(f"bearer_token_file: {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuthError(f"bearer_token_file: cannot read {path}: {_reason(exc)}") from None
    if not token:
        raise AuthError(f"bearer_token_file: {path} is empty")
    if stat.S_IMODE(info.st_mode) & (stat.S_IRGRP | stat.S_IROTH):
        warnings.append(f"token file {path} is readable by group/others (chmod 600 it)")
    return token, warnings


def _readable_file(path: str, setting: str) -> str:
    if not os.path.isfile(path):
        raise AuthError(f"{setting}: {path} does not exist")
    if not os.access(path, os.R_OK):
        raise AuthError(f"{setting}: {path} is not readable")
    return path


def resolve_auth(connection: Connection, environ: Mapping[str, str] | None = None) -> ResolvedAuth:
    """Resolve bearer/basic credentials, tenant, extra headers and TLS settings.

    Raises :class:`AuthError` (a SourceError) naming the offending setting.
    """
    env = os.environ if environ is None else environ
    headers: dict[str, str] = {}
    warnings: list[str] = []
    for name, value in connection.headers.items():
        _check_header(name, value)
        headers[name] = value
    token = None
    if connection.bearer_token_env and connection.bearer_token_file:
        raise AuthError("set only one of bearer_token_env and bearer_token_file")
    if connection.bearer_token_env:
        token = _env(env, connection.bearer_token_env, "bearer_token_env")
    elif connection.bearer_token_file:
        token, file_warnings = _token_from_file(connection.bearer_token_file)
        warnings.extend(file_warnings)
    if token is not None:
        _check_header("Authorization", token)
        headers["Authorization"] = f"Bearer {token}"
    if connection.basic_user is not None or connection.basic_password_env is not None:
        if token is not None:
            raise AuthError("set either a bearer token or basic auth, not both")
        if not connection.basic_user or not connection.basic_password_env:
            raise AuthError("basic auth needs both basic_user and basic_password_env")
        password = _env(env, connection.basic_password_env, "basic_password_env")
        pair = f"{connection.basic_user}:{password}".encode("utf-8")
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    if connection.tenant:
        _check_header("X-Scope-OrgID", connection.tenant)
        headers["X-Scope-OrgID"] = connection.tenant
    verify: bool | str = True
    if connection.insecure:
        verify = False
    elif connection.ca_file:
        verify = _readable_file(connection.ca_file, "ca_file")
    cert = None
    if connection.key_file and not connection.cert_file:
        raise AuthError("key_file is set without cert_file")
    if connection.cert_file:
        cert_path = _readable_file(connection.cert_file, "cert_file")
        key_path = _readable_file(connection.key_file, "key_file") if connection.key_file else cert_path
        cert = (cert_path, key_path)
    if connection.timeout <= 0:
        raise AuthError("timeout must be positive")
    return ResolvedAuth(headers, verify, cert, connection.timeout, tuple(warnings))


def redacted_url(url: str) -> str:
    """``url`` without userinfo and with secret-looking query values masked."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<invalid URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    query = parts.query
    if query:
        pairs = [
            (k, "***" if k.lower() in SECRET_PARAMS else v)
            for k, v in parse_qsl(query, keep_blank_values=True)
        ]
        query = urlencode(pairs, safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def split_userinfo(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without userinfo, and the (user, password) it carried, if any."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return url, None
    if not (parts.username or parts.password):
        return url, None
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, (unquote(parts.username or ""), unquote(parts.password or ""))


def with_url_credentials(auth: ResolvedAuth, url: str) -> tuple[str, ResolvedAuth]:
    """Move ``user:password@`` from the URL into a Basic header (explicit auth wins)."""
    clean, userinfo = split_userinfo(url)
    if userinfo is None or any(k.lower() == "authorization" for k in auth.headers):
        return clean, auth
    pair = f"{userinfo[0]}:{userinfo[1]}".encode("utf-8")
    headers = {**auth.headers, "Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    return clean, replace(auth, headers=headers)


def url_has_credentials(url: str) -> bool:
    """True when the URL carries userinfo (``user:pass@host``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return bool(parts.username or parts.password)


def safe_header_items(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with secret values masked, for debug output."""
    return {k: ("***" if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}
