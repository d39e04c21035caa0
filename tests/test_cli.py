"""The ``timestep`` CLI driven as a user drives it: real subprocesses on SQLite and Postgres.

The agent is the demo's (``timestep.demo.app``): offline and deterministic. Waiting for a run to
reach a state reads the database with the library (a client, like the CLI); everything the test
*does* to a run goes through the command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes._common import Reply, ToolCall
from tests.fakes.ollama_server import FakeOllama
from timestep.cli import main
from timestep.durable import RunInfo, _runtime, get_run

REPO = Path(__file__).resolve().parents[1]
APP = "timestep.demo.app:Refunds"


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: no developer settings (conftest strips them)."""
    env = dict(os.environ)
    env.pop("TIMESTEP_DEBUG", None)
    env.update(TIMESTEP_HOME=str(home), PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1", **extra)
    return env


def timestep_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "timestep.cli", *args]


def timestep(
    *args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``timestep ARGS`` to completion."""
    return subprocess.run(
        timestep_argv(*args),
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_main(*args: str) -> subprocess.CompletedProcess[str]:
    """``main(argv)`` in this process (no interpreter start-up: about 2 s cheaper per call)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(["timestep", *args], code, out.getvalue(), err.getvalue())


async def in_process(*args: str) -> subprocess.CompletedProcess[str]:
    # main() runs its own event loop (asyncio.run), so it cannot share the test's.
    return await asyncio.to_thread(run_main, *args)


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, (
        f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    )
    assert "Traceback" not in done.stderr
    return done.stdout


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """Assert a failed command said why in exactly one line on stderr, without a traceback."""
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


class Host:
    """A ``timestep run`` (hosted) or ``timestep worker`` subprocess whose stdout we read."""

    def __init__(self, *args: str, env: dict[str, str], cwd: Path | None = None) -> None:
        self.proc = subprocess.Popen(
            timestep_argv(*args),
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []

    def read_until(self, needle: str, timeout: float = 90) -> str:
        """Read stdout lines until one contains ``needle``; returns that line."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            if needle in line:
                return line
        self.proc.kill()
        raise AssertionError(
            f"never printed {needle!r}: {''.join(self.lines)}{self.proc.communicate()[1]}"
        )

    def finish(self, timeout: float = 90) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, "".join(self.lines) + out, err

    def stop(self) -> int:
        """SIGTERM, as a supervisor would send it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path / "home")


@pytest.fixture
def hosts() -> Iterator[list[Host]]:
    started: list[Host] = []
    yield started
    for host in started:
        host.kill()


@pytest.fixture
async def reader() -> AsyncIterator[None]:
    """The test process reads the database through the library's cached clients; close them."""
    yield
    _runtime.shutdown()


async def wait_status(db_url: str, run_id: str, status: str, timeout: float = 60) -> RunInfo:
    deadline = time.monotonic() + timeout
    last = "absent"
    while time.monotonic() < deadline:
        try:
            info = await get_run(run_id, database_url=db_url)
            if info.status == status:
                return info
            last = info.status
        except Exception:  # not created yet (a fresh database has no tables at first)
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} is {last}, never {status}")


def start_worker(db_url: str, env: dict[str, str], hosts: list[Host]) -> Host:
    worker = Host("--db", db_url, "worker", "timestep.demo.app", "--concurrency", "2", env=env)
    hosts.append(worker)
    worker.read_until(" ready")
    return worker


async def show_json(db_url: str, run_id: str) -> dict[str, Any]:
    # --db after the command: the per-command form of the global option.
    data: dict[str, Any] = json.loads(
        ok(await in_process("show", run_id, "--json", "--db", db_url))
    )
    return data


PRIMARY_KINDS = ["model", "tool", "model", "approval", "decision", "tool", "model", "snapshot"]


