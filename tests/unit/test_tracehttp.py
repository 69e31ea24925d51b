"""TraceHttp: a request that cannot be built is a clear SourceError, never a crash.

A backend's own answers feed the next request's parameters (the service names
of Jaeger's /api/services go into /api/traces), so hostile text there must not
escape as an encoding error; the reliability fuzz found a lone surrogate doing so.
"""

from __future__ import annotations

import pytest

from voicetop.config import Connection
from voicetop.sources.base import SourceError
from voicetop.sources.tracehttp import TraceHttp


@pytest.mark.parametrize("service", ["\ud800", "x" * 100_000])
def test_unsendable_parameters_are_a_source_error(service):
    http = TraceHttp(Connection(url="http://127.0.0.1:9"), "jaeger")
    try:
        with pytest.raises(SourceError, match="not sent"):
            http.get("/api/traces", {"service": service})
    finally:
        http.close()
