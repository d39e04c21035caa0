"""The ``timestep`` command group and ``main(argv) -> int``, where every error becomes one line.

Errors are mapped here and only here: usage mistakes (exit 2), timestep's own errors and an
unreachable database (exit 1), Ctrl-C (exit 130). Anything else is a bug and says so in one line
too; ``TIMESTEP_DEBUG=1`` shows its traceback instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence

import click

from timestep.cli._context import CLIState, first_line
from timestep.cli._demo import demo_command
from timestep.cli._inspect import (
    approve_command,
    cancel_command,
    reject_command,
    runs_command,
    show_command,
)
from timestep.cli._run import run_command
from timestep.cli._serve import serve_command
from timestep.cli._worker import worker_command
from timestep.errors import TimestepError

__all__ = ["cli", "main"]

_EPILOG = """\b
Database: --db URL, else TIMESTEP_DB_URL, PG_CONNECTION_URI, DBOS_SYSTEM_DATABASE_URL, else a
SQLite file in the per-user app directory (TIMESTEP_HOME overrides the directory).
"""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("timestep")
    except PackageNotFoundError:
        return "unknown"


@click.group(epilog=_EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", metavar="URL", help="Database URL: postgresql://… or sqlite:///path.")
@click.version_option(_version(), prog_name="timestep")
@click.pass_context
def cli(ctx: click.Context, db: str | None) -> None:
    """Durable OpenAI Agents SDK runs: start them, watch them, approve their tool calls."""
    state = ctx.ensure_object(CLIState)
    if db:
        state.db = db


for _command in (
    run_command,
    runs_command,
    show_command,
    approve_command,
    reject_command,
    cancel_command,
    worker_command,
    demo_command,
    serve_command,
):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    state = CLIState()
    try:
        result = cli.main(args=args, prog_name="timestep", standalone_mode=False, obj=state)
        return result if isinstance(result, int) else 0
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "timestep"
        _fail(f"{where}: {exc.format_message()} (see '{where} --help')")
        return exc.exit_code
    except click.ClickException as exc:  # incl. DatabaseUnreachable
        _fail(f"timestep: {exc.format_message()}")
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        _fail("timestep: interrupted")
        return 130
    except TimestepError as exc:
        _fail(f"timestep: {exc.message}")
        return 1
    except Exception as exc:
        if os.environ.get("TIMESTEP_DEBUG"):
            raise
        _fail(f"timestep: {_describe(exc, state)}")
        return 1
    finally:
        _release()


def _describe(exc: Exception, state: CLIState) -> str:
    """One line for an error timestep did not raise itself (mostly the database going away)."""
    database = state.database
    if _is_connection_error(exc):
        where = database.redacted if database is not None else "the database"
        return f"lost the connection to {where}: {first_line(str(exc), database)}"
    text = first_line(str(exc), database) or "(no message)"
    return f"unexpected {type(exc).__name__}: {text} (set TIMESTEP_DEBUG=1 for the traceback)"


def _is_connection_error(exc: BaseException) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(
        names & {"OperationalError", "InterfaceError", "DBOSConnectionError", "ConnectionError"}
    )


def _fail(message: str) -> None:
    click.echo(" ".join(message.split()), err=True)


def _release() -> None:
    # Only if a command used the durable layer: importing it here would cost a second.
    runtime = sys.modules.get("timestep.durable._runtime")
    if runtime is not None:
        # Closing clients on the way out must not turn a finished command into a traceback.
        with contextlib.suppress(Exception):
            runtime.shutdown()
