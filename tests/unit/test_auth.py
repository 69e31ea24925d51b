"""resolve_auth / redacted_url: credentials resolve, never leak, errors name the setting."""

from __future__ import annotations

import base64
import os
import ssl

import pytest

from voicetop.config import Connection
from voicetop.sources.auth import AuthError, ResolvedAuth, redacted_url, resolve_auth, url_has_credentials
from voicetop.sources.base import SourceError

SECRET = "s3cr3t-t0ken-value"


def test_plain_connection_has_defaults():
    auth = resolve_auth(Connection(url="http://127.0.0.1:9090"), environ={})
    assert auth.headers == {}
    assert auth.verify is True
    assert auth.cert is None
    assert auth.timeout == 10.0
    assert auth.warnings == ()


def test_bearer_from_env_and_repr_hides_it():
    conn = Connection(url="http://x", bearer_token_env="PROM_TOKEN")
    auth = resolve_auth(conn, environ={"PROM_TOKEN": f" {SECRET}\n"})
    assert auth.headers["Authorization"] == f"Bearer {SECRET}"
    assert SECRET not in repr(auth)
    assert SECRET not in str(auth)
    assert "Authorization" in repr(auth)


def test_missing_env_names_variable_not_value():
    conn = Connection(url="http://x", bearer_token_env="PROM_TOKEN")
    with pytest.raises(AuthError, match="PROM_TOKEN") as info:
        resolve_auth(conn, environ={})
    assert isinstance(info.value, SourceError)
    assert "bearer_token_env" in str(info.value)


def test_bearer_from_file_and_permission_warning(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(SECRET + "\n")
    os.chmod(token_file, 0o600)
    auth = resolve_auth(Connection(url="http://x", bearer_token_file=str(token_file)), environ={})
    assert auth.headers["Authorization"] == f"Bearer {SECRET}"
    assert auth.warnings == ()
    os.chmod(token_file, 0o644)
    auth = resolve_auth(Connection(url="http://x", bearer_token_file=str(token_file)), environ={})
    assert len(auth.warnings) == 1
    assert "readable by group/others" in auth.warnings[0]
    assert SECRET not in auth.warnings[0]


def test_missing_or_empty_token_file(tmp_path):
    with pytest.raises(AuthError, match="does not exist"):
        resolve_auth(Connection(url="http://x", bearer_token_file=str(tmp_path / "nope")), environ={})
    empty = tmp_path / "empty"
    empty.write_text("  \n")
    with pytest.raises(AuthError, match="is empty"):
        resolve_auth(Connection(url="http://x", bearer_token_file=str(empty)), environ={})


def test_basic_auth_tenant_and_extra_headers():
    conn = Connection(
        url="http://x",
        basic_user="alice",
        basic_password_env="PROM_PW",
        tenant="team-a",
        headers={"X-Extra": "1"},
    )
    auth = resolve_auth(conn, environ={"PROM_PW": "pw:with:colons"})
    expected = base64.b64encode(b"alice:pw:with:colons").decode()
    assert auth.headers == {"X-Extra": "1", "Authorization": f"Basic {expected}", "X-Scope-OrgID": "team-a"}
    assert "pw:with:colons" not in repr(auth) and expected not in repr(auth)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"basic_user": "alice"}, "basic_password_env"),
        ({"bearer_token_env": "T", "basic_user": "a", "basic_password_env": "P"}, "not both"),
        ({"bearer_token_env": "T", "bearer_token_file": "/f"}, "only one"),
        ({"key_file": "/k"}, "key_file"),
        ({"headers": {"X-Bad": "a\r\nInjected: 1"}}, "line break"),
        ({"ca_file": "/definitely/missing/ca.pem"}, "ca_file"),
        ({"timeout": 0.0}, "timeout"),
    ],
)
def test_bad_settings_name_the_setting(kwargs, message):
    with pytest.raises(AuthError, match=message):
        resolve_auth(Connection(url="http://x", **kwargs), environ={"T": "t", "P": "p"})


def test_tls_settings(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    key = tmp_path / "k.pem"
    key.write_text("x")
    auth = resolve_auth(Connection(url="https://x", ca_file=str(ca), cert_file=str(cert), key_file=str(key)), environ={})
    assert auth.verify == str(ca)
    assert auth.cert == (str(cert), str(key))
    combined = resolve_auth(Connection(url="https://x", cert_file=str(cert)), environ={})
    assert combined.cert == (str(cert), str(cert))
    insecure = resolve_auth(Connection(url="https://x", insecure=True, ca_file=str(ca)), environ={})
    assert insecure.verify is False and insecure.insecure


def test_ssl_context_modes(tmp_path):
    ctx = ResolvedAuth(verify=False).ssl_context()
    assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname
    ctx = ResolvedAuth(verify=True).ssl_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    bad = tmp_path / "bad.pem"
    bad.write_text("not a cert")
    with pytest.raises(AuthError, match="client certificate"):
        ResolvedAuth(cert=(str(bad), str(bad))).ssl_context()


@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://user:pw@prom.example:9090/api", "http://prom.example:9090/api"),
        ("https://tok@prom.example/", "https://prom.example/"),
        ("http://prom:9090/?access_token=abc&x=1", "http://prom:9090/?access_token=***&x=1"),
        ("http://[::1]:9090/", "http://[::1]:9090/"),
        ("http://127.0.0.1:9090", "http://127.0.0.1:9090"),
    ],
)
def test_redacted_url(url, expected):
    assert redacted_url(url) == expected


def test_url_has_credentials():
    assert url_has_credentials("http://a:b@h/")
    assert not url_has_credentials("http://h/")
