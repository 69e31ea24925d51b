"""signals_raise_exit: how the SystemExit of a signal leaves the context manager."""

from __future__ import annotations

import gc
import os
import signal
import sys
import time

import pytest

from voicetop.lifecycle import signals_raise_exit


def test_signal_in_the_body_becomes_exit_143():
    with pytest.raises(SystemExit) as caught:
        with signals_raise_exit():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # the handler runs at the next bytecode check
                pass
    assert caught.value.code == 143


def test_closed_without_exit_stays_silent_and_restores_handlers(monkeypatch):
    """A signal striking inside contextlib's __exit__ leaves the generator to be closed by GC.

    Closing must neither raise a second SystemExit ("Exception ignored in
    <generator>" with a traceback on stderr) nor leave our handlers installed.
    """
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    before = signal.getsignal(signal.SIGTERM)
    manager = signals_raise_exit()
    manager.__enter__()
    handler = signal.getsignal(signal.SIGTERM)
    assert handler is not before
    with pytest.raises(SystemExit):
        handler(signal.SIGTERM, None)  # records the signal, raises as the real delivery would
    manager.gen.close()  # what GC does when __exit__ never ran
    del manager
    gc.collect()
    assert unraisable == []
    assert signal.getsignal(signal.SIGTERM) is before


class _Target:
    pass


def test_signal_inside_an_ignoring_callback_is_redelivered(monkeypatch):
    """A signal whose handler runs inside a weakref callback still ends the body.

    Python can only print and ignore an exception raised in such a callback
    (importlib's module-lock cleanup is one); the exit must not be lost there.
    """
    import weakref

    printed = []
    monkeypatch.setattr(sys, "unraisablehook", printed.append)
    in_callback = []

    def callback(_ref):
        signal.raise_signal(signal.SIGTERM)  # the handler runs before this callback returns
        in_callback.append(True)

    with pytest.raises(SystemExit) as caught:
        with signals_raise_exit():
            target = _Target()
            ref = weakref.ref(target, callback)
            del target  # the callback runs here, and the handler inside it
            time.sleep(2)  # the signal comes again and ends this sleep
    assert caught.value.code == 143
    assert in_callback == []  # the handler did strike inside the callback
    assert printed == []  # and nothing reached the previous hook
    assert sys.unraisablehook == printed.append
    del ref


def test_other_unraisable_exceptions_still_reach_the_previous_hook(monkeypatch):
    printed = []
    monkeypatch.setattr(sys, "unraisablehook", printed.append)

    class Noisy:
        def __del__(self):
            raise ValueError("not ours")

    with signals_raise_exit():
        Noisy()
    assert [type(u.exc_value) for u in printed] == [ValueError]
