"""A fleet of worker subprocesses on one real Postgres: spread, exactly-once, takeover, ordering."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.durable.spans import max_overlap, work_segments
from timestep.durable import _runtime, approve, get_run, list_runs, start_run
from timestep.durable._api import RunHandle

REPO = Path(__file__).resolve().parents[1]
DEAD_AFTER = 4.0  # seconds of silence before a worker counts as dead in these tests
QUEUE = "timestep"


class Fleet:
    def __init__(self, db_url: str, tmp: Path) -> None:
        self.db_url = db_url
        self.tmp = tmp
        self.ledger = tmp / "ledger.sqlite"
        self.procs: list[subprocess.Popen[str]] = []

    def spawn(self, *, concurrency: int = 8, model_delay: float = 0.0) -> subprocess.Popen[str]:
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(REPO),
            TIMESTEP_TEST_LEDGER=str(self.ledger),
            TIMESTEP_TEST_MODEL_DELAY=str(model_delay),
        )
        code = (
            "import sys; from timestep.durable import serve_worker; "
            "raise SystemExit(serve_worker('tests.durable.app', concurrency=int(sys.argv[1]), "
            "database_url=sys.argv[2], dead_after_sec=float(sys.argv[3])))"
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", code, str(concurrency), self.db_url, str(DEAD_AFTER)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "ready" in line, proc.stderr.read() if proc.stderr else line
        self.procs.append(proc)
        return proc

    def effects(self) -> Counter[str]:
        conn = sqlite3.connect(self.ledger)
        try:
            return Counter(row[0] for row in conn.execute("SELECT detail FROM effects"))
        finally:
            conn.close()

    def attempts(self) -> int:
        conn = sqlite3.connect(self.ledger)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0])
        finally:
            conn.close()

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


@pytest.fixture
def fleet(postgres_url: str, tmp_path: Path) -> Iterator[Fleet]:
    f = Fleet(postgres_url, tmp_path)
    try:
        yield f
    finally:
        f.close()
        _runtime.shutdown()


async def enqueue(db: str, text: str, *, session: str | None = None) -> RunHandle:
    return await start_run("Billing", text, queue=QUEUE, session_id=session, database_url=db)


async def executors(db: str, run_ids: list[str]) -> dict[str, str]:
    client = _runtime.client(db)
    statuses = await client.list_workflows_async(workflow_ids=run_ids, load_input=False, load_output=False)
    return {s.workflow_id: s.executor_id or "" for s in statuses}


async def test_fifty_runs_spread_over_three_workers_complete_once(fleet: Fleet) -> None:
    for _ in range(3):
        fleet.spawn(concurrency=8)
    handles = [await enqueue(fleet.db_url, f'call lookup({{"customer": "c{i}"}})') for i in range(50)]
    results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 120)
    assert results == [f"done: c{i} is a gold customer" for i in range(50)]
    assert fleet.effects() == Counter({f"c{i}": 1 for i in range(50)})
    assert fleet.attempts() == 50
    owners = Counter((await executors(fleet.db_url, [h.run_id for h in handles])).values())
    assert len(owners) >= 2, owners  # the queue spread the work


async def test_sigkill_worker_with_parked_and_in_flight_runs(fleet: Fleet) -> None:
    victim = fleet.spawn(concurrency=20)
    parked = [
        await enqueue(fleet.db_url, f'call charge({{"customer": "p{i}", "cents": {i}}})') for i in range(4)
    ]
    for h in parked:
        await wait_status(h, "waiting_approval")
    survivors = [fleet.spawn(concurrency=8) for _ in range(2)]
    owners_before = await executors(fleet.db_url, [h.run_id for h in parked])
    assert len(set(owners_before.values())) == 1
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    killed_at = time.monotonic()
    for h in parked:
        await approve(h.run_id, database_url=fleet.db_url)
    results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in parked)), DEAD_AFTER + 60)
    took = time.monotonic() - killed_at
    assert results == [f"done: charged p{i} {i}" for i in range(4)]
    assert took < DEAD_AFTER + 30, took
    owners_after = await executors(fleet.db_url, [h.run_id for h in parked])
    assert not set(owners_after.values()) & set(owners_before.values())
    assert fleet.effects() == Counter({f"p{i}:{i}": 1 for i in range(4)})
    assert all(p.poll() is None for p in survivors)


async def test_in_flight_runs_of_a_killed_worker_finish_elsewhere(fleet: Fleet) -> None:
    victim = fleet.spawn(concurrency=20, model_delay=3.0)
    handles = [await enqueue(fleet.db_url, f'call lookup({{"customer": "f{i}"}})') for i in range(5)]
    for h in handles:
        await wait_status(h, "running")
    fleet.spawn(concurrency=8)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), DEAD_AFTER + 60)
    assert results == [f"done: f{i} is a gold customer" for i in range(5)]
    assert fleet.effects() == Counter({f"f{i}": 1 for i in range(5)})


async def test_runs_of_one_session_never_overlap(fleet: Fleet) -> None:
    for _ in range(2):
        fleet.spawn(concurrency=8, model_delay=0.2)
    sessions = [f"s{i}-{uuid.uuid4().hex[:6]}" for i in range(3)]
    handles = [
        (s, await enqueue(fleet.db_url, f'call lookup({{"customer": "{s}-{n}"}})', session=s))
        for n in range(4)
        for s in sessions
    ]
    await asyncio.wait_for(asyncio.gather(*(h.result() for _, h in handles)), 120)
    client = _runtime.client(fleet.db_url)
    overlaps_across_sessions = 0
    spans: dict[str, list[tuple[int, int]]] = {}
    for session, h in handles:
        # A run's span is from its first step's start to its last step's end, both stamped by
        # the executing process (one clock). DBOS's dequeued_at/updated_at come from different
        # moments of different transactions and can disagree by a few ms under load.
        steps = await client.list_workflow_steps_async(h.run_id, load_output=False)
        starts = [s["started_at_epoch_ms"] for s in steps if s["started_at_epoch_ms"]]
        ends = [s["completed_at_epoch_ms"] for s in steps if s["completed_at_epoch_ms"]]
        assert starts and ends
        spans.setdefault(session, []).append((min(starts), max(ends)))
    for session, intervals in spans.items():
        intervals.sort()
        for (_, end), (start, _) in itertools.pairwise(intervals):
            assert start >= end, f"runs of {session} overlapped"
    all_spans = sorted(span for intervals in spans.values() for span in intervals)
    for (_, end), (start, _) in itertools.pairwise(all_spans):
        overlaps_across_sessions += start < end
    assert overlaps_across_sessions > 0  # different sessions did run in parallel


async def test_sigterm_drains_and_peers_take_over_parked_runs(fleet: Fleet) -> None:
    leaving = fleet.spawn()
    handle = await enqueue(fleet.db_url, 'call charge({"customer": "t", "cents": 7})')
    await wait_status(handle, "waiting_approval")
    fleet.spawn()
    leaving.send_signal(signal.SIGTERM)
    assert leaving.wait(timeout=60) == 0
    await approve(handle.run_id, database_url=fleet.db_url)
    assert await asyncio.wait_for(handle.result(), 60) == "done: charged t 7"
    assert [r.run_id for r in await list_runs("waiting_approval", database_url=fleet.db_url)] == []


async def test_parked_runs_hold_no_worker_slot(fleet: Fleet) -> None:
    """A worker with --concurrency 2 parks 5 runs, serves new ones meanwhile, and once the 5 are
    approved together never has more than 2 of its runs doing work at the same time."""
    fleet.spawn(concurrency=2, model_delay=0.3)
    parked = [
        await enqueue(fleet.db_url, f'call charge({{"customer": "q{i}", "cents": {i}}})') for i in range(5)
    ]
    for h in parked:
        await wait_status(h, "waiting_approval", timeout=90)
    # New work is taken while all 5 wait: they hold no slot.
    fresh = [await enqueue(fleet.db_url, f'call lookup({{"customer": "n{i}"}})') for i in range(3)]
    assert await asyncio.wait_for(asyncio.gather(*(h.result() for h in fresh)), 60) == [
        f"done: n{i} is a gold customer" for i in range(3)
    ]
    statuses = [(await get_run(h.run_id, database_url=fleet.db_url)).status for h in parked]
    assert statuses == ["waiting_approval"] * 5
    for h in parked:
        await approve(h.run_id, database_url=fleet.db_url)
    results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in parked)), 90)
    assert results == [f"done: charged q{i} {i}" for i in range(5)]
    assert fleet.effects() == Counter({f"q{i}:{i}": 1 for i in range(5)} | {f"n{i}": 1 for i in range(3)})
    client = _runtime.client(fleet.db_url)
    segments = [
        span
        for h in parked + fresh
        for span in work_segments(await client.list_workflow_steps_async(h.run_id, load_output=False))
    ]
    assert max_overlap(segments) <= 2, sorted(segments)


async def test_a_worker_says_when_it_changes_the_queue_concurrency(fleet: Fleet) -> None:
    """DBOS stores one worker concurrency per queue: the last worker to start sets it for all."""
    fleet.spawn(concurrency=2)
    second = fleet.spawn(concurrency=3)
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=60) == 0
    assert second.stderr is not None
    err = second.stderr.read()
    assert "had concurrency 2 per worker" in err and "now uses 3" in err, err


async def wait_status(handle: RunHandle, status: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await get_run(handle.run_id, database_url=handle._database_url)).status == status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.run_id} never reached {status}")
