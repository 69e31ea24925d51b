"""Backends: metrics and trace sources (never import Textual here)."""
