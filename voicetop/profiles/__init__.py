"""Naming profiles: how stats map to PromQL (metrics) and to span names/attributes (traces)."""
