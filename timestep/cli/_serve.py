"""``timestep serve``: the approval inbox web page (the machinery is ``timestep.inbox``)."""

from __future__ import annotations

import click

from timestep.cli._context import database_option, state_of

__all__ = ["serve_command"]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but a loopback address prints a warning.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to bind (0: any free port).")
@database_option
@click.pass_context
def serve_command(ctx: click.Context, host: str, port: int) -> None:
    """Serve the approval inbox (web page + JSON API) until Ctrl-C.

    Reviewers see parked runs and approve, always-approve or reject their tool calls; the page
    updates live. Every request needs the inbox token: TIMESTEP_INBOX_TOKEN, else the
    inbox-token file in the app directory (created and printed once on first start).

    \b
    Examples:
      timestep serve
      timestep --db postgresql://app@db/timestep serve --port 9000
    """
    try:
        from timestep.inbox import serve
    except ImportError as exc:  # the inbox extra is not installed
        raise click.ClickException(str(exc)) from None
    state = state_of(ctx)
    state.probe()  # an unreachable database is one line now, not a hang on the first request
    ctx.exit(serve(host=host, port=port, database_url=state.url))
