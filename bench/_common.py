"""Shared plumbing: databases for both backends, child processes, results and their table."""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULT_MARKER = "BENCH-RESULT "
TIMES = "\u00d7"  # the multiplication sign ratios are printed with

Backend = str  # "sqlite" | "postgres"


# --- results ---------------------------------------------------------------------------------


@dataclass
class Figure:
    """One printed line: a measured value, optionally a ratio checked against a target."""

    bench: str
    backend: str
    name: str
    value: float
    unit: str = ""
    #: ``("<=", 1.2)`` or ``(">=", 0.8)``; None for an informational figure.
    target: tuple[str, float] | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        op, bound = self.target
        ok = self.value <= bound if op == "<=" else self.value >= bound
        return "PASS" if ok else "MISS"


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        print(_line(figure), flush=True)
        return figure

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def table(self) -> str:
        rows = ["| bench | backend | figure | value | target | verdict |", "|---|---|---|---|---|---|"]
        for f in self.figures:
            unit = TIMES if f.unit == "x" else f" {f.unit}" if f.unit else ""
            target = "" if f.target is None else f"{f.target[0]} {_fmt(f.target[1])}{unit}"
            value = f"{_fmt(f.value)}{unit}"
            name = f.name + (f" ({f.note})" if f.note else "")
            rows.append(f"| {f.bench} | {f.backend} | {name} | {value} | {target} | {f.verdict} |")
        return "\n".join(rows)

    def to_json(self) -> dict[str, Any]:
        return {"figures": [asdict(f) | {"verdict": f.verdict} for f in self.figures], "notes": self.notes}


def _fmt(value: float) -> str:
    if value == 0 or abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _line(f: Figure) -> str:
    unit = TIMES if f.unit == "x" else f" {f.unit}" if f.unit else ""
    text = f"  [{f.bench}/{f.backend}] {f.name}: {_fmt(f.value)}{unit}"
    if f.target is not None:
        text += f"   target {f.target[0]} {_fmt(f.target[1])}{unit.strip() if f.unit == 'x' else unit}   {f.verdict}"
    if f.note:
        text += f"   ({f.note})"
    return text


def median(values: list[float]) -> float:
    return statistics.median(values)


# --- databases -------------------------------------------------------------------------------


class Databases:
    """Fresh databases on demand: SQLite files (WAL) in a temp dir, Postgres from pgserver."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="timestep-bench-"))
        self._pg_url: str | None = None
        self._pg_server: Any = None

    def postgres_server(self) -> str:
        """libpq URL of the bench's own Postgres (``TIMESTEP_BENCH_PG_URL`` to use another)."""
        if self._pg_url is None:
            explicit = os.environ.get("TIMESTEP_BENCH_PG_URL")
            if explicit:
                self._pg_url = explicit
            else:
                import pgserver

                data_dir = self.tmp / "pgdata"
                server = pgserver.get_server(data_dir, cleanup_mode="stop")
                # 10k parked runs plus fleets of workers each hold a DBOS pool: raise the server's
                # 100-connection default (takes effect at the restart just below).
                server.psql("ALTER SYSTEM SET max_connections = 300")
                server.cleanup()
                self._pg_server = pgserver.get_server(data_dir, cleanup_mode="stop")
                self._pg_url = str(self._pg_server.get_uri())
        return self._pg_url

    def new(self, backend: Backend) -> str:
        """A brand-new empty database URL (``sqlite:///…`` or ``postgresql://…``)."""
        if backend == "sqlite":
            from timestep.config import enable_sqlite_wal

            path = self.tmp / f"bench-{uuid.uuid4().hex[:8]}.sqlite"
            enable_sqlite_wal(path)
            return f"sqlite:///{path}"
        import psycopg

        server = self.postgres_server()
        name = f"b_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        base, _, query = server.partition("?")
        return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")

    def close(self) -> None:
        if self._pg_server is not None:
            self._pg_server.cleanup()


# --- reading DBOS's tables from outside ------------------------------------------------------


