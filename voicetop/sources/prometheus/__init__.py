"""Prometheus-compatible metrics source (Prometheus, VictoriaMetrics, Thanos, Mimir)."""

from voicetop.sources.prometheus.source import PrometheusSource

__all__ = ["PrometheusSource"]
