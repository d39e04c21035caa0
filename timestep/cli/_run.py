"""``timestep run``: start a durable run, then host it here or hand it to the workers.

Hosted (the default), this process is the run's worker: DBOS is launched here, events are shown
live from the run's durable record, and approvals come from elsewhere (``timestep approve`` in
another terminal, or the inbox) - the command never prompts, so it works the same in scripts.
Detached, the run is put on the workers' queue and the command exits at once.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import click
from rich.markup import escape

from timestep.cli._context import CLIState, database_option, json_option, run_async, state_of
from timestep.cli._load import import_user_module, resolve_agent, split_target

__all__ = ["run_command"]


@click.command("run")
@click.argument("target", metavar="MODULE[:AGENT]")
@click.argument("input_text", metavar="INPUT")
@click.option(
    "--model",
    metavar="NAME",
    help="Use this model instead of the agent's, e.g. ollama/llama3.2 or openai/gpt-4.1-mini.",
)
@click.option(
    "--session",
    "session_id",
    metavar="ID",
    help="Conversation to continue (history lives in the database).",
)
@click.option(
    "--run-id", metavar="ID", help="Idempotency key: starting the same id twice is the same run."
)
@click.option(
    "--stream", is_flag=True, help="Print every turn and tool output in full as it is recorded."
)
@click.option(
    "--detach",
    is_flag=True,
    help="Put the run on the workers' queue and exit (needs `timestep worker`).",
)
@click.option(
    "--queue",
    metavar="NAME",
    help="Queue for --detach (default: the one `timestep worker` serves).",
)
@json_option
@database_option
@click.pass_context
def run_command(
    ctx: click.Context,
    target: str,
    input_text: str,
    model: str | None,
    session_id: str | None,
    run_id: str | None,
    stream: bool,
    detach: bool,
    queue: str | None,
    as_json: bool,
) -> None:
    """Start a durable run of AGENT (registered by MODULE) on INPUT.

    MODULE is a dotted module or a path to a .py file; importing it registers its agents.
    AGENT is a registered agent name or a module attribute holding an Agent (optional when the
    module registers exactly one). Approvals are given from another terminal with
    `timestep approve`; the command prints the exact command line.

    \b
    Examples:
      timestep run timestep.demo.app:Refunds "Order A-1001 arrived broken, refund it"
      timestep run ./agents.py:triage "hello" --model ollama/llama3.2 --session alice
      timestep run myapp.agents:Billing "refund order 7" --detach
    """
    state = state_of(ctx)
    if queue is not None and not detach:
        raise click.UsageError("--queue only applies with --detach", ctx=ctx)
    if model is not None and detach:
        raise click.UsageError(
            "--model applies to runs this command hosts; a detached run is executed by workers, "
            "which use the model the module sets",
            ctx=ctx,
        )
    module_name, agent_attr = split_target(target)
    module = import_user_module(module_name)
    name = resolve_agent(module, agent_attr)
    if model is not None:
        _use_model(name, model)
    state.probe()
    if detach:
        _detach(
            state,
            module_name,
            name,
            input_text,
            session_id=session_id,
            run_id=run_id,
            queue=queue,
            as_json=as_json,
        )
        return
    ctx.exit(
        _host(
            state,
            name,
            input_text,
            session_id=session_id,
            run_id=run_id,
            verbose=stream,
            as_json=as_json,
        )
    )


def _use_model(name: str, model: str) -> None:
    """Re-register the agent in this process with ``model``, routed by ``MultiModelProvider``."""
    from timestep.durable import register_agent
    from timestep.durable._registry import get_registered
    from timestep.models import MultiModelProvider

    agent = get_registered(name)
    register_agent(agent.clone(model=model), model_provider=MultiModelProvider(), replace=True)


def _detach(
    state: CLIState,
    module_name: str,
    name: str,
    input_text: str,
    *,
    session_id: str | None,
    run_id: str | None,
    queue: str | None,
    as_json: bool,
) -> None:
    from timestep.durable import DEFAULT_QUEUE, start_run

    queue = queue or DEFAULT_QUEUE
    handle = run_async(
        start_run(
            name,
            input_text,
            session_id=session_id,
            run_id=run_id,
            queue=queue,
            database_url=state.url,
        )
    )
    if as_json:
        click.echo(
            json.dumps({"run_id": handle.run_id, "agent": name, "queue": queue, "status": "queued"})
        )
        return
    db = state.db_flag()
    state.out.print(
        f"Queued run [bold]{escape(handle.run_id)}[/] ({escape(name)}) on queue {escape(repr(queue))}.",
        highlight=False,
    )
    state.out.print("A detached run needs a live worker serving that queue; start one with:")
    state.out.print(
        f"  timestep {db}worker {module_name}"
        + ("" if queue == DEFAULT_QUEUE else f" --queue {queue}"),
        style="bold",
        markup=False,
    )
    state.out.print(f"Follow it with: timestep {db}show {handle.run_id}", style="dim", markup=False)


@contextlib.contextmanager
def _quiet_dbos() -> Iterator[None]:
    """The run's failure is reported by the command itself (its last event and exit code); DBOS
    would also log it with a full traceback. ``TIMESTEP_DEBUG=1`` (or an explicit
    ``TIMESTEP_DBOS_LOG_LEVEL``) keeps DBOS's logs."""
    if os.environ.get("TIMESTEP_DEBUG") or "TIMESTEP_DBOS_LOG_LEVEL" in os.environ:
        yield
        return
    os.environ["TIMESTEP_DBOS_LOG_LEVEL"] = "CRITICAL"  # read when DBOS launches
    try:
        yield
    finally:
        del os.environ["TIMESTEP_DBOS_LOG_LEVEL"]


