"""Snapshot rows of durable runs, through a few connections shared by the process.

Measured (``python -m bench --only parked``): writing each snapshot through a fresh
``RunStateStore`` opened one Postgres connection per save, so a burst of approvals (every run
resumes and writes its final snapshot at once) opened hundreds of connections, hit Postgres'
``max_connections`` ("too many clients") and *failed the runs*. A handful of shared
connections per process bounds that and saves the connect + migration check on every save.
``approve``/``reject`` claim the row through the same shared connections.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from typing import Any

from timestep.config import resolve_database_url
from timestep.state import SnapshotTable
from timestep.state._rows import StateType
from timestep.state._snapshot import encode_native

__all__ = ["SNAPSHOT_CONNECTIONS", "close_writers", "save_native_snapshot", "shared_table"]

#: Connections per database and event loop for snapshot writes. Each save is one short
#: transaction; 4 let commits overlap (Postgres group commit) without crowding the server.
#: SQLite has a single writer anyway, so one connection serves it.
SNAPSHOT_CONNECTIONS = 4

_lock = threading.Lock()
_pools: dict[tuple[int, str], list[SnapshotTable]] = {}
_turn = itertools.count()


def _tables(database_url: str) -> list[SnapshotTable]:
    key = (id(asyncio.get_running_loop()), database_url)
    with _lock:
        pool = _pools.get(key)
        if pool is None:
            database = resolve_database_url(database_url)
            size = 1 if database.dialect == "sqlite" else SNAPSHOT_CONNECTIONS
            pool = _pools[key] = [SnapshotTable(database) for _ in range(size)]
        return pool


def shared_table(database_url: str) -> SnapshotTable:
    """One of this process's shared snapshot connections for ``database_url`` (do not close it).

    Must be called on the event loop that will use it."""
    pool = _tables(database_url)
    return pool[next(_turn) % len(pool)]


async def save_native_snapshot(
    native_data: dict[str, Any], state_type: StateType, key: str, database_url: str
) -> None:
    """Encode a state's ``to_json()`` (see ``native_form``) and make it ``key``'s active row
    (one transaction)."""
    encoded = encode_native(native_data, state_type)
    table = shared_table(database_url)
    await table.save_json(
        key,
        encoded.state_data,
        encoded.native_data,
        state_type=encoded.state_type,
        schema_version=encoded.schema_version,
        writer=encoded.writer,
    )


def close_writers() -> None:
    """Close every shared connection (at shutdown; callable from any thread or loop)."""
    with _lock:
        tables = [t for pool in _pools.values() for t in pool]
        _pools.clear()
    if not tables:
        return

    async def close_all() -> None:
        for table in tables:
            try:
                await table.close()
            except Exception:  # best effort: the process is shutting DBOS down
                pass

    # A fresh loop on a side thread: the workflows' loop may be closed, or running here.
    closer = threading.Thread(target=asyncio.run, args=(close_all(),), daemon=True)
    closer.start()
    closer.join(timeout=10)
