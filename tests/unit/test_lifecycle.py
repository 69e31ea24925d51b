"""signals_raise_exit: how the SystemExit of a signal leaves the context manager."""

from __future__ import annotations

import gc
import os
import signal
import sys

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
