"""Numbered schema migrations for the snapshot table, applied once per database.

The SQL lives in ``database/<dialect>/NNN_name.sql`` at the top of the repository (the files a
Node or psql user reads); a built wheel carries a copy under ``timestep/_database``. Applied
versions are recorded in ``timestep_migrations``. Concurrent first use from several processes
is serialised by the database itself: a transaction-scoped advisory lock on Postgres,
``BEGIN IMMEDIATE`` (the single writer lock) on SQLite. After a process has seen a database
fully migrated it remembers the URL and never checks again (the original package re-ran its
whole DDL on every connection, and its concurrent ``CREATE TYPE`` could race).
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from timestep.config import Dialect
from timestep.errors import ConfigurationError

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "MIGRATIONS_TABLE",
    "Migration",
    "apply_postgres",
    "apply_sqlite",
    "forget_migrated",
    "is_migrated",
    "load_migrations",
    "mark_migrated",
]

logger = logging.getLogger(__name__)

MIGRATIONS_TABLE = "timestep_migrations"

_FILE_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")

# hashtext() of a fixed name: the one advisory lock all timestep processes take to migrate.
_PG_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('timestep.migrations'))"

_PG_CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  checksum TEXT NOT NULL,
  applied_at TIMESTAMP NOT NULL DEFAULT (NOW() AT TIME ZONE 'UTC')
)"""

_SQLITE_CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  checksum TEXT NOT NULL,
  applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
)"""


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


# --- where the SQL files are ---------------------------------------------------------------


def _candidate_roots() -> list[Path]:
    package_dir = Path(__file__).resolve().parent.parent  # .../timestep
    return [
        package_dir / "_database",  # installed wheel (hatch force-include)
        package_dir.parent / "database",  # source checkout / editable install
    ]


@cache
def load_migrations(dialect: Dialect) -> tuple[Migration, ...]:
    """The migrations for a dialect, in version order.

    Raises:
        ConfigurationError: the SQL files are missing or misnumbered (a broken install).
    """
    sub = "postgres" if dialect == "postgresql" else "sqlite"
    for root in _candidate_roots():
        directory = root / sub
        if directory.is_dir():
            break
    else:
        searched = ", ".join(str(r / sub) for r in _candidate_roots())
        raise ConfigurationError(
            f"timestep's SQL migrations were not found (looked in {searched})."
        )
    migrations: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise ConfigurationError(f"Migration file {path} is not named NNN_name.sql.")
        migrations.append(
            Migration(int(match.group(1)), match.group(2), path.read_text(encoding="utf-8"))
        )
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ConfigurationError(
            f"Migrations in {directory} are not numbered 001, 002, …: {versions}"
        )
    return tuple(migrations)


# --- the per-process "already migrated" memory ---------------------------------------------

_migrated: set[str] = set()
_migrated_lock = threading.Lock()


def is_migrated(cache_key: str) -> bool:
    """True when this process has already seen the database at ``cache_key`` fully migrated."""
    with _migrated_lock:
        return cache_key in _migrated


def mark_migrated(cache_key: str) -> None:
    with _migrated_lock:
        _migrated.add(cache_key)


def forget_migrated(cache_key: str | None = None) -> None:
    """Forget one database (or all): the next use checks ``timestep_migrations`` again."""
    with _migrated_lock:
        if cache_key is None:
            _migrated.clear()
        else:
            _migrated.discard(cache_key)


def _pending(
    migrations: Sequence[Migration], applied: dict[int, str], where: str
) -> list[Migration]:
    for m in migrations:
        recorded = applied.get(m.version)
        if recorded is not None and recorded != m.checksum:
            # Editing an applied migration is a bug in timestep, not something to act on at
            # runtime: the database already has that version's effect.
            logger.warning(
                "Migration %03d_%s in %s was applied with different SQL (checksum %s, now %s)",
                m.version,
                m.name,
                where,
                recorded[:12],
                m.checksum[:12],
            )
    newer = sorted(set(applied) - {m.version for m in migrations})
    if newer:
        logger.warning(
            "Database %s has migrations %s that this timestep does not know (a newer version "
            "wrote them); continuing with the columns this version uses.",
            where,
            newer,
        )
    return [m for m in migrations if m.version not in applied]


# --- Postgres -------------------------------------------------------------------------------


async def apply_postgres(conn: psycopg.AsyncConnection[Any], where: str) -> list[int]:
    """Apply pending migrations in one transaction under the migration advisory lock.

    ``conn`` must be in autocommit mode (the transaction is opened here). Returns the versions
    applied, ``[]`` when the database was already up to date. ``where`` is the redacted URL,
    for log messages.
    """
    migrations = load_migrations("postgresql")
    async with conn.transaction():
        # Everything below happens while holding the lock, so two processes migrating a fresh
        # database cannot both run CREATE TYPE / CREATE TABLE (which races even with IF NOT
        # EXISTS in Postgres).
        await conn.execute(_PG_LOCK_SQL)
        await conn.execute(_PG_CREATE_TABLE)
        cur = await conn.execute(f"SELECT version, checksum FROM {MIGRATIONS_TABLE}")
        applied = {int(v): str(c) for v, c in await cur.fetchall()}
        done: list[int] = []
        for m in _pending(migrations, applied, where):
            # No parameters: psycopg sends the file as one simple query (several statements).
            await conn.execute(m.sql.encode("utf-8"))
            await conn.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (version, name, checksum) VALUES (%s, %s, %s)",
                (m.version, m.name, m.checksum),
            )
            done.append(m.version)
    if done:
        logger.info("Applied timestep migrations %s to %s", done, where)
    return done


# --- SQLite ---------------------------------------------------------------------------------


def _split_sqlite_statements(sql: str) -> list[str]:
    # sqlite3.Connection.executescript() would COMMIT our open transaction first, so the file is
    # split into complete statements and run one by one inside BEGIN IMMEDIATE.
    statements: list[str] = []
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in buffer.splitlines()
    ):
        raise ConfigurationError("A SQLite migration ends with an incomplete statement.")
    return statements


def apply_sqlite(conn: sqlite3.Connection, where: str) -> list[int]:
    """Apply pending migrations in one ``BEGIN IMMEDIATE`` transaction (blocking; run in a thread).

    ``conn`` must be in autocommit mode (``isolation_level=None``). Returns the versions applied.
    """
    migrations = load_migrations("sqlite")
    # BEGIN IMMEDIATE takes SQLite's single write lock up front (waiting up to busy_timeout), so
    # concurrent first users apply the migrations one after the other; the later ones see them
    # recorded and do nothing.
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_SQLITE_CREATE_TABLE)
        rows = conn.execute(f"SELECT version, checksum FROM {MIGRATIONS_TABLE}").fetchall()
        applied = {int(v): str(c) for v, c in rows}
        done: list[int] = []
        for m in _pending(migrations, applied, where):
            for statement in _split_sqlite_statements(m.sql):
                conn.execute(statement)
            conn.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (version, name, checksum) VALUES (?, ?, ?)",
                (m.version, m.name, m.checksum),
            )
            done.append(m.version)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    if done:
        logger.info("Applied timestep migrations %s to %s", done, where)
    return done
