"""``timestep worker MODULE``: serve the run queue until SIGTERM (the machinery is the library's)."""

from __future__ import annotations

import click

from timestep.cli._context import database_option, state_of

__all__ = ["worker_command"]


@click.command("worker")
@click.argument("module", metavar="MODULE")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Runs this worker executes at once.",
)
@click.option(
    "--queue", metavar="NAME", help="Queue to serve (default: the one `run --detach` uses)."
)
@click.option(
    "--dead-after",
    type=click.FloatRange(min=0.5),
    metavar="SECONDS",
    help="Take over the runs of a peer worker silent this long (default 15).",
)
@database_option
@click.pass_context
def worker_command(
    ctx: click.Context, module: str, concurrency: int, queue: str | None, dead_after: float | None
) -> None:
    """Serve durable runs of the agents MODULE registers, until SIGTERM or Ctrl-C.

    Each worker has its own identity and heartbeat; a live worker takes over the runs (in
    flight or parked on an approval) of a worker that died. Run several on one Postgres
    database for a fleet; SQLite serves the workers of one machine.

    \b
    Examples:
      timestep worker timestep.demo.app
      timestep --db postgresql://app@db/timestep worker myapp.agents --concurrency 32
    """
    from timestep.durable import DEFAULT_QUEUE, serve_worker
    from timestep.durable._worker import DEFAULT_DEAD_AFTER_SEC

    state = state_of(ctx)
    database = state.probe()
    queue = queue or DEFAULT_QUEUE
    # stdout: stderr is kept for the one line that says why the worker could not start.
    state.out.print(
        f"Serving {module} on queue {queue!r} · {database.redacted} · SIGTERM or Ctrl-C stops",
        style="dim",
        markup=False,
        highlight=False,
    )
    code = serve_worker(
        module,
        concurrency=concurrency,
        queue=queue,
        database_url=state.url,
        dead_after_sec=DEFAULT_DEAD_AFTER_SEC if dead_after is None else dead_after,
    )
    ctx.exit(code)
