"""A fuzzing proxy for trace backends: real answers recorded, one route's answer mutated.

:class:`FuzzingProxy` sits in front of the local trace backend
(``tests.support.trace_server.TraceBackend``) and forwards every request, keeping
the last real answer of each route (trace-id paths folded into ``{id}``).  Set
``proxy.fault = (route, status, body)`` and that route answers the hostile body
instead, while the others keep answering the truth, so a fuzzed body reaches the
adapter at exactly the point of the conversation it would in production.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request

from tests.support.canned_http import CannedServer

_ID_PATH = re.compile(r"/traces/[^/]+$")


def route_of(path: str) -> str:
    return _ID_PATH.sub("/traces/{id}", path)


class FuzzingProxy:
    """Forward to ``upstream`` and record answers; replace one route's answer on demand."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.recorded: dict[str, tuple[int, str, bytes]] = {}
        self.fault: tuple[str, int, bytes] | None = None
        self.server = CannedServer(self._respond)

    def _respond(self, path: str, params: dict, headers: dict) -> tuple[int, str, bytes]:
        route = route_of(path)
        fault = self.fault
        if fault is not None and fault[0] == route:
            return fault[1], "application/json", fault[2]
        query = urllib.parse.urlencode(params)
        url = f"{self.upstream}{path}" + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                answer = (response.status, response.headers.get("Content-Type", ""), response.read())
        except urllib.error.HTTPError as exc:
            answer = (exc.code, exc.headers.get("Content-Type", ""), exc.read())
        if fault is None:
            self.recorded[route] = answer
        return answer

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> "FuzzingProxy":
        self.server.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.server.__exit__(*exc)
