"""Shared test harness: real servers (servers.py), the incident scenario (scenario.py), canned HTTP (canned_http.py)."""
