"""Bad input at the edges: each is one clear line on stderr, exit 2 where it is fatal.

Runs the real CLI entry point (``voicetop.cli.main``) in-process; network cases
talk to real local servers (Debian's Prometheus, the local trace backend, a
canned server that enforces a tenant).
"""

from __future__ import annotations

import re

import pytest

from rel_checks import assert_clear_message
from tests.support.canned_http import CannedServer, matrix
from tests.support.otel_traces import seed_sessions
from tests.support.servers import free_port
from tests.support.trace_server import TraceBackend
from voicetop.cli import main


@pytest.fixture
def run(capsys, monkeypatch, tmp_path):
    """``run(*argv)`` → (exit code, stdout, stderr) of the real CLI, no user config."""
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    monkeypatch.setenv("VOICETOP_CONFIG", str(empty))
    for name in ("VOICETOP_PROMETHEUS_URL", "VOICETOP_TRACES_URL", "VOICETOP_CONTEXT"):
        monkeypatch.delenv(name, raising=False)

    def call(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return call


def one_error_line(err: str, max_len: int = 400) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert_clear_message(lines[0], max_len)
    return lines[0]


# -- configuration ---------------------------------------------------------------------
CONFIGS = {
    "invalid TOML": ("refresh = \n", r"invalid TOML"),
    "unknown top key": ('refresh = "2s"\ncolour = "red"\n', r":2: key 'colour': unknown key"),
    "unknown connection key": (
        '[contexts.prod]\nprometheus = { url = "http://p:9090", tokne = "x" }\n',
        r":2: key 'contexts\.prod\.prometheus\.tokne': unknown key",
    ),
    "wrong type": ('[contexts.prod]\nprometheus = { url = "http://p", insecure = "yes" }\n',
                   r"key 'contexts\.prod\.prometheus\.insecure': expected true or false"),
    "unknown threshold": ("[thresholds]\nttft_p42 = [1, 2]\n", r"key 'thresholds\.ttft_p42': unknown threshold"),
    "unknown context": ('current_context = "nope"\n[contexts.prod]\nprometheus = "http://p:9090"\n',
                        r"key 'current_context': no context named 'nope' \(known: prod\)"),
    "bad duration": ('refresh = "fast"\n', r"key 'refresh'"),
    "not UTF-8": (b"refresh = \"\xff\xfe\"\n", r"cannot read config|invalid TOML"),
}


@pytest.mark.parametrize("case", sorted(CONFIGS))
@pytest.mark.parametrize("command", ["console", "check", "snapshot"])
def test_malformed_config_is_one_line_and_exit_2(run, tmp_path, case, command):
    text, expected = CONFIGS[case]
    path = tmp_path / "config.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    argv = {"console": [], "check": ["check", "--ttft-p99", "1200"], "snapshot": ["snapshot", "--no-svg"]}[command]
    code, out, err = run("--config", str(path), *argv)
    assert code == 2
    line = one_error_line(err, max_len=900)  # an unknown key lists the valid ones
    assert line.startswith("voicetop: ") and str(path) in line, line
    assert re.search(expected, line), line


def test_missing_config_file(run, tmp_path):
    code, _, err = run("--config", str(tmp_path / "absent.toml"), "check", "--ttft-p99", "1200")
    assert code == 2
    assert one_error_line(err) == f"voicetop: {tmp_path / 'absent.toml'}: config file not found"


# -- profiles --------------------------------------------------------------------------
PROFILES = {
    "unknown profile key": ('[profile]\nname = "x"\ncolour = "red"\n', r"profile\.colour"),
    "unknown section": ('[metricz]\nttft = "x"\n', r"unknown section"),
    "unknown metric role": ('[metrics]\nttfb = "x"\n', r"metrics\.ttfb"),
    "unknown promql stat": ("[promql]\nttft_p42 = 'up'\n", r"promql\.ttft_p42"),
    "bad label name": ('[profile]\nagent_label = "agent-id"\n', r"profile\.agent_label"),
    "invalid TOML": ("[profile\n", r"invalid TOML"),
}


@pytest.mark.parametrize("case", sorted(PROFILES))
def test_bad_profile_is_one_line_and_exit_2(run, tmp_path, case):
    text, expected = PROFILES[case]
    path = tmp_path / "mine.toml"
    path.write_text(text)
    for argv in (["check", "--ttft-p99", "1200"], ["snapshot", "--no-svg"], []):
        code, _, err = run("--prometheus", "http://127.0.0.1:9", "--profile", str(path), *argv)
        assert code == 2, (argv, err)
        line = one_error_line(err, max_len=900)  # an unknown key lists the valid ones (60 stat keys)
        assert re.search(expected, line), line
        assert str(path) in line, line


def test_unknown_builtin_profile_name(run):
    code, _, err = run("--prometheus", "http://127.0.0.1:9", "--profile", "livekitt", "check", "--ttft-p99", "1")
    assert code == 2
    assert "no builtin profile 'livekitt'" in one_error_line(err)


@pytest.mark.integration
def test_invalid_promql_in_a_profile_names_the_stat_and_the_server_message(run, tmp_path, rel_prometheus):
    path = tmp_path / "bad.toml"
    path.write_text("[profile]\nname = 'bad'\n[promql]\nwer = 'avg by (agent_id) (livekit_asr_wer'\n")
    server_message = "parse error: unclosed left parenthesis"
    # check: the gate on that stat cannot be evaluated → exit 2, with the stat and Prometheus' words
    code, out, err = run("--prometheus", rel_prometheus.url, "--profile", str(path), "check", "--wer-max", "8")
    assert code == 2
    assert re.search(r"wer .*HTTP 400 from prometheus: Bad Request \(bad_data: 1:\d+: parse error", out), out
    # snapshot: the other stats are written; one warning line names the stat and the server's message
    code, out, err = run("--prometheus", rel_prometheus.url, "--profile", str(path), "snapshot", "--no-svg",
                         "-o", str(tmp_path / "s.json"))
    assert code == 0
    line = one_error_line(err)
    assert line.startswith("voicetop: warning: prometheus: wer: HTTP 400 from prometheus"), line
    assert server_message in line


# -- unreachable, wrong URL, wrong tenant -----------------------------------------------
def test_unreachable_url(run):
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = run("--prometheus", url, "check", "--ttft-p99", "1200")
    assert code == 2
    assert one_error_line(err) == f"voicetop check: cannot reach prometheus at {url}: connection refused"
    code, _, err = run("--prometheus", url, "snapshot", "--no-svg", "-o", "/tmp/never-written.json")
    assert code == 2
    assert one_error_line(err) == f"voicetop: prometheus: cannot reach prometheus at {url}: connection refused"


@pytest.mark.parametrize("url", ["not-a-url", "ftp://prom:9090", "http://:9090", "http://prom:99999"])
def test_not_an_http_url(run, url):
    code, _, err = run("--prometheus", url, "check", "--ttft-p99", "1200")
    assert code == 2
    assert "contexts.default.prometheus: not an http(s) URL" in one_error_line(err)


def test_unknown_host(run):
    code, _, err = run("--prometheus", "http://no-such-host.invalid:9090", "check", "--ttft-p99", "1200")
    assert code == 2
    assert one_error_line(err).endswith("no-such-host.invalid:9090: host not found")


@pytest.fixture
def tenant_server():
    """Answers only X-Scope-OrgID 'voice' (like Mimir/Cortex behind a gateway), 401 otherwise."""

    def respond(path, params, headers):
        if headers.get("x-scope-orgid") != "voice":
            return 401, "text/plain", b"no org id\n"
        return 200, "application/json", matrix([])

    with CannedServer(respond) as server:
        yield server


def test_wrong_tenant(run, tenant_server):
    code, _, err = run("--prometheus", tenant_server.url, "--tenant", "voyce", "check", "--ttft-p99", "1200")
    assert code == 2
    assert one_error_line(err) == (
        "voicetop check: HTTP 401 from prometheus: Unauthorized — check the token, basic auth or tenant"
    )
    assert {h.get("x-scope-orgid") for _, _, h in tenant_server.requests} == {"voyce"}


def test_wrong_tenant_on_the_trace_backend_is_a_warning(run, tenant_server, tmp_path):
    """Metrics fine, traces refuse the tenant: the snapshot is written, one warning line says why."""
    spans = seed_sessions(sessions=1, turns=1).spans
    with TraceBackend(spans, "jaeger", tenant="voice") as traces:
        code, out, err = run(
            "--prometheus", tenant_server.url, "--traces", traces.url, "--tenant", "voice",
            "snapshot", "--no-svg", "-o", str(tmp_path / "s.json"),
        )
        assert code == 0, err
        assert err == ""
        # the same backend with the wrong tenant: traces say so, metrics still work
        code, out, err = run(
            "--prometheus", tenant_server.url, "--traces", traces.url, "--tenant", "voyce",
            "snapshot", "--no-svg", "-o", str(tmp_path / "t.json"),
        )
    assert code == 2  # the metrics backend refuses the wrong tenant too: fatal
    assert "HTTP 401" in one_error_line(err)


@pytest.mark.integration
def test_console_with_unreachable_backend_starts_and_shows_the_error(tmp_path):
    """Not fatal at start-up: the console runs, the header says why there is no data, q quits."""
    import shutil

    from rel_tmux import Tmux, wait_file

    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    url = f"http://127.0.0.1:{free_port()}"
    tmux = Tmux(tmp_path)
    try:
        exit_file = tmux.start("vt", f"--prometheus {url} --traces {url} --refresh 1s", width=200, height=40)
        screen = tmux.wait_screen("vt", lambda t: "prometheus ERROR" in t)
        assert f"[prometheus ERROR: cannot reach prometheus at {url}" in screen
        tmux.run("send-keys", "-t", "vt", "q")
        assert wait_file(exit_file, timeout=10) == "0"
    finally:
        tmux.kill_server()
