"""A run parked on an approval gives its worker's queue slot back while it waits.

DBOS 3.4 measures a worker's load against the queue's ``worker_concurrency`` as the number of
its in-memory executions of that queue (``_core.ActiveWorkflowById.count_for_queue``, read by
``_queue.py``'s ``worker_load()``), and a run waiting in ``recv`` is one of them. A worker with
``--concurrency 8`` therefore stopped dequeuing once 8 of its runs waited for people - maybe for
hours - and could not take over a dead peer's parked runs either.

``parked_slot()`` moves the run's entry to a bucket the queue thread does not count for as long
as the run waits, and puts it back when every decision is in. The woken run is counted again at
once, so the queue thread takes no new work in its place, and then waits until fewer than the
queue's ``worker_concurrency`` of this worker's runs are active: a burst of approvals resumes
runs as fast as slots free up and never pushes a worker past its concurrency (up to the queue
thread's own one-poll race, which DBOS has for dequeues too).

Runs hosted in-process by ``start_run`` (no queue) and runs of queues without a worker limit
are left alone. Partition (per-session) exclusion is untouched: DBOS enforces it from PENDING
rows in the database, so a parked run still holds its conversation until it is decided.

This touches DBOS private state (pinned to dbos 3.4.x); ``tests/test_workers.py`` fails loudly
if an upgrade changes it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

__all__ = ["active_runs", "parked_slot"]

#: Suffix of the bucket a parked run's entry moves to; no queue is named like this.
_PARKED = "\x00parked"
#: How often a woken run re-checks for a free slot while its worker is full.
_SLOT_POLL_SEC = 0.05
#: The queue's worker_concurrency lives in DBOS's ``queues`` table (the last worker to register
#: the queue sets it for all); re-read at most this often while woken runs wait.
_LIMIT_TTL_SEC = 2.0

_limits: dict[str, tuple[float, int | None]] = {}
#: Woken runs per queue that are counted by DBOS but not yet running again.
_waiting: dict[str, int] = {}


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
    active = _dbos()._active_workflows_set
    with active._lock:
        for bucket in active._m.get(workflow_id) or []:
            if bucket is not None and not bucket[0].endswith(_PARKED):
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


@asynccontextmanager
async def parked_slot(workflow_id: str) -> AsyncIterator[None]:
    """Hold no worker slot inside the block; on leaving it normally, wait for a free one."""
    bucket = _queue_bucket(workflow_id)
    if bucket is None or not _swap_bucket(workflow_id, bucket, (bucket[0] + _PARKED, bucket[1])):
        yield
        return
    queue = bucket[0]
    woke = False
    try:
        yield
        woke = True
    finally:
        # Counted again before waiting: the queue thread must not fill the slot this run needs.
        _swap_bucket(workflow_id, (queue + _PARKED, bucket[1]), bucket)
    if woke:
        await _wait_for_slot(queue)


async def _wait_for_slot(queue: str) -> None:
    _waiting[queue] = _waiting.get(queue, 0) + 1
    try:
        while True:
            limit = await _worker_limit(queue)
            if limit is None or active_runs(queue) < limit:
                return
            await asyncio.sleep(_SLOT_POLL_SEC)
    finally:
        _waiting[queue] -= 1
