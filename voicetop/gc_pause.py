"""Pause Python's cyclic garbage collector while a poll decodes its answers.

A poll at fleet scale builds and drops hundreds of thousands of acyclic
containers (JSON rows, per-step columns): reference counting frees them all,
but their allocation alone triggers thousands of collections per poll, and the
full ones walk every live object of the console — about a third of a
1,000-agent poll.  Pausing collection for the poll's duration costs nothing in
memory for acyclic data; the allocations still count, so the first allocation
after the pause collects whatever cyclic garbage the rest of the app made.
Nested and concurrent pauses are counted: collection resumes when the last
one ends, and only if it was enabled before the first began.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_active = 0
_was_enabled = False


@contextmanager
def collection_paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector disabled."""
    global _active, _was_enabled
    with _lock:
        if _active == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _was_enabled:
                gc.enable()
