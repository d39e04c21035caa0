"""``SnapshotTable`` and the ``run_states`` schema, on SQLite and a real Postgres.

Agent-free: rows go in as JSON. Covers the exact Postgres schema (shared with the original
TypeScript package), migrations applied once (also from concurrent processes), the one-active-row
rule under concurrent saves from separate processes, ``resumed_at`` semantics and secret hygiene.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
import time
import traceback
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.store_helpers import count_rows
from timestep.config import resolve_database_url
from timestep.errors import (
    SnapshotError,
    SnapshotFormatError,
    SnapshotNotFoundError,
    TimestepError,
    UserError,
)
from timestep.state import PYTHON_WRITER, SnapshotRow, SnapshotTable, _migrations

REPO = Path(__file__).resolve().parent.parent


def js_state(n: int = 0) -> dict[str, Any]:
    """A stand-in JS-form state (the table does not interpret state_data)."""
    return {"$schemaVersion": "1.22", "currentTurn": n, "currentAgent": {"name": "Mailer"}}


def run_workers(tmp_path: Path, script: str, args_per_worker: list[list[str]]) -> list[str]:
    """Run one Python process per argument list, released together; return their stdouts.

    Each worker writes ``ready-<i>`` once imported and spins until ``go`` exists, so the
    interesting part really runs concurrently.
    """
    worker = tmp_path / "worker.py"
    worker.write_text(
        textwrap.dedent(
            """
            import os, sys, time
            from pathlib import Path
            sync_dir = Path(sys.argv[1]); index = sys.argv[2]
            def wait_for_go():
                (sync_dir / f"ready-{index}").touch()
                while not (sync_dir / "go").exists():
                    time.sleep(0.002)
            """
        )
        + textwrap.dedent(script)
    )
    sync_dir = tmp_path / "sync"
    sync_dir.mkdir()
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "OPENAI_AGENTS_DISABLE_TRACING": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, str(worker), str(sync_dir), str(i), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=str(tmp_path),
        )
        for i, args in enumerate(args_per_worker)
    ]
    deadline = time.monotonic() + 60
    while len(list(sync_dir.glob("ready-*"))) < len(procs):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            break
        time.sleep(0.01)
    (sync_dir / "go").touch()
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, f"worker failed:\n{err}"
        outputs.append(out)
    return outputs


# --- basic behaviour ------------------------------------------------------------------------


async def test_save_json_makes_one_active_row_and_keeps_history(db_url: str) -> None:
    async with SnapshotTable(db_url) as table:
        first = await table.save_json("k1", js_state(1), {"native": 1}, state_type="interrupted")
        second = await table.save_json("k1", js_state(2), state_type="final")
        await table.save_json("other", js_state(9), state_type="checkpoint")

        assert first.is_active and first.writer == PYTHON_WRITER
        assert first.native_data == {"native": 1} and first.schema_version == "1.22"
        assert second.native_data is None and second.writer is None

        active = await table.get("k1")
        assert active.id == second.id and active.state_data == js_state(2)
        assert active.state_type == "final" and active.resumed_at is None

        history = await table.history("k1")
        assert [r.id for r in history] == [second.id, first.id]
        assert [r.is_active for r in history] == [True, False]
        assert history[1].created_at <= history[0].created_at
        assert await table.history("k1", limit=1) == [history[0]]

        assert {r.run_id for r in await table.list_active()} == {"k1", "other"}
        assert [r.run_id for r in await table.list_active(state_type="checkpoint")] == ["other"]
    assert count_rows(db_url, "k1") == (2, 1)


async def test_deactivate_keeps_history_and_missing_key_is_named(db_url: str) -> None:
    async with SnapshotTable(db_url) as table:
        await table.save_json("k", js_state(), state_type="checkpoint")
        assert await table.deactivate("k") == 1
        assert await table.deactivate("k") == 0
        assert await table.active("k") is None
        with pytest.raises(SnapshotNotFoundError, match="'k'") as info:
            await table.get("k")
        assert info.value.key == "k"
        assert [r.is_active for r in await table.history("k")] == [False]


async def test_mark_resumed_is_a_compare_and_set(db_url: str) -> None:
    async with SnapshotTable(db_url) as table:
        old = await table.save_json("k", js_state(1), state_type="interrupted")
        new = await table.save_json("k", js_state(2), state_type="interrupted")
        # Only the active row can be marked, and only the one the caller read.
        assert await table.mark_resumed("k", row_id=old.id) is None
        claimed = await table.mark_resumed("k", row_id=new.id, only_if_unresumed=True)
        assert claimed is not None and claimed.id == new.id and claimed.resumed_at is not None
        # A second claim loses: this is what keeps a parked workflow from resuming a row Node took.
        assert await table.mark_resumed("k", only_if_unresumed=True) is None
        again = await table.mark_resumed("k")
        assert again is not None and again.resumed_at is not None
        assert again.resumed_at >= claimed.resumed_at
        assert (await table.get("k")).resumed_at == again.resumed_at
        assert await table.mark_resumed("missing") is None


async def test_bad_input_gives_clear_errors(db_url: str) -> None:
    async with SnapshotTable(db_url) as table:
        with pytest.raises(UserError, match="state_type must be one of"):
            await table.save_json("k", js_state(), state_type="paused")  # type: ignore[arg-type]
        with pytest.raises(UserError, match="non-empty string"):
            await table.save_json("", js_state(), state_type="final")
        with pytest.raises(UserError, match="JSON object"):
            await table.save_json("k", [1, 2], state_type="final")  # type: ignore[arg-type]
        with pytest.raises(SnapshotFormatError, match="schema_version"):
            await table.save_json("k", {"no": "version"}, state_type="final")
        with pytest.raises(SnapshotFormatError, match="schema_version"):
            await table.save_json("k", js_state(), state_type="final", schema_version="1.2.3")
        with pytest.raises(SnapshotFormatError, match="not JSON-serialisable"):
            await table.save_json("k", {**js_state(), "x": float("nan")}, state_type="final")
        with pytest.raises(UserError):
            await table.history("k", limit=-1)
        assert await table.active("k") is None  # nothing was half-written


async def test_postgres_refuses_nul_characters_clearly(postgres_url: str) -> None:
    async with SnapshotTable(postgres_url) as table:
        with pytest.raises(SnapshotFormatError, match="NUL"):
            await table.save_json("k", {**js_state(), "text": "a\x00b"}, state_type="final")
        assert await table.active("k") is None


async def test_table_survives_a_new_event_loop(db_url: str) -> None:
    table = SnapshotTable(db_url)
    await table.save_json("k", js_state(), state_type="final")

    def other_loop() -> SnapshotRow | None:
        return asyncio.run(table.active("k"))

    # asyncio.run in a thread: a different loop than the one that opened the connection.
    row = await asyncio.to_thread(other_loop)
    assert row is not None and row.run_id == "k"
    assert (await table.get("k")).id == row.id
    await table.close()
    await table.close()  # idempotent


# --- concurrency ----------------------------------------------------------------------------


async def test_concurrent_saves_from_separate_table_instances(db_url: str) -> None:
    tables = [SnapshotTable(db_url) for _ in range(10)]
    try:
        await asyncio.gather(
            *(
                t.save_json("hot", js_state(i), state_type="checkpoint")
                for i, t in enumerate(tables)
            )
        )
        assert count_rows(db_url, "hot") == (10, 1)
        # And concurrent saves + deactivations never leave two active rows either.
        await asyncio.gather(
            *(
                t.save_json("hot", js_state(i), state_type="checkpoint")
                if i % 2
                else t.deactivate("hot")
                for i, t in enumerate(tables)
            )
        )
        total, active = count_rows(db_url, "hot")
        assert total == 15 and active <= 1
    finally:
        for t in tables:
            await t.close()


SAVE_WORKER = """
import asyncio
from timestep.state import SnapshotTable
url, key, count = sys.argv[3], sys.argv[4], int(sys.argv[5])
async def main():
    async with SnapshotTable(url) as table:
        await table.migrate()
        wait_for_go()
        for n in range(count):
            await table.save_json(key, {"$schemaVersion": "1.22", "n": n, "by": index},
                                  state_type="checkpoint")
