"""Small synchronous SQL access for the durable layer's own tables (sessions, heartbeats).

Callers run it in a worker thread (``asyncio.to_thread``). One transaction per call; SQLite takes
the write lock up front (``BEGIN IMMEDIATE``) so concurrent writers queue instead of failing.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

from timestep.config import DatabaseURL

__all__ = ["SyncSQL"]

T = TypeVar("T")

_created: set[tuple[str, str]] = set()
_created_lock = threading.Lock()


class SyncSQL:
    """Transactions on one database, plus idempotent creation of a table set."""

    def __init__(self, database: DatabaseURL, *, name: str, postgres_ddl: str, sqlite_ddl: str) -> None:
        self.database = database
        self.name = name
        self._postgres_ddl = postgres_ddl
        self._sqlite_ddl = sqlite_ddl

    @property
    def placeholder(self) -> str:
        return "%s" if self.database.dialect == "postgresql" else "?"

    def run(self, fn: Callable[[Any, str], T]) -> T:
        """Run ``fn(connection, placeholder)`` in one transaction and return its result."""
        self._ensure_tables()
        if self.database.dialect == "postgresql":
            assert self.database.libpq_url is not None
            with psycopg.connect(self.database.libpq_url) as conn, conn.transaction():
                return fn(conn, "%s")
        assert self.database.sqlite_path is not None
        lite = sqlite3.connect(self.database.sqlite_path, timeout=30, isolation_level=None)
        try:
            lite.execute("BEGIN IMMEDIATE")
            result = fn(lite, "?")
            lite.execute("COMMIT")
            return result
        except BaseException:
            lite.execute("ROLLBACK")
            raise
        finally:
            lite.close()

    def _ensure_tables(self) -> None:
        key = (self.database.sqlalchemy_url, self.name)
        if key in _created:
            return
        with _created_lock:
            if key in _created:
                return
            if self.database.dialect == "postgresql":
                assert self.database.libpq_url is not None
                with psycopg.connect(self.database.libpq_url) as conn, conn.transaction():
                    # Concurrent CREATE ... IF NOT EXISTS can still collide in Postgres catalogs.
                    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"timestep.{self.name}",))
                    conn.execute(self._postgres_ddl.encode())
            else:
                assert self.database.sqlite_path is not None
                lite = sqlite3.connect(self.database.sqlite_path, timeout=30)
                try:
                    lite.executescript(self._sqlite_ddl)
                finally:
                    lite.close()
            _created.add(key)
