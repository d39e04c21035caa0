"""Runs for the inbox tests: hosted in the test's process on the ``Billing`` test agent."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import tests.durable.app  # noqa: F401  (registers the Billing agent)
from timestep.durable import RunInfo, get_run, launch, shutdown, start_run

TOKEN = "inbox-test-token-0123456789abcdef"
CHARGE = 'please call charge({"customer": "ada", "cents": 500})'
INJECTION = "<img src=x onerror=alert(1)>"
CHARGE_INJECTION = 'please call charge({"customer": "<img src=x onerror=alert(1)>", "cents": 700})'
LOOKUP = 'call lookup({"customer": "ada"})'
TWO_CHARGES = ('call charge({"customer": "ada", "cents": 1}) and '
               'call charge({"customer": "bob", "cents": 2})')


@contextlib.asynccontextmanager
async def hosting_runs(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    """DBOS launched in this process on ``db_url`` (the app's tools write a ledger file)."""
    monkeypatch.setenv("TIMESTEP_TEST_LEDGER", str(tmp_path / "ledger.sqlite"))
    launch(db_url)
    try:
        yield db_url
    finally:
        shutdown()


async def wait_for(run_id: str, status: str, *, timeout: float = 30) -> RunInfo:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        info = await get_run(run_id)
        if info.status == status:
            return info
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"run {run_id} stayed {info.status}, expected {status}")
        await asyncio.sleep(0.05)


async def parked_run(text: str = CHARGE, *, run_id: str | None = None) -> RunInfo:
    handle = await start_run("Billing", text, run_id=run_id)
    return await wait_for(handle.run_id, "waiting_approval")
