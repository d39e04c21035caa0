"""Every CLI error path ends in one line on stderr and a non-zero exit code, never a traceback;
every command has help. Run as subprocesses (what a user sees) and, where cheap, in-process."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import get_args

import pytest

from tests.test_cli import cli_env, one_line_error, run_main, timestep
from timestep.cli import cli
from timestep.cli._context import CLIState
from timestep.cli._inspect import RUN_STATUSES
from timestep.durable import RunStatus

APP = "timestep.demo.app:Refunds"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path / "home")


def closed_port() -> int:
    """A local TCP port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_every_command_has_help_with_an_example() -> None:
    assert run_main("--help").returncode == 0
    for name in cli.commands:
        done = run_main(name, "--help")
        assert done.returncode == 0, done.stderr
        assert f"Usage: timestep {name}" in done.stdout
        assert "Example" in done.stdout, f"{name} --help has no example"


def test_help_does_not_import_the_durable_layer(env: dict[str, str]) -> None:
    # `timestep --help` must stay instant: DBOS and the agents SDK take seconds to import.
    code = (
        "import sys; from timestep.cli import main; main(['--help']); print('dbos' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().endswith("False")


def test_status_choices_match_the_library() -> None:
    assert RUN_STATUSES == get_args(RunStatus)


def test_printed_db_flag_never_carries_a_password() -> None:
    state = CLIState(db="postgresql://app:s3cret@db.internal/timestep")
    assert state.db_flag() == '--db "$TIMESTEP_DB_URL" '
    assert "s3cret" not in state.resolve().redacted
    assert CLIState(db="sqlite:///tmp/x.sqlite").db_flag() == "--db sqlite:///tmp/x.sqlite "
    assert CLIState().db_flag() == ""


USAGE_ERRORS = [
    (["runs", "--status", "bogus"], "Invalid value for '--status'"),
    (["runs", "--limit", "0"], "Invalid value for '--limit'"),
    (["run"], "Missing argument 'MODULE[:AGENT]'"),
    (["run", APP], "Missing argument 'INPUT'"),
    (["show"], "Missing argument 'RUN'"),
    (["approve"], "Missing argument 'RUN'"),
    (["reject"], "Missing argument 'RUN'"),
    (["cancel"], "Missing argument 'RUN'"),
    (["worker"], "Missing argument 'MODULE'"),
    (["run", APP, "hi", "--queue", "q"], "--queue only applies with --detach"),
    (["frobnicate"], "No such command 'frobnicate'"),
    (["runs", "--nope"], "No such option '--nope'"),
]


@pytest.mark.parametrize(
    ("argv", "expected"), USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS]
)
def test_usage_errors_in_process(argv: list[str], expected: str) -> None:
    done = run_main(*argv)
    assert done.returncode == 2
    line = one_line_error(done)
    assert expected in line and "--help" in line


def test_usage_error_as_a_subprocess(env: dict[str, str]) -> None:
    done = timestep("runs", "--status", "bogus", env=env)
    assert done.returncode == 2
    assert "is not one of 'queued'" in one_line_error(done)


def test_unreachable_database_is_one_line_without_the_password(env: dict[str, str]) -> None:
    url = f"postgresql://app:s3cret@127.0.0.1:{closed_port()}/timestep"
    for argv in (
        ["runs"],
        ["show", "run-1"],
        ["approve", "run-1"],
        ["cancel", "run-1"],
        ["run", APP, "hi"],
        ["worker", "timestep.demo.app"],
    ):
        done = timestep("--db", url, *argv, env=env, timeout=60)
        line = one_line_error(done)
        assert done.returncode == 1
        assert line.startswith(
            "timestep: cannot reach the database postgresql+psycopg://app:***@127.0.0.1:"
        )
        assert "Connection refused" in line or "connection" in line.lower()
        assert "s3cret" not in done.stderr + done.stdout


def test_unsupported_database_url(env: dict[str, str]) -> None:
    line = one_line_error(timestep("--db", "mysql://u:pw@h/db", "runs", env=env))
    assert "Unsupported database URL scheme 'mysql'" in line and "pw" not in line


