"""Has a recording rule been evaluated since the last read?  One small query tells.

A recorded series gets a sample only when its rule group is evaluated.  A live
console re-reads its newest step T every refresh until the window moves, yet
the recorded values at T change only while an evaluation at or before T is
being written, the first second or so after T.  The probe sums, per name, the
sample timestamps of the fleet-wide recorded series the panels read (a few
dozen series, however many agents) as they stand at T.  The same sums as
before the last read mean nothing was written since, so a recorded panel can
keep that read.

voicetop's rule group writes each per-agent series before the fleet series
read from it, and ends with a fleet series, so a new evaluation moves the sums
once its last rule is written.  Were the rules split over groups, a panel
could show its newest step without an evaluation until the window moves a
step; that step is read once more when it settles, as every live step is.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from voicetop.sources.prometheus.matrix import labelled_rows
from voicetop.sources.prometheus.queries import PanelQuery

PROBE_LABEL = "vt_probe"

#: What a probe saw: per fleet series name (by index), the sum of its sample timestamps.
Seen = tuple[tuple[str, str], ...]


def fleet_series(queries: Iterable[PanelQuery]) -> tuple[str, ...]:
    """The fleet-wide recorded series the queries read, in plan order, each once."""
    names: list[str] = []
    for query in queries:
        if query.recorded is not None:
            names.append(query.recorded.recording.fleet_quantile)
        if query.recorded_stats is not None:
            names.extend(recording.fleet_name for recording in query.recorded_stats.recordings)
    return tuple(dict.fromkeys(names))


def evaluations_probe(names: Sequence[str]) -> str | None:
    """PromQL with one row per name that has series: the sum of their sample timestamps.

    ``timestamp()`` of a plain selector is the time of the sample read (of
    any other expression, the evaluation time), so each name gets its own.
    """
    if not names:
        return None
    return " or ".join(
        f'label_replace(sum(timestamp({name})), "{PROBE_LABEL}", "{index}", "", "")' for index, name in enumerate(names)
    )


def evaluations_seen(rows: object) -> Seen | None:
    """The probe's answer as a comparable value; None when it found no recorded series (nothing to
    compare) or is not a probe answer."""
    if not isinstance(rows, list):
        return None
    seen: list[tuple[str, str]] = []
    for labels, points in labelled_rows(rows):
        index = labels.get(PROBE_LABEL)
        if not isinstance(index, str) or not points:
            continue
        point = points[-1]
        if not isinstance(point, (list, tuple)) or len(point) != 2 or not isinstance(point[1], str):
            continue
        seen.append((index, point[1]))
    return tuple(sorted(seen)) or None
