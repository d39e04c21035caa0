"""What every command shares: the database it talks to, output consoles, option decorators.

The database is resolved once per invocation (``--db``, else ``timestep.config``'s order) and
probed before any DBOS call: DBOS retries connection errors forever by design (a worker should
ride out a Postgres restart), which would make a CLI pointed at a closed port hang instead of
saying so.
"""

from __future__ import annotations

import asyncio
import shlex
import sqlite3
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click
from rich.console import Console

from timestep.config import DatabaseURL, resolve_database_url

__all__ = [
    "CLIState",
    "DatabaseUnreachable",
    "database_option",
    "json_option",
    "run_async",
    "state_of",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

#: How long to wait for a Postgres server before calling it unreachable.
CONNECT_TIMEOUT_SECONDS = 5


class DatabaseUnreachable(click.ClickException):
    """The database cannot be reached (the message names it, password masked)."""


@dataclass
class CLIState:
    """Per-invocation state, carried as click's context object (no module globals)."""

    db: str | None = None
    out: Console = field(default_factory=lambda: Console(soft_wrap=True))
    err: Console = field(default_factory=lambda: Console(stderr=True, soft_wrap=True))
    database: DatabaseURL | None = None
    #: Whether DBOS's tables exist in the database (None until probed).
    has_runs: bool | None = None

    def resolve(self) -> DatabaseURL:
        """The database of this invocation, resolved once."""
        if self.database is None:
            self.database = resolve_database_url(self.db)
        return self.database

    def probe(self) -> DatabaseURL:
        """Resolve the database and check it can be reached; records whether it holds runs."""
        database = self.resolve()
        if self.has_runs is None:
            self.has_runs = _probe(database)
        return database

    @property
    def url(self) -> str:
        """The SQLAlchemy URL to hand to the library (after :meth:`probe`)."""
        return self.resolve().sqlalchemy_url

    def db_flag(self) -> str:
        """The ``--db`` part of a command to print for the user, never with a password."""
        if self.db is None:
            return ""
        if _password(self.resolve()):
            return (
                '--db "$TIMESTEP_DB_URL" '  # the real URL has a password: name it, don't print it
            )
        return f"--db {shlex.quote(self.db)} "


def state_of(ctx: click.Context) -> CLIState:
    state = ctx.find_object(CLIState)
    if state is None:  # invoked without main(): make one so commands still work
        state = ctx.ensure_object(CLIState)
    return state


def _probe(database: DatabaseURL) -> bool:
    if database.sqlite_path is not None:
        path = database.sqlite_path
        if not path.exists():
            return False
        try:
            conn = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, timeout=CONNECT_TIMEOUT_SECONDS
            )
            try:
                row = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'workflow_status'"
                ).fetchone()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise DatabaseUnreachable(
                f"cannot open the database {database.redacted}: {exc}"
            ) from None
        return row is not None
    import psycopg

    assert database.libpq_url is not None
    try:
        with psycopg.connect(database.libpq_url, connect_timeout=CONNECT_TIMEOUT_SECONDS) as pg:
            found = pg.execute("SELECT to_regclass('dbos.workflow_status') IS NOT NULL").fetchone()
    except psycopg.Error as exc:
        reason = first_line(str(exc), database)
        if "does not exist" in reason and "database" in reason:
            return False  # the server answered; DBOS creates the database when a run starts
        raise DatabaseUnreachable(
            f"cannot reach the database {database.redacted}: {reason}"
        ) from None
    return bool(found and found[0])


def first_line(message: str, database: DatabaseURL | None) -> str:
    """The first meaningful line of a driver error, with any password masked."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    text = lines[0] if lines else message.strip()
    if database is not None:
        text = scrub(text, database)
    return text


def _password(database: DatabaseURL) -> str | None:
    try:
        return urlsplit(database.sqlalchemy_url).password or None
    except ValueError:
        return None


def scrub(text: str, database: DatabaseURL) -> str:
    """Remove the database's password from ``text`` (drivers sometimes echo the URL)."""
    password = _password(database)
    if password:
        text = text.replace(password, "***")
    return text.replace(database.sqlalchemy_url, database.redacted)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run one command's coroutine; commands are sync for click, the library is async."""
    return asyncio.run(coro)


def json_option(func: F) -> F:
    """``--json``: machine-readable output instead of rich text."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def _set_db(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        state_of(ctx).db = value


def database_option(func: F) -> F:
    """``--db URL`` on a command (same as the global option; whichever comes last wins)."""
    return click.option(
        "--db",
        metavar="URL",
        expose_value=False,
        callback=_set_db,
        help="Database URL (overrides TIMESTEP_DB_URL and the other defaults).",
    )(func)
