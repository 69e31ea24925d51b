"""collection_paused: the cyclic GC is off inside, restored after, nesting and threads counted."""

import gc
import threading

import pytest

from voicetop.gc_pause import collection_paused


@pytest.fixture(autouse=True)
def _restore_gc():
    enabled = gc.isenabled()
    yield
    (gc.enable if enabled else gc.disable)()


def test_disabled_inside_and_restored_after() -> None:
    gc.enable()
    with collection_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_restored_after_an_exception() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), collection_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_nested_pauses_resume_only_at_the_outermost() -> None:
    gc.enable()
    with collection_paused():
        with collection_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_stays_disabled_when_it_was_disabled_before() -> None:
    gc.disable()
    with collection_paused():
        pass
    assert not gc.isenabled()


def test_overlapping_pauses_in_threads_resume_when_the_last_ends() -> None:
    gc.enable()
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with collection_paused():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    with collection_paused():
        thread.start()
        assert inside.wait(5)
    assert not gc.isenabled()  # the other thread's pause is still running
    release.set()
    thread.join(5)
    assert gc.isenabled()