async def test_detached_run_served_by_a_worker_then_approved(
    db_url: str, env: dict[str, str], hosts: list[Host], reader: None
) -> None:
    # A brand-new database: --detach must create DBOS's tables itself (no worker has run yet).
    out = ok(
        timestep(
            "--db",
            db_url,
            "run",
            APP,
            "Order A-1001 arrived broken, refund it",
            "--detach",
            "--run-id",
            "r-detach",
            env=env,
        )
    )
    assert "Queued run r-detach (Refunds)" in out
    assert "needs a live worker" in out and "worker timestep.demo.app" in out
    queued = json.loads(ok(await in_process("--db", db_url, "runs", "--json")))
    assert [(r["run_id"], r["status"]) for r in queued] == [("r-detach", "queued")]

    worker = start_worker(db_url, env, hosts)
    info = await wait_status(db_url, "r-detach", "waiting_approval")
    parked = json.loads(
        ok(await in_process("--db", db_url, "runs", "--status", "waiting_approval", "--json"))
    )
    assert [r["run_id"] for r in parked] == ["r-detach"]

    shown = await show_json(db_url, "r-detach")
    (pending,) = shown["pending"]
    assert pending["tool_name"] == "refund" and json.loads(pending["arguments"]) == {
        "order_id": "A-1001",
        "amount_cents": 12900,
    }
    assert [s["kind"] for s in shown["timeline"] if s["kind"] in PRIMARY_KINDS] == PRIMARY_KINDS[:4]
    text = ok(await in_process("--db", db_url, "show", "r-detach"))
    assert "waiting_approval" in text and "Waiting for approval" in text
    assert f"approve r-detach {pending['call_id']}" in text

    approved = json.loads(
        ok(
            timestep(
                "--db",
                db_url,
                "approve",
                "r-detach",
                info.pending[0].call_id,
                "--always",
                "--json",
                env=env,
            )
        )
    )
    assert approved["decision"] == "approve" and approved["always"] is True
    assert [c["tool_name"] for c in approved["calls"]] == ["refund"]
    await wait_status(db_url, "r-detach", "succeeded")

    shown = await show_json(db_url, "r-detach")
    assert shown["output"].startswith("Done. Refunded 129.00 USD on order A-1001")
    timeline = [s for s in shown["timeline"] if s["kind"] in PRIMARY_KINDS]
    assert [s["kind"] for s in timeline] == PRIMARY_KINDS
    assert all(
        s["usage"]["input_tokens"] > 0 and s["duration_ms"] is not None
        for s in timeline
        if s["kind"] == "model"
    )
    assert [s["tool"] for s in timeline if s["kind"] == "tool"] == ["lookup_order", "refund"]
    (decision,) = [s for s in timeline if s["kind"] == "decision"]
    assert decision["summary"].startswith(f"approved {pending['call_id']} (always) by cli:")
    assert shown["usage"]["requests"] == 3
    text = ok(await in_process("--db", db_url, "show", "r-detach"))
    for expected in (
        "succeeded",
        "3 model turn(s), 2 tool call(s)",
        "turn 3",
        "tool refund",
        "approval wait",
        "Output: Done. Refunded",
    ):
        assert expected in text
    assert worker.stop() == 0  # SIGTERM drains and exits cleanly


