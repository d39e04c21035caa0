"""Fault injection: the worker is a subprocess killed with SIGKILL at named points.

After a restart the run must finish with the same output as an uninterrupted run, no completed
model turn may be requested again, a tool's side effect (deduplicated by its idempotency key)
must happen once, and the conversation must hold no duplicate items.
"""

from __future__ import annotations

import asyncio
import json
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

from timestep.durable import SQLSession, approve, get_run
from timestep.durable._api import RunHandle

REPO = Path(__file__).resolve().parents[1]
INPUT = 'call lookup({"customer": "ada"}) and call charge({"customer": "ada", "cents": 500})'
EXPECTED = "done: ada is a gold customer | charged ada 500"
SESSION_SHAPE = ["user", "function_call", "function_call", "function_call_output",
                 "function_call_output", "assistant"]


class Worker:
    """One ``tests.durable.worker_main`` process."""

    def __init__(self, env: dict[str, str], args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.durable.worker_main", *args],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line.strip() == "ready":
                return
            if self.proc.poll() is not None:
                break
        raise AssertionError(f"worker did not start: {self.stderr()}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stderr(self) -> str:
        if self.proc.poll() is None:
            self.proc.kill()
        _, err = self.proc.communicate(timeout=30)
        return err[-4000:]


class Harness:
    def __init__(self, db_url: str, tmp: Path) -> None:
        self.db_url = db_url
        self.tmp = tmp
        self.model_log = tmp / "model.log"
        self.ledger = tmp / "ledger.sqlite"
        self.run_id = f"crash-{uuid.uuid4()}"
        self.session_id = f"sess-{uuid.uuid4()}"
        self.workers: list[Worker] = []

    def env(self, failpoints: str = "", **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            TIMESTEP_TEST_MODEL_LOG=str(self.model_log),
            TIMESTEP_TEST_LEDGER=str(self.ledger),
            TIMESTEP_FAILPOINTS=failpoints,
            TIMESTEP_FAILPOINT_DIR=str(self.tmp),
            PYTHONPATH=str(REPO),
            **extra,
        )
        return env

    def start(self, failpoints: str = "", *, start_run: bool = False, **extra: str) -> Worker:
        args = [self.db_url]
        if start_run:
            args += [self.run_id, INPUT, self.session_id]
        worker = Worker(self.env(failpoints, **extra), args)
        self.workers.append(worker)
        worker.wait_ready()
        return worker

    def wait_failpoint(self, name: str, timeout: float = 60) -> None:
        path = self.tmp / name
        deadline = time.monotonic() + timeout
        while not path.exists():
            if time.monotonic() > deadline:
                raise AssertionError(f"failpoint {name} never reached")
            time.sleep(0.02)

    async def wait_status(self, status: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                info = await get_run(self.run_id, database_url=self.db_url)
                if info.status == status:
                    return info.pending[0].call_id if info.pending else ""
            except Exception:
                pass  # the worker may not have created the run yet
            if time.monotonic() > deadline:
                raise AssertionError(f"run never reached {status}")
            await asyncio.sleep(0.05)

    async def result(self) -> object:
        return await asyncio.wait_for(RunHandle(self.run_id, database_url=self.db_url).result(), 60)

    def model_requests(self) -> Counter[str]:
        lines = self.model_log.read_text().splitlines() if self.model_log.exists() else []
        return Counter(json.loads(line)["request"] for line in lines)

    def ledger_counts(self, table: str) -> Counter[str]:
        conn = sqlite3.connect(self.ledger)
        try:
            return Counter(row[0] for row in conn.execute(f"SELECT tool FROM {table}"))
        finally:
            conn.close()

    async def assert_completed_once(self, *, repeated_turns: int = 0, tool_attempts: int = 2) -> None:
        assert await self.result() == EXPECTED
        requests = self.model_requests()
        assert len(requests) == 2, requests  # two distinct turns
        assert sum(requests.values()) == 2 + repeated_turns, requests
        assert self.ledger_counts("effects") == Counter({"lookup": 1, "charge": 1})
        assert sum(self.ledger_counts("attempts").values()) == tool_attempts
        items = await SQLSession(self.session_id, self.db_url).get_items()
        assert [i.get("role") or i.get("type") for i in items] == SESSION_SHAPE

    def close(self) -> None:
        for worker in self.workers:
            if worker.proc.poll() is None:
                worker.kill()


@pytest.fixture
def harness(db_url: str, tmp_path: Path) -> Iterator[Harness]:
    h = Harness(db_url, tmp_path)
    try:
        yield h
    finally:
        h.close()


async def test_uninterrupted_baseline(harness: Harness) -> None:
    harness.start(start_run=True)
    call_id = await harness.wait_status("waiting_approval")
    await approve(harness.run_id, call_id, database_url=harness.db_url)
    await harness.assert_completed_once()


@pytest.mark.parametrize(
    ("failpoint", "repeated_turns", "tool_attempts"),
    [
        ("model_step_before_commit", 1, 2),  # the in-flight turn is asked again; nothing else
        ("model_step_after_commit", 0, 2),
        ("inside_tool", 0, 3),  # the tool step re-executes; its keyed side effect does not repeat
    ],
)
async def test_kill_during_first_turn(
    harness: Harness, failpoint: str, repeated_turns: int, tool_attempts: int
) -> None:
    first = harness.start(failpoint, start_run=True)
    harness.wait_failpoint(failpoint)
    first.kill()
    harness.start()  # same executor id: recovers the run
    call_id = await harness.wait_status("waiting_approval")
    await approve(harness.run_id, call_id, database_url=harness.db_url)
    await harness.assert_completed_once(repeated_turns=repeated_turns, tool_attempts=tool_attempts)


async def test_kill_while_parked(harness: Harness) -> None:
    first = harness.start(start_run=True)
    call_id = await harness.wait_status("waiting_approval")
    first.kill()
    harness.start()
    await harness.wait_status("waiting_approval")
    await approve(harness.run_id, call_id, database_url=harness.db_url)
    await harness.assert_completed_once()


async def test_kill_after_recv_consumed_the_approval(harness: Harness) -> None:
    first = harness.start("after_recv", start_run=True)
    call_id = await harness.wait_status("waiting_approval")
    await approve(harness.run_id, call_id, database_url=harness.db_url)
    harness.wait_failpoint("after_recv")
    first.kill()
    harness.start()
    await harness.assert_completed_once()


async def test_start_in_a_approve_from_b_complete_in_c(harness: Harness) -> None:
    """Hours later, elsewhere: A parks the run and stops; B (a separate process that never
    hosts runs) approves while no worker is alive; C, a fresh worker, completes it."""
    first = harness.start(start_run=True)
    call_id = await harness.wait_status("waiting_approval")
    first.kill()
    approver = subprocess.run(
        [sys.executable, "-c",
         "import asyncio, sys, timestep; "
         "asyncio.run(timestep.approve(sys.argv[1], sys.argv[2], database_url=sys.argv[3]))",
         harness.run_id, call_id, harness.db_url],
        cwd=REPO, env=harness.env(), capture_output=True, text=True, timeout=120,
    )
    assert approver.returncode == 0, approver.stderr
    harness.start()
    await harness.assert_completed_once()


async def test_redeploy_with_changed_code_completes_parked_run(harness: Harness) -> None:
    first = harness.start(start_run=True)
    call_id = await harness.wait_status("waiting_approval")
    first.kill()
    harness.start(TIMESTEP_TEST_EXTRA_AGENT="1")  # new agent and tool registered
    await approve(harness.run_id, call_id, database_url=harness.db_url)
    await harness.assert_completed_once()


async def test_stream_is_exactly_once_across_a_worker_restart(harness: Harness) -> None:
    from timestep.durable import stream_run

    first = harness.start(start_run=True)
    call_id = await harness.wait_status("waiting_approval")
    events: list[tuple[str, int]] = []

    async def read() -> None:
        async for event in stream_run(harness.run_id, database_url=harness.db_url):
            events.append((event.type, event.seq))

    reader = asyncio.create_task(read())
    await asyncio.sleep(0.3)
    first.kill()
    harness.start()
    await approve(harness.run_id, call_id, database_url=harness.db_url)
    await harness.assert_completed_once()
    await asyncio.wait_for(reader, 30)
    assert [t for t, _ in events] == [
        "model_response", "tool_output", "approval_required", "decision", "tool_output",
        "model_response", "run_completed",
    ]
    assert len({seq for _, seq in events}) == len(events)


async def test_approval_deadline_survives_a_restart(harness: Harness) -> None:
    first = harness.start(start_run=True, TIMESTEP_TEST_REJECT_AFTER="2")
    await harness.wait_status("waiting_approval")
    first.kill()
    await asyncio.sleep(2.5)  # the deadline passes while no worker is alive
    harness.start()
    assert await harness.result() == "done: ada is a gold customer | Timed out."
    # The deadline and the wait were recorded once, at park time, by the first worker; the new
    # worker replayed them (recv's durable timeout had already expired) instead of starting a
    # fresh 2 s wait, which would have recorded a second "approval.remaining" step.
    from timestep.durable import _runtime

    steps = await _runtime.client(harness.db_url).list_workflow_steps_async(harness.run_id)
    names = [s["function_name"] for s in steps]
    assert names.count("approval.deadline") == 1
    remaining = [s["output"] for s in steps if s["function_name"] == "approval.remaining"]
    assert len(remaining) == 1 and remaining[0] > 1.0
