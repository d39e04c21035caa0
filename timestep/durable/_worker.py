"""``timestep worker``: serve the run queue, heartbeat, and recover dead workers' runs.

DBOS recovers a crashed process's workflows only when a process with the same executor id
restarts (or through its paid Conductor). Workers here each have a unique executor id and write
a heartbeat row; every live worker periodically looks for peers silent longer than a threshold
and, after *claiming* one in a single conditional UPDATE (so two live workers never both take
it), hands its PENDING runs - in flight or parked on an approval - back to the queue through
DBOS's recovery API. The queue's atomic dequeue then admits exactly one new owner per run.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from dbos import DBOS

from timestep.durable import _runtime
from timestep.durable._heartbeats import HeartbeatTable
from timestep.errors import UserError

__all__ = ["DEFAULT_QUEUE", "WorkerOptions", "import_app_module", "serve", "serve_worker"]

logger = logging.getLogger("timestep.worker")

DEFAULT_QUEUE = "timestep"
#: How often a worker writes its heartbeat and looks for dead peers.
DEFAULT_HEARTBEAT_SEC = 2.0
#: A worker silent this long is dead; its runs are recovered by a live one (issue: <= 30 s).
DEFAULT_DEAD_AFTER_SEC = 15.0
# 3.x queues poll the database; DBOS's 1 s default caps a worker at ~34 dequeues/s and adds up
# to a second to every pick-up; 0.1 s measured 75-84 trivial workflows/s per process.
QUEUE_POLLING_SEC = 0.1


@dataclass(frozen=True)
class WorkerOptions:
    module: str
    concurrency: int = 8
    queue: str = DEFAULT_QUEUE
    database_url: str | None = None
    heartbeat_sec: float = DEFAULT_HEARTBEAT_SEC
    dead_after_sec: float = DEFAULT_DEAD_AFTER_SEC
    drain_timeout_sec: int = 10


def import_app_module(module: str) -> None:
    """Import the user's module (dotted name or ``path/to/file.py``) so its agents register."""
    try:
        if module.endswith(".py") or os.sep in module:
            path = Path(module).resolve()
            if not path.exists():
                raise UserError(f"No module file at {path}.")
            sys.path.insert(0, str(path.parent))
            spec = importlib.util.spec_from_file_location(path.stem, path)
            if spec is None or spec.loader is None:
                raise UserError(f"Cannot import {path} as a Python module.")
            loaded = importlib.util.module_from_spec(spec)
            sys.modules[path.stem] = loaded
            spec.loader.exec_module(loaded)
        else:
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise UserError(f"Cannot import module {module!r}: {exc}.") from None


def new_executor_id() -> str:
    return f"worker-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


async def serve(options: WorkerOptions, *, stop: asyncio.Event | None = None) -> int:
    """Run a worker until ``stop`` is set or SIGTERM/SIGINT arrives; returns an exit code."""
    import_app_module(options.module)
    executor_id = new_executor_id()
    _runtime.launch(options.database_url, executor_id=executor_id, listen_queues=[options.queue])
    settings = _runtime.current_settings()
    assert settings is not None
    await register_run_queue(options.queue, options.concurrency)
    heartbeats = HeartbeatTable(settings.database)
    await heartbeats.beat(executor_id, options.queue, status="alive")
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    # Before "ready": a supervisor may send SIGTERM as soon as it reads that line.
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread / not supported
            pass
    logger.info("worker %s serving queue %r on %s", executor_id, options.queue, settings.database.redacted)
    print(f"worker {executor_id} ready (queue {options.queue!r}, concurrency {options.concurrency})", flush=True)
    while not stop.is_set():
        await heartbeats.beat(executor_id, options.queue, status="alive")
        await recover_dead_peers(heartbeats, executor_id, options.dead_after_sec)
        try:
            await asyncio.wait_for(stop.wait(), timeout=options.heartbeat_sec)
        except TimeoutError:
            pass
    # Drain: stop taking work, give in-flight steps a moment, then leave. Runs still PENDING
    # (parked, or mid-turn) are marked for immediate takeover by the live workers.
    logger.info("worker %s draining", executor_id)
    # DBOS waits up to the drain timeout for in-flight workflows; they run on this event loop,
    # so the wait happens on a plain thread while the loop keeps serving them.
    stopper = threading.Thread(target=_runtime.shutdown, args=(options.drain_timeout_sec,))
    stopper.start()
    while stopper.is_alive():
        await asyncio.sleep(0.05)
    # DBOS's shutdown also closed the loop's default executor: write the last beat inline.
    heartbeats.beat_blocking(executor_id, options.queue, status="stopped")
    return 0


async def register_run_queue(queue: str, concurrency: int) -> None:
    """The run queue: one running run per session (partition) and ``concurrency`` per worker.

    DBOS keeps a queue's limits in its ``queues`` table, shared by every process: registering
    sets the worker concurrency of *all* workers serving the queue. Say so when that changes it.
    """
    existing = await DBOS.retrieve_queue_async(queue)
    previous = getattr(existing, "_worker_concurrency", None)  # as read from the table just now
    if previous is not None and previous != concurrency:
        logger.warning(
            "queue %r had concurrency %d per worker (set by another worker); every worker serving "
            "it now uses %d. Workers that need different limits should serve different queues.",
            queue, previous, concurrency,
        )
    await DBOS.register_queue_async(
        queue,
        worker_concurrency=concurrency,
        partition_concurrency=1,
        polling_interval_sec=QUEUE_POLLING_SEC,
    )


async def recover_dead_peers(heartbeats: HeartbeatTable, me: str, dead_after_sec: float) -> list[str]:
    """Claim each dead (or cleanly stopped) peer once and hand its PENDING runs to the queue."""
    recovered: list[str] = []
    for dead in await heartbeats.claim_dead(me, time.time() - dead_after_sec):
        handles = await asyncio.to_thread(DBOS._recover_pending_workflows, [dead])
        logger.warning("recovered %d run(s) of dead worker %s", len(handles), dead)
        await heartbeats.mark_recovered(dead, me)
        recovered.append(dead)
    return recovered


def serve_worker(
    module: str,
    *,
    concurrency: int = 8,
    queue: str = DEFAULT_QUEUE,
    database_url: str | None = None,
    dead_after_sec: float = DEFAULT_DEAD_AFTER_SEC,
) -> int:
    """Blocking entry point for ``timestep worker MODULE``: serve until SIGTERM, return 0."""
    options = WorkerOptions(
        module=module,
        concurrency=concurrency,
        queue=queue,
        database_url=database_url,
        dead_after_sec=dead_after_sec,
    )
    return asyncio.run(serve(options))
