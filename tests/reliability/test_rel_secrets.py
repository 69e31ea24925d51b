"""Secrets: a token from env or a file appears in request headers and nowhere else.

Not in logs, stdout/stderr, error messages (even when a server echoes it back),
snapshot JSON, Markdown or SVG, reprs, the process list or the console's
screen.  A token file readable by others draws a warning; TLS verification is
on unless ``--insecure``, which the console shows as a permanent badge.
"""

from __future__ import annotations

import json
import logging
import shutil
import ssl
import subprocess
import uuid

import pytest

from rel_checks import assert_clear_message
from rel_tmux import Tmux, alive, wait_file
from tests.support.canned_http import CannedServer, json_body, matrix
from tests.support.otel_traces import seed_sessions
from tests.support.trace_server import TraceBackend
from voicetop.cli import main
from voicetop.config import Connection, load_config
from voicetop.domain.model import Window
from voicetop.sources.base import SourceError
from voicetop.sources.jaeger import JaegerTraceSource
from voicetop.sources.prometheus import PrometheusSource

TOKEN = f"vt-s3cret-{uuid.uuid4().hex}"
END = 1_760_000_000.0


def _answer(mode: str, headers: dict) -> tuple[int, str, bytes]:
    """A Prometheus-like server; error modes echo the credential back, as careless proxies do."""
    echoed = headers.get("authorization", "")
    bare = echoed.removeprefix("Bearer ")
    if mode == "echo401":
        return 401, "text/plain", f"unauthorized: {echoed}\n".encode()
    if mode == "echo400":
        return 400, "application/json", json_body(
            {"status": "error", "errorType": "bad_data", "error": f"token {bare} is not allowed here"})
    if mode == "html":
        return 200, "text/html", f"<html>Signed in as {bare}</html>".encode()
    stamps = [END - 300 + 15 * i for i in range(21)]
    rows = [({"vt_stat": stat, "agent_id": "billing"}, [(t, "500") for t in stamps])
            for stat in ("ttft_p99", "e2e_p90", "e2e_p99")]
    rows += [({"vt_stat": "ttft_p99", "vt_scope": "fleet"}, [(t, "500") for t in stamps])]
    # bucket-rate queries (stage quantiles are computed client-side): every observation above 500
    rows += [({"agent_id": "billing", "le": le}, [(t, count) for t in stamps]) for le, count in (("500", "0"), ("+Inf", "2"))]
    return 200, "application/json", matrix(rows)


@pytest.fixture
def prom():
    state = {"mode": "ok"}
    server = CannedServer(lambda path, params, headers: _answer(state["mode"], headers))
    server.state = state
    with server:
        yield server


@pytest.fixture
def token_file(tmp_path):
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


def _config(tmp_path, prom_url: str, how: str, token_file=None, traces_url: str | None = None) -> str:
    ref = 'bearer_token_env = "VT_TEST_TOKEN"' if how == "env" else f'bearer_token_file = "{token_file}"'
    text = f'[contexts.prod]\nprometheus = {{ url = "{prom_url}", {ref} }}\n'
    if traces_url:
        text += f'traces = {{ url = "{traces_url}", {ref} }}\ntraces_kind = "jaeger"\n'
    path = tmp_path / f"config-{how}.toml"
    path.write_text(text)
    return str(path)


