"""Per-run state shared by the durable model and tool wrappers while a workflow executes.

The wrappers are built once per registered agent graph and reused by every run; they find the
run they serve through a ContextVar that the workflow sets. Outside a durable run the scope is
absent and the wrappers call straight through, so registered agents still work with run_agent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from dbos._dbos import StepReservation

__all__ = ["RunScope", "current_scope", "run_scope"]


@dataclass
class RunScope:
    """What one executing run workflow knows about itself."""

    run_id: str
    #: Step ids reserved for function-tool calls, keyed by call id. Reserved in workflow code in
    #: the model's output order, so concurrent tool calls get the same step ids on every replay.
    reservations: dict[str, StepReservation] = field(default_factory=dict)
    model_turns: int = 0
    #: Every decision applied so far in this run (call id -> "approve" | "reject").
    decisions: dict[str, str] = field(default_factory=dict)


_scope: ContextVar[RunScope | None] = ContextVar("timestep_run_scope", default=None)


def current_scope() -> RunScope | None:
    return _scope.get()


@contextmanager
def run_scope(scope: RunScope) -> Iterator[RunScope]:
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def reserve_tool_steps(scope: RunScope, call_ids: list[str]) -> None:
    """Reserve one step id per call id, in the given order (must run in workflow code)."""
    from dbos import DBOS

    for call_id in call_ids:
        scope.reservations[call_id] = DBOS.reserve_step()


def function_call_ids(output: list[Any]) -> list[str]:
    """Call ids of the function calls in a model output, in output order."""
    ids: list[str] = []
    for item in output:
        if getattr(item, "type", None) == "function_call":
            call_id = getattr(item, "call_id", None)
            if isinstance(call_id, str):
                ids.append(call_id)
    return ids
