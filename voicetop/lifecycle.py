"""Exit cleanly on SIGTERM and SIGHUP (a dropped SSH link).

Without handlers Python dies on these signals at once: the console leaves the
terminal in the alternate screen with mouse reporting on, and a headless
export can leave temporary files behind.  Two context managers fix that:

- :func:`signals_raise_exit` (every command): the signal raises
  ``SystemExit(128 + signal)`` in the main thread, so ``finally`` blocks run
  (atomic writers remove their temporary files, sources close).
- :func:`signals_exit_app` (the console): the signal asks the running Textual
  app to exit through its normal path, which restores the terminal; should
  that hang (a dead tty), a watchdog ends the process after ``grace`` seconds.

No Textual import here: the app is used only through ``exit`` and its loop.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

EXIT_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGHUP)
#: Seconds the app gets to restore the terminal after a signal before the process ends anyway.
EXIT_GRACE = 5.0


def exit_code(signum: int) -> int:
    """The shell convention: 128 + the signal number (143 for SIGTERM, 129 for SIGHUP)."""
    return 128 + int(signum)


class SignalExit(SystemExit):
    """The SystemExit a handler raises for ``signum``; the code is 128 + signum."""

    def __init__(self, signum: int) -> None:
        super().__init__(exit_code(signum))
        self.signum = int(signum)


#: Seconds before a dropped signal is sent again: enough for the main thread to leave the callback.
REDELIVERY_DELAY = 0.01


def _send_again_soon(signum: int) -> None:
    timer = threading.Timer(REDELIVERY_DELAY, os.kill, args=(os.getpid(), signum))
    timer.daemon = True
    timer.start()


def _redeliver_lost_exits(previous: Callable[[Any], None]) -> Callable[[Any], None]:
    """An unraisable hook that sends again a signal whose SystemExit Python had to drop.

    A handler runs wherever the main thread is; when that is a callback whose
    exceptions Python can only print and ignore (a weakref callback, ``__del__``),
    the SignalExit would be lost as an "Exception ignored" traceback.  The signal
    is sent again from a timer thread, so the handler runs once the main thread
    has left the callback (and this hook).
    """

    def hook(unraisable: Any) -> None:
        try:
            if isinstance(unraisable.exc_value, SignalExit):
                _send_again_soon(unraisable.exc_value.signum)
                return
        except SignalExit as struck_here:  # a second signal landed in this hook
            _send_again_soon(struck_here.signum)
            return
        previous(unraisable)

    return hook


@contextmanager
def _handlers(handler: Callable[[int, Any], None]) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = {sig: signal.signal(sig, handler) for sig in EXIT_SIGNALS}
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _redeliver_lost_exits(previous_hook)
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook
        for sig, old in previous.items():
            signal.signal(sig, old)


def _raise_exit(signum: int, _frame: Any) -> None:
    raise SignalExit(signum)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@contextmanager
def signals_raise_exit() -> Iterator[None]:
    """SIGTERM/SIGHUP end the body with SystemExit(128 + n); ``finally`` blocks run.

    Inside an asyncio loop (a headless App rendering an SVG) raising would
    land in whichever task runs; the loop is stopped instead and the failure
    that causes becomes the same SystemExit.  A body that still completes
    (the signal came too late to matter) returns normally.
    """
    received: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        received.append(signum)
        loop = _running_loop()
        if loop is None:
            _raise_exit(signum, frame)
        loop.call_soon_threadsafe(loop.stop)

    with _handlers(handler):
        try:
            yield
        except GeneratorExit:
            # Closed without __exit__: the signal's SystemExit struck inside
            # contextlib's own __exit__ and is already on its way out.
            raise
        except BaseException:
            if received:
                raise SignalExit(received[0]) from None
            raise


@contextmanager
def signals_exit_app(app: Any, grace: float = EXIT_GRACE) -> Iterator[None]:
    """SIGTERM/SIGHUP make a running Textual ``app`` exit with code 128 + n.

    Before the app's event loop runs, the signal raises SystemExit instead.
    """
    requested = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        loop = getattr(app, "_loop", None)
        if loop is None or not loop.is_running() or loop.is_closed():
            _raise_exit(signum, frame)
        if requested.is_set():
            return  # already leaving; the watchdog is armed
        requested.set()
        code = exit_code(signum)
        closing = getattr(app, "closing", None)
        if closing is not None:
            app.closing = True  # drop frames still arriving from the poller
        loop.call_soon_threadsafe(lambda: app.exit(return_code=code))
        watchdog = threading.Timer(grace, os._exit, args=(code,))
        watchdog.daemon = True
        watchdog.start()

    with _handlers(handler):
        yield