@pytest.mark.parametrize("command", ["show", "approve", "reject", "cancel"])
def test_unknown_run_id_on_an_empty_database(
    command: str, tmp_path: Path, env: dict[str, str]
) -> None:
    # A database DBOS never touched: "no such run", not an SQL error about missing tables.
    done = timestep(
        "--db", f"sqlite:///{tmp_path / 'empty.sqlite'}", command, "no-such-run", env=env
    )
    assert done.returncode == 1
    assert "No durable run has id 'no-such-run'" in one_line_error(done)


@pytest.mark.parametrize("command", ["show", "approve", "reject", "cancel"])
def test_unknown_run_id_on_a_database_with_runs(command: str, db_url: str) -> None:
    from dbos import DBOS

    from timestep.config import resolve_database_url

    DBOS.migrate(resolve_database_url(db_url).sqlalchemy_url)  # DBOS's tables exist, no such run
    done = run_main("--db", db_url, command, "no-such-run")
    assert done.returncode == 1
    assert one_line_error(done) == "timestep: No durable run has id 'no-such-run'."


def test_runs_on_an_empty_database_is_not_an_error(tmp_path: Path) -> None:
    done = run_main("--db", f"sqlite:///{tmp_path / 'empty.sqlite'}", "runs", "--json")
    assert done.returncode == 0 and done.stdout.strip() == "[]"
    assert not (tmp_path / "empty.sqlite").exists()  # reading never creates a database


def test_bad_module_paths(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "broken.py").write_text("def (\n")
    (tmp_path / "uses_missing.py").write_text("import not_installed_anywhere\n")
    cases = [
        (["run", "no.such.module:Agent", "hi"], "Cannot import module 'no.such.module'"),
        (["run", "./missing.py:Agent", "hi"], "No module file at"),
        (["run", "./broken.py", "hi"], "Importing './broken.py' failed: SyntaxError"),
        (["run", "uses_missing", "hi"], "not_installed_anywhere"),
        (
            ["run", "timestep.demo.app:Nobody", "hi"],
            "has no agent 'Nobody' (registered agents: Refunds",
        ),
        (["worker", "no.such.module"], "Cannot import module 'no.such.module'"),
    ]
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    for argv, expected in cases:
        done = timestep("--db", db, *argv, env=env, cwd=tmp_path)
        assert done.returncode == 1, argv
        assert expected in one_line_error(done), argv


def test_model_with_detach_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    done = timestep(
        "--db",
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        "run",
        APP,
        "hi",
        "--detach",
        "--model",
        "ollama/llama3.2",
        env=env,
    )
    assert done.returncode == 2
    assert "--model applies to runs this command hosts" in one_line_error(done)


def test_deciding_an_ended_run_is_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    # An unknown order: the scripted model answers after the lookup, with nothing to approve.
    # No :AGENT - the module registers exactly one.
    finished = timestep(
        "--db", db, "run", "timestep.demo.app", "refund Z-404", "--run-id", "done-1",
        "--session", "alice", env=env,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    (listed,) = json.loads(run_main("--db", db, "runs", "--json").stdout)
    assert (listed["agent"], listed["session_id"], listed["status"]) == (
        "Refunds",
        "alice",
        "succeeded",
    )
    for argv in (
        ["approve", "done-1"],
        ["reject", "done-1", "--message", "no"],
        ["cancel", "done-1"],
    ):
        line = one_line_error(run_main("--db", db, *argv))
        assert "has already ended (succeeded)" in line


def test_a_postgres_database_that_does_not_exist_yet(
    pg_server_url: str, env: dict[str, str]
) -> None:
    # The server answers but the database is not there: reads see no runs, and starting a run
    # creates it (as DBOS does), instead of calling the server unreachable.
    base, _, query = pg_server_url.partition("?")
    url = f"{base.rsplit('/', 1)[0]}/t_missing_{uuid.uuid4().hex[:8]}" + (
        f"?{query}" if query else ""
    )
    done = run_main("--db", url, "runs")
    assert done.returncode == 0 and "No runs in" in done.stdout
    assert "No durable run has id 'x'" in one_line_error(run_main("--db", url, "show", "x"))
    queued = timestep(
        "--db", url, "run", APP, "refund A-1001", "--detach", "--run-id", "pg-new", env=env
    )
    assert queued.returncode == 0, queued.stderr
    listed = run_main("--db", url, "runs", "--json")
    assert '"run_id": "pg-new"' in listed.stdout
