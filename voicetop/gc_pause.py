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

That first collection walks everything the poll left alive (at 1,000 agents
~60,000 objects, the series' value tuples element by element: ~60 ms).  A
console holds the pause past the poll (:func:`hold_until_shown`) and releases
it once the frame is on screen (:func:`release_held`), so the collection runs
in the idle time after the repaint instead of between the answers and the
table; a timer releases a hold nobody released.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_active = 0
_was_enabled = False
_held: threading.Timer | None = None
#: Seconds after which a hold nobody released ends by itself.
HOLD_TIMEOUT = 2.0


def _pause_locked() -> None:
    global _active, _was_enabled
    if _active == 0:
        _was_enabled = gc.isenabled()
        gc.disable()
    _active += 1


def _resume_locked() -> None:
    global _active
    _active -= 1
    if _active == 0 and _was_enabled:
        gc.enable()


@contextmanager
def collection_paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector disabled."""
    with _lock:
        _pause_locked()
    try:
        yield
    finally:
        with _lock:
            _resume_locked()


def hold_until_shown(timeout: float = HOLD_TIMEOUT) -> None:
    """Keep collection paused after the current pause ends, until :func:`release_held` (or ``timeout``).

    One hold at a time: holding again while a hold is pending changes nothing.
    """
    global _held
    with _lock:
        if _held is not None:
            return
        _pause_locked()
        timer = _held = threading.Timer(timeout, release_held)
    timer.daemon = True
    timer.start()


def release_held() -> None:
    """End the pending hold, if any (collection resumes unless another pause runs)."""
    global _held
    with _lock:
        timer, _held = _held, None
        if timer is None:
            return
        _resume_locked()
    timer.cancel()


def holding() -> bool:
    """True while a hold is pending."""
    with _lock:
        return _held is not None
