"""Worker liveness in the run database: one row per worker executor id.

``claim_dead`` is the only place a worker decides that a peer is dead. It flips the peer's row
from ``alive``/``stopped`` to ``recovering`` with one conditional UPDATE, so of several live
workers racing for the same dead peer exactly one gets it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from typing import Any

from timestep.config import DatabaseURL
from timestep.durable._sql import SyncSQL

__all__ = ["HeartbeatTable"]

_POSTGRES_DDL = """
CREATE TABLE IF NOT EXISTS timestep_workers (
    executor_id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    pid INTEGER NOT NULL,
    queue TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    last_seen DOUBLE PRECISION NOT NULL,
    recovered_by TEXT,
    claimed_at DOUBLE PRECISION
);
"""
_SQLITE_DDL = _POSTGRES_DDL.replace("DOUBLE PRECISION", "REAL")


class HeartbeatTable:
    def __init__(self, database: DatabaseURL) -> None:
        self._db = SyncSQL(database, name="workers", postgres_ddl=_POSTGRES_DDL, sqlite_ddl=_SQLITE_DDL)

    async def beat(self, executor_id: str, queue: str, *, status: str) -> None:
        await asyncio.to_thread(self.beat_blocking, executor_id, queue, status=status)

    def beat_blocking(self, executor_id: str, queue: str, *, status: str) -> None:
        """``beat`` without a worker thread: usable after DBOS has shut its executor down."""
        now = time.time()

        def write(conn: Any, p: str) -> None:
            conn.execute(
                f"INSERT INTO timestep_workers (executor_id, hostname, pid, queue, status, started_at, last_seen) "
                f"VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}) "
                f"ON CONFLICT (executor_id) DO UPDATE SET status = excluded.status, last_seen = excluded.last_seen",
                (executor_id, socket.gethostname(), os.getpid(), queue, status, now, now),
            )

        self._db.run(write)

    async def claim_dead(self, me: str, silent_since: float) -> list[str]:
        """Claim peers that stopped cleanly or have been silent since before ``silent_since``."""

        now = time.time()

        def claim(conn: Any, p: str) -> list[str]:
            # A claim whose claimer died before finishing is claimable again after the same
            # silence threshold (recovery itself is idempotent in DBOS).
            rows = conn.execute(
                f"UPDATE timestep_workers SET status = 'recovering', recovered_by = {p}, claimed_at = {p} "
                f"WHERE executor_id <> {p} AND (status = 'stopped' "
                f"OR (status = 'alive' AND last_seen < {p}) "
                f"OR (status = 'recovering' AND claimed_at < {p})) "
                "RETURNING executor_id",
                (me, now, me, silent_since, silent_since),
            ).fetchall()
            return [str(r[0]) for r in rows]

        return await asyncio.to_thread(self._db.run, claim)

    async def mark_recovered(self, executor_id: str, by: str) -> None:
        def mark(conn: Any, p: str) -> None:
            conn.execute(
                f"UPDATE timestep_workers SET status = 'recovered' WHERE executor_id = {p} AND recovered_by = {p}",
                (executor_id, by),
            )

        await asyncio.to_thread(self._db.run, mark)

    async def workers(self) -> list[dict[str, Any]]:
        def read(conn: Any, p: str) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT executor_id, hostname, pid, queue, status, started_at, last_seen, recovered_by "
                "FROM timestep_workers ORDER BY started_at"
            ).fetchall()
            keys = ("executor_id", "hostname", "pid", "queue", "status", "started_at", "last_seen", "recovered_by")
            return [dict(zip(keys, row, strict=True)) for row in rows]

        return await asyncio.to_thread(self._db.run, read)
