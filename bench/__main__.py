"""``python -m bench [--quick] [--only NAME[,NAME]] [--backend sqlite|postgres|both] [--json PATH]``

Runs the benchmarks, prints every figure as it is measured, and ends with a table in which each
ratio stands against its target (PASS/MISS). Targets are ratios measured in the same run as
their baselines; the machine is small and shared, so absolute figures are context only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from importlib.metadata import version

from bench import overhead, parked, snapshot, throughput
from bench._common import Databases, Report

BENCHES = {
    "overhead": overhead.run,
    "snapshot": snapshot.run,
    "parked": parked.run,
    "throughput": throughput.run,
}


def machine() -> str:
    import psutil

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    mem = psutil.virtual_memory().total / 2**30
    versions = ", ".join(
        f"{p} {version(p)}" for p in ("dbos", "openai-agents", "psycopg", "pgserver", "dbos-openai-agents")
        if _installed(p)
    )
    return (f"nproc {os.cpu_count()}, {mem:.1f} GiB RAM, load average {load}; Python "
            f"{platform.python_version()} on {platform.system()} {platform.release()}; {versions}")


def _installed(dist: str) -> bool:
    try:
        version(dist)
    except Exception:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    parser.add_argument("--quick", action="store_true", help="scaled-down smoke run (~3 min)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(BENCHES)}")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]

    os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")
    print(f"machine: {machine()}", flush=True)
    print(f"command: python -m bench {' '.join(sys.argv[1:] if argv is None else argv)}", flush=True)
    report = Report()
    dbs = Databases()
    started = time.monotonic()
    try:
        for name in names:
            t0 = time.monotonic()
            print(f"\n== {name} ==", flush=True)
            BENCHES[name](report, dbs, backends, args.quick)
            print(f"   ({time.monotonic() - t0:.0f} s)", flush=True)
    finally:
        dbs.close()
    elapsed = time.monotonic() - started
    print(f"\n== summary ({elapsed:.0f} s; load average now "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}) ==\n")
    print(report.table())
    misses = [f for f in report.figures if f.verdict == "MISS"]
    print(f"\n{len([f for f in report.figures if f.verdict])} targets, {len(misses)} missed")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report.to_json() | {"machine": machine(), "seconds": elapsed}, out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
