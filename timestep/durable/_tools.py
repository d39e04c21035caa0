"""Every function-tool call of a durable run is its own DBOS step.

The step id of each call was reserved (in model-output order) right after the model step that
produced it, so concurrent calls replay at the same ids. A tool can read a stable idempotency key
for side effects outside the database with :func:`idempotency_key`.
"""

from __future__ import annotations

import copy
from typing import Any

from agents.tool import FunctionTool
from agents.tool_context import ToolContext
from dbos import DBOS
from dbos._core import StepOptions

from timestep.durable._scope import current_scope
from timestep.errors import UserError

__all__ = ["DurableToolInvoker", "durable_function_tool", "idempotency_key"]


def idempotency_key() -> str:
    """A key unique to the current tool call of a durable run and stable across its replays.

    Pass it to external systems (payment APIs, email senders, ticket trackers) so that a call
    repeated after a crash - a step is at-least-once - takes effect once.

    Raises:
        UserError: when called outside a tool step of a durable run.
    """
    workflow_id = DBOS.workflow_id
    step_id = DBOS.step_id
    if workflow_id is None or step_id is None:
        raise UserError("idempotency_key() is only available inside a tool of a durable run.")
    return f"{workflow_id}:{step_id}"


class DurableToolInvoker:
    """``on_invoke_tool`` replacement: a DBOS step inside a durable run, a plain call outside."""

    def __init__(self, inner: Any, *, tool_name: str) -> None:
        self.inner = inner
        self.tool_name = tool_name

    async def __call__(self, ctx: ToolContext[Any], arguments: str) -> Any:
        scope = current_scope()
        if scope is None:
            return await self.inner(ctx, arguments)

        async def invoke() -> Any:
            return await self.inner(ctx, arguments)

        # The call id is part of the name: it is fixed by the recorded model output, so replays
        # see the same name, and stream_run can tell which call an output belongs to.
        options: StepOptions = {"name": f"tool:{self.tool_name}#{ctx.tool_call_id}"}
        reservation = scope.reservations.pop(ctx.tool_call_id, None)
        if reservation is not None:
            return await reservation.run_async(options, invoke)
        # No reservation: a call the model did not emit in this run's record (cannot happen for
        # SDK-driven calls); a sequential step is still durable.
        return await DBOS.run_step_async(options, invoke)


def durable_function_tool(tool: FunctionTool) -> FunctionTool:
    """A copy of ``tool`` whose invocations are durable steps (the original is untouched)."""
    if isinstance(tool.on_invoke_tool, DurableToolInvoker):
        return tool
    durable = copy.copy(tool)
    durable.on_invoke_tool = DurableToolInvoker(durable.on_invoke_tool, tool_name=tool.name)
    return durable
