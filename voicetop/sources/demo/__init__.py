"""The embedded synthetic demo fleet (``voicetop --demo``).

``DemoFleet(seed, speed, agents, history, start)`` exposes ``metrics`` (a
MetricsSource named "demo"), ``traces`` (a TraceSource named "demo-traces"),
``now()``, ``advance(seconds)`` and ``registry`` (its prometheus_client registry).
``DemoFleet(..., defer_history=True)`` starts with the last minutes only and
``complete_history()`` adds the rest (the console's fast first frame).
"""

from voicetop.sources.demo.fleet import DemoFleet

__all__ = ["DemoFleet"]
