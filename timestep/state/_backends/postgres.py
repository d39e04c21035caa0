"""Postgres backend: psycopg 3 async, one connection per backend, reopened when lost.

Why one connection and not a pool: a backend serves one store (one key) or one durable worker's
snapshot writes; each call is a couple of short statements, so a pool's extra connections would
sit idle while costing server slots, and psycopg's pool is a separate package. Calls on one
backend are serialised by an ``asyncio.Lock``; a broken or closed connection is replaced on the
next call (a failed call is not retried blindly — its transaction rolled back as a whole).

Concurrency on a key is settled inside Postgres: a save takes
``pg_advisory_xact_lock(hashtext('timestep.run_states'), hashtext(run_id))`` before
deactivate + insert, so writers on the same key queue up instead of colliding on the partial
unique index. Writers that skip the lock (a Node program) can still collide; the unique index
makes that an error rather than two active rows, and a timestep save retries it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
import psycopg.errors
from psycopg.conninfo import conninfo_to_dict

from timestep.config import DatabaseURL
from timestep.errors import SnapshotError, SnapshotFormatError
from timestep.state import _migrations
from timestep.state._backends.base import SnapshotBackend
from timestep.state._rows import SnapshotRow, StateType

__all__ = ["PostgresBackend", "key_lock_sql"]

Connection = psycopg.AsyncConnection[tuple[Any, ...]]

#: Seconds to wait for a connection unless the URL sets ``connect_timeout``.
CONNECT_TIMEOUT_SECONDS = 10
_SAVE_ATTEMPTS = 5

_COLUMNS = (
    "id::text, run_id, state_type::text, schema_version, state_data, is_active, created_at, "
    "resumed_at, native_data, writer, resumed_by"
)
# TIMESTAMP has no zone; timestep always writes UTC (see database/README.md). clock_timestamp()
# rather than NOW(): saves on one key are serialised, so their created_at values stay ordered.
_NOW = "(clock_timestamp() AT TIME ZONE 'UTC')"


def key_lock_sql(param: str = "%s") -> str:
    """The advisory-lock statement every writer of a key should run first (documented for Node)."""
    return f"SELECT pg_advisory_xact_lock(hashtext('timestep.run_states'), hashtext({param}::text))"


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


class PostgresBackend(SnapshotBackend):
    """``run_states`` in a Postgres database (shared with Node programs and other workers)."""

    def __init__(self, url: DatabaseURL) -> None:
        super().__init__(url)
        if url.libpq_url is None:
            raise ValueError("PostgresBackend needs a postgresql:// URL")
        self._libpq_url: str = url.libpq_url
        self._conn: Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None

    # --- plumbing ---------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """Remove the password from a driver message (libpq may echo parts of the DSN)."""
        secrets: set[str] = set()
        try:
            password = urlsplit(self._libpq_url).password
        except ValueError:
            password = None
        if password:
            secrets.update({password, unquote(password)})
        try:
            from_params = conninfo_to_dict(self._libpq_url).get("password")
        except psycopg.Error:
            from_params = None
        if from_params:
            secrets.add(str(from_params))
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def _guard(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._lock is None:
            # psycopg connections and asyncio locks belong to the loop that created them. A
            # backend reused from a new loop (e.g. a second asyncio.run) starts afresh; the old
            # socket is closed synchronously because its loop may be gone.
            if self._conn is not None:
                self._conn.pgconn.finish()
                self._conn = None
            self._lock = asyncio.Lock()
            self._loop = loop
        return self._lock

    async def _connection(self) -> Connection:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        params = conninfo_to_dict(self._libpq_url)
        extra: dict[str, Any] = {}
        if "connect_timeout" not in params:
            extra["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        if "application_name" not in params:
            extra["application_name"] = "timestep"
        try:
            self._conn = await psycopg.AsyncConnection.connect(
                self._libpq_url, autocommit=True, **extra
            )
        except psycopg.Error as exc:
            # `from None`: the driver's exception may carry the DSN; only the scrubbed text goes on.
            raise SnapshotError(
                f"Cannot connect to the snapshot database {self.url.redacted}: "
                f"{self._scrub(str(exc)).strip()}"
            ) from None
        return self._conn

    @asynccontextmanager
    async def _session(self, *, migrate: bool = True) -> AsyncIterator[Connection]:
        async with self._guard():
            conn = await self._connection()
            try:
                key = self.url.sqlalchemy_url
                if migrate and not _migrations.is_migrated(key):
                    await _migrations.apply_postgres(conn, self.url.redacted)
                    _migrations.mark_migrated(key)
                yield conn
            except psycopg.OperationalError as exc:
                raise SnapshotError(
                    f"Snapshot database {self.url.redacted} failed: {self._scrub(str(exc)).strip()}"
                ) from None

    def _row(self, r: tuple[Any, ...] | None) -> SnapshotRow:
        if r is None:
            raise SnapshotError("run_states returned no row where one was expected.")
        return self._row_from(r, _utc)

    # --- SnapshotBackend --------------------------------------------------------------------

    async def migrate(self) -> list[int]:
        async with self._session(migrate=False) as conn:
            done = await _migrations.apply_postgres(conn, self.url.redacted)
            _migrations.mark_migrated(self.url.sqlalchemy_url)
            return done

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
        for attempt in range(_SAVE_ATTEMPTS):
            try:
                async with self._session() as conn, conn.transaction():
                    await conn.execute(key_lock_sql(), (key,))
                    await conn.execute(
                        "UPDATE run_states SET is_active = false WHERE run_id = %s AND is_active",
                        (key,),
                    )
                    cur = await conn.execute(
                        "INSERT INTO run_states (run_id, state_type, schema_version, state_data, "
                        "is_active, created_at, native_data, writer) VALUES "
                        f"(%s, %s::run_state_type_enum, %s, %s::jsonb, true, {_NOW}, %s::jsonb, %s) "
                        "RETURNING id::text, created_at",
                        (key, state_type, schema_version, state_json, native_json, writer),
                    )
                    row = await cur.fetchone()
                if row is None:
                    raise SnapshotError("run_states returned no row where one was expected.")
                created_at = _utc(row[1])
                assert created_at is not None
                return str(row[0]), created_at
            except psycopg.errors.UniqueViolation:
                # Another writer that does not take our advisory lock won the race; the whole
                # transaction rolled back, so trying again cannot leave a partial save behind.
                await asyncio.sleep(0.01 * 2**attempt)
            except psycopg.errors.UntranslatableCharacter as exc:
                raise SnapshotFormatError(
                    f"Postgres JSONB cannot store this snapshot for key {key!r}: it contains a "
                    f"NUL character (\\u0000) in a string ({exc})."
                ) from exc
        raise SnapshotError(
            f"Could not save the snapshot for key {key!r}: another writer kept inserting an active "
            f"row concurrently ({_SAVE_ATTEMPTS} attempts)."
        )

    async def active(self, key: str) -> SnapshotRow | None:
        async with self._session() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM run_states WHERE run_id = %s AND is_active "
                "ORDER BY created_at DESC LIMIT 1",
                (key,),
            )
            row = await cur.fetchone()
        return None if row is None else self._row(row)

    async def mark_resumed(
        self, key: str, *, row_id: str | None, only_if_unresumed: bool, by: str | None = None
    ) -> SnapshotRow | None:
        row = await self._mark(key, row_id, only_if_unresumed, by, _COLUMNS)
        return None if row is None else self._row(row)

    async def try_mark_resumed(
        self, key: str, *, row_id: str | None, only_if_unresumed: bool, by: str | None = None
    ) -> bool:
        return await self._mark(key, row_id, only_if_unresumed, by, "id") is not None

    async def _mark(
        self, key: str, row_id: str | None, only_if_unresumed: bool, by: str | None, returning: str
    ) -> tuple[Any, ...] | None:
        async with self._session() as conn:
            # A single UPDATE: Postgres re-checks the WHERE clause on the latest row version
            # after any concurrent writer commits, so this never marks a row that a concurrent
            # save has just deactivated, and the read and the mark are one atomic step.
            cur = await conn.execute(
                f"UPDATE run_states SET resumed_at = {_NOW}, resumed_by = %s "
                "WHERE run_id = %s AND is_active "
                "AND (%s::uuid IS NULL OR id = %s::uuid) AND (NOT %s OR resumed_at IS NULL) "
                f"RETURNING {returning}",
                (by, key, row_id, row_id, only_if_unresumed),
            )
            return await cur.fetchone()

    async def deactivate(self, key: str) -> int:
        async with self._session() as conn, conn.transaction():
            await conn.execute(key_lock_sql(), (key,))
            cur = await conn.execute(
                "UPDATE run_states SET is_active = false WHERE run_id = %s AND is_active", (key,)
            )
            return cur.rowcount

    async def history(self, key: str, limit: int | None) -> list[SnapshotRow]:
        async with self._session() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM run_states WHERE run_id = %s "
                "ORDER BY created_at DESC, id DESC LIMIT %s",
                (key, limit),
            )
            rows = await cur.fetchall()
        return [self._row(r) for r in rows]

    async def list_active(self, state_type: StateType | None, limit: int) -> list[SnapshotRow]:
        async with self._session() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM run_states WHERE is_active "
                "AND (%s::run_state_type_enum IS NULL OR state_type = %s::run_state_type_enum) "
                "ORDER BY created_at DESC LIMIT %s",
                (state_type, state_type, limit),
            )
            rows = await cur.fetchall()
        return [self._row(r) for r in rows]

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None or conn.closed:
            return
        if asyncio.get_running_loop() is self._loop:
            await conn.close()
        else:  # its loop is gone or elsewhere: close the socket without awaiting
            conn.pgconn.finish()
