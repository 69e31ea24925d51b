"""A synthetic fleet of N agents in a real Prometheus (promtool-backfilled TSDB).

The samples are the canonical test scenario's (``tests/support/scenario``:
every series of the seed metric contract) for four agent variants — healthy,
slow TTFT, slow end-to-end, slow STT — so the table has breaches and varied
values.  The history ends at a fixed time (:data:`END`) so a backfilled TSDB
can be cached between runs (``~/.cache/voicetop-bench``) and queried with a
window ending there.  ``recorded=True`` serves the same fleet plus the series
of voicetop's recording rules, evaluated every 15 s over the whole history
(cached separately, keyed by a digest of the rules).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tests.support.scenario import Incident, Scenario, _label_text, _samples, families
from tests.support.servers import PrometheusServer, ServerError, backfill_rules, binary

#: The end of the synthetic history (Unix seconds, a whole hour) and its length.
END = 1_760_000_400.0
HISTORY = 35 * 60.0
SCRAPE = 30.0
CACHE = Path.home() / ".cache" / "voicetop-bench"
PLACEHOLDER = "__AGENT__"
FORMAT = 2  # bump when the generated samples change (invalidates the cache)
VARIANTS = ((), ("ttft",), ("e2e",), ("stt",))  # slow stages per variant
RULES_INTERVAL = 15.0  # the recording rules' evaluation interval (bench/backend.py's STEP)


def agent_ids(count: int) -> list[str]:
    return [f"agent-{i:05d}" for i in range(count)]


def _variant_blocks(slow: tuple[str, ...]) -> list[str]:
    """One text block per metric family for a placeholder agent (``# TYPE`` excluded)."""
    start = END - HISTORY
    incidents = tuple(  # slow for 5 minutes in every 10, so values move with the window
        Incident(PLACEHOLDER, stage, t, t + 300) for stage in slow for t in range(int(start), int(END), 600)
    )
    scenario = Scenario(start=start, end=END, step=SCRAPE, agents=(PLACEHOLDER,), incidents=incidents)
    blocks = []
    for family in families(scenario):
        lines = []
        for sample_name, labels, points in _samples(family):
            label_text = _label_text(labels)
            lines.extend(f"{sample_name}{{{label_text}}} {value!r} {t:.3f}" for t, value in points)
        blocks.append("\n".join(lines) + "\n")
    return blocks


def write_openmetrics(count: int, path: Path) -> int:
    """Stream the OpenMetrics text of ``count`` agents to ``path``; returns its sample count."""
    variants = [_variant_blocks(slow) for slow in VARIANTS]
    start = END - HISTORY
    heads = families(Scenario(start=start, end=start, step=SCRAPE, agents=(PLACEHOLDER,)))
    agents = agent_ids(count)
    samples = 0
    with open(path, "w") as out:
        for index, (name, kind, help_text, _) in enumerate(heads):
            out.write(f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n")
            for number, agent in enumerate(agents):
                block = variants[number % len(variants)][index]
                out.write(block.replace(PLACEHOLDER, agent))
                samples += block.count("\n")
        out.write("# EOF\n")
    return samples


def recording_rules() -> list:
    """voicetop's recording rules for the seed profile (what ``recorded=True`` fleets hold)."""
    from dataclasses import replace

    from voicetop.profiles.metrics import SEED
    from voicetop.sources.prometheus.queries import profile_recording_rules

    return profile_recording_rules(replace(SEED, recording_rules=True))


def recorded_tsdb_for(count: int, log=print) -> Path:
    """The cached fleet TSDB for ``count`` agents plus its recording rules' series over the whole history."""
    rules = recording_rules()
    digest = hashlib.sha256(json.dumps(rules, sort_keys=True, default=str).encode()).hexdigest()[:10]
    target = CACHE / f"tsdb-{count}-{int(END)}-v{FORMAT}-rec{digest}"
    if (target / "done").exists():
        return target
    plain = tsdb_for(count, log)
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(plain, target, ignore=shutil.ignore_patterns("done"))
    started = time.monotonic()
    log(f"    evaluating {len(rules)} recording rules over {count} agents…")
    with tempfile.TemporaryDirectory(prefix="vt-rules-") as work:
        backfill_rules(rules, target, Path(work), END - HISTORY, END, interval=RULES_INTERVAL, timeout=1800)
    (target / "done").write_text(f"{len(rules)} rules\n")
    log(f"    recording rules backfilled in {time.monotonic() - started:.1f}s")
    return target


def tsdb_for(count: int, log=print, recorded: bool = False) -> Path:
    """A cached, backfilled TSDB directory for ``count`` agents (with the recording rules' series if ``recorded``)."""
    if recorded:
        return recorded_tsdb_for(count, log)
    target = CACHE / f"tsdb-{count}-{int(END)}-v{FORMAT}"
    if (target / "done").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    source = CACHE / f"fleet-{count}.om"
    started = time.monotonic()
    samples = write_openmetrics(count, source)
    log(f"    generated {samples:,} samples for {count} agents in {time.monotonic() - started:.1f}s; backfilling…")
    promtool = binary("promtool") or "promtool"
    done = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(target)],
        capture_output=True, text=True, timeout=1800,
    )
    source.unlink(missing_ok=True)
    if done.returncode != 0:
        raise ServerError(f"promtool backfill failed: {(done.stderr or done.stdout)[-500:]}")
    (target / "done").write_text(f"{samples}\n")
    log(f"    backfilled in {time.monotonic() - started:.1f}s total")
    return target


@contextmanager
def fleet_prometheus(count: int, workdir: Path, log=print, recorded: bool = False) -> Iterator[PrometheusServer]:
    """A real Prometheus on a free port serving a copy of the cached fleet TSDB (see :func:`tsdb_for`)."""
    cached = tsdb_for(count, log, recorded)
    name = f"{count}-rec" if recorded else f"{count}"
    tsdb = workdir / f"tsdb-{name}"
    shutil.copytree(cached, tsdb, ignore=shutil.ignore_patterns("done"))
    server = PrometheusServer(workdir / f"prom-{name}", tsdb=tsdb)
    server.start(timeout=120)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(tsdb, ignore_errors=True)
