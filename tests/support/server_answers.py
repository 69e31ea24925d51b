"""What a real Prometheus answers, to compare PrometheusSource with: its own range queries, and one fetch."""

from __future__ import annotations

import httpx

from voicetop.config import Connection
from voicetop.domain.model import MetricsResult, Window
from voicetop.profiles.metrics import MetricProfile
from voicetop.sources.prometheus import PrometheusSource


def server_rows(url: str, promql: str, window: Window) -> list[tuple[dict, dict[float, float]]]:
    """The server's own range answer: each row's labels and its value at each step."""
    params = {"query": promql, "start": f"{window.start:.3f}", "end": f"{window.end:.3f}", "step": f"{window.step:g}"}
    response = httpx.get(f"{url}/api/v1/query_range", params=params, timeout=30)
    response.raise_for_status()
    return [
        (row["metric"], {float(t): float(v) for t, v in row["values"]}) for row in response.json()["data"]["result"]
    ]


def server_matrix(url: str, promql: str, window: Window) -> dict[str | None, dict[float, float]]:
    """The server's own answer: per agent (None: no agent label) the value at each step."""
    return {labels.get("agent_id"): values for labels, values in server_rows(url, promql, window)}


def fetch_once(url: str, profile: MetricProfile, window: Window) -> MetricsResult:
    """One fetch of ``window`` by a fresh PrometheusSource, closed afterwards."""
    source = PrometheusSource(Connection(url=url), profile)
    try:
        return source.fetch(window)
    finally:
        source.close()
