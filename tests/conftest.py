"""Shared fixtures: real Postgres (started by the suite itself) and real SQLite, one fixture.

Postgres comes from ``TIMESTEP_TEST_PG_URL`` if set, else from the ``pgserver`` wheel (a
self-contained Postgres 16 the test extra installs), so a fresh machine needs no server.
Every test that asks for ``db_url`` gets a brand-new database: a new SQLite file (WAL mode) or a
new Postgres database created from the shared server.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from timestep.config import enable_sqlite_wal

# Fake model servers (fake_ollama, fake_ollama_cloud, fake_openai) for every test module.
pytest_plugins = ["tests.fakes"]

BACKENDS = ("sqlite", "postgres")

# pgserver asks platformdirs for a runtime dir; headless CI machines have none, which only
# produces a warning, but a warning in every run hides the ones that matter.
os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="timestep-xdg-"))


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """libpq URL of a Postgres server for the whole test session (database ``postgres``)."""
    explicit = os.environ.get("TIMESTEP_TEST_PG_URL")
    if explicit:
        yield explicit
        return
    import pgserver  # test extra

    data_dir = Path(tempfile.mkdtemp(prefix="timestep-pg-"))
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    # pgserver's URI uses a unix socket (``?host=/tmp/…``), which psycopg, DBOS and node-pg accept.
    yield server.get_uri()


def _with_database(libpq_url: str, dbname: str) -> str:
    base, _, query = libpq_url.partition("?")
    prefix = base.rsplit("/", 1)[0]
    return f"{prefix}/{dbname}" + (f"?{query}" if query else "")


def new_postgres_database(pg_server_url: str) -> str:
    dbname = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    return _with_database(pg_server_url, dbname)


def new_sqlite_database(directory: Path) -> str:
    path = directory / f"timestep-{uuid.uuid4().hex[:8]}.sqlite"
    enable_sqlite_wal(path)
    return f"sqlite:///{path}"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database on the parametrized backend (``sqlite:///…`` or ``postgresql://…``)."""
    if backend == "sqlite":
        return new_sqlite_database(tmp_path)
    pg: str = request.getfixturevalue("pg_server_url")
    return new_postgres_database(pg)


@pytest.fixture
def postgres_url(pg_server_url: str) -> str:
    """A fresh Postgres database, for tests that only make sense on Postgres."""
    return new_postgres_database(pg_server_url)


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's database settings, keys or app directory."""
    for name in (
        "TIMESTEP_DB_URL",
        "PG_CONNECTION_URI",
        "DBOS_SYSTEM_DATABASE_URL",
        "OPENAI_API_KEY",
        "OLLAMA_API_KEY",
        "OLLAMA_HOST",
        "DBOS__VMID",
        "DBOS__APPVERSION",
        "DBOS__APPID",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TIMESTEP_HOME", str(tmp_path / "timestep-home"))
    # Traces would otherwise be exported to OpenAI in the background.
    monkeypatch.setenv("OPENAI_AGENTS_DISABLE_TRACING", "1")
