"""Conversation history in the run database, written exactly once even when a workflow replays.

``SQLSession`` is an SDK ``Session`` stored in the same database as DBOS and ``run_states``, so
every worker sees the same conversation. Inside a durable run it is wrapped by
``DurableSession``: reads are steps (a replay sees the history the first execution saw) and
writes are steps keyed by ``(workflow id, step id)`` with a unique constraint, so a write
repeated after a crash - steps are at-least-once - inserts nothing the second time.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agents.items import TResponseInputItem
from agents.memory import SessionABC
from dbos import DBOS

from timestep.config import resolve_database_url
from timestep.durable._sql import SyncSQL

__all__ = ["DurableSession", "SQLSession"]

_POSTGRES_DDL = """
CREATE TABLE IF NOT EXISTS timestep_session_items (
    id BIGSERIAL PRIMARY KEY,
    session_id TEXT NOT NULL,
    op_key TEXT,
    item_data JSONB NOT NULL,
    popped_by TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT NOW()
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_timestep_session_items_op ON timestep_session_items (op_key);
CREATE INDEX IF NOT EXISTS idx_timestep_session_items_session ON timestep_session_items (session_id, id);
"""

_SQLITE_DDL = """
CREATE TABLE IF NOT EXISTS timestep_session_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    op_key TEXT,
    item_data TEXT NOT NULL,
    popped_by TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_timestep_session_items_op ON timestep_session_items (op_key);
CREATE INDEX IF NOT EXISTS idx_timestep_session_items_session ON timestep_session_items (session_id, id);
"""

def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_none=True)
    raise TypeError(f"cannot store {type(value).__name__} in a session")


def _decode(raw: Any) -> TResponseInputItem:
    return json.loads(raw) if isinstance(raw, str) else raw  # type: ignore[no-any-return]


class SQLSession(SessionABC):
    """Conversation memory in the timestep database (SQLite or Postgres).

    ``op_key`` makes a write idempotent: items added twice under the same key are stored once.
    """

    def __init__(self, session_id: str, database_url: str | None = None) -> None:
        self.session_id = session_id
        self._db = SyncSQL(
            resolve_database_url(database_url),
            name="sessions",
            postgres_ddl=_POSTGRES_DDL,
            sqlite_ddl=_SQLITE_DDL,
        )

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        def read(conn: Any, p: str) -> list[TResponseInputItem]:
            sql = (
                f"SELECT item_data FROM timestep_session_items WHERE session_id = {p} "
                "AND popped_by IS NULL ORDER BY id"
            )
            rows = conn.execute(sql, (self.session_id,)).fetchall()
            items = [_decode(row[0]) for row in rows]
            return items[-limit:] if limit else items

        return await asyncio.to_thread(self._db.run, read)

    async def add_items(self, items: list[TResponseInputItem], *, op_key: str | None = None) -> None:
        if not items:
            return

        def write(conn: Any, p: str) -> None:
            for index, item in enumerate(items):
                key = f"{op_key}:{index}" if op_key else None
                conn.execute(
                    f"INSERT INTO timestep_session_items (session_id, op_key, item_data) "
                    f"VALUES ({p}, {p}, {p}) ON CONFLICT (op_key) DO NOTHING",
                    (self.session_id, key, json.dumps(item, default=_plain)),
                )

        await asyncio.to_thread(self._db.run, write)

    async def pop_item(self, *, op_key: str | None = None) -> TResponseInputItem | None:
        def pop(conn: Any, p: str) -> TResponseInputItem | None:
            if op_key is not None:
                done = conn.execute(
                    f"SELECT item_data FROM timestep_session_items WHERE popped_by = {p}", (op_key,)
                ).fetchone()
                if done is not None:
                    return _decode(done[0])
            row = conn.execute(
                f"SELECT id, item_data FROM timestep_session_items WHERE session_id = {p} "
                "AND popped_by IS NULL ORDER BY id DESC LIMIT 1",
                (self.session_id,),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                f"UPDATE timestep_session_items SET popped_by = {p} WHERE id = {p}",
                (op_key or f"pop:{row[0]}", row[0]),
            )
            return _decode(row[1])

        return await asyncio.to_thread(self._db.run, pop)

    async def clear_session(self) -> None:
        def clear(conn: Any, p: str) -> None:
            conn.execute(f"DELETE FROM timestep_session_items WHERE session_id = {p}", (self.session_id,))

        await asyncio.to_thread(self._db.run, clear)


class DurableSession(SessionABC):
    """A ``SQLSession`` whose every operation is a DBOS step of the current run."""

    def __init__(self, inner: SQLSession) -> None:
        self.inner = inner
        self.session_id = inner.session_id
        self.session_settings = inner.session_settings

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        return await DBOS.run_step_async({"name": "session.get_items"}, self.inner.get_items, limit)

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        async def write() -> None:
            await self.inner.add_items(items, op_key=_step_key())

        await DBOS.run_step_async({"name": "session.add_items"}, write)

    async def pop_item(self) -> TResponseInputItem | None:
        async def pop() -> TResponseInputItem | None:
            return await self.inner.pop_item(op_key=_step_key())

        return await DBOS.run_step_async({"name": "session.pop_item"}, pop)

    async def clear_session(self) -> None:
        await DBOS.run_step_async({"name": "session.clear"}, self.inner.clear_session)


def _step_key() -> str:
    return f"{DBOS.workflow_id}:{DBOS.step_id}"
