"""A tiny local HTTP server answering canned (often broken) responses, for unhappy paths.

``CannedServer`` runs ``http.server`` on 127.0.0.1 in a thread; assign
``server.responder = fn(path, query_params, headers) -> (status, content_type, body)``
to change its behaviour at any time.  Every request is recorded in
``server.requests`` as (path, params, headers).
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlsplit

Responder = Callable[[str, dict, dict], tuple[int, str, bytes]]


def json_body(payload: object) -> bytes:
    return json.dumps(payload).encode()


def matrix(rows: list[tuple[dict, list[tuple[float, str]]]]) -> bytes:
    """A successful range-query answer."""
    result = [{"metric": labels, "values": [[t, v] for t, v in values]} for labels, values in rows]
    return json_body({"status": "success", "data": {"resultType": "matrix", "result": result}})


class _Handler(BaseHTTPRequestHandler):
    server: "CannedServer"

    def _answer(self) -> None:
        parts = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            params.update({k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()})
        headers = {k.lower(): v for k, v in self.headers.items()}
        with self.server.lock:
            self.server.requests.append((parts.path, params, headers))
        status, content_type, body = self.server.responder(parts.path, params, headers)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, *args) -> None:  # keep test output clean
        pass


class CannedServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # concurrent panel queries must not overflow the listen backlog

    def __init__(self, responder: Responder) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.responder = responder
        self.requests: list[tuple[str, dict, dict]] = []
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def handle_error(self, request, client_address) -> None:
        """Stay quiet when a client hung up first (a timed-out or cancelled query); report the rest.

        A slow responder can answer after the client gave up, even after the test ended; the
        default handler would print that BrokenPipe into whichever test's stderr is captured then.
        """
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> "CannedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)
