"""SQLite backend: stdlib ``sqlite3`` on a worker thread, WAL mode, one writer at a time.

Each backend keeps one connection (opened lazily, ``check_same_thread=False``) and serialises
its own calls with a ``threading.Lock``; every blocking call runs in ``asyncio.to_thread`` so the
event loop never waits on the file lock. Writes use ``BEGIN IMMEDIATE``: SQLite's single write
lock is taken at the start of the transaction, and other processes wait for it up to the busy
timeout instead of failing halfway through.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from timestep.config import DatabaseURL, enable_sqlite_wal
from timestep.errors import SnapshotError, SnapshotFormatError
from timestep.state import _migrations
from timestep.state._backends.base import SnapshotBackend
from timestep.state._rows import SnapshotRow, StateType

__all__ = ["SQLiteBackend"]

T = TypeVar("T")

#: How long a writer waits for another process's write lock before giving up.
BUSY_TIMEOUT_SECONDS = 30.0

_COLUMNS = (
    "id, run_id, state_type, schema_version, state_data, is_active, created_at, resumed_at, "
    "native_data, writer, resumed_by"
)

# Timestamps are stored as UTC text that sorts chronologically.
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def _now() -> str:
    return datetime.now(UTC).strftime(_TIME_FORMAT)


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
    except ValueError as exc:
        raise SnapshotFormatError(f"run_states holds an unreadable timestamp {value!r}.") from exc


class SQLiteBackend(SnapshotBackend):
    """``run_states`` in a SQLite file (the embedded default)."""

    def __init__(self, url: DatabaseURL) -> None:
        super().__init__(url)
        if url.sqlite_path is None:
            raise ValueError("SQLiteBackend needs a sqlite:/// URL")
        self._path: Path = url.sqlite_path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    # --- plumbing ---------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                conn = sqlite3.connect(
                    self._path,
                    timeout=BUSY_TIMEOUT_SECONDS,
                    isolation_level=None,  # autocommit; transactions are explicit below
                    check_same_thread=False,  # used from to_thread workers, one at a time
                )
            except sqlite3.Error as exc:
                raise SnapshotError(
                    f"Cannot open the snapshot database {self.url.redacted}: {exc}"
                ) from exc
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.close()
                # Persistent in the file: readers and one writer overlap (see enable_sqlite_wal).
                enable_sqlite_wal(self._path)
                conn = sqlite3.connect(
                    self._path,
                    timeout=BUSY_TIMEOUT_SECONDS,
                    isolation_level=None,
                    check_same_thread=False,
                )
            self._conn = conn
        return self._conn

    def _ensure_migrated(self, conn: sqlite3.Connection) -> list[int]:
        key = self.url.sqlalchemy_url
        if _migrations.is_migrated(key):
            return []
        done = _migrations.apply_sqlite(conn, self.url.redacted)
        _migrations.mark_migrated(key)
        return done

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            with self._lock:
                conn = self._open()
                self._ensure_migrated(conn)
                return fn(conn)

        try:
            return await asyncio.to_thread(call)
        except sqlite3.Error as exc:
            raise SnapshotError(f"Snapshot database {self.url.redacted} failed: {exc}") from exc

    @contextmanager
    def _write(self, conn: sqlite3.Connection) -> Iterator[None]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _row(self, r: tuple[Any, ...]) -> SnapshotRow:
        return self._row_from(r, _parse_time)

    # --- SnapshotBackend --------------------------------------------------------------------

    async def migrate(self) -> list[int]:
        def call() -> list[int]:
            with self._lock:
                conn = self._open()
                done = _migrations.apply_sqlite(conn, self.url.redacted)
                _migrations.mark_migrated(self.url.sqlalchemy_url)
                return done

        try:
            return await asyncio.to_thread(call)
        except sqlite3.Error as exc:
            raise SnapshotError(f"Migrating {self.url.redacted} failed: {exc}") from exc

    async def save(
        self,
        key: str,
        *,
        state_type: StateType,
        schema_version: str,
        state_json: str,
        native_json: str | None,
        writer: str | None,
    ) -> tuple[str, datetime]:
        row_id = str(uuid.uuid4())

        def call(conn: sqlite3.Connection) -> tuple[str, datetime]:
            with self._write(conn):
                # Taken under the write lock: saves on one key get ordered created_at values.
                created_at = _now()
                conn.execute(
                    "UPDATE run_states SET is_active = 0 WHERE run_id = ? AND is_active = 1", (key,)
                )
                conn.execute(
                    "INSERT INTO run_states (id, run_id, state_type, schema_version, state_data, "
                    "is_active, created_at, native_data, writer) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
                    (
                        row_id,
                        key,
                        state_type,
                        schema_version,
                        state_json,
                        created_at,
                        native_json,
                        writer,
                    ),
                )
            parsed = _parse_time(created_at)
            assert parsed is not None
            return row_id, parsed

        return await self._run(call)

    async def active(self, key: str) -> SnapshotRow | None:
        def call(conn: sqlite3.Connection) -> SnapshotRow | None:
            r = conn.execute(
                f"SELECT {_COLUMNS} FROM run_states WHERE run_id = ? AND is_active = 1 "
                "ORDER BY created_at DESC, rowid DESC LIMIT 1",
                (key,),
            ).fetchone()
            return None if r is None else self._row(r)

        return await self._run(call)

    async def mark_resumed(
        self, key: str, *, row_id: str | None, only_if_unresumed: bool, by: str | None = None
    ) -> SnapshotRow | None:
        row = await self._mark(key, row_id, only_if_unresumed, by, read_back=True)
        assert row is not True
        return row

    async def try_mark_resumed(
        self, key: str, *, row_id: str | None, only_if_unresumed: bool, by: str | None = None
    ) -> bool:
        return await self._mark(key, row_id, only_if_unresumed, by, read_back=False) is not None

    async def _mark(
        self, key: str, row_id: str | None, only_if_unresumed: bool, by: str | None, *, read_back: bool
    ) -> SnapshotRow | Literal[True] | None:
        def call(conn: sqlite3.Connection) -> SnapshotRow | Literal[True] | None:
            with self._write(conn):
                # One UPDATE whose WHERE re-checks, under the write lock, that the row is still
                # the active one the caller read: the read and the mark are one atomic step.
                cur = conn.execute(
                    "UPDATE run_states SET resumed_at = ?, resumed_by = ? WHERE run_id = ? "
                    "AND is_active = 1 AND (? IS NULL OR id = ?) AND (? = 0 OR resumed_at IS NULL)",
                    (_now(), by, key, row_id, row_id, int(only_if_unresumed)),
                )
                if cur.rowcount != 1:
                    return None
                if not read_back:
                    return True
                r = conn.execute(
                    f"SELECT {_COLUMNS} FROM run_states WHERE run_id = ? AND is_active = 1", (key,)
                ).fetchone()
            return self._row(r)

        return await self._run(call)

    async def deactivate(self, key: str) -> int:
        def call(conn: sqlite3.Connection) -> int:
            with self._write(conn):
                cur = conn.execute(
                    "UPDATE run_states SET is_active = 0 WHERE run_id = ? AND is_active = 1", (key,)
                )
            return cur.rowcount

        return await self._run(call)

    async def history(self, key: str, limit: int | None) -> list[SnapshotRow]:
        def call(conn: sqlite3.Connection) -> list[SnapshotRow]:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM run_states WHERE run_id = ? "
                "ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (key, -1 if limit is None else limit),
            ).fetchall()
            return [self._row(r) for r in rows]

        return await self._run(call)

    async def list_active(self, state_type: StateType | None, limit: int) -> list[SnapshotRow]:
        def call(conn: sqlite3.Connection) -> list[SnapshotRow]:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM run_states WHERE is_active = 1 "
                "AND (? IS NULL OR state_type = ?) ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (state_type, state_type, limit),
            ).fetchall()
            return [self._row(r) for r in rows]

        return await self._run(call)

    async def close(self) -> None:
        def call() -> None:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

        await asyncio.to_thread(call)
