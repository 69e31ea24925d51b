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


def test_a_hold_outlives_the_pause_until_released() -> None:
    from voicetop.gc_pause import hold_until_shown, holding, release_held

    gc.enable()
    with collection_paused():
        hold_until_shown()
        hold_until_shown()  # one hold at a time
    assert not gc.isenabled() and holding()
    with collection_paused():
        release_held()
        assert not gc.isenabled()  # the running pause still counts
    assert gc.isenabled() and not holding()
    release_held()  # nothing held: no effect
    assert gc.isenabled()


def test_a_hold_nobody_releases_ends_by_itself() -> None:
    import time

    from voicetop.gc_pause import hold_until_shown, holding

    gc.enable()
    hold_until_shown(timeout=0.05)
    assert not gc.isenabled()
    deadline = time.monotonic() + 5
    while holding() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert gc.isenabled() and not holding()
