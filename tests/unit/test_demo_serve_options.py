"""``voicetop demo serve`` option handling (the running server is an integration test)."""

from __future__ import annotations

import importlib
import socket

import pytest

from voicetop.cli import EXIT_USAGE, UsageError, build_parser
from voicetop.commands.demo_serve import otlp_traces_endpoint, run_demo_serve


def args(*extra: str):
    return build_parser().parse_args(["demo", "serve", *extra])


def test_otlp_endpoint_gets_the_traces_path():
    assert otlp_traces_endpoint("http://127.0.0.1:4318") == "http://127.0.0.1:4318/v1/traces"
    assert otlp_traces_endpoint("http://tempo:4318/") == "http://tempo:4318/v1/traces"
    assert otlp_traces_endpoint("https://c.example/otlp/v1/traces") == "https://c.example/otlp/v1/traces"
    with pytest.raises(UsageError):
        otlp_traces_endpoint("tempo:4318")


def exporter_installed() -> bool:
    try:
        importlib.import_module("opentelemetry.exporter.otlp.proto.http.trace_exporter")
    except ImportError:
        return False
    return True


@pytest.mark.skipif(exporter_installed(), reason="the OTLP/HTTP exporter is installed")
def test_otlp_without_the_exporter_package_is_a_one_line_usage_error(capsys):
    assert run_demo_serve(args("--port", "1", "--otlp", "http://127.0.0.1:4318")) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "opentelemetry-exporter-otlp-proto-http" in err


def test_bad_values_are_usage_errors():
    with pytest.raises(UsageError, match="demo-speed"):
        run_demo_serve(args("--demo-speed", "-1"))
    with pytest.raises(UsageError, match="port"):
        run_demo_serve(args("--port", "70000"))


def test_a_busy_port_is_a_usage_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(UsageError, match="cannot listen"):
            run_demo_serve(args("--port", str(port)))