async def test_hosted_run_prints_the_exact_approve_command(
    db_url: str, env: dict[str, str], hosts: list[Host]
) -> None:
    host = Host("--db", db_url, "run", APP, "please refund A-1002", "--run-id", "r-host", env=env)
    hosts.append(host)
    host.read_until("⏸ parked")
    line = host.read_until("approve: timestep")
    # Run the printed command as printed (only the program name is swapped for this interpreter).
    argv = shlex.split(line.split("approve: ", 1)[1])
    assert argv[0] == "timestep" and argv[-2:-1] == ["r-host"]
    assert "Approved refund(" in ok(
        subprocess.run(
            timestep_argv(*argv[1:]),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    )
    code, out, err = host.finish()
    assert code == 0, err
    assert "✓ completed" in out and "Done. Refunded 34.50 USD on order A-1002" in out
    assert "Traceback" not in err


async def test_hosted_run_json_events_and_reject_with_message(
    tmp_path: Path, env: dict[str, str], hosts: list[Host]
) -> None:
    db = f"sqlite:///{tmp_path / 'json.sqlite'}"
    host = Host("--db", db, "run", APP, "refund A-1001", "--json", "--run-id", "r-json", env=env)
    hosts.append(host)
    parked = json.loads(host.read_until('"approval_required"'))
    call_id = parked["data"]["pending"][0]["call_id"]
    rejected = ok(
        timestep("--db", db, "reject", "r-json", call_id, "--message", "Over the limit.", env=env)
    )
    assert "Rejected refund(" in rejected
    code, out, _ = host.finish()
    events = [json.loads(line) for line in out.splitlines()]
    # A rejected call never runs: the model sees the message instead of a tool output.
    assert [e["type"] for e in events] == [
        "model_response",
        "tool_output",
        "model_response",
        "approval_required",
        "decision",
        "model_response",
        "run_completed",
    ]
    assert (
        events[4]["data"]["decision"] == "reject"
        and events[4]["data"]["message"] == "Over the limit."
    )
    assert events[-1]["data"]["output"] == "I did not issue the refund: Over the limit."
    assert code == 0


async def test_cancel_a_parked_run_ends_its_host_with_exit_1(
    tmp_path: Path, env: dict[str, str], hosts: list[Host]
) -> None:
    db = f"sqlite:///{tmp_path / 'cancel.sqlite'}"
    host = Host("--db", db, "run", APP, "refund A-1001", "--run-id", "r-cancel", env=env)
    hosts.append(host)
    host.read_until("approve: timestep")
    assert "Cancelled run r-cancel." in ok(timestep("--db", db, "cancel", "r-cancel", env=env))
    code, out, _ = host.finish()
    assert code == 1 and "cancelled" in out
    line = one_line_error(timestep("--db", db, "cancel", "r-cancel", env=env))
    assert "already ended (cancelled)" in line
    listed = json.loads(ok(await in_process("--db", db, "runs", "--status", "cancelled", "--json")))
    assert [r["run_id"] for r in listed] == ["r-cancel"]


async def test_run_a_py_file_agent_attribute_with_stream(
    tmp_path: Path, env: dict[str, str]
) -> None:
    (tmp_path / "helpdesk.py").write_text(
        "import timestep\n"
        "from timestep.demo.app import refunds\n"
        "from timestep.demo._model import DemoModelProvider\n"
        "helper = refunds.clone(name='Helper')\n"
        "timestep.register_agent(helper, model_provider=DemoModelProvider())\n"
    )
    done = timestep(
        "run", "./helpdesk.py:helper", "refund Z-999", "--stream", env=env, cwd=tmp_path
    )
    out = ok(done)
    # --stream prints tool outputs whole; the scripted model reports the unknown order.
    assert '{"order_id": "Z-999", "error": "no such order"}' in out
    assert "agent Helper" in out and "I could not find that order" in out
    # No --db and no env var: the embedded default database in TIMESTEP_HOME.
    assert (tmp_path / "home" / "timestep.sqlite").exists()


async def test_model_override_routes_through_multi_model_provider(
    tmp_path: Path, env: dict[str, str]
) -> None:
    with FakeOllama.start(models=["llama3.2"]) as ollama:
        ollama.script(
            [
                Reply(tool_calls=(ToolCall("lookup_order", {"order_id": "A-1002"}),)),
                Reply(text="A-1002 is still in transit; no refund needed yet."),
            ]
        )
        env = {**env, "OLLAMA_HOST": ollama.url}
        out = ok(
            timestep(
                "--db",
                f"sqlite:///{tmp_path / 'model.sqlite'}",
                "run",
                APP,
                "refund A-1002",
                "--model",
                "ollama/llama3.2",
                env=env,
            )
        )
        assert "A-1002 is still in transit; no refund needed yet." in out
        assert ollama.chat_count == 2
        assert {r["model"] for r in ollama.chat_requests} == {"llama3.2"}
