"""The inbox's read access to runs, tolerant of a database no run has been hosted on yet.

DBOS creates its tables when a process that hosts runs launches; a ``DBOSClient`` never does.
``timestep serve`` is often started first, on a fresh database, and must show "no runs" there
rather than fail, so every read first checks (until the answer is yes, then never again) that
the tables exist.
"""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from timestep.durable import RunInfo, RunStatus, _runtime, get_run, list_runs
from timestep.errors import RunNotFoundError
from timestep.inbox._timeline import run_timeline

__all__ = ["RunStore"]

# DBOSClient's default system schema on Postgres (SQLite has no schemas).
_DBOS_SCHEMA = "dbos"


class RunStore:
    """Runs of one database, as the inbox reads them."""

    def __init__(self, database_url: str | None) -> None:
        #: What the caller passed: None lets a process hosting runs use its launched database.
        self.database_url = database_url
        self._ready = False

    def describe(self) -> str:
        """The database, password masked (the only form allowed in logs)."""
        return _runtime.database_for(self.database_url).redacted

    async def ready(self) -> bool:
        if not self._ready:
            self._ready = await asyncio.to_thread(self._tables_exist)
        return self._ready

    async def list(self, status: RunStatus | None = None, limit: int = 50) -> list[RunInfo]:
        if not await self.ready():
            return []
        return await list_runs(status, limit, database_url=self.database_url)

    async def get(self, run_id: str) -> RunInfo:
        if not await self.ready():
            raise RunNotFoundError(f"No durable run has id {run_id!r}.")
        return await get_run(run_id, database_url=self.database_url)

    async def timeline(self, run_id: str) -> dict[str, Any]:
        if not await self.ready():
            raise RunNotFoundError(f"No durable run has id {run_id!r}.")
        return await run_timeline(run_id, self.database_url)

    def _tables_exist(self) -> bool:
        database = _runtime.database_for(self.database_url)
        engine = sa.create_engine(database.sqlalchemy_url)
        try:
            schema = _DBOS_SCHEMA if database.dialect == "postgresql" else None
            return sa.inspect(engine).has_table("workflow_status", schema=schema)
        finally:
            engine.dispose()
