"""The public surface is exactly ``timestep.__all__``, and the design's names are in it."""

from __future__ import annotations

import inspect
import subprocess
import sys

import timestep

# Names the design brief makes a contract (DESIGN.md, "Public API").
CONTRACT = {
    "run_agent", "consume_result", "InterruptionException", "RunStateStore",
    "MultiModelProvider", "MultiModelProviderMap", "OllamaModelProvider", "OllamaModel",
    "register_agent", "start_run", "RunHandle", "approve", "reject", "get_run", "list_runs",
    "cancel_run", "stream_run",
}


def test_all_is_sorted_and_resolves() -> None:
    assert timestep.__all__ == sorted(timestep.__all__)
    for name in timestep.__all__:
        assert getattr(timestep, name) is not None, name
    assert sorted(dir(timestep)) == sorted(timestep.__all__)


def test_design_contract_names_are_public() -> None:
    assert CONTRACT <= set(timestep.__all__)


def test_every_error_derives_from_the_root() -> None:
    errors = [getattr(timestep, n) for n in timestep.__all__ if n.endswith(("Error", "Exception"))]
    assert errors and all(issubclass(e, timestep.TimestepError) for e in errors)


def test_signatures_of_the_contract() -> None:
    start = inspect.signature(timestep.start_run)
    assert list(start.parameters)[:2] == ["agent_or_name", "input"]
    assert {"session_id", "run_id"} <= set(start.parameters)
    approve = inspect.signature(timestep.approve)
    assert list(approve.parameters)[:2] == ["run_id", "call_id"] and "always" in approve.parameters
    reject = inspect.signature(timestep.reject)
    assert {"message", "always"} <= set(reject.parameters)
    run = inspect.signature(timestep.run_agent)
    assert list(run.parameters)[:4] == ["agent", "input_or_state", "session", "stream"]
    store = inspect.signature(timestep.RunStateStore)
    assert list(store.parameters)[:3] == ["agent", "session_id", "connection_string"]


def test_import_is_cheap() -> None:
    """``import timestep`` must not pull in DBOS, SQLAlchemy or the database drivers."""
    code = (
        "import sys, timestep; "
        "print(','.join(m for m in ('dbos', 'sqlalchemy', 'psycopg', 'ollama') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
