"""3. Many runs parked on approval in one process: memory, idle CPU, then the approval drain.

One *host* process (fresh DBOS, launched by ``timestep.durable.launch`` with its defaults)
starts ``n`` runs that each make one model call and then wait for an approval, keeping at most
``concurrency`` runs between "started" and "parked" (a parked run is one registered recv waiter). The same is done, in
another host on another fresh database, with raw DBOS workflows (one step, ``recv_async``, two
steps) launched with DBOS's own defaults except the executor and pool, bounded as timestep's
(see ``_launch_raw``). For each host:

* resident memory (RSS) once all are parked, and its growth per parked run;
* idle CPU: the host's CPU time (user + system, all threads) over a fixed window while parked;
* drain: a *separate* approver process approves the first ``drain`` runs (all of them, or a
  part when that would take too long; the others stay parked meanwhile) with
  ``timestep.approve`` for timestep and ``DBOSClient.send`` for raw DBOS; the drain rate is
  ``drain`` / (last completion - first approval sent), completion times read from DBOS's
  ``workflow_status`` table; host CPU per approved run over the same interval;
* "connection pool exhausted" (and SQLAlchemy QueuePool) warnings in the host's log.
"""

from __future__ import annotations

import asyncio
import gc
import re
import time
from pathlib import Path
from typing import Any

from bench._common import (
    Databases,
    Figure,
    Report,
    SystemTables,
    emit,
    read_result,
    run_child,
    spawn_child,
    stop,
)

NAME = "parked"
TIMESTEP_WORKFLOW = "timestep.run"
RAW_WORKFLOW = "bench.raw_park"
POOL_WARNING = re.compile(r"connection pool exhausted|QueuePool limit|pool.*timed out", re.IGNORECASE)


def _waiters() -> int:
    from dbos._dbos import _get_dbos_instance

    return len(_get_dbos_instance()._sys_db.notifications_map._dict)


async def host(db_url: str, kind: str, n: int, concurrency: int, threads: int | None = None,
               pool: int | None = None, freeze: bool = False) -> None:
    """Child process: park ``n`` runs, report, then idle until killed (``threads``/``pool``
    override timestep's DBOS executor and pool defaults, for sweeps; ``freeze`` moves every
    object alive once parked out of the cyclic GC's reach, to diagnose GC cost)."""
    import psutil
    from dbos import DBOS, SetWorkflowID

    from bench import app
    from timestep.durable import _runtime, start_run

    if kind == "timestep":
        _runtime.launch(db_url, max_executor_threads=threads, pool_size=pool)
    else:
        _launch_raw(db_url, threads, pool)
    proc = psutil.Process()
    # Warm up (imports, pools, the snapshot table's migration) outside the measurement.
    await _start(kind, "warmup", app, start_run, DBOS, SetWorkflowID)
    while _waiters() < 1:
        await asyncio.sleep(0.01)
    gc.collect()
    rss_before = proc.memory_info().rss
    started = 0
    cpu0 = _cpu(proc)
    t0 = time.perf_counter()
    while started < n:
        parked = _waiters() - 1
        if started - parked < concurrency:
            batch = min(concurrency - (started - parked), n - started)
            for _ in range(batch):
                await _start(kind, f"p-{started}", app, start_run, DBOS, SetWorkflowID)
                started += 1
        else:
            await asyncio.sleep(0.005)
    while _waiters() - 1 < n:
        await asyncio.sleep(0.02)
    park_seconds = time.perf_counter() - t0
    park_cpu = _cpu(proc) - cpu0
    await asyncio.sleep(1.0)
    gc.collect()
    if freeze:
        gc.freeze()
    emit({
        "pid": proc.pid,
        "park_rate": n / park_seconds,
        "park_cpu_ms": park_cpu / n * 1000,
        "rss_before": rss_before,
        "rss_parked": proc.memory_info().rss,
        "threads": proc.num_threads(),
    })
    await asyncio.Event().wait()


def _launch_raw(db_url: str, threads: int | None, pool: int | None) -> None:
    """Raw DBOS as a user would launch it (DBOS's defaults: e.g. SQLite polling every 1 s), except
    the executor and pool, bounded like timestep's: DBOS's unbounded default executor made 10k
    parked runs hold thousands of threads and collapse approvals to 44/s (reference/dbos.md)."""
    from dbos import DBOS

    from timestep.config import resolve_database_url
    from timestep.durable._runtime import build_dbos_config

    config = build_dbos_config(resolve_database_url(db_url), max_executor_threads=threads, pool_size=pool)
    config.pop("notification_listener_polling_interval_sec", None)
    DBOS(config=config)
    DBOS.launch()