asyncio.run(main())
"""


def test_concurrent_saves_from_separate_processes(db_url: str, tmp_path: Path) -> None:
    run_workers(tmp_path, SAVE_WORKER, [[db_url, "shared", "2"] for _ in range(10)])
    assert count_rows(db_url, "shared") == (20, 1)


# --- migrations -----------------------------------------------------------------------------

MIGRATE_WORKER = """
import asyncio
from timestep.state import SnapshotTable
async def main():
    async with SnapshotTable(sys.argv[3]) as table:
        wait_for_go()
        print(await table.migrate())
asyncio.run(main())
"""


def applied_migrations(url: str) -> list[tuple[int, str]]:
    resolved = resolve_database_url(url)
    query = "SELECT version, name FROM timestep_migrations ORDER BY version"
    if resolved.dialect == "sqlite":
        with sqlite3.connect(str(resolved.sqlite_path)) as conn:
            return [(int(v), str(n)) for v, n in conn.execute(query)]
    with psycopg.connect(url) as conn:
        return [(int(v), str(n)) for v, n in conn.execute(query)]


EXPECTED_MIGRATIONS = [(1, "run_states"), (2, "run_states_native"), (3, "run_states_resumed_by")]


async def test_migrations_apply_once_and_are_idempotent(db_url: str) -> None:
    async with SnapshotTable(db_url) as table:
        assert await table.migrate() == [1, 2, 3]
        assert await table.migrate() == []  # second init: no-op
    assert applied_migrations(db_url) == EXPECTED_MIGRATIONS


async def test_migrations_are_not_rerun_on_every_connection(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with SnapshotTable(db_url) as table:
        await table.save_json("k", js_state(), state_type="final")

    def must_not_run(*args: object) -> list[int]:
        raise AssertionError("migrations re-checked although this process already did")

    monkeypatch.setattr(_migrations, "apply_postgres", must_not_run)
    monkeypatch.setattr(_migrations, "apply_sqlite", must_not_run)
    async with SnapshotTable(db_url) as fresh:  # a new connection, same database
        assert (await fresh.get("k")).state_type == "final"


def test_concurrent_first_migration_from_several_processes(db_url: str, tmp_path: Path) -> None:
    outputs = run_workers(tmp_path, MIGRATE_WORKER, [[db_url] for _ in range(6)])
    applied = sorted(out.strip() for out in outputs)
    # Exactly one process applied both migrations; the others found them recorded.
    assert applied == ["[1, 2, 3]"] + ["[]"] * 5
    assert applied_migrations(db_url) == EXPECTED_MIGRATIONS


# --- the schema itself ----------------------------------------------------------------------


async def test_postgres_schema_matches_the_typescript_package(postgres_url: str) -> None:
    async with SnapshotTable(postgres_url) as table:
        await table.migrate()
    with psycopg.connect(postgres_url) as conn:
        columns = conn.execute(
            """SELECT column_name, data_type, udt_name, character_maximum_length, is_nullable,
                      column_default
                 FROM information_schema.columns
                WHERE table_name = 'run_states' ORDER BY ordinal_position"""
        ).fetchall()
        labels = [
            r[0]
            for r in conn.execute(
                """SELECT enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
                    WHERE t.typname = 'run_state_type_enum' ORDER BY e.enumsortorder"""
            )
        ]
        indexes: dict[str, str] = dict(
            conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'run_states'"
            ).fetchall()
        )
        checks = [
            r[0]
            for r in conn.execute(
                """SELECT pg_get_constraintdef(oid) FROM pg_constraint
                    WHERE conrelid = 'run_states'::regclass AND contype = 'c'"""
            )
        ]
    assert [c[:5] for c in columns] == [
        ("id", "uuid", "uuid", None, "NO"),
        ("run_id", "text", "text", None, "NO"),
        ("state_type", "USER-DEFINED", "run_state_type_enum", None, "NO"),
        ("schema_version", "character varying", "varchar", 20, "NO"),
        ("state_data", "jsonb", "jsonb", None, "NO"),
        ("is_active", "boolean", "bool", None, "NO"),
        ("created_at", "timestamp without time zone", "timestamp", None, "NO"),
        ("resumed_at", "timestamp without time zone", "timestamp", None, "YES"),
        ("native_data", "jsonb", "jsonb", None, "YES"),
        ("writer", "text", "text", None, "YES"),
        ("resumed_by", "text", "text", None, "YES"),
    ]
    defaults = {c[0]: c[5] for c in columns}
    assert defaults["id"] == "gen_random_uuid()"
    assert defaults["is_active"] == "true"
    assert defaults["created_at"] == "now()"
    assert labels == ["interrupted", "checkpoint", "final"]
    assert checks == ["CHECK (((schema_version)::text ~ '^[0-9]+\\.[0-9]+$'::text))"]
    assert indexes == {
        "run_states_pkey": "CREATE UNIQUE INDEX run_states_pkey ON public.run_states USING btree (id)",
        "idx_run_states_run_id": "CREATE INDEX idx_run_states_run_id ON public.run_states USING btree (run_id)",
        "idx_run_states_type": "CREATE INDEX idx_run_states_type ON public.run_states USING btree (state_type)",
        "idx_run_states_created_at": "CREATE INDEX idx_run_states_created_at ON public.run_states USING btree (created_at)",
        "idx_run_states_gin": "CREATE INDEX idx_run_states_gin ON public.run_states USING gin (state_data)",
        "idx_run_states_active_unique": "CREATE UNIQUE INDEX idx_run_states_active_unique ON public.run_states USING btree (run_id) WHERE (is_active = true)",
    }


async def test_sqlite_schema_enforces_the_same_rules(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'schema.sqlite'}"
    async with SnapshotTable(url) as table:
        await table.migrate()
    with sqlite3.connect(tmp_path / "schema.sqlite") as conn:
        columns = [(r[1], r[2], bool(r[3])) for r in conn.execute("PRAGMA table_info(run_states)")]
        indexes = {
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.execute(
            "INSERT INTO run_states (run_id, state_type, schema_version, state_data) "
            "VALUES ('k', 'final', '1.22', '{}')"
        )
        row_id = conn.execute("SELECT id FROM run_states").fetchone()[0]
        for bad in (
            "('k', 'final', '1.22', '{}')",  # second active row for the key
            "('j', 'paused', '1.22', '{}')",  # not a state type
            "('j', 'final', '1.2.3', '{}')",  # not digits.digits
            "('j', 'final', '1.22', 'not json')",
        ):
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute(
                    "INSERT INTO run_states (run_id, state_type, schema_version, state_data) "
                    f"VALUES {bad}"
                )
    assert [c[0] for c in columns] == [
        "id", "run_id", "state_type", "schema_version", "state_data", "is_active",
        "created_at", "resumed_at", "native_data", "writer", "resumed_by",
    ]  # fmt: skip
    assert {c[0] for c in columns if c[2]} == {
        "id", "run_id", "state_type", "schema_version", "state_data", "is_active", "created_at",
    }  # fmt: skip
    assert {
        "idx_run_states_run_id",
        "idx_run_states_type",
        "idx_run_states_created_at",
        "idx_run_states_active_unique",
    } <= indexes
    assert len(row_id) == 36 and row_id[14] == "4"  # the default id is a v4 UUID


# The run_states DDL of the original TypeScript package (typescript/timestep/stores/shared/
# schema.ts), which runs it on every connection.
TYPESCRIPT_DDL = [
    "CREATE TYPE run_state_type_enum AS ENUM ('interrupted', 'checkpoint', 'final')",
    """CREATE TABLE IF NOT EXISTS run_states (
      id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
      run_id TEXT NOT NULL,
      state_type run_state_type_enum NOT NULL,
      schema_version VARCHAR(20) NOT NULL,
      state_data JSONB NOT NULL,
      is_active BOOLEAN NOT NULL DEFAULT true,
      created_at TIMESTAMP NOT NULL DEFAULT NOW(),
      resumed_at TIMESTAMP,
      CONSTRAINT chk_schema_version CHECK (schema_version ~ '^[0-9]+\\.[0-9]+$')
    )""",
    "CREATE INDEX IF NOT EXISTS idx_run_states_run_id ON run_states(run_id)",
    "CREATE INDEX IF NOT EXISTS idx_run_states_type ON run_states(state_type)",
    "CREATE INDEX IF NOT EXISTS idx_run_states_created_at ON run_states(created_at)",
    "CREATE INDEX IF NOT EXISTS idx_run_states_gin ON run_states USING GIN (state_data)",
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_run_states_active_unique ON run_states(run_id) "
    "WHERE is_active = true",
]


def run_typescript_ddl(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in TYPESCRIPT_DDL:
            try:
                conn.execute(statement)
            except psycopg.errors.DuplicateObject:
                pass  # what schema.ts ignores ("already exists")


async def test_shares_a_database_with_the_typescript_package(postgres_url: str) -> None:
    # The TypeScript package got there first and wrote a row the way it does.
    run_typescript_ddl(postgres_url)
    with psycopg.connect(postgres_url) as conn:
        conn.execute(
            "INSERT INTO run_states (run_id, state_type, schema_version, state_data, is_active) "
            "VALUES (%s, %s, %s, %s, true)",
            ("sess", "checkpoint", "1.0", Jsonb(js_state(3))),
        )
    async with SnapshotTable(postgres_url) as table:
        assert await table.migrate() == [1, 2, 3]
        legacy = await table.get("sess")
        assert legacy.state_data == js_state(3) and legacy.native_data is None
        await table.save_json("sess", js_state(4), {"n": 4}, state_type="interrupted")
    # ...and the TypeScript package keeps starting up against the migrated database.
    run_typescript_ddl(postgres_url)
    assert count_rows(postgres_url, "sess") == (2, 1)


async def test_a_node_style_insert_is_read_back(postgres_url: str) -> None:
    """A row written by the README's Node recipe (no native_data, NOW() default)."""
    async with SnapshotTable(postgres_url) as table:
        await table.migrate()
        with psycopg.connect(postgres_url) as conn, conn.transaction():
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('timestep.run_states'), hashtext(%s::text))",
                ("n1",),
            )
            conn.execute("UPDATE run_states SET is_active = false WHERE run_id = %s", ("n1",))
            conn.execute(
                "INSERT INTO run_states (run_id, state_type, schema_version, state_data, "
                "is_active) VALUES (%s, 'interrupted', '1.22', %s, true)",
                ("n1", Jsonb(js_state(5))),
            )
        row = await table.get("n1")
        assert row.state_type == "interrupted" and row.writer is None and not row.has_native


# --- secrets --------------------------------------------------------------------------------


async def test_connection_errors_name_the_host_but_never_the_password() -> None:
    url = "postgresql://alice:s3cr3t-pw@127.0.0.1:1/timestep?connect_timeout=3"
    table = SnapshotTable(url)
    assert "s3cr3t-pw" not in repr(table) and "s3cr3t-pw" not in str(table.url)
    with pytest.raises(SnapshotError) as info:
        await table.save_json("k", js_state(), state_type="final")
    message = str(info.value)
    assert "127.0.0.1" in message and "***" in message
    assert isinstance(info.value, TimestepError)
    rendered = "".join(traceback.format_exception(info.value))
    assert "s3cr3t-pw" not in rendered and "s3cr3t-pw" not in repr(info.value)
    await table.close()


async def test_a_password_given_as_a_query_parameter_is_masked_too() -> None:
    table = SnapshotTable("postgresql://alice@127.0.0.1:1/db?password=qp-s3cret&connect_timeout=3")
    with pytest.raises(SnapshotError) as info:
        await table.active("k")
    rendered = "".join(traceback.format_exception(info.value))
    assert "password=***" in str(info.value)
    assert "qp-s3cret" not in rendered and "qp-s3cret" not in repr(table)
    await table.close()
