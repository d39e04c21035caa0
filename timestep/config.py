"""Where timestep keeps its data, resolved in one place.

Order for the database URL: explicit argument, then ``TIMESTEP_DB_URL``, then
``PG_CONNECTION_URI`` (the original project's name), then ``DBOS_SYSTEM_DATABASE_URL``, then the
embedded default: a SQLite file in the per-user app directory (WAL mode is switched on by the
code that opens it). One database holds DBOS's tables, ``run_states`` and conversation history.
"""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from platformdirs import user_config_path

from timestep.errors import ConfigurationError

__all__ = [
    "DB_URL_ENV_VARS",
    "DatabaseURL",
    "app_dir",
    "default_sqlite_path",
    "enable_sqlite_wal",
    "redact_url",
    "resolve_database_url",
]

DB_URL_ENV_VARS: tuple[str, ...] = ("TIMESTEP_DB_URL", "PG_CONNECTION_URI", "DBOS_SYSTEM_DATABASE_URL")

Dialect = Literal["sqlite", "postgresql"]


def app_dir() -> Path:
    """The per-user app directory (Linux ``~/.config/timestep``, macOS ``~/Library/Application
    Support/timestep``, Windows ``%APPDATA%\\timestep``). ``TIMESTEP_HOME`` overrides it."""
    override = os.environ.get("TIMESTEP_HOME")
    if override:
        return Path(override).expanduser()
    return user_config_path("timestep", appauthor=False, roaming=True)


def default_sqlite_path() -> Path:
    return app_dir() / "timestep.sqlite"


@dataclass(frozen=True)
class DatabaseURL:
    """A resolved database location in the forms each consumer needs."""

    dialect: Dialect
    #: SQLAlchemy form handed to DBOS (``postgresql+psycopg://…`` or ``sqlite:///…``).
    sqlalchemy_url: str
    #: libpq form for psycopg (``postgresql://…``); None for SQLite.
    libpq_url: str | None = None
    #: Filesystem path of the SQLite file; None for Postgres.
    sqlite_path: Path | None = None

    @property
    def redacted(self) -> str:
        """The URL with any password masked: the only form allowed in logs and errors."""
        return redact_url(self.sqlalchemy_url)

    def __str__(self) -> str:  # never print a password by accident
        return self.redacted

    def __repr__(self) -> str:
        return f"DatabaseURL({self.redacted!r})"


def resolve_database_url(explicit: str | None = None) -> DatabaseURL:
    """Resolve the database to use (see the module docstring for the order)."""
    raw = explicit
    if not raw:
        for name in DB_URL_ENV_VARS:
            value = os.environ.get(name)
            if value:
                raw = value
                break
    if not raw:
        path = default_sqlite_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return DatabaseURL("sqlite", f"sqlite:///{path}", sqlite_path=path)
    return parse_database_url(raw)


def parse_database_url(raw: str) -> DatabaseURL:
    scheme, sep, rest = raw.partition("://")
    if not sep:
        raise ConfigurationError(
            f"Database URL {redact_url(raw)!r} has no scheme. Use postgresql://user:pass@host/db "
            "or sqlite:///path/to/file.sqlite."
        )
    base = scheme.split("+", 1)[0].lower()
    if base in ("postgresql", "postgres"):
        return DatabaseURL(
            "postgresql",
            sqlalchemy_url=f"postgresql+psycopg://{rest}",
            libpq_url=f"postgresql://{rest}",
        )
    if base == "sqlite":
        path_part = rest[1:] if rest.startswith("/") else rest
        path_part = path_part.split("?", 1)[0]
        if not path_part or path_part == ":memory:":
            raise ConfigurationError(
                "An in-memory SQLite database cannot be shared between the workflow engine and "
                "the snapshot store; use a file: sqlite:///path/to/file.sqlite."
            )
        path = Path(path_part).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        return DatabaseURL("sqlite", f"sqlite:///{path}", sqlite_path=path)
    raise ConfigurationError(
        f"Unsupported database URL scheme {scheme!r} in {redact_url(raw)!r}: "
        "use postgresql://… (several processes or machines) or sqlite:///… (one machine)."
    )


def redact_url(url: str) -> str:
    """Mask the password of a URL (``postgresql://u:***@h/db``, also libpq's ``?password=…``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable database URL>"
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def enable_sqlite_wal(path: Path) -> None:
    """Switch a SQLite file to WAL mode (persistent in the file).

    DBOS opens SQLite with the default rollback journal, which measured 4-6x slower per step and
    stalls recv wake-ups while a writer holds the file; WAL lets readers and one writer overlap.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