def _cpu(proc: Any) -> float:
    """CPU seconds (user + system, all threads) of a psutil process so far."""
    times = proc.cpu_times()
    return float(times.user + times.system)


async def _start(kind: str, run_id: str, app: Any, start_run: Any, DBOS: Any, SetWorkflowID: Any) -> None:
    if kind == "timestep":
        await start_run(app.AGENT_NAME, "loop 0 work then charge", run_id=run_id,
                        max_turns=app.MAX_TURNS)
    else:
        with SetWorkflowID(run_id):
            await DBOS.start_workflow_async(app.raw_park, run_id)


async def approver(db_url: str, kind: str, n: int, concurrency: int) -> dict[str, float]:
    """Child process: approve runs ``p-0`` .. ``p-{n-1}`` with bounded concurrency."""
    from dbos import DBOSClient

    from bench import app
    from timestep.durable import _runtime, approve

    client: DBOSClient | None = None
    if kind == "raw":
        client = DBOSClient(system_database_url=_runtime.database_for(db_url).sqlalchemy_url)
    else:
        _runtime.client(db_url)  # connect before the clock starts, as a long-lived inbox would
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            if client is None:
                await approve(f"p-{i}", database_url=db_url)
            else:
                await client.send_async(f"p-{i}", "approve", app.DECISION_TOPIC,
                                        idempotency_key=f"approve-p-{i}")

    t0 = time.time()
    await asyncio.gather(*(one(i) for i in range(n)))
    t1 = time.time()
    return {"start": t0, "sent": t1}


async def sdk_cost(reps: int) -> dict[str, float]:
    """Child process: the SDK's own cost of the same run without any durability (ms per run):
    run to the interruption + ``to_state()``, then ``approve`` + resume + ``to_state()``."""
    from agents import RunConfig, Runner

    from bench import app
    from bench.fake_model import LoopModelProvider

    config = RunConfig(model_provider=LoopModelProvider(), tracing_disabled=True)
    park, resume = [], []
    for i in range(reps + 5):
        t0 = time.process_time()
        result = await Runner.run(app.bench_agent, "loop 0 work then charge", run_config=config)
        state = result.to_state()
        t1 = time.process_time()
        for item in state.get_interruptions():
            state.approve(item)
        final = await Runner.run(app.bench_agent, state, run_config=config)
        final.to_state()
        t2 = time.process_time()
        if i >= 5:  # warm-up
            park.append(t1 - t0)
            resume.append(t2 - t1)
    return {"park_ms": sum(park) / reps * 1000, "resume_ms": sum(resume) / reps * 1000}


def _one_host(dbs: Databases, backend: str, kind: str, n: int, window: float, logs: Path,
              drain: int | None = None, **settings: Any) -> dict[str, Any]:
    import psutil

    url = dbs.new(backend)
    drain = drain or n
    log = logs / f"parked-{backend}-{kind}.log"
    proc = spawn_child("parked", "host", log, db_url=url, kind=kind, n=n, concurrency=64, **settings)
    try:
        parked = read_result(proc, timeout=max(600.0, n / 10))
        ps = psutil.Process(proc.pid)
        time.sleep(2.0)
        c0 = _cpu(ps)
        time.sleep(window)
        idle = (_cpu(ps) - c0) / window if window else 0.0
        drain_cpu0 = _cpu(ps)
        sent = run_child("parked", "approver", timeout=900, db_url=url, kind=kind, n=drain, concurrency=32)
        tables = SystemTables(url)
        name = TIMESTEP_WORKFLOW if kind == "timestep" else RAW_WORKFLOW
        if not tables.wait_for(name, "SUCCESS", drain, timeout=max(300.0, drain / 5)):
            raise RuntimeError(f"{kind} runs did not all finish after approval ({log})")
        last = tables.completion_times(name)[-1]
        # Less the idle cost of the runs still parked meanwhile (their periodic re-checks).
        drain_cpu = _cpu(ps) - drain_cpu0 - idle * max(0.0, last - sent["start"])
        rss_after_drain = ps.memory_info().rss
    finally:
        stop(proc)
    warnings = sum(1 for line in log.read_text(errors="replace").splitlines() if POOL_WARNING.search(line))
    return parked | {
        "idle_cpu": idle,
        "drain_rate": drain / max(1e-9, last - sent["start"]),
        "drain_cpu_ms": drain_cpu / drain * 1000,
        "send_rate": drain / max(1e-9, sent["sent"] - sent["start"]),
        "drained": drain,
        "warnings": warnings,
        "rss_after_drain": rss_after_drain,
        "log": str(log),
    }


