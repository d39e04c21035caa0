"""Launching DBOS with defaults that suit durable agent runs, and reaching it from any process.

A process that *hosts* runs (an app calling ``start_run``, a ``timestep worker``) launches DBOS.
Every other process (a CLI approving a run, a web inbox) talks to the same database through a
``DBOSClient`` and never launches DBOS: launching would make it recover workflows it does not own.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from dbos import DBOS, DBOSClient, DBOSConfig

from timestep.config import DatabaseURL, enable_sqlite_wal, resolve_database_url
from timestep.errors import ConfigurationError

__all__ = [
    "DEFAULT_APP_VERSION",
    "DurableSettings",
    "application_version",
    "client",
    "current_settings",
    "database_for",
    "is_launched",
    "launch",
    "shutdown",
]

logger = logging.getLogger("timestep.durable")

#: DBOS only recovers a PENDING workflow in a process whose ``application_version`` matches.
#: Its default is a hash of the workflow source plus the dbos version, so any redeploy would
#: strand every parked approval. timestep pins the version to its own durable-protocol version
#: (bumped only when the step sequence of the run workflow changes incompatibly; 2 dropped the
#: status events at the start and the end of a run).
DEFAULT_APP_VERSION = "timestep-durable-2"

APP_NAME = "timestep"

# Measured on 2 cores with DBOS 3.4 (see ../shared/reference/dbos.md, "Scale facts"): the default
# executor is unbounded (10k parked runs made 4,400-9,400 threads and exhausted the 20-connection
# pool, collapsing approvals to 44/s); 64 threads gave 207-229 approvals/s and a third of the
# memory. Async workflows do not hold a thread while parked, so 64 only bounds blocking DB calls.
# `python -m bench --only parked` (bench/RESULTS.md) parks 10k timestep runs with 64/40: no pool
# warnings; a sweep of 8/12, 16/20, 32/40, 64/40 and 64/64 at 1k parked runs changed neither the
# drain rate nor CPU per approved run (CPU-bound), so the bound stays where raw DBOS peaked.
DEFAULT_MAX_EXECUTOR_THREADS = 64
# The pool must cover the executor threads doing DB calls plus DBOS's background loops.
DEFAULT_POOL_SIZE = 40
# Where LISTEN/NOTIFY is unavailable (SQLite) DBOS's poller runs one query *per waiting recv*
# every interval (DBOS 3.4 `_notification_listener_polling`), so its idle cost grows with the
# number of parked runs. Measured (`python -m bench --only parked --backend sqlite`, 1,000
# parked runs): 0.1 s cost 48% of a core while idle against 14% at DBOS's default 1 s, and
# ~10k parked runs would saturate a core. We keep DBOS's 1 s: an approval on SQLite may wait up
# to a second before the run wakes. (Queue pick-up has its own interval, see _worker.py.)
SQLITE_POLLING_INTERVAL_SEC = 1.0
POSTGRES_POLLING_INTERVAL_SEC = 1.0


@dataclass(frozen=True)
class DurableSettings:
    """What this process launched DBOS with."""

    database: DatabaseURL
    application_version: str
    executor_id: str


_lock = threading.Lock()
_settings: DurableSettings | None = None
_clients: dict[str, DBOSClient] = {}


def is_launched() -> bool:
    return _settings is not None


def current_settings() -> DurableSettings | None:
    return _settings


def application_version(explicit: str | None = None) -> str:
    """The durable version runs are stamped with (argument > ``TIMESTEP_APP_VERSION`` > pinned)."""
    if explicit:
        return explicit
    if _settings is not None:
        return _settings.application_version
    return os.environ.get("TIMESTEP_APP_VERSION") or DEFAULT_APP_VERSION


def build_dbos_config(
    database: DatabaseURL,
    *,
    application_version: str | None = None,
    executor_id: str | None = None,
    max_executor_threads: int | None = None,
    pool_size: int | None = None,
) -> DBOSConfig:
    """The DBOSConfig timestep launches with (explicit argument > env var > timestep default)."""
    version = application_version or os.environ.get("TIMESTEP_APP_VERSION") or DEFAULT_APP_VERSION
    config: DBOSConfig = {
        "name": APP_NAME,
        "system_database_url": database.sqlalchemy_url,
        "application_version": version,
        "max_executor_threads": max_executor_threads or DEFAULT_MAX_EXECUTOR_THREADS,
        "sys_db_pool_size": pool_size or DEFAULT_POOL_SIZE,
        "notification_listener_polling_interval_sec": (
            SQLITE_POLLING_INTERVAL_SEC if database.dialect == "sqlite" else POSTGRES_POLLING_INTERVAL_SEC
        ),
        # Workflow inputs and step outputs hold user data; DBOS logs them at debug level only.
        "log_level": os.environ.get("TIMESTEP_DBOS_LOG_LEVEL", "WARNING"),
    }
    if executor_id:
        config["executor_id"] = executor_id
    return config


def launch(
    database_url: str | None = None,
    *,
    application_version: str | None = None,
    executor_id: str | None = None,
    max_executor_threads: int | None = None,
    pool_size: int | None = None,
    listen_queues: Sequence[str] | None = None,
) -> DurableSettings:
    """Launch DBOS in this process so it can host durable runs (idempotent).

    Args:
        database_url: Postgres or SQLite URL; defaults as in ``timestep.config``.
        application_version: Overrides the pinned durable version (``TIMESTEP_APP_VERSION``).
        executor_id: This process's identity for recovery. Defaults to DBOS's ``"local"``: a
            restarted process then recovers the runs of its predecessor. Workers use unique ids.
        max_executor_threads: Bound on DBOS's thread pool (default 64).
        pool_size: System-database connection pool size (default 40).
        listen_queues: Dequeue only from these queues (workers); DBOS's internal queue is
            always served.
    """
    global _settings
    with _lock:
        if database_url is None and _settings is not None:
            return _settings
        database = resolve_database_url(database_url)
        if _settings is not None:
            if _settings.database.sqlalchemy_url != database.sqlalchemy_url:
                raise ConfigurationError(
                    f"DBOS is already launched on {_settings.database.redacted} in this process; "
                    f"cannot also use {database.redacted}. Call timestep.durable.shutdown() first."
                )
            return _settings
        # Importing registers the run workflow; DBOS requires that before launch.
        from timestep.durable import _workflow  # noqa: F401

        if database.sqlite_path is not None:
            enable_sqlite_wal(database.sqlite_path)
        config = build_dbos_config(
            database,
            application_version=application_version,
            executor_id=executor_id,
            max_executor_threads=max_executor_threads,
            pool_size=pool_size,
        )
        DBOS(config=config)
        if listen_queues is not None:
            DBOS.listen_queues(list(listen_queues))
        DBOS.launch()
        _settings = DurableSettings(
            database=database,
            application_version=config["application_version"] or DEFAULT_APP_VERSION,
            executor_id=DBOS.executor_id,
        )
        logger.info("timestep durable runtime launched on %s", database.redacted)
        return _settings


def shutdown(workflow_completion_timeout_sec: int = 0) -> None:
    """Stop DBOS in this process (parked runs stay parked in the database)."""
    global _settings
    with _lock:
        for c in _clients.values():
            c.destroy()
        _clients.clear()
        if _settings is None:
            return
        DBOS.destroy(destroy_registry=False, workflow_completion_timeout_sec=workflow_completion_timeout_sec)
        _settings = None
    from timestep.durable._snapshots import close_writers

    close_writers()


def client(database_url: str | None = None) -> DBOSClient:
    """A DBOSClient on the database (cached per URL); never launches or recovers anything."""
    database = resolve_database_url(database_url)
    with _lock:
        existing = _clients.get(database.sqlalchemy_url)
        if existing is not None:
            return existing
        if database.sqlite_path is not None:
            enable_sqlite_wal(database.sqlite_path)
        # A DBOSClient never creates DBOS's tables; a CLI or inbox pointed at a database no
        # worker has used yet would fail with a raw "no such table". Migrating is idempotent.
        DBOS.migrate(database.sqlalchemy_url)
        new = DBOSClient(system_database_url=database.sqlalchemy_url, application_name=APP_NAME)
        _clients[database.sqlalchemy_url] = new
        return new


def database_for(database_url: str | None) -> DatabaseURL:
    """The database a call should use: the launched one unless a URL is given explicitly."""
    if database_url is None and _settings is not None:
        return _settings.database
    return resolve_database_url(database_url)
