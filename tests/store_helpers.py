"""Helpers shared by the store tests: reading run_states with a plain driver connection."""

from __future__ import annotations

import sqlite3

import psycopg

from timestep.config import resolve_database_url


def count_rows(url: str, key: str) -> tuple[int, int]:
    """(all rows, active rows) of a key, read with a plain driver connection."""
    resolved = resolve_database_url(url)
    if resolved.dialect == "sqlite":
        with sqlite3.connect(str(resolved.sqlite_path)) as conn:
            total, active = conn.execute(
                "SELECT count(*), coalesce(sum(is_active), 0) FROM run_states WHERE run_id = ?",
                (key,),
            ).fetchone()
        return int(total), int(active)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE is_active) FROM run_states WHERE run_id = %s",
            (key,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])