def run(report: Report, dbs: Databases, backends: list[str], quick: bool, n: int | None = None) -> None:
    for backend in backends:
        count = n or (500 if quick else 10000)
        if backend == "sqlite" and n is None:
            # SQLite's notification poller queries once per waiter per interval: 10k waiters
            # would saturate a core on their own (reference/dbos.md "Scale facts").
            count = 200 if quick else 1000
        # Approving all 10k would take most of the time budget at timestep's rate; the rate is
        # measured on the first `drain` approvals while the rest stay parked.
        drain = min(count, 250 if quick else 1500) if backend == "postgres" else min(count, 500)
        # On Postgres a parked recv re-checks the database every 60 s (DBOS's fallback poll),
        # 60 s after it parked: only a 60 s window sees every waiter exactly once whatever the
        # parking took; a shorter one favours whichever host parked faster. SQLite's poller
        # checks every waiter every interval, so any window is fair there.
        fair = backend == "sqlite" or not quick
        window = 10.0 if backend == "sqlite" else 15.0 if quick else 60.0
        ts = _one_host(dbs, backend, "timestep", count, window, dbs.tmp, drain)
        raw = _one_host(dbs, backend, "raw", count, window, dbs.tmp, drain)
        sdk = run_child("parked", "sdk_cost", reps=200)
        mib = 1024 * 1024
        label = f"{count} parked"
        report.add(Figure(NAME, backend, f"park rate ({label}), timestep / raw",
                          ts["park_rate"], "runs/s", note=f"raw {raw['park_rate']:.0f} runs/s"))
        report.add(Figure(NAME, backend, f"RSS with {label}, timestep", ts["rss_parked"] / mib, "MiB",
                          ("<=", 300.0), note=f"raw {raw['rss_parked'] / mib:.0f} MiB"))
        report.add(Figure(NAME, backend, "RSS timestep / raw DBOS", ts["rss_parked"] / raw["rss_parked"],
                          "x", ("<=", 1.3)))
        per_ts = (ts["rss_parked"] - ts["rss_before"]) / count / 1024
        per_raw = (raw["rss_parked"] - raw["rss_before"]) / count / 1024
        report.add(Figure(NAME, backend, "RSS growth per parked run, timestep", per_ts, "KiB",
                          note=f"raw {per_raw:.1f} KiB; {per_ts / per_raw if per_raw > 0 else float('inf'):.2f}x"))
        report.add(Figure(NAME, backend, f"idle CPU while parked ({window:.0f} s window), timestep",
                          ts["idle_cpu"] * 100, "% core", note=f"raw {raw['idle_cpu'] * 100:.1f}% core"))
        report.add(Figure(NAME, backend, "idle CPU timestep / raw DBOS",
                          ts["idle_cpu"] / max(raw["idle_cpu"], 1e-4), "x", ("<=", 1.0) if fair else None,
                          note="" if fair else "15 s window < DBOS's 60 s fallback poll: not comparable"))
        drain_target = (">=", 200.0) if backend == "postgres" else None
        report.add(Figure(NAME, backend, f"approval drain ({drain} of {count} approved), timestep",
                          ts["drain_rate"], "runs/s", drain_target,
                          note=f"raw {raw['drain_rate']:.0f} runs/s; approvals sent at {ts['send_rate']:.0f}/s"))
        report.add(Figure(NAME, backend, "drain timestep / raw DBOS", ts["drain_rate"] / raw["drain_rate"], "x"))
        report.add(Figure(NAME, backend, "host CPU per approved run (idle cost deducted), timestep",
                          ts["drain_cpu_ms"], "ms",
                          note=f"raw {raw['drain_cpu_ms']:.1f} ms; parking: {ts['park_cpu_ms']:.1f} vs "
                               f"{raw['park_cpu_ms']:.1f} ms per run"))
        report.add(Figure(NAME, backend, "of which the SDK alone (approve + resume, no durability)",
                          sdk["resume_ms"], "ms", note=f"to the interruption: {sdk['park_ms']:.1f} ms"))
        report.add(Figure(NAME, backend, "pool warnings in the timestep host's log", ts["warnings"], "",
                          ("<=", 0.0), note=f"raw host {raw['warnings']}; threads {ts['threads']} vs {raw['threads']}"))
