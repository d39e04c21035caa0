"""``timestep demo``: the offline demo (the story itself lives in ``timestep.demo``)."""

from __future__ import annotations

import click

from timestep.cli._context import run_async, state_of
from timestep.errors import UserError

__all__ = ["demo_command"]


@click.command("demo")
@click.option(
    "--db",
    "demo_db",
    metavar="URL",
    help="Run the demo on this database instead of a temporary SQLite file "
    "(not one production workers use: demo workers join dead-worker recovery).",
)
@click.option(
    "--model",
    metavar="NAME",
    help="A real model instead of the scripted one, e.g. ollama/llama3.2 or openai/gpt-4.1-mini.",
)
@click.option("--keep", is_flag=True, help="Keep the temporary database to explore it afterwards.")
@click.pass_context
def demo_command(ctx: click.Context, demo_db: str | None, model: str | None, keep: bool) -> None:
    """Watch a durable run survive SIGKILL: park on an approval, kill the worker, restart,
    approve from another process, and check that no step ran twice.

    Offline by default: a built-in scripted model, a temporary SQLite database, no API key.
    Takes about 15 seconds.

    \b
    Examples:
      timestep demo
      timestep demo --model ollama/llama3.2
    """
    state = state_of(ctx)
    if demo_db:
        state.db = demo_db
    # Only an explicit --db (global or here) is used: the demo never writes to a database
    # picked up from the environment by accident.
    db = state.db
    if db is not None:
        state.probe()
    if model is not None:
        check_model_reachable(model)
    from timestep.demo import run_demo

    run_async(run_demo(state.out, db=db, db_flag=state.db_flag(), model=model, keep=keep))


def check_model_reachable(model: str) -> None:
    """Fail fast, in one line, when --model cannot work here (no key, no Ollama daemon)."""
    import os

    prefix, sep, name = model.partition("/")
    if sep and prefix == "ollama":
        import httpx

        from timestep.models import OllamaModelProvider

        target = OllamaModelProvider().resolve(name)
        try:
            response = httpx.get(f"{target.host}/api/tags", timeout=3)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise UserError(
                f"--model {model}: Ollama is not reachable at {target.host} ({type(exc).__name__}). "
                "Start it (`ollama serve`) or drop --model to use the scripted demo model."
            ) from None
        pulled = {str(m.get("name") or m.get("model")) for m in response.json().get("models") or []}
        if target.model not in pulled and f"{target.model}:latest" not in pulled:
            raise UserError(
                f"--model {model}: Ollama at {target.host} does not have it; "
                f"run `ollama pull {target.model}`."
            )
    elif not sep or prefix == "openai":
        if not os.environ.get("OPENAI_API_KEY"):
            raise UserError(
                f"--model {model}: set OPENAI_API_KEY, or drop --model to use the scripted demo model."
            )
