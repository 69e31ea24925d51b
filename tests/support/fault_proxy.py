"""A loopback HTTP proxy that injects faults in front of a real server (Prometheus).

``FaultProxy(upstream_port)`` listens on 127.0.0.1 (a free port) and forwards
each HTTP/1.1 request to the upstream, one request per connection (it asks the
upstream for ``Connection: close``).  Its *mode* decides what a client sees:

- ``ok``: the upstream's answer;
- ``delay``: the upstream's answer after ``delay`` seconds;
- ``stall``: nothing for ``stall`` seconds, then the connection closes (a client
  timeout);
- ``reset``: the connection is reset (TCP RST) right after the request arrives;
- ``truncate``: the upstream's answer cut after ``keep`` of its bytes (default
  half), then closed;
- ``http500`` / ``http502`` / ``http503``: an error page from "the proxy";
- ``html``: ``200 OK`` with an HTML login page (a captive proxy).

Switch with :meth:`set_mode`, or give :meth:`run_schedule` a list of
``(mode, seconds)`` phases to play in a background thread.  ``injected``
counts the requests each mode handled (the faults injected).
"""

from __future__ import annotations

import re
import socket
import socketserver
import struct
import threading
import time
from collections import Counter
from typing import Sequence

LOCALHOST = "127.0.0.1"
MODES = ("ok", "delay", "stall", "reset", "truncate", "http500", "http502", "http503", "html")
_HEAD_END = b"\r\n\r\n"

_ERROR_PAGE = (
    "<!DOCTYPE html><html><head><title>{code} {reason}</title></head>"
    "<body><h1>{code} {reason}</h1><p>nginx</p></body></html>"
)
_LOGIN_PAGE = "<!DOCTYPE html><html><body><form action='/login'>Sign in to continue</form></body></html>"
_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def _read_request(conn: socket.socket, timeout: float = 5.0) -> bytes | None:
    """One whole HTTP request (head and Content-Length body), or None if the client left."""
    conn.settimeout(timeout)
    data = b""
    try:
        while _HEAD_END not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(_HEAD_END)
        match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        length = int(match.group(1)) if match else 0
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            body += chunk
    except OSError:
        return None
    return head + _HEAD_END + body


def _force_close(request: bytes) -> bytes:
    """The request with ``Connection: close`` (one request per upstream connection)."""
    head, _, body = request.partition(_HEAD_END)
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join(lines + [b"Connection: close"]) + _HEAD_END + body


def _page(status: int, reason: str, body: str, content_type: str = "text/html") -> bytes:
    data = body.encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + data


class _Handler(socketserver.BaseRequestHandler):
    server: "_Server"

    def handle(self) -> None:
        self.server.proxy._serve(self.request)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, proxy: "FaultProxy", port: int) -> None:
        self.proxy = proxy
        super().__init__((LOCALHOST, port), _Handler)


class FaultProxy:
    """Forward to ``127.0.0.1:upstream_port`` with faults injected by mode."""

    def __init__(self, upstream_port: int, port: int = 0, delay: float = 0.2, stall: float = 2.0,
                 keep: float = 0.5) -> None:
        self.upstream = (LOCALHOST, upstream_port)
        self.delay = delay
        self.stall = stall
        self.keep = keep
        self.mode = "ok"
        self.injected: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = _Server(self, port)
        self._thread: threading.Thread | None = None
        self._schedule: threading.Thread | None = None
        self._stop_schedule = threading.Event()

    # -- control -------------------------------------------------------
    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown fault mode {mode!r} (one of {', '.join(MODES)})")
        self.mode = mode

    def run_schedule(self, phases: Sequence[tuple[str, float]], repeat: bool = False) -> None:
        """Play ``(mode, seconds)`` phases in a background thread (ends in ``ok``)."""
        for mode, _ in phases:
            if mode not in MODES:
                raise ValueError(f"unknown fault mode {mode!r} (one of {', '.join(MODES)})")
        self._stop_schedule.clear()

        def play() -> None:
            while True:
                for mode, seconds in phases:
                    self.set_mode(mode)
                    if self._stop_schedule.wait(seconds):
                        self.set_mode("ok")
                        return
                if not repeat:
                    break
            self.set_mode("ok")

        self._schedule = threading.Thread(target=play, name="fault-schedule", daemon=True)
        self._schedule.start()

    def stop_schedule(self) -> None:
        self._stop_schedule.set()
        if self._schedule is not None:
            self._schedule.join(5)
            self._schedule = None

    def start(self) -> "FaultProxy":
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fault-proxy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_schedule()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- serving -------------------------------------------------------
    def _serve(self, conn: socket.socket) -> None:
        mode = self.mode
        request = _read_request(conn)
        if request is None:
            return
        with self._lock:
            self.injected[mode] += 1
        try:
            if mode == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return  # closing with linger 0 sends RST
            if mode == "stall":
                time.sleep(self.stall)
                return
            if mode.startswith("http5"):
                code = int(mode[4:])
                conn.sendall(_page(code, _REASONS[code], _ERROR_PAGE.format(code=code, reason=_REASONS[code])))
                return
            if mode == "html":
                conn.sendall(_page(200, "OK", _LOGIN_PAGE))
                return
            if mode == "delay":
                time.sleep(self.delay)
            answer = self._forward(request)
            if answer is None:  # upstream down: what a proxy in front of it would do
                conn.sendall(_page(502, "Bad Gateway", _ERROR_PAGE.format(code=502, reason="Bad Gateway")))
                return
            if mode == "truncate":
                answer = answer[: max(1, int(len(answer) * self.keep))]
            conn.sendall(answer)
        except OSError:
            pass  # the client gave up first
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _forward(self, request: bytes) -> bytes | None:
        try:
            with socket.create_connection(self.upstream, timeout=10) as upstream:
                upstream.sendall(_force_close(request))
                chunks = []
                while True:
                    chunk = upstream.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
        except OSError:
            return None
        return b"".join(chunks)
