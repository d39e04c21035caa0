"""1. Overhead per durable checkpoint, against a raw DBOS async step measured in the same process.

Workload: the fake model calls the ``work`` tool once per turn, ``L`` times, then answers, so a
run has ``L+1`` model calls and ``L`` tool calls: ``2L+1`` checkpoints. The same run with ``L=0``
has one. Per checkpoint cost = (t(L) - t(0)) / 2L, medians over interleaved repetitions, which
cancels the fixed per-run costs (workflow start, final snapshot row). Then

    overhead ratio = (durable per-checkpoint - plain Runner.run per-checkpoint) / raw DBOS step

i.e. how many raw DBOS async steps each model/tool checkpoint costs on top of the SDK's own work
(the published dbos-openai-agents figure is ~1.3). All four variants run in one process per
backend (fresh DBOS, fresh database), interleaved, so machine noise hits them alike.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bench._common import Databases, Figure, Report, median, run_child

NAME = "overhead"
PUBLISHED_DBOS_RUNNER_RATIO = 1.3


async def measure(db_url: str, loops: int, reps: int) -> dict[str, Any]:
    """Child process: time every variant at 0 and ``loops`` tool turns; return medians."""
    from dbos import DBOS, SetWorkflowID

    from bench import app
    from timestep.durable import _runtime
    from timestep.durable._api import _spec
    from timestep.durable._workflow import run_workflow

    _runtime.launch(db_url)

    async def raw(n_loops: int) -> None:
        handle = await DBOS.start_workflow_async(app.raw_steps, 2 * n_loops)
        await handle.get_result()

    async def raw_payload(n_loops: int) -> None:
        handle = await DBOS.start_workflow_async(app.raw_payload_steps, 2 * n_loops)
        await handle.get_result()

    async def plain(n_loops: int) -> None:
        await app.plain_run(f"loop {n_loops} work")

    async def timestep_run(n_loops: int) -> None:
        spec = _spec(app.AGENT_NAME, f"loop {n_loops} work", None, None, app.MAX_TURNS, None)
        with SetWorkflowID(str(uuid.uuid4())):
            handle = await DBOS.start_workflow_async(run_workflow, spec)
        await handle.get_result()

    async def dbos_runner(n_loops: int) -> None:
        handle = await DBOS.start_workflow_async(app.dbos_runner_run, f"loop {n_loops} work")
        await handle.get_result()

    variants: dict[str, Callable[[int], Awaitable[None]]] = {
        "raw": raw, "raw_payload": raw_payload, "plain": plain, "timestep": timestep_run,
    }
    if app.HAVE_DBOS_RUNNER:
        variants["dbos_runner"] = dbos_runner

    async def timed(fn: Callable[[int], Awaitable[None]], n_loops: int) -> float:
        start = time.perf_counter()
        await fn(n_loops)
        return time.perf_counter() - start

    for fn in variants.values():  # warm up imports, pools, caches
        for n_loops in (0, loops):
            await fn(n_loops)
    samples: dict[str, dict[str, list[float]]] = {
        k: {"zero": [], "full": [], "delta": []} for k in variants
    }
    rng = random.Random(7)
    for _ in range(reps):
        order = list(variants)
        rng.shuffle(order)
        for name in order:
            zero = await timed(variants[name], 0)
            full = await timed(variants[name], loops)
            samples[name]["zero"].append(zero)
            samples[name]["full"].append(full)
            samples[name]["delta"].append(full - zero)
    _runtime.shutdown()
    return {
        name: {k: median(v) for k, v in s.items()} for name, s in samples.items()
    } | {"loops": loops, "reps": reps, "dbos_runner_installed": app.HAVE_DBOS_RUNNER}


def run(report: Report, dbs: Databases, backends: list[str], quick: bool) -> None:
    loops, reps = (8, 5) if quick else (20, 10)
    for backend in backends:
        r = run_child("overhead", "measure", db_url=dbs.new(backend), loops=loops, reps=reps)
        checkpoints = 2 * loops
        per = {k: r[k]["delta"] / checkpoints for k in ("raw", "raw_payload", "plain", "timestep")}
        report.add(Figure(NAME, backend, "raw DBOS async step", per["raw"] * 1000, "ms"))
        report.add(Figure(NAME, backend, "raw DBOS step recording a model response / tool string",
                          per["raw_payload"] * 1000, "ms", note="same outputs as the agent run"))
        report.add(Figure(NAME, backend, "plain Runner.run per model/tool call", per["plain"] * 1000, "ms"))
        report.add(Figure(NAME, backend, "timestep per checkpoint", per["timestep"] * 1000, "ms"))
        ratio = (per["timestep"] - per["plain"]) / per["raw"]
        report.add(Figure(NAME, backend, "timestep checkpoint overhead / raw step", ratio, "x", ("<=", 1.2)))
        report.add(Figure(NAME, backend, "timestep checkpoint overhead / raw step with the same outputs",
                          (per["timestep"] - per["plain"]) / per["raw_payload"], "x"))
        if r["dbos_runner_installed"]:
            per_d = r["dbos_runner"]["delta"] / checkpoints
            ratio_d = (per_d - per["plain"]) / per["raw"]
            report.add(Figure(NAME, backend, "dbos-openai-agents checkpoint overhead / raw step",
                              ratio_d, "x", note="same run; published ~1.3"))
            report.add(Figure(NAME, backend, "timestep / dbos-openai-agents, per checkpoint",
                              (per["timestep"] - per["plain"]) / (per_d - per["plain"]), "x"))
        else:
            report.note("dbos-openai-agents is not installed; compare with its published "
                        f"~{PUBLISHED_DBOS_RUNNER_RATIO}x")
        report.add(Figure(NAME, backend, f"timestep run total / plain Runner.run ({2 * loops + 1} checkpoints)",
                          r["timestep"]["full"] / r["plain"]["full"], "x"))
        report.add(Figure(NAME, backend, "timestep fixed cost per run (1-turn run minus plain)",
                          (r["timestep"]["zero"] - r["plain"]["zero"]) * 1000, "ms",
                          note="workflow start, final snapshot row"))
