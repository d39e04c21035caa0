"""Live updates and ``serve()`` on a real uvicorn server bound to 127.0.0.1 (random port)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import running_server
from tests.e2e.support import CHARGE, TOKEN, hosting_runs, parked_run, wait_for
from timestep.durable import start_run
from timestep.inbox import create_app
from timestep.inbox._sse import RunWatcher

AUTH = {"Authorization": f"Bearer {TOKEN}"}
REPO = Path(__file__).resolve().parents[1]


class EventReader:
    """Reads ``event:``/``data:`` blocks from an open SSE response."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def next(self, timeout: float = 20) -> tuple[str, Any]:
        async def read() -> tuple[str, Any]:
            event, data = "message", None
            async for line in self._lines:
                if line.startswith("event: "):
                    event = line[len("event: "):]
                elif line.startswith("data: "):
                    data = json.loads(line[len("data: "):])
                elif line == "" and data is not None:
                    return event, data
            raise AssertionError("the stream ended")

        return await asyncio.wait_for(read(), timeout)

    async def until(self, predicate: Any, timeout: float = 30) -> tuple[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            event, data = await self.next(max(0.1, deadline - time.monotonic()))
            if predicate(event, data):
                return event, data


def run_status(runs: list[dict[str, Any]], run_id: str) -> str | None:
    return next((r["status"] for r in runs if r["run_id"] == run_id), None)


@pytest.fixture
async def live(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, RunWatcher]]:
    async with hosting_runs(db_url, tmp_path, monkeypatch) as url:
        app = create_app(url, TOKEN, poll_interval=0.2)
        with running_server(app) as base:
            yield base, app.state.watcher


async def test_events_push_park_resume_and_finish(live: tuple[str, RunWatcher]) -> None:
    base, _ = live
    async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=30) as client:
        async with client.stream("GET", "/api/events") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            reader = EventReader(response)
            event, data = await reader.next()
            assert event == "runs" and data == {"runs": []}

            handle = await start_run("Billing", CHARGE)
            _, data = await reader.until(
                lambda e, d: run_status(d["runs"], handle.run_id) == "waiting_approval")
            (pending,) = next(r for r in data["runs"] if r["run_id"] == handle.run_id)["pending"]

            decided = await client.post(
                f"/api/runs/{handle.run_id}/calls/{pending['call_id']}/approve", json={"reviewer": "alice"})
            assert decided.status_code == 200
            _, data = await reader.until(lambda e, d: run_status(d["runs"], handle.run_id) == "succeeded")
            (run,) = [r for r in data["runs"] if r["run_id"] == handle.run_id]
            assert run["output"] == "done: charged ada 500" and run["pending"] == []


async def test_events_follow_one_runs_timeline(live: tuple[str, RunWatcher]) -> None:
    base, _ = live
    info = await parked_run()
    async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=30) as client:
        async with client.stream("GET", "/api/events", params={"run_id": info.run_id}) as response:
            reader = EventReader(response)
            _, timeline = await reader.until(lambda e, d: e == "timeline")
            assert timeline["run"]["status"] == "waiting_approval"
            assert [e["type"] for e in timeline["events"]][-1] == "approval_required"
            await client.post(f"/api/runs/{info.run_id}/calls/{info.pending[0].call_id}/reject",
                              json={"reviewer": "bob", "message": "no"})
            _, timeline = await reader.until(
                lambda e, d: e == "timeline" and d["events"][-1]["type"] == "run_completed")
            decision = next(e for e in timeline["events"] if e["type"] == "decision")
            assert decision["data"]["decided_by"] == "bob"
    await wait_for(info.run_id, "succeeded")


async def test_the_stream_stops_when_the_client_disconnects(live: tuple[str, RunWatcher]) -> None:
    base, watcher = live
    async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=30) as client:
        for _ in range(2):  # reconnecting restarts polling, and it stops again
            async with client.stream("GET", "/api/events") as response:
                await EventReader(response).next()
                assert watcher.subscribers == 1 and watcher.polling
            for _ in range(100):
                if watcher.subscribers == 0 and not watcher.polling:
                    break
                await asyncio.sleep(0.05)
            assert watcher.subscribers == 0 and not watcher.polling


async def test_the_stream_needs_the_token(live: tuple[str, RunWatcher]) -> None:
    base, watcher = live
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        assert (await client.get("/api/events")).status_code == 401
        assert (await client.get("/api/events", headers={"Authorization": "Bearer not-the-inbox-token"})).status_code == 401
    assert watcher.subscribers == 0


# ---- serve(): the entry point `timestep serve` calls -----------------------------------------


def start_serve(home: Path, db_url: str, *args: str) -> subprocess.Popen[str]:
    """``serve(port=0, database_url=db_url, *args)`` in a new process."""
    code = (
        "import sys; from timestep.inbox import serve; "
        f"sys.exit(serve(port=0, database_url={db_url!r}{''.join(', ' + a for a in args)}))"
    )
    return spawn([sys.executable, "-c", code], home)


def start_cli_serve(home: Path, db_url: str) -> subprocess.Popen[str]:
    """``timestep --db URL serve --port 0``: the command the CLI offers."""
    return spawn([sys.executable, "-m", "timestep.cli", "--db", db_url, "serve", "--port", "0"], home)


def spawn(argv: list[str], home: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "TIMESTEP_INBOX_TOKEN"}
    env["TIMESTEP_HOME"] = str(home)
    return subprocess.Popen(argv, cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def read_banner(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Scripts send"):
            return "".join(lines)
    raise AssertionError("serve() printed no banner: " + "".join(lines))


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, err


@pytest.mark.parametrize("backend", ["sqlite"])
def test_timestep_serve_shows_a_new_token_once_and_binds_loopback(db_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    process = start_cli_serve(home, db_url)
    try:
        banner = read_banner(process)
    finally:
        code, err = stop(process)
    url = re.search(r"(http://127\.0\.0\.1:\d+/)login\?token=(\S+)", banner)
    assert url, banner
    token = url.group(2)
    token_file = home / "inbox-token"
    assert token_file.read_text().strip() == token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert code == 0 and token not in err

    # The second start reuses the token and does not print it.
    process = start_serve(home, db_url)
    try:
        banner = read_banner(process)
        base = re.search(r"(http://127\.0\.0\.1:\d+)/", banner)
        assert base and token not in banner and str(token_file) in banner
        with httpx.Client(base_url=base.group(1), timeout=10) as client:
            assert client.get("/api/runs").status_code == 401
            assert client.get("/api/runs", headers={"Authorization": f"Bearer {token}"}).json() == {"runs": []}
            # The login link goes through no access log: nothing of it reaches the output.
            assert client.get("/login", params={"token": token}).status_code == 303
    finally:
        code, err = stop(process)
    assert code == 0 and token not in err


@pytest.mark.parametrize("backend", ["sqlite"])
def test_serve_warns_loudly_on_a_non_loopback_host(db_url: str, tmp_path: Path) -> None:
    process = start_serve(tmp_path / "home", db_url, "host='0.0.0.0'", f"token={TOKEN!r}")
    try:
        banner = read_banner(process)
    finally:
        code, err = stop(process)
    assert "WARNING" in err and "not on a loopback address" in err
    assert TOKEN not in banner + err and code == 0
