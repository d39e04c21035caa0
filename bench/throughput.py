"""4. Queue throughput on Postgres: one and two ``timestep worker`` processes against raw DBOS.

``m`` runs are enqueued up front (nothing is served yet), then 1 or 2 worker processes start:

* timestep: ``timestep.durable.serve_worker("bench.app")`` on queue ``"timestep"`` (its defaults:
  concurrency 8, one partition per run/session, 0.1 s queue polling, heartbeats);
* raw DBOS: a process launched with the same DBOS settings serving queue ``"raw"`` (worker
  concurrency 8, 0.1 s polling) with workflows of the same number of steps.

For context, the same agent run through dbos-openai-agents' ``DBOSRunner`` inside a DBOS
workflow is served by a raw worker too (when that package is installed).

Runs are ``"loop 2 work"``: 3 model calls + 2 tool calls = 5 checkpoints; the raw workflow has 5
trivial steps. The rate is the steady state from DBOS's completion times: runs finished between
the 10th and the 90th percentile completion, over that interval (worker start-up excluded).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench._common import REPO, Databases, Figure, Report, SystemTables, child_env, run_child, stop

NAME = "throughput"
LOOPS = 2
CONCURRENCY = 8
WORKFLOWS = {"timestep": "timestep.run", "raw": "bench.raw_steps", "dbos_runner": "bench.dbos_runner"}
ARGS: dict[str, Any] = {"raw": 2 * LOOPS + 1, "dbos_runner": f"loop {LOOPS} work"}


async def enqueue(db_url: str, kind: str, m: int) -> float:
    """Child process: enqueue ``m`` runs (timestep's public API / DBOSClient); returns seconds."""
    from bench import app
    from timestep.durable import _runtime, start_run

    t0 = time.perf_counter()
    sem = asyncio.Semaphore(16)
    client = _runtime.client(db_url)

    async def one(i: int) -> None:
        async with sem:
            if kind == "timestep":
                await start_run(app.AGENT_NAME, f"loop {LOOPS} work", run_id=f"q-{i}", queue="timestep",
                                max_turns=app.MAX_TURNS, database_url=db_url)
            else:
                workflow, arg = WORKFLOWS[kind], ARGS[kind]
                await client.enqueue_async(
                    {"workflow_name": workflow, "queue_name": app.RAW_QUEUE, "workflow_id": f"q-{i}",
                     "app_version": _runtime.application_version()},
                    arg,
                )

    await asyncio.gather(*(one(i) for i in range(m)))
    return time.perf_counter() - t0


async def raw_worker(db_url: str, concurrency: int) -> None:
    """Child process: a raw DBOS worker on queue ``raw`` with timestep's DBOS settings."""
    from dbos import DBOS

    from bench import app
    from timestep.durable import _runtime
    from timestep.durable._worker import QUEUE_POLLING_SEC

    _runtime.launch(db_url, executor_id=f"raw-{uuid.uuid4().hex[:8]}", listen_queues=[app.RAW_QUEUE])
    await DBOS.register_queue_async(app.RAW_QUEUE, worker_concurrency=concurrency,
                                    polling_interval_sec=QUEUE_POLLING_SEC)
    print("ready", flush=True)
    await asyncio.Event().wait()


def _spawn_worker(kind: str, db_url: str, log: Path) -> subprocess.Popen[str]:
    if kind == "timestep":
        code = ("import sys; from timestep.durable import serve_worker; "
                "raise SystemExit(serve_worker('bench.app', concurrency=int(sys.argv[1]), "
                "database_url=sys.argv[2]))")
        args = [sys.executable, "-c", code, str(CONCURRENCY), db_url]
    else:
        import json

        args = [sys.executable, "-m", "bench._child", "throughput", "raw_worker",
                json.dumps({"db_url": db_url, "concurrency": CONCURRENCY})]
    return subprocess.Popen(args, cwd=REPO, env=child_env(), stdout=subprocess.DEVNULL,
                            stderr=log.open("w"), text=True)


def steady_rate(times: list[float]) -> float:
    """Runs per second between the 10th and 90th percentile completion."""
    lo, hi = int(len(times) * 0.1), int(len(times) * 0.9) - 1
    span = times[hi] - times[lo]
    return (hi - lo) / span if span > 0 else float("inf")


def measure(dbs: Databases, kind: str, workers: int, m: int) -> dict[str, Any]:
    url = dbs.new("postgres")
    enqueue_seconds = run_child("throughput", "enqueue", db_url=url, kind=kind, m=m)
    procs = [_spawn_worker(kind, url, dbs.tmp / f"throughput-{kind}-{workers}-{i}.log") for i in range(workers)]
    try:
        tables = SystemTables(url)
        name = WORKFLOWS[kind]
        if not tables.wait_for(name, "SUCCESS", m, timeout=max(300.0, m)):
            raise RuntimeError(f"{kind} x{workers}: runs did not finish (logs in {dbs.tmp})")
        times = tables.completion_times(name)
    finally:
        for proc in procs:
            stop(proc)
    return {"rate": steady_rate(times), "enqueue_seconds": enqueue_seconds}


def run(report: Report, dbs: Databases, backends: list[str], quick: bool) -> None:
    if "postgres" not in backends:
        report.note("throughput runs on Postgres only (several worker processes share one database)")
        return
    m = 150 if quick else 500
    r = {(kind, w): measure(dbs, kind, w, m) for w in (1, 2) for kind in ("timestep", "raw")}
    from bench.app import HAVE_DBOS_RUNNER

    if HAVE_DBOS_RUNNER:
        r[("dbos_runner", 1)] = measure(dbs, "dbos_runner", 1, m)
    ts1, ts2 = r[("timestep", 1)]["rate"], r[("timestep", 2)]["rate"]
    raw1, raw2 = r[("raw", 1)]["rate"], r[("raw", 2)]["rate"]
    steps = 2 * LOOPS + 1
    report.add(Figure(NAME, "postgres", f"1 worker, timestep ({steps} checkpoints/run)", ts1, "runs/s",
                      note=f"raw DBOS {raw1:.0f} runs/s"))
    report.add(Figure(NAME, "postgres", "1 worker, timestep / raw DBOS", ts1 / raw1, "x", (">=", 0.8)))
    if ("dbos_runner", 1) in r:
        dr1 = r[("dbos_runner", 1)]["rate"]
        report.add(Figure(NAME, "postgres", "1 worker, dbos-openai-agents DBOSRunner (same agent run)", dr1,
                          "runs/s"))
        report.add(Figure(NAME, "postgres", "1 worker, timestep / DBOSRunner", ts1 / dr1, "x",
                          note="both run the SDK; the gap to raw DBOS is mostly the SDK's own work"))
    report.add(Figure(NAME, "postgres", "2 workers, timestep", ts2, "runs/s", note=f"raw DBOS {raw2:.0f} runs/s"))
    report.add(Figure(NAME, "postgres", "2 workers / 1, timestep", ts2 / ts1, "x", note=f"raw DBOS {raw2 / raw1:.2f}x"))
    report.add(Figure(NAME, "postgres", "scaling timestep / scaling raw DBOS", (ts2 / ts1) / (raw2 / raw1), "x",
                      (">=", 0.8)))
