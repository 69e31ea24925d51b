"""gather_alerts merges both sources and survives one failing; the dialog's duration parser."""

from __future__ import annotations

import pytest

from voicetop.alerting.feed import gather_alerts
from voicetop.alerting.silence import parse_silence_duration
from voicetop.domain.model import Alert
from voicetop.sources.base import SourceError


class Lister:
    def __init__(self, name, alerts=(), error=None):
        self.name = name
        self._alerts = list(alerts)
        self.error = error

    def alerts(self):
        if self.error:
            raise self.error
        return self._alerts


def alert(name, agent, source, severity="critical"):
    return Alert(name, "firing", severity, agent, {}, {}, 1.0, source)


def test_both_sources_merged_and_deduplicated():
    feed = gather_alerts(
        Lister("prometheus", [alert("A", "x", "prometheus"), alert("B", "y", "prometheus")]),
        Lister("alertmanager", [alert("A", "x", "alertmanager")]),
    )
    assert [(a.name, a.agent_id, a.source) for a in feed.alerts] == [("A", "x", "alertmanager"), ("B", "y", "prometheus")]
    assert feed.errors == ()


def test_a_failing_source_keeps_the_other_and_reports_one_line():
    feed = gather_alerts(
        Lister("prometheus", error=SourceError("prometheus: timed out after 10s")),
        Lister("alertmanager", [alert("A", "x", "alertmanager")]),
    )
    assert [a.name for a in feed.alerts] == ["A"]
    assert feed.errors == ("prometheus: timed out after 10s",)
    feed = gather_alerts(Lister("prometheus", [alert("A", "x", "prometheus")]), Lister("alertmanager", error=KeyError("k")))
    assert [a.name for a in feed.alerts] == ["A"] and feed.errors == ("alertmanager: KeyError",)


def test_without_alertmanager():
    assert gather_alerts(None, None).alerts == ()
    assert len(gather_alerts(Lister("prometheus", [alert("A", None, "prometheus")])).alerts) == 1


def test_silence_duration_field():
    assert parse_silence_duration(" 2h ") == 7200
    assert parse_silence_duration("90m") == 5400
    for text, problem in [("0s", "positive"), ("8d", "7 days"), ("soon", "not a duration")]:
        with pytest.raises(ValueError, match=problem):
            parse_silence_duration(text)


def test_silence_refusal_reasons():
    from voicetop.alerting.silence import silence_refusal

    a = alert("A", "x", "alertmanager")
    assert silence_refusal(a, has_alertmanager=True, write_allowed=True) is None
    assert "read-only" in silence_refusal(a, has_alertmanager=True, write_allowed=False)
    assert "--alertmanager" in silence_refusal(a, has_alertmanager=False, write_allowed=True)
    assert "select" in silence_refusal(None, has_alertmanager=True, write_allowed=True)
