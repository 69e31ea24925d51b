"""voicetop benchmark suite (issue #7).

    .venv/bin/python -m bench                  # everything, full size (~15 min; first run backfills ~2 min)
    .venv/bin/python -m bench --smoke          # quick smoke mode (< 1 min), what CI runs
    .venv/bin/python -m bench --only host,startup --json out.json

Sections: backend (1), host + link (2, 3), startup (4), ui (5), slow (6).
Prints every figure as it is measured, then a Markdown table for
docs/benchmarks.md; ``--json`` also writes the figures and the machine.
Needs Debian's prometheus/promtool for backend and slow; btop/htop baselines
are used when installed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # tests.support is the shared server harness
    sys.path.insert(0, str(ROOT))

from bench.common import Report, ensure_bytecode, machine  # noqa: E402

SECTIONS = ("backend", "host", "startup", "ui", "slow")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes and short runs (CI)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--json", metavar="FILE", help="write the figures and the machine as JSON")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")
    report = Report()
    facts = machine()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in facts.items()), flush=True)
    ensure_bytecode()
    print("bytecode: voicetop's modules compiled where missing or stale (as an installed package has them)", flush=True)
    started = time.monotonic()
    smoke = args.smoke
    if "host" in chosen:
        from bench import host

        host.run(report, warmup=3.0 if smoke else 8.0, duration=4.0 if smoke else 60.0)
    if "startup" in chosen:
        from bench import startup

        startup.run(report, repeats=5 if smoke else 15, frame_repeats=1 if smoke else 5)
    if "ui" in chosen:
        from bench import ui_scale

        if smoke:
            ui_scale.run(report, sessions=1000, presses=6, spans=2000, opens=1, cycles=60, warmup=10)
        else:
            ui_scale.run(report)
    if "slow" in chosen:
        from bench import slow_backend

        slow_backend.run(report, delay=2.0 if smoke else 10.0, presses=6 if smoke else 40)
    # last: the sections measured in this process (ui, slow) get a heap the 1,000-agent frames have not grown
    if "backend" in chosen:
        from bench import backend

        backend.run(report, counts=(10, 40) if smoke else (10, 100, 1000), cycles=2 if smoke else 15,
                    warmup=0 if smoke else 2)
    print(f"\n{report.markdown()}\n\n(bench took {time.monotonic() - started:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(report.as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