@pytest.fixture
def cli(capsys, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)  # urllib3/httpx debug logs included
    monkeypatch.setenv("VT_TEST_TOKEN", TOKEN)

    def call(*argv: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out + err

    return call


def _assert_nowhere(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
        assert TOKEN[10:] not in text  # not even the random part


@pytest.mark.parametrize("how", ["env", "file"])
def test_token_reaches_the_headers_and_nothing_else(cli, caplog, prom, tmp_path, token_file, how):
    spans = seed_sessions(sessions=1, turns=2).spans
    with TraceBackend(spans, "jaeger", token=TOKEN) as traces:
        config = _config(tmp_path, prom.url, how, token_file, traces.url)
        out_json = tmp_path / f"snap-{how}.json"
        code, output = cli("--config", config, "snapshot", "--at", str(END), "--window", "5m",
                           "--no-redact", "-o", str(out_json))
        assert code == 0, output
        assert {h.get("authorization") for _, _, h in prom.requests} == {f"Bearer {TOKEN}"}
        assert {r.headers.get("Authorization") for r in traces.requests} == {f"Bearer {TOKEN}"}
        document = json.loads(out_json.read_text())
        assert document["agents"], "the export holds data, fetched with the token"
        artefacts = [out_json.read_text(), out_json.with_suffix(".md").read_text(),
                     out_json.with_suffix(".svg").read_text()]
        _assert_nowhere(output, caplog.text, *artefacts)
        for mode in ("echo401", "echo400", "html"):
            prom.state["mode"] = mode
            for argv in (["check", "--ttft-p99", "1200"], ["snapshot", "--no-svg", "-o", str(tmp_path / "x.json")]):
                code, output = cli("--config", config, *argv)
                assert code == 2, (mode, output)
                _assert_nowhere(output, caplog.text)
    loaded = load_config(config)
    source = PrometheusSource(loaded.context.prometheus)
    try:
        for mode in ("echo401", "echo400", "html"):
            prom.state["mode"] = mode
            with pytest.raises(SourceError) as caught:
                source.fetch(Window(END - 300, END, 15))
            assert_clear_message(str(caught.value))
            _assert_nowhere(str(caught.value))
        assert "***" in str(caught.value) or "HTML" in str(caught.value)
        _assert_nowhere(repr(loaded), repr(source), repr(source.auth), str(source.auth), repr(source.connection))
    finally:
        source.close()


def test_echoed_token_is_masked_in_the_health_message(prom, monkeypatch):
    monkeypatch.setenv("VT_TEST_TOKEN", TOKEN)
    prom.state["mode"] = "echo400"
    source = PrometheusSource(Connection(url=prom.url, bearer_token_env="VT_TEST_TOKEN"))
    try:
        with pytest.raises(SourceError) as caught:
            source.fetch(Window(END - 300, END, 15))
    finally:
        source.close()
    assert str(caught.value) == (
        "HTTP 400 from prometheus: Bad Request (bad_data: token *** is not allowed here)"
    )


@pytest.mark.parametrize("mode,warned", [(0o600, False), (0o640, True), (0o644, True)])
def test_token_file_readable_by_others_draws_one_warning(cli, prom, tmp_path, token_file, mode, warned):
    token_file.chmod(mode)
    config = _config(tmp_path, prom.url, "file", token_file)
    code, output = cli("--config", config, "snapshot", "--no-svg", "--at", str(END), "-o", str(tmp_path / "s.json"))
    assert code == 0, output
    warning = f"voicetop: warning: token file {token_file} is readable by group/others (chmod 600 it)"
    assert output.count(warning) == (1 if warned else 0), output
    _assert_nowhere(output)


# -- the running console: process list, screen, warning --------------------------------
@pytest.mark.integration
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_console_never_shows_the_token_in_ps_or_on_screen(prom, tmp_path, token_file):
    prom.state["mode"] = "echo400"  # the header shows the server's (echoing) error
    secret_env = tmp_path / "secret.env"
    secret_env.write_text(TOKEN)
    secret_env.chmod(0o600)
    env_config = _config(tmp_path, prom.url, "env")
    token_file.chmod(0o644)  # also: the console warns about this one
    file_config = _config(tmp_path, prom.url, "file", token_file)
    tmux = Tmux(tmp_path)
    try:
        tmux.start("envtok", f"--config {env_config} --refresh 1s",
                   env=f'VT_TEST_TOKEN="$(cat {secret_env})"')
        exit_file = tmux.start("filetok", f"--config {file_config} --refresh 1s")
        for name in ("envtok", "filetok"):
            screen = tmux.wait_screen(name, lambda t: "token *** is not allowed" in t or "ERROR" in t)
            _assert_nowhere(screen)
        pids = [tmux.voicetop_pid(name) for name in ("envtok", "filetok")]
        listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
        _assert_nowhere(listing)
        for pid in pids:
            assert alive(pid)
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                _assert_nowhere(handle.read().decode(errors="replace"))
        tmux.run("send-keys", "-t", "filetok", "q")
        assert wait_file(exit_file, timeout=10) == "0"
        after = tmux.capture("filetok")
        assert f"voicetop: warning: token file {token_file} is readable by group/others" in after.replace("\n", "")
        _assert_nowhere(after)
    finally:
        tmux.kill_server()


# -- TLS -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


@pytest.fixture
def https_prom(self_signed):
    cert, key = self_signed

    def respond(path, params, headers):
        if path.startswith("/api/v3/services"):
            return 200, "application/json", json_body({"services": []})
        return _answer("ok", headers)

    server = CannedServer(respond)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with server:
        yield f"https://127.0.0.1:{server.server_address[1]}"


def test_tls_verification_is_on_by_default(cli, https_prom):
    code, output = cli("--prometheus", https_prom, "check", "--ttft-p99", "1200", "--at", str(END))
    assert code == 2
    assert output.strip() == f"voicetop check: TLS error talking to {https_prom}: certificate verify failed"
    traces = JaegerTraceSource(Connection(url=https_prom))
    try:
        with pytest.raises(SourceError) as caught:
            traces.services()
    finally:
        traces.close()
    assert str(caught.value) == f"jaeger: TLS error talking to {https_prom}: certificate verify failed"


def test_insecure_skips_verification(cli, https_prom):
    code, output = cli("--prometheus", https_prom, "--insecure", "check", "--ttft-p99", "1200", "--at", str(END))
    assert code == 0, output
    assert "PASS" in output
    traces = JaegerTraceSource(Connection(url=https_prom, insecure=True))
    try:
        assert traces.services() == []
    finally:
        traces.close()


@pytest.mark.parametrize("insecure", [True, False])
async def test_insecure_shows_a_permanent_badge(https_prom, insecure):
    from voicetop.config import Config, Context
    from voicetop.poller import ViewWindow
    from voicetop.ui.app import VoicetopApp
    from voicetop.ui.widgets.header import FleetHeader

    connection = Connection(url=https_prom, insecure=True)
    config = Config(context=Context("prod", prometheus=Connection(url=https_prom, insecure=insecure)), refresh=0.2)
    source = PrometheusSource(connection)
    app = VoicetopApp(metrics=source, config=config, view=ViewWindow(300, 15, at=END))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(100):
                await pilot.pause(0.05)
                if app.frame is not None:
                    break
            assert app.frame is not None
            await pilot.pause(0.1)
            header = app.screen.query_one(FleetHeader).render()
            text = getattr(header, "plain", str(header))
            assert ("INSECURE" in text) is insecure, text
            await pilot.press("question_mark")  # still there after moving around
            await pilot.press("escape")
            await pilot.pause(0.1)
            header = app.screen.query_one(FleetHeader).render()
            assert ("INSECURE" in getattr(header, "plain", str(header))) is insecure
    finally:
        source.close()
