"""The demo, as a story in six steps: park, SIGKILL, take over, approve, finish, check.

This process is only a client (it never launches DBOS): runs execute in real ``timestep worker``
subprocesses, the approval comes from a real ``timestep approve`` subprocess, and everything
shown is read back from the database - the same calls ``timestep show`` and the inbox use.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from timestep.config import DatabaseURL, resolve_database_url
from timestep.demo._log import LOG_ENV, Counts, read_counts
from timestep.demo._workers import DemoFailed, WorkerProcess, timestep_command
from timestep.durable import RunEvent, get_run, start_run, stream_run
from timestep.durable._timeline import TimelineStep, run_timeline

__all__ = ["DEMO_INPUT", "DEMO_QUEUE", "run_demo"]

T = TypeVar("T")

DEMO_INPUT = "Hi, order A-1001 arrived damaged. Please refund it in full."
#: Its own queue, so demo workers never take a real app's runs (nor the reverse) on a shared --db.
DEMO_QUEUE = "timestep-demo"
#: Worker 2 treats worker 1 as dead after this much heartbeat silence. Shorter than the 15 s
#: default to keep the demo brief, still above twice the 2 s heartbeat so no live worker on a
#: shared database is ever mistaken for a dead one.
DEAD_AFTER_SECONDS = 5.0
#: Upper bound for each step of the demo (a worker start, a run reaching a state).
STEP_TIMEOUT_SECONDS = 60.0


async def run_demo(
    console: Console,
    *,
    db: str | None = None,
    db_flag: str = "",
    model: str | None = None,
    keep: bool = False,
) -> None:
    """Play the demo on ``db`` (default: a temporary SQLite file), printing as it goes.

    ``db_flag`` is how to name ``db`` in a printed command (``--db …``, never with a password).

    Raises:
        DemoFailed: a step did not happen as it should.
    """
    workdir = Path(tempfile.mkdtemp(prefix="timestep-demo-"))
    database = resolve_database_url(db or f"sqlite:///{workdir / 'demo.sqlite'}")
    story = _Story(console, database, workdir, model=model, temporary=db is None)
    try:
        await story.play()
    finally:
        story.stop_workers()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if db is None:
        db_flag = f"--db sqlite:///{workdir / 'demo.sqlite'} "
    if db is None and not keep:
        console.print(
            "The temporary database is deleted; `timestep demo --keep` keeps it to explore.",
            style="dim",
            markup=False,
            highlight=False,
        )
    else:
        console.print(
            f"Look again: timestep {db_flag}show {story.run_id}",
            style="dim",
            markup=False,
            highlight=False,
        )


class _Story:
    def __init__(
        self,
        console: Console,
        database: DatabaseURL,
        workdir: Path,
        *,
        model: str | None,
        temporary: bool,
    ) -> None:
        self.c = console
        self.database = database
        self.url = database.sqlalchemy_url
        self.workdir = workdir
        self.model = model
        self.temporary = temporary
        self.log = workdir / "executions.jsonl"
        self.run_id = f"demo-{uuid.uuid4().hex[:8]}"
        self.workers: list[WorkerProcess] = []
        self.started = time.monotonic()
        # Children get the database through the environment: a password never shows in `ps`.
        self.env = {
            **os.environ,
            "TIMESTEP_DB_URL": self.url,
            LOG_ENV: str(self.log),
            "PYTHONUNBUFFERED": "1",
        }
        if model:
            self.env["TIMESTEP_DEMO_MODEL"] = model
        else:
            self.env.pop("TIMESTEP_DEMO_MODEL", None)

    # -- the story ---------------------------------------------------------------------------

    async def play(self) -> None:
        c = self.c
        c.rule("[bold]timestep demo[/]: a durable agent run survives SIGKILL")
        if self.model:
            c.print(f"Model:    [bold]{escape(self.model)}[/] (real; --model)", highlight=False)
        else:
            c.print(
                "Model:    [bold]scripted demo model[/] (built in: deterministic, no network, no API "
                "key; --model ollama/llama3.2 or openai/gpt-4.1-mini uses a real one)",
                highlight=False,
            )
        where = "a fresh temporary SQLite file" if self.temporary else "from --db"
        c.print(f"Database: {self.database.redacted} ({where})", highlight=False, markup=False)
        c.print(
            "Agent:    Refunds (timestep.demo.app): lookup_order runs freely, refund needs a "
            "human's approval",
            highlight=False,
        )

        self._step(1, "Start a worker and submit a run")
        first = self._start_worker(1)
        await start_run(
            "Refunds", DEMO_INPUT, run_id=self.run_id, queue=DEMO_QUEUE, database_url=self.url
        )
        c.print(f"  submitted run [bold]{self.run_id}[/]: {DEMO_INPUT!r}", highlight=False)
        c.print(
            f"  (the same as: timestep run --detach timestep.demo.app:Refunds {DEMO_INPUT!r} "
            f"--queue {DEMO_QUEUE})",
            style="dim",
            markup=False,
            highlight=False,
        )
        parked = await self._follow(
            0, stop_at="approval_required", doing="running turns on worker #1"
        )
        if parked.type != "approval_required":
            c.print(
                "  The model finished without asking for a refund: nothing to approve, "
                "so the crash part of the demo is skipped.",
                style="yellow",
            )
            await self._check_and_show()
            return
        info = await get_run(self.run_id, database_url=self.url)
        if not info.pending:
            raise DemoFailed(f"run {self.run_id} parked without a pending call")
        call = info.pending[0]
        c.print(
            f"  status [yellow]{info.status}[/]: {escape(call.tool_name)}({escape(call.arguments)}) "
            f"waits for a human (call {escape(call.call_id)})",
            highlight=False,
        )
        before = read_counts(self.log)
        self._counts_line("executed so far", before)

        self._step(2, "Kill the worker with SIGKILL")
        code = first.kill()
        c.print(
            f"  worker #1 (pid {first.pid}) killed, exit code {code}: no shutdown, no cleanup",
            highlight=False,
        )
        info = await get_run(self.run_id, database_url=self.url)
        c.print(
            f"  the run is still [yellow]{info.status}[/] in the database, owned by a dead process",
            highlight=False,
        )

        self._step(3, "Start a new worker: it takes the run over")
        second = self._start_worker(2)
        await self._within(self._wait_owner(second), "worker #2 to take over the run")
        c.print(
            f"  worker #2 (pid {second.pid}) saw worker #1's heartbeat silent for "
            f"{DEAD_AFTER_SECONDS:.0f} s and took its runs over",
            highlight=False,
        )
        turns = before.seen_by(first.pid)["turn"]
        with c.status("worker #2 replays the run from the database…"):
            await self._within(self._wait_replayed(second, turns), "worker #2 to replay the run")
        seen = read_counts(self.log).seen_by(second.pid)
        c.print(
            f"  worker #2 replayed the run: it went through {seen['turn']} turns and "
            f"{seen['passed']} tool call(s) again, from their recorded results",
            highlight=False,
        )
        after = read_counts(self.log)
        self._counts_line("executed so far", after)
        same = (after.model_calls, after.tools) == (before.model_calls, before.tools)
        c.print(
            "  [green]unchanged[/]: no model call and no tool ran again"
            if same
            else "  [red]changed[/]: something ran again",
            highlight=False,
        )

        self._step(4, "Approve from another process")
        self._approve(call.call_id)

        self._step(5, "The run finishes on worker #2")
        end = await self._follow(
            parked.seq, stop_at="run_completed", doing="finishing on worker #2"
        )
        if end.type != "run_completed":
            raise DemoFailed(f"run {self.run_id} ended {end.type}: {end.data.get('error')}")
        c.print(f"  [bold]Output:[/] {escape(str(end.data.get('output')))}", highlight=False)

        await self._check_and_show()

    async def _check_and_show(self) -> None:
        self._step(6, "Check: every step executed exactly once")
        counts = read_counts(self.log)
        steps = await run_timeline(self.run_id, database_url=self.url)
        self.c.print(
            "  TURNS counts the turns a process went through, executed or replayed; the other "
            "columns count real executions.",
            style="dim",
            highlight=False,
        )
        self.c.print(self._counts_table(counts))
        passed, verdict = _verdict(counts, steps)
        self.c.print(
            f"  {verdict}", markup=False, style="green" if passed else "red", highlight=False
        )
        from timestep.cli._render import run_detail

        info = await get_run(self.run_id, database_url=self.url)
        self.c.print()
        self.c.print(run_detail(info, steps, ""))
        self.c.rule(f"demo finished in {time.monotonic() - self.started:.1f} s")
        if not passed:
            raise DemoFailed(verdict)

    # -- helpers -----------------------------------------------------------------------------

    def _step(self, number: int, title: str) -> None:
        self.c.print()
        self.c.print(
            f"[bold cyan]{number}/6[/] [bold]{title}[/]  [dim]+{time.monotonic() - self.started:.1f}s[/]"
        )

    def _start_worker(self, number: int) -> WorkerProcess:
        worker = WorkerProcess(
            number,
            queue=DEMO_QUEUE,
            dead_after=DEAD_AFTER_SECONDS,
            env=self.env,
            log_dir=self.workdir,
        )
        self.workers.append(worker)
        with self.c.status(f"starting worker #{number}…"):
            executor = worker.wait_ready(STEP_TIMEOUT_SECONDS)
        self.c.print(
            f"  $ timestep worker timestep.demo.app --queue {DEMO_QUEUE}", style="dim", markup=False
        )
        self.c.print(
            f"  worker #{number} ready: pid {worker.pid}, executor {executor}", highlight=False
        )
        return worker

    async def _within(self, awaitable: Awaitable[T], what: str) -> T:
        try:
            return await asyncio.wait_for(awaitable, STEP_TIMEOUT_SECONDS)
        except TimeoutError:
            tails = "; ".join(f"worker #{w.number}: {w.tail(3)}" for w in self.workers)
            raise DemoFailed(f"timed out waiting for {what} ({tails})") from None

    async def _follow(self, after: int, *, stop_at: str, doing: str) -> RunEvent:
        """Print the run's events after ``after`` until ``stop_at`` or the end of the run."""
        from timestep.cli._render import event_line

        async def follow() -> RunEvent:
            events = stream_run(self.run_id, after=after, database_url=self.url)
            try:
                async for event in events:
                    line = event_line(event)
                    if line is not None:
                        self.c.print(line)
                    if event.type == stop_at or event.type.startswith("run_"):
                        return event
            finally:
                # Stop the generator's polling now rather than whenever it is collected.
                await events.aclose()  # type: ignore[attr-defined]
            raise DemoFailed(f"the event stream of run {self.run_id} ended early")

        with self.c.status(f"{doing}…"):
            return await self._within(follow(), f"the run ({doing})")

    async def _wait_owner(self, worker: WorkerProcess) -> None:
        # Which executor owns a run is DBOS bookkeeping no public call exposes; read it directly.
        from timestep.durable import _runtime

        client = _runtime.client(self.url)
        while True:
            statuses = await client.list_workflows_async(
                workflow_ids=[self.run_id], load_input=False, load_output=False
            )
            if statuses and statuses[0].executor_id == worker.executor_id:
                return
            await asyncio.sleep(0.1)

    async def _wait_replayed(self, worker: WorkerProcess, turns: int) -> None:
        """Until ``worker`` has gone through ``turns`` turns of the run (its hooks log them)."""
        while read_counts(self.log).seen_by(worker.pid)["turn"] < turns:
            await asyncio.sleep(0.1)

    def _approve(self, call_id: str) -> None:
        self.c.print(f"  $ timestep approve {self.run_id} {call_id}", style="bold", markup=False)
        done = subprocess.run(
            timestep_command("approve", self.run_id, call_id),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_SECONDS,
            check=False,
        )
        for line in done.stdout.strip().splitlines():
            self.c.print(f"    {line}", style="dim", markup=False, highlight=False)
        if done.returncode != 0:
            raise DemoFailed(f"`timestep approve` failed: {done.stderr.strip()}")

    def _counts_line(self, label: str, counts: Counts) -> None:
        tools = ", ".join(f"{name}: {counts.tool(name)}" for name in ("lookup_order", "refund"))
        self.c.print(f"  {label}: model calls: {counts.model_calls}, {tools}", highlight=False)

    def _counts_table(self, counts: Counts) -> Table:
        # TURNS: turns the process went through, executed or replayed; the rest: real executions.
        table = Table(box=None, header_style="bold", pad_edge=False)
        for column in ("  PROCESS", "TURNS", "MODEL CALLS", "lookup_order", "refund"):
            table.add_column(column, justify="left" if column == "  PROCESS" else "right")
        names = {w.pid: f"  worker #{w.number} (pid {w.pid})" for w in self.workers}
        for pid, per in counts.by_pid.items():
            table.add_row(
                names.get(pid, f"  pid {pid}"),
                str(per["turn"]),
                str(per["model"]),
                str(per["lookup_order"]),
                str(per["refund"]),
            )
        table.add_row(
            "  total executed",
            "",
            str(counts.model_calls),
            str(counts.tool("lookup_order")),
            str(counts.tool("refund")),
            style="bold",
        )
        return table

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()


def _verdict(counts: Counts, steps: list[TimelineStep]) -> tuple[bool, str]:
    """Compare what really executed (the log) with what DBOS recorded (one row per step)."""
    recorded_turns = sum(1 for s in steps if s.kind == "model")
    recorded_tools: dict[str, int] = {}
    for step in steps:
        if step.kind == "tool" and step.tool:
            recorded_tools[step.tool] = recorded_tools.get(step.tool, 0) + 1
    if counts.model_calls == recorded_turns and dict(counts.tools) == recorded_tools:
        tools = (
            ", ".join(f"{n} {name}" for name, n in sorted(recorded_tools.items()))
            or "no tool calls"
        )
        return True, (
            f"No step ran twice: {recorded_turns} recorded turns = {counts.model_calls} model "
            f"calls, recorded tool calls ({tools}) = tool executions."
        )
    return False, (
        f"Mismatch: {counts.model_calls} model calls for {recorded_turns} recorded turns; tool "
        f"executions {dict(counts.tools)} for recorded {recorded_tools}."
    )
