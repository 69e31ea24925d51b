"""Redaction for exports: user content and credentials never leave unasked.

Two levels:

* credentials (auth headers, bearer/basic values, URL userinfo, secret query
  parameters, attributes named like ``authorization`` or ``api_key``) are
  always removed, even with ``--no-redact``;
* user content (the DESIGN.md §3 attributes: ``lk.pii.*``, ``transcript``,
  ``text``, ``input``, ``output``, ``gen_ai.input.messages`` and kin, plus any
  e-mail address or phone number in any text) is replaced by ``[redacted]``
  unless the caller keeps content.
"""

from __future__ import annotations

import html
import re
from typing import Any, Mapping

REDACTED = "[redacted]"

#: Attribute keys that carry user content, matched exactly.
CONTENT_KEYS = frozenset(
    {
        "transcript",
        "text",
        "input",
        "output",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.prompt",
        "gen_ai.completion",
    }
)
#: Key prefixes whose attributes carry user content.
CONTENT_PREFIXES = ("lk.pii.", "gen_ai.prompt.", "gen_ai.completion.", "gen_ai.input.", "gen_ai.output.")
#: Dotted-key segments that mark user content anywhere in a key (``lk.user_transcript``…).
CONTENT_SEGMENTS = frozenset(
    {
        "transcript", "user_transcript", "transcription", "text", "input", "output", "input_text",
        "output_text", "messages", "prompt", "completion", "content", "chat_ctx", "arguments",
        "user_input", "utterance",
    }
)
#: Key segments that mark a credential (value always dropped).
CREDENTIAL_SEGMENTS = frozenset(
    {
        "authorization", "proxy_authorization", "auth", "cookie", "set_cookie", "password",
        "passwd", "secret", "client_secret", "api_key", "apikey", "x_api_key", "token",
        "access_token", "refresh_token", "id_token", "auth_token", "x_auth_token", "bearer",
        "bearer_token", "credentials", "credential", "private_key", "session_token",
    }
)

_SEGMENT_SPLIT = re.compile(r"[.\s/]+")

#: Bounded repeats (RFC 5321 limits) keep matching linear on hostile 100k-character values.
EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}")
PHONE = re.compile(
    r"(?<![\w.+-])(?:"
    r"\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]?\d{2,4}){1,4}"  # +44 20 7946 0958
    r"|\(\d{2,4}\)[\s.-]?\d{3,4}[\s.-]?\d{3,4}"  # (555) 123-4567
    r"|\d{2,4}[\s.-]\d{3,4}[\s.-]\d{3,4}"  # 555-123-4567
    r")(?![\w.-]*\d)"
)
AUTH_VALUE = re.compile(
    r"\b(Bearer|Basic|Digest|bearer|BEARER)\s+(?=[A-Za-z0-9._~+/=:-]*[0-9._~+/=:])[A-Za-z0-9._~+/=:-]{8,}"
)
URL_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]{0,31}://)[^\s/@:]*(?::[^\s/@]*)?@")
SECRET_QUERY = re.compile(
    r"([?&](?:token|access_token|api_key|apikey|key|password|passwd|secret|auth|authorization|sig|signature)=)[^&\s#\"']*",
    re.IGNORECASE,
)


def _segments(key: str) -> list[str]:
    return [s.replace("-", "_") for s in _SEGMENT_SPLIT.split(key.lower()) if s]


def is_credential_key(key: str) -> bool:
    """True for keys like ``http.request.header.authorization`` or ``api_key``."""
    lowered = key.lower().replace("-", "_")
    return any(s in CREDENTIAL_SEGMENTS for s in _segments(key)) or lowered in CREDENTIAL_SEGMENTS


def is_content_key(key: str) -> bool:
    """True for attribute keys that carry what a user said or was told."""
    lowered = key.lower()
    if lowered in CONTENT_KEYS or lowered.startswith(CONTENT_PREFIXES):
        return True
    return any(s in CONTENT_SEGMENTS for s in _segments(key))


def scrub_credentials(text: str) -> str:
    """``text`` with auth values, URL userinfo and secret query values removed."""
    text = AUTH_VALUE.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = URL_USERINFO.sub(r"\1", text)
    return SECRET_QUERY.sub(lambda m: m.group(1) + REDACTED, text)


def scrub_content(text: str) -> str:
    """``text`` with e-mail addresses and phone numbers replaced."""
    if "@" in text:
        text = EMAIL.sub(REDACTED, text)
    return PHONE.sub(REDACTED, text)


def scrub_text(text: str, *, redact: bool = True) -> str:
    """Credentials always go; personal data goes when ``redact``."""
    text = scrub_credentials(text)
    return scrub_content(text) if redact else text


def _value(value: Any, redact: bool) -> Any:
    if isinstance(value, str):
        return scrub_text(value, redact=redact)
    if isinstance(value, list):
        return [_value(v, redact) for v in value]
    if isinstance(value, dict):
        return {scrub_text(str(k), redact=redact): _value(v, redact) for k, v in value.items()}
    return value


def redact_attributes(attributes: Mapping[str, Any], *, redact: bool = True) -> dict[str, Any]:
    """Span or event attributes made safe to export."""
    safe: dict[str, Any] = {}
    for key, value in attributes.items():
        name = scrub_text(str(key), redact=redact)
        if is_credential_key(key):
            safe[name] = REDACTED
        elif redact and is_content_key(key):
            safe[name] = REDACTED
        else:
            safe[name] = _value(value, redact)
    return safe


#: Mapping keys in the snapshot document whose values are free-form label maps.
_LABEL_MAPS = frozenset({"labels", "annotations", "headers"})


def redact_document(doc: Any, *, redact: bool = True) -> Any:
    """A copy of a snapshot document with every string made safe.

    ``attributes`` maps get key-based content redaction; label maps and all
    other strings get credential (and, when ``redact``, personal data)
    scrubbing.  Numbers and structure are untouched.
    """
    if isinstance(doc, dict):
        out: dict[str, Any] = {}
        for key, value in doc.items():
            if key == "attributes" and isinstance(value, dict):
                out[key] = redact_attributes(value, redact=redact)
            elif key in _LABEL_MAPS and isinstance(value, dict):
                out[key] = {
                    scrub_text(str(k), redact=redact): (
                        REDACTED if is_credential_key(str(k)) else redact_document(v, redact=redact)
                    )
                    for k, v in value.items()
                }
            else:
                out[scrub_text(key, redact=redact) if isinstance(key, str) else key] = redact_document(
                    value, redact=redact
                )
        return out
    if isinstance(doc, list):
        return [redact_document(v, redact=redact) for v in doc]
    if isinstance(doc, str):
        return scrub_text(doc, redact=redact)
    return doc


_SVG_TEXT = re.compile(r">([^<]+)<")


def redact_svg(svg: str, *, redact: bool = True) -> str:
    """Best-effort scrub of the text nodes of an SVG screenshot."""

    def fix(match: re.Match[str]) -> str:
        raw = match.group(1)
        plain = html.unescape(raw).replace("\u00a0", " ")
        cleaned = scrub_text(plain, redact=redact)
        if cleaned == plain:
            return match.group(0)
        return ">" + html.escape(cleaned, quote=False).replace(" ", "&#160;") + "<"

    return _SVG_TEXT.sub(fix, svg)
