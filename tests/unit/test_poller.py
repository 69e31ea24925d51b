"""Poller: frames from a source, stale marking on failure, recovery, backoff, pause."""

import math
import random
import threading
import time

from voicetop.domain.model import HealthState, MetricsResult, Series, Severity, Window
from voicetop.domain.thresholds import ThresholdSet
from voicetop.poller import Poller, ViewWindow, backoff_delay
from voicetop.sources.base import SourceError


class ScriptedSource:
    """A metrics source whose answers the test scripts: a series or a failure."""

    name = "scripted"

    def __init__(self):
        self.clock = 10_000.0
        self.fail_with: str | None = None
        self.ttft = 1500.0
        self.windows: list[Window] = []

    def now(self):
        return self.clock

    def fetch(self, window):
        self.windows.append(window)
        if self.fail_with:
            raise SourceError(self.fail_with)
        ts = window.timestamps()
        return MetricsResult(
            window=window,
            series={
                "ttft_p99": {
                    "agent-a": Series(ts, tuple(self.ttft for _ in ts)),
                    None: Series(ts, tuple(self.ttft / 2 for _ in ts)),
                }
            },
            queries=1,
        )

    def alerts(self):
        return []

    def close(self):
        pass


def make_poller(source, frames=None, **kwargs):
    frames = [] if frames is None else frames
    return Poller(source, ThresholdSet(), frames.append, refresh=0.01, view=ViewWindow(600, 15), seed=1, **kwargs)


def test_poll_builds_frame_with_breaches_and_ok_health():
    source = ScriptedSource()
    frame = make_poller(source).poll_once()
    assert frame.mode == "live"
    assert frame.window.end == 10_000 - (10_000 % 15) and frame.window.duration == 600
    (health,) = frame.health
    assert health.state is HealthState.OK and health.last_ok == 10_000
    agent = frame.agent("agent-a")
    assert agent.stage_value("ttft", "p99") == 1500
    assert agent.severity is Severity.CRITICAL
    assert {b.severity for b in frame.active_breaches()} == {Severity.WARNING, Severity.CRITICAL}
    assert frame.fleet.stage_value("ttft", "p99") == 750


def test_failure_keeps_last_good_data_marked_stale_then_recovers():
    source = ScriptedSource()
    poller = make_poller(source)
    poller.poll_once()
    source.fail_with = "HTTP 503 from prometheus: Service Unavailable"
    source.clock += 42
    stale = poller.poll_once()
    (health,) = stale.health
    assert health.state is HealthState.STALE
    assert health.message == "HTTP 503 from prometheus: Service Unavailable"
    assert health.age(source.clock) == 42
    assert stale.agent("agent-a").stage_value("ttft", "p99") == 1500  # last good data still shown
    assert poller.failures == 1
    source.fail_with = None
    recovered = poller.poll_once()
    assert recovered.health[0].state is HealthState.OK and poller.failures == 0


def test_failure_without_any_data_is_an_error_and_unexpected_exceptions_are_caught():
    source = ScriptedSource()
    source.fail_with = "connection refused"
    frame = make_poller(source).poll_once()
    assert frame.health[0].state is HealthState.ERROR
    assert frame.agents == () and frame.breaches == ()

    class Broken(ScriptedSource):
        def fetch(self, window):
            raise KeyError("boom")

    frame = make_poller(Broken()).poll_once()
    assert frame.health[0].state is HealthState.ERROR and "KeyError" in frame.health[0].message


def test_time_travel_view_and_mode():
    source = ScriptedSource()
    poller = make_poller(source)
    poller.set_view(ViewWindow(600, 15, at=5_000))
    frame = poller.poll_once()
    assert frame.mode == "at" and frame.window.end == 4995


def test_backoff_grows_with_jitter_and_is_capped():
    rng = random.Random(3)
    delays = [backoff_delay(n, 2.0, rng) for n in range(1, 10)]
    assert 1.6 <= delays[0] <= 2.0
    assert 3.2 <= delays[1] <= 4.0
    # capped at two refresh intervals: a recovered backend shows within two refreshes (issue #8)
    assert all(d <= 4.0 for d in delays) and delays[-1] >= 3.2


def test_background_thread_delivers_frames_and_pause_stops_them():
    source = ScriptedSource()
    got = threading.Event()
    frames = []

    def on_frame(frame):
        frames.append(frame)
        got.set()

    poller = Poller(source, ThresholdSet(), on_frame, refresh=0.01, view=ViewWindow(600, 15))
    poller.start()
    try:
        assert got.wait(5)
        poller.set_paused(True)
        threading.Event().wait(0.1)
        count = len(frames)
        threading.Event().wait(0.1)
        assert len(frames) <= count + 1  # at most one in-flight poll lands after pausing
        got.clear()
        poller.set_paused(False)
        assert got.wait(5)
    finally:
        poller.stop()
    assert not math.isnan(frames[-1].window.end)


class TurnsSource:
    """A trace source answering recent_turns with fixed turns (STT only in traces)."""

    name = "traces"

    def __init__(self, fail=False):
        self.calls = 0
        self.fail = fail

    def recent_turns(self, agent_id, since, until, limit=500):
        from voicetop.domain.model import Turn

        self.calls += 1
        if self.fail:
            raise SourceError("HTTP 502 from jaeger")
        return [
            Turn(f"t{i}", f"s{i % 3}", "agent-a" if i % 2 else "agent-b", i, since, {"stt": 100.0 + i, "ttft": 999.0})
            for i in range(20)
        ]


