"""Run slots: a run parked on an approval holds none, and woken runs resume a few at a time.

Queued runs (``timestep worker``). DBOS 3.4 measures a worker's load against the queue's
``worker_concurrency`` as the number of its in-memory executions of that queue
(``_core.ActiveWorkflowById.count_for_queue``, read by ``_queue.py``'s ``worker_load()``), and a
run waiting in ``recv`` is one of them. A worker with ``--concurrency 8`` therefore stopped
dequeuing once 8 of its runs waited for people - maybe for hours - and could not take over a
dead peer's parked runs either. While a run waits, its entry moves to a bucket the queue thread
does not count; when every decision is in it is counted again at once (so the queue thread
takes no new work in its place) and then waits until fewer than ``worker_concurrency`` of this
worker's runs are active: a burst of approvals never pushes a worker past its concurrency (up
to the queue thread's own one-poll race, which DBOS has for dequeues too).

Runs hosted in-process (``start_run`` without a queue) have no worker limit, so without a gate a
burst of approvals resumed all of them at once. Measured (2,000 parked runs on Postgres, 1,500
approved from another process at ~170/s, one host CPU-bound on a loaded 2-core machine):
with no gate 1,500 runs were in flight at once, on one ``Agent`` whose SDK tool-configuration
guard (``agent_tool_configuration._observe_tools``, ~8 calls per run) scans every in-flight run of
that agent, while a thousand tasks contended for 40 pool connections and the GIL: 16 runs/s and
57 ms of host CPU per approved run. Gated, slots: runs/s / ms: 2: 28.8 / 29.1, 4: 26.8 / 32.5,
8: 25.3 / 33.3, 16: 26.1 / 35.3, 32: 20.7 / 43.6 (`python -m bench --only parked` drains
through the default). Woken in-process runs therefore take one of
``HOST_RESUME_CONCURRENCY`` slots per event loop (FIFO) until they park again or finish.

Partition (per-session) exclusion is untouched: DBOS enforces it from PENDING rows in the
database, so a parked run still holds its conversation until it is decided. The queued path
touches DBOS private state (pinned to dbos 3.4.x); ``tests/test_workers.py`` fails loudly if an
upgrade changes it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

__all__ = ["HOST_RESUME_CONCURRENCY", "RunSlot", "active_runs"]

#: Woken in-process runs working at once per event loop (``TIMESTEP_RESUME_CONCURRENCY``). A
#: draining host is CPU-bound (~30 ms of SDK + DBOS work per run on one core), so a handful in
#: flight keep the database busy; 8 also leaves room to hide a remote database's round trips.
HOST_RESUME_CONCURRENCY = 8
#: Suffix of the bucket a parked run's entry moves to; no queue is named like this.
_PARKED = "\x00parked"
#: How often a woken queued run re-checks for a free slot while its worker is full.
_SLOT_POLL_SEC = 0.05
#: The queue's worker_concurrency lives in DBOS's ``queues`` table (the last worker to register
#: the queue sets it for all); re-read at most this often while woken runs wait.
_LIMIT_TTL_SEC = 2.0

_limits: dict[str, tuple[float, int | None]] = {}
#: Woken queued runs per queue that DBOS counts but that are not running again yet.
_waiting: dict[str, int] = {}
_host_gates: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


def _dbos() -> Any:
    from dbos._dbos import _get_dbos_instance

    return _get_dbos_instance()


def _swap_bucket(workflow_id: str, old: tuple[str, str | None], new: tuple[str, str | None]) -> bool:
    active = _dbos()._active_workflows_set
    with active._lock:
        buckets: list[Any] | None = active._m.get(workflow_id)
        if not buckets or old not in buckets:
            return False
        buckets[buckets.index(old)] = new
        return True


def _queue_bucket(workflow_id: str) -> tuple[str, str | None] | None:
    from dbos._utils import INTERNAL_QUEUE_NAME

    active = _dbos()._active_workflows_set
    with active._lock:
        for bucket in active._m.get(workflow_id) or []:
            # Runs recovered at launch go through DBOS's internal queue: hosted, not queued.
            if bucket is not None and bucket[0] != INTERNAL_QUEUE_NAME and not bucket[0].endswith(_PARKED):
                return (bucket[0], bucket[1])
    return None


def active_runs(queue: str) -> int:
    """Runs of ``queue`` executing in this process, parked ones and woken waiters excluded."""
    counted: int = _dbos()._active_workflows_set.count_for_queue(queue)
    return counted - _waiting.get(queue, 0)


async def _worker_limit(queue: str) -> int | None:
    now = time.monotonic()
    cached = _limits.get(queue)
    if cached is not None and now - cached[0] < _LIMIT_TTL_SEC:
        return cached[1]
    row = await asyncio.to_thread(_dbos()._sys_db.get_queue, queue)
    limit: int | None = getattr(row, "_worker_concurrency", None) if row is not None else None
    _limits[queue] = (now, limit)
    return limit


def _host_gate() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    gate = _host_gates.get(loop)
    if gate is None:
        for stale in [other for other in _host_gates if other.is_closed()]:
            del _host_gates[stale]
        size = int(os.environ.get("TIMESTEP_RESUME_CONCURRENCY") or HOST_RESUME_CONCURRENCY)
        gate = _host_gates[loop] = asyncio.Semaphore(max(1, size))
    return gate


class RunSlot:
    """One executing run's claim on its process's capacity (workflow code only)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._host_gate: asyncio.Semaphore | None = None

    @asynccontextmanager
    async def parked(self) -> AsyncIterator[None]:
        """Hold no slot inside the block; on leaving it normally, wait for a free one."""
        self.release()
        bucket = _queue_bucket(self.run_id)
        if bucket is None:
            yield
            gate = _host_gate()
            await gate.acquire()
            self._host_gate = gate
            return
        queue, partition = bucket
        if not _swap_bucket(self.run_id, bucket, (queue + _PARKED, partition)):
            yield
            return
        woke = False
        try:
            yield
            woke = True
        finally:
            # Counted again before waiting: the queue thread must not fill the slot this run needs.
            _swap_bucket(self.run_id, (queue + _PARKED, partition), bucket)
        if woke:
            await _wait_for_queue_slot(queue)

    def __enter__(self) -> RunSlot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        """Give back the in-process resume slot, if held (at a park and when the run ends)."""
        gate, self._host_gate = self._host_gate, None
        if gate is not None:
            gate.release()


async def _wait_for_queue_slot(queue: str) -> None:
    _waiting[queue] = _waiting.get(queue, 0) + 1
    try:
        while True:
            limit = await _worker_limit(queue)
            if limit is None or active_runs(queue) < limit:
                return
            await asyncio.sleep(_SLOT_POLL_SEC)
    finally:
        _waiting[queue] -= 1
