"""The canned test server stays quiet when a client hangs up before the answer."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.support.canned_http import CannedServer, json_body


def test_answer_after_the_client_gave_up_prints_nothing(capsys):
    """A late answer into a closed connection must not print a BrokenPipe into some later test."""
    release = threading.Event()

    def slow(path, params, headers):
        release.wait(5)
        return 200, "application/json", json_body({"status": "success"}) * 20_000

    with CannedServer(slow) as server:
        with pytest.raises(httpx.TimeoutException):
            httpx.get(server.url + "/api/v1/query", timeout=0.1)
        release.set()
        time.sleep(0.5)  # the handler thread writes into the connection the client closed
    assert "Traceback" not in capsys.readouterr().err