def test_trace_derived_stages_fill_only_what_metrics_lack_and_are_cached():
    source = ScriptedSource()
    traces = TurnsSource()
    poller = make_poller(source, traces=traces)
    frame = poller.poll_once()
    agent_a = frame.agent("agent-a")
    stt = agent_a.stages["stt"]
    assert stt.derived_from == "traces" and stt.p50 is not None and 100 < stt.p50 < 120
    assert agent_a.stages["ttft"].derived_from == "metrics"  # metrics have ttft: not replaced
    assert agent_a.stage_value("ttft", "p99") == 1500
    assert frame.agent("agent-b") is not None  # an agent seen only in traces is listed
    assert frame.fleet.stages["stt"].derived_from == "traces"
    assert [h.name for h in frame.health] == ["scripted", "traces"]
    source.clock += 14  # next step: window end moves by 15 s
    poller.poll_once()
    assert traces.calls == 1  # cached within TRACE_REFRESH
    source.clock += 30
    poller.poll_once()
    assert traces.calls == 2


def test_trace_source_failure_marks_traces_but_metrics_still_show():
    poller = make_poller(ScriptedSource(), traces=TurnsSource(fail=True))
    frame = poller.poll_once()
    metrics_health, trace_health = frame.health
    assert metrics_health.state is HealthState.OK
    assert trace_health.state is HealthState.ERROR and "502" in trace_health.message
    assert frame.agent("agent-a").stage_value("ttft", "p99") == 1500


class SideBySideSource(ScriptedSource):
    """Its panel fetch waits until the alerts and change-marker requests have arrived."""

    def __init__(self):
        super().__init__()
        self.alerts_asked = threading.Event()
        self.labels_asked = threading.Event()

    def fetch(self, window):
        both = self.alerts_asked.wait(5) and self.labels_asked.wait(5)
        self.side_by_side = both
        return super().fetch(window)

    def alerts(self):
        self.alerts_asked.set()
        return []

    def fetch_label_values(self, window):
        self.labels_asked.set()
        return {}


def test_alerts_and_change_markers_are_requested_alongside_the_panel_queries():
    source = SideBySideSource()
    frame = make_poller(source).poll_once()
    assert source.side_by_side  # both were in flight while fetch ran, not after it
    assert frame.agent("agent-a").stage_value("ttft", "p99") == 1500


def test_a_failing_side_request_leaves_the_frame_and_names_itself():
    source = SideBySideSource()

    def broken_labels(window):
        source.labels_asked.set()
        raise SourceError("labels down")

    source.fetch_label_values = broken_labels
    frame = make_poller(source).poll_once()
    assert frame.agent("agent-a").stage_value("ttft", "p99") == 1500
    assert any("change markers: labels down" in h.message for h in frame.health)


class FocusingSource(ScriptedSource):
    """A scripted source that can also bring a few agents forward (``fetch_focus``)."""

    def __init__(self):
        super().__init__()
        self.focused: list[tuple[Window, frozenset]] = []
        self.focus_answer = True

    def fetch_focus(self, window, agents):
        self.focused.append((window, frozenset(agents)))
        if not self.focus_answer:
            return None
        ts = window.timestamps()
        return MetricsResult(window=window, series={"ttft_p99": {"agent-a": Series(ts, tuple(900.0 for _ in ts))}})


def test_focused_frame_only_at_fleet_scale_with_agents_on_screen(monkeypatch):
    import voicetop.poller as poller_module

    source = FocusingSource()
    poller = make_poller(source)
    poller.focus = frozenset({"agent-a"})
    assert poller.poll_focused() is None  # no full poll yet to start from
    poller.poll_once()
    assert poller.poll_focused() is None and not source.focused  # full polls are quick: nothing to gain
    monkeypatch.setattr(poller_module, "FOCUS_AFTER", -1.0)
    poller.focus = frozenset()
    assert poller.poll_focused() is None and not source.focused  # nothing on screen
    poller.focus = frozenset({"agent-a"})
    frame = poller.poll_focused()
    assert source.focused == [(frame.window, frozenset({"agent-a"}))]
    assert frame.agent("agent-a").stat("ttft_p99") == 900.0
    assert frame.health == poller._last_frame.health  # health stays the last full poll's
    assert frame.partial and not poller._last_frame.partial  # the whole fleet's frame follows
    source.focus_answer = False
    assert poller.poll_focused() is None


def test_no_focused_frame_while_comparing_or_failing(monkeypatch):
    import voicetop.poller as poller_module
    from voicetop.compare_view import CompareView

    monkeypatch.setattr(poller_module, "FOCUS_AFTER", -1.0)
    source = FocusingSource()
    poller = make_poller(source)
    poller.focus = frozenset({"agent-a"})
    poller.poll_once()
    poller.compare = CompareView(group_by="region")
    assert poller.poll_focused() is None
    poller.compare = CompareView()
    source.fail_with = "connection refused"
    poller.poll_once()
    assert poller.poll_focused() is None and not source.focused


def test_running_poller_sends_the_focused_frame_before_the_full_one(monkeypatch):
    import voicetop.poller as poller_module

    monkeypatch.setattr(poller_module, "FOCUS_AFTER", -1.0)
    source = FocusingSource()
    frames = []
    poller = make_poller(source, frames)
    poller.focus = frozenset({"agent-a"})
    poller.start()
    try:
        deadline = time.monotonic() + 5
        while len(frames) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        poller.stop()
    p99 = [frame.agent("agent-a").stat("ttft_p99") for frame in frames[:5]]
    assert p99 == [1500.0, 900.0, 1500.0, 900.0, 1500.0]  # full, then focused + full each refresh