class SystemTables:
    """Read-only queries on DBOS's system tables (for completion times measured by the DB)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite")
        self.schema = "" if self.sqlite else "dbos."

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        sql = sql.replace("{s}", self.schema)
        if self.sqlite:
            conn = sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=30)
            try:
                return list(conn.execute(sql.replace("%s", "?"), params).fetchall())
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as pg:
            return list(pg.execute(sql, params).fetchall())  # type: ignore[arg-type]

    def count(self, name: str, status: str) -> int:
        rows = self.query(
            "SELECT COUNT(*) FROM {s}workflow_status WHERE name = %s AND status = %s", (name, status)
        )
        return int(rows[0][0])

    def parked(self, name: str) -> int:
        """Workflows of ``name`` that have recorded a recv's durable timeout (they are waiting)."""
        rows = self.query(
            "SELECT COUNT(*) FROM {s}operation_outputs o JOIN {s}workflow_status w "
            "ON o.workflow_uuid = w.workflow_uuid WHERE w.name = %s AND o.function_name = 'DBOS.sleep' "
            "AND w.status = 'PENDING'",
            (name,),
        )
        return int(rows[0][0])

    def completion_times(self, name: str) -> list[float]:
        """Seconds since the epoch at which each finished workflow of ``name`` finished, sorted."""
        rows = self.query(
            "SELECT updated_at FROM {s}workflow_status WHERE name = %s AND status = 'SUCCESS' "
            "ORDER BY updated_at",
            (name,),
        )
        return [int(r[0]) / 1000 for r in rows]

    def wait_for(self, name: str, status: str, n: int, timeout: float, poll: float = 0.25) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(name, status) >= n:
                return True
            time.sleep(poll)
        return False


# --- child processes -------------------------------------------------------------------------


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("TIMESTEP_DB_URL", "PG_CONNECTION_URI", "DBOS_SYSTEM_DATABASE_URL",
                 "DBOS__VMID", "DBOS__APPVERSION", "DBOS__APPID"):
        env.pop(name, None)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["OPENAI_AGENTS_DISABLE_TRACING"] = "1"
    if "TIMESTEP_HOME" not in env:
        env["TIMESTEP_HOME"] = _home()
    env.update(extra or {})
    return env


_HOME: list[str] = []


def _home() -> str:
    """One scratch app directory for every child of this run (never the user's own)."""
    if not _HOME:
        _HOME.append(tempfile.mkdtemp(prefix="timestep-bench-home-"))
    return _HOME[0]


def run_child(module: str, function: str, timeout: float = 900, **kwargs: Any) -> Any:
    """Run ``bench.<module>.<function>(**kwargs)`` in a fresh interpreter (fresh DBOS) and return
    what it returned (JSON). Its stderr is shown only when it fails."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench._child", module, function, json.dumps(kwargs)],
        cwd=REPO, env=child_env(), capture_output=True, text=True, timeout=timeout,
    )
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER):])
    raise RuntimeError(
        f"bench child {module}.{function} failed (exit {proc.returncode}):\n"
        f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    )


def spawn_child(module: str, function: str, log: Path, **kwargs: Any) -> subprocess.Popen[str]:
    """Start ``bench.<module>.<function>(**kwargs)`` in the background; stderr goes to ``log``."""
    return subprocess.Popen(
        [sys.executable, "-m", "bench._child", module, function, json.dumps(kwargs)],
        cwd=REPO, env=child_env(), stdout=subprocess.PIPE, stderr=log.open("w"), text=True,
    )


def read_result(proc: subprocess.Popen[str], timeout: float) -> Any:
    """Read lines from a spawned child until its result marker (or fail after ``timeout``)."""
    import selectors

    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            break
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER):])
    raise RuntimeError(f"bench child pid {proc.pid} gave no result (exit {proc.poll()})")


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=60)


def emit(result: Any) -> None:
    """A child's way to hand its result back (one marked JSON line on stdout)."""
    print(RESULT_MARKER + json.dumps(result), flush=True)
