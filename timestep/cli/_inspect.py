"""Commands that read and decide runs from any process: runs, show, approve, reject, cancel.

None of them launches DBOS (that would make this process recover runs it does not own); they go
through the library's client-side calls, exactly like a program or the web inbox would.
"""

from __future__ import annotations

import getpass
import json
import socket
from typing import TYPE_CHECKING, Any, cast

import click

from timestep.cli._context import CLIState, database_option, json_option, run_async, state_of
from timestep.errors import RunNotFoundError

if TYPE_CHECKING:
    from timestep.durable import RunInfo
    from timestep.durable._timeline import TimelineStep

__all__ = [
    "RUN_STATUSES",
    "approve_command",
    "cancel_command",
    "print_json",
    "reject_command",
    "runs_command",
    "show_command",
]


#: ``timestep.durable.RunStatus`` spelled out, so ``--help`` does not import DBOS (a test keeps
#: the two equal).
RUN_STATUSES = ("queued", "running", "waiting_approval", "succeeded", "failed", "cancelled")


def print_json(value: Any) -> None:
    # Plain print, not rich: scripts need exact JSON without markup or wrapping.
    click.echo(json.dumps(value, indent=2, default=str))


def _require_runs(state: CLIState, run_id: str) -> None:
    """A database DBOS never ran on has no tables: say "no such run" instead of an SQL error."""
    database = state.probe()
    if not state.has_runs:
        raise RunNotFoundError(
            f"No durable run has id {run_id!r} ({database.redacted} holds no runs yet)."
        )


def _decided_by() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers; the host still says where it came from
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"


@click.command("runs")
@click.option("--status", type=click.Choice(RUN_STATUSES), help="Only runs with this status.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most N runs."
)
@json_option
@database_option
@click.pass_context
def runs_command(ctx: click.Context, status: str | None, limit: int, as_json: bool) -> None:
    """List recent durable runs, newest first.

    \b
    Example:
      timestep runs --status waiting_approval
    """
    state = state_of(ctx)
    database = state.probe()  # before importing DBOS: a dead database fails in a blink
    from timestep.durable import RunStatus, list_runs

    wanted = cast("RunStatus | None", status)
    infos = run_async(list_runs(wanted, limit, database_url=state.url)) if state.has_runs else []
    if as_json:
        print_json([info.to_dict() for info in infos])
        return
    if not infos:
        which = f" with status {status}" if status else ""
        state.out.print(f"No runs{which} in {database.redacted}.", markup=False, highlight=False)
        return
    from timestep.cli._render import runs_table

    state.out.print(runs_table(infos))


@click.command("show")
@click.argument("run_id", metavar="RUN")
@click.option(
    "--all", "all_steps", is_flag=True, help="Also show bookkeeping steps (status events, timers)."
)
@json_option
@database_option
@click.pass_context
def show_command(ctx: click.Context, run_id: str, all_steps: bool, as_json: bool) -> None:
    """Show a run: status, timeline of every turn and tool step, approvals, output.

    \b
    Example:
      timestep show 4f1c…
    """
    state = state_of(ctx)
    _require_runs(state, run_id)
    from timestep.durable import get_run
    from timestep.durable._timeline import run_timeline

    async def load() -> tuple[RunInfo, list[TimelineStep]]:
        info = await get_run(run_id, database_url=state.url)
        return info, await run_timeline(run_id, database_url=state.url)

    info, steps = run_async(load())
    if as_json:
        print_json({**info.to_dict(), "timeline": [s.to_dict() for s in steps]})
        return
    from timestep.cli._render import run_detail

    state.out.print(run_detail(info, steps, state.db_flag(), all_steps=all_steps))


def _decide(
    ctx: click.Context,
    decision: str,
    run_id: str,
    call_id: str | None,
    *,
    always: bool,
    message: str | None,
    as_json: bool,
) -> None:
    state = state_of(ctx)
    _require_runs(state, run_id)
    from timestep.durable import approve, get_run, reject

    async def decide() -> RunInfo:
        info = await get_run(run_id, database_url=state.url)
        if decision == "approve":
            await approve(
                run_id, call_id, always=always, decided_by=_decided_by(), database_url=state.url
            )
        else:
            await reject(
                run_id,
                call_id,
                message=message,
                always=always,
                decided_by=_decided_by(),
                database_url=state.url,
            )
        return info

    info = run_async(decide())
    targets = [p for p in info.pending if call_id is None or p.call_id == call_id]
    if as_json:
        print_json(
            {
                "run_id": run_id,
                "decision": decision,
                "call_id": call_id,
                "always": always,
                "message": message,
                "calls": [p.to_dict() for p in targets],
            }
        )
        return
    verb = "Approved" if decision == "approve" else "Rejected"
    if targets:
        for p in targets:
            state.out.print(
                f"{verb} {p.tool_name}({p.arguments}) [call {p.call_id}] on run {run_id}.",
                markup=False,
                highlight=False,
            )
    elif call_id is not None:
        state.out.print(f"{verb} call {call_id} on run {run_id}.", markup=False, highlight=False)
    else:
        # Not parked yet: the decision is stored and applies to the calls it parks on.
        state.out.print(
            f"{verb} every call run {run_id} will ask about (it is {info.status}; "
            "the decision is stored until the run parks).",
            markup=False,
            highlight=False,
        )
    state.out.print(
        "The process hosting the run continues it; follow with "
        f"`timestep {state.db_flag()}show {run_id}`.",
        style="dim",
        markup=False,
        highlight=False,
    )


@click.command("approve")
@click.argument("run_id", metavar="RUN")
@click.argument("call_id", metavar="[CALL_ID]", required=False)
@click.option(
    "--always", is_flag=True, help="Also approve later calls of the same tool in this run."
)
@json_option
@database_option
@click.pass_context
def approve_command(
    ctx: click.Context, run_id: str, call_id: str | None, always: bool, as_json: bool
) -> None:
    """Approve a pending tool call (all pending calls when CALL_ID is omitted).

    \b
    Example:
      timestep approve 4f1c… call_abc123
    """
    _decide(ctx, "approve", run_id, call_id, always=always, message=None, as_json=as_json)


@click.command("reject")
@click.argument("run_id", metavar="RUN")
@click.argument("call_id", metavar="[CALL_ID]", required=False)
@click.option("--message", "-m", help="What the model sees instead of the tool's output.")
@click.option(
    "--always", is_flag=True, help="Also reject later calls of the same tool in this run."
)
@json_option
@database_option
@click.pass_context
def reject_command(
    ctx: click.Context,
    run_id: str,
    call_id: str | None,
    message: str | None,
    always: bool,
    as_json: bool,
) -> None:
    """Reject a pending tool call (all pending calls when CALL_ID is omitted).

    \b
    Example:
      timestep reject 4f1c… call_abc123 --message "Refunds over $100 need a manager."
    """
    _decide(ctx, "reject", run_id, call_id, always=always, message=message, as_json=as_json)


@click.command("cancel")
@click.argument("run_id", metavar="RUN")
@json_option
@database_option
@click.pass_context
def cancel_command(ctx: click.Context, run_id: str, as_json: bool) -> None:
    """Cancel a run (a parked run stops at once, a running one at its next step).

    \b
    Example:
      timestep cancel 4f1c…
    """
    state = state_of(ctx)
    _require_runs(state, run_id)
    from timestep.durable import cancel_run

    run_async(cancel_run(run_id, database_url=state.url))
    if as_json:
        print_json({"run_id": run_id, "cancelled": True})
        return
    state.out.print(f"Cancelled run {run_id}.", markup=False, highlight=False)