@dataclass
class _Hosting:
    """What the Ctrl-C message needs to know about the run being hosted."""

    run_id: str | None = None


def _host(
    state: CLIState,
    name: str,
    input_text: str,
    *,
    session_id: str | None,
    run_id: str | None,
    verbose: bool,
    as_json: bool,
) -> int:
    hosting = _Hosting()
    try:
        with _quiet_dbos():
            return run_async(
                _host_async(
                    state,
                    hosting,
                    name,
                    input_text,
                    session_id=session_id,
                    run_id=run_id,
                    verbose=verbose,
                    as_json=as_json,
                )
            )
    except KeyboardInterrupt:
        # Where it resumes follows from DBOS's default executor id, which this command shares
        # with any program calling start_run (see the README's CLI section).
        state.err.print(
            f"Stopped hosting run {hosting.run_id or '(not started)'}. It stays in the database: "
            "the next `timestep run` (or program calling start_run) re-queues it for a process "
            "that registers its agent; `timestep cancel RUN` drops it.",
            style="yellow",
            markup=False,
            highlight=False,
        )
        raise


async def _host_async(
    state: CLIState,
    hosting: _Hosting,
    name: str,
    input_text: str,
    *,
    session_id: str | None,
    run_id: str | None,
    verbose: bool,
    as_json: bool,
) -> int:
    from timestep.cli._render import approval_hint, event_line
    from timestep.durable import PendingApproval, start_run, stream_run

    handle = await start_run(
        name, input_text, session_id=session_id, run_id=run_id, database_url=state.url
    )
    hosting.run_id = handle.run_id
    last: Any = None
    if as_json:
        async for event in stream_run(handle.run_id, database_url=state.url):
            click.echo(json.dumps(event.to_dict(), default=str))
            last = event
        return 0 if last is not None and last.type == "run_completed" else 1

    out = state.out
    out.print(
        f"Run [bold]{escape(handle.run_id)}[/] · agent {escape(name)} · hosted by this process "
        f"({escape(state.resolve().redacted)})",
        highlight=False,
    )
    with out.status("running…") as status:
        async for event in stream_run(handle.run_id, database_url=state.url):
            line = event_line(event, verbose=verbose)
            if line is not None:
                out.print(line)
            if event.type == "approval_required":
                pending = [PendingApproval.from_dict(p) for p in event.data.get("pending") or []]
                out.print(approval_hint(handle.run_id, pending, state.db_flag()))
                status.update("waiting for a decision (from another terminal or the inbox)…")
            elif event.type == "decision":
                status.update("running…")
            last = event
    if last is not None and last.type == "run_completed":
        output = last.data.get("output")
        out.print(
            output if isinstance(output, str) else json.dumps(output, indent=2),
            markup=False,
            highlight=False,
        )
        return 0
    return 1
