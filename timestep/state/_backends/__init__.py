"""Snapshot backends: an abstract base and one subclass per dialect, chosen by URL scheme."""

from __future__ import annotations

from timestep.config import DatabaseURL
from timestep.state._backends.base import SnapshotBackend

__all__ = ["SnapshotBackend", "create_backend"]


def create_backend(url: DatabaseURL) -> SnapshotBackend:
    """The backend for a resolved URL (``sqlite:///…`` or ``postgresql://…``).

    Imports are deferred so that SQLite users never import psycopg.
    """
    if url.dialect == "postgresql":
        from timestep.state._backends.postgres import PostgresBackend

        return PostgresBackend(url)
    from timestep.state._backends.sqlite import SQLiteBackend

    return SQLiteBackend(url)
