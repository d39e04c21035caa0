"""The durable API: start runs, decide approvals, inspect and stream runs from any process.

``start_run`` needs DBOS launched in this process (it hosts the run; launched lazily). Every
other call goes through a ``DBOSClient`` on the same database, so a CLI or a web inbox that
never hosts runs can approve, inspect, cancel and stream them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from agents import Agent
from agents.items import ModelResponse, TResponseInputItem
from dbos import DBOS, EnqueueOptions, SetWorkflowID
from dbos._sys_db import StepInfo, WorkflowStatus

from timestep.durable import _runtime
from timestep.durable._registry import get_registered, register_agent
from timestep.durable._types import (
    DECISION_TOPIC,
    STATUS_EVENT,
    WORKFLOW_NAME,
    PendingApproval,
    RunEvent,
    RunInfo,
    RunStatus,
    TimeoutPolicy,
)
from timestep.errors import (
    ApprovalConflictError,
    CallNotFoundError,
    RunFailedError,
    RunNotFoundError,
    UserError,
)

__all__ = [
    "RunHandle",
    "approve",
    "cancel_run",
    "get_run",
    "list_runs",
    "reject",
    "run_events",
    "start_run",
    "stream_run",
]

_TERMINAL: dict[str, RunStatus] = {
    "SUCCESS": "succeeded",
    "ERROR": "failed",
    "CANCELLED": "cancelled",
    "MAX_RECOVERY_ATTEMPTS_EXCEEDED": "failed",
}
_DBOS_STATUSES: dict[RunStatus, list[str]] = {
    "queued": ["ENQUEUED", "DELAYED"],
    "running": ["PENDING"],
    "waiting_approval": ["PENDING"],
    "succeeded": ["SUCCESS"],
    "failed": ["ERROR", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"],
    "cancelled": ["CANCELLED"],
}


class RunHandle:
    """A durable run, by id. Cheap to create; every method reads the database."""

    def __init__(self, run_id: str, *, database_url: str | None = None) -> None:
        self.run_id = run_id
        self._database_url = database_url

    def __repr__(self) -> str:
        return f"RunHandle({self.run_id!r})"

    async def result(self, *, poll_interval: float = 0.1) -> Any:
        """Wait until the run ends; return its final output.

        Raises:
            RunFailedError: the run failed or was cancelled.
        """
        client = _runtime.client(_runtime.database_for(self._database_url).sqlalchemy_url)
        while True:
            statuses = await client.list_workflows_async(
                workflow_ids=[self.run_id], load_input=False, load_output=True
            )
            if not statuses:
                raise RunNotFoundError(f"No durable run has id {self.run_id!r}.")
            status = statuses[0]
            if status.status == "SUCCESS":
                return (status.output or {}).get("output")
            if status.status in _TERMINAL:
                raise RunFailedError(_error_text(status) or f"Run {self.run_id} ended {status.status}.")
            await asyncio.sleep(poll_interval)

    async def status(self) -> RunInfo:
        return await get_run(self.run_id, database_url=self._database_url)

    def stream(self, *, after: int = 0) -> AsyncIterator[RunEvent]:
        return stream_run(self.run_id, after=after, database_url=self._database_url)


async def start_run(
    agent_or_name: Agent[Any] | str,
    input: str | Sequence[TResponseInputItem],
    *,
    session_id: str | None = None,
    run_id: str | None = None,
    context: dict[str, Any] | None = None,
    max_turns: int | None = None,
    timeout: TimeoutPolicy | None = None,
    queue: str | None = None,
    database_url: str | None = None,
) -> RunHandle:
    """Start a durable run: hosted by this process, or enqueued for ``timestep worker``s.

    Without ``queue`` the run executes here (DBOS is launched in this process on first use).
    With ``queue`` it is put on that queue and this process needs nothing but the database:
    any worker serving the queue picks it up; runs of one session execute one at a time.

    Args:
        agent_or_name: A registered agent's name, or an agent (registered now if it is not).
        input: The user's message, or input items.
        session_id: Conversation to continue; history lives in the run database.
        run_id: Idempotency key: the same id twice is the same run (default: a new uuid).
        context: A JSON-like dict given to tools as the run context.
        max_turns: Turn limit (SDK default when None).
        timeout: What to do when approvals do not arrive in time (default: wait forever).
        queue: Enqueue for workers instead of running here (``"timestep"`` is the default
            queue of ``timestep worker``).
        database_url: Where runs live (default: ``timestep.config`` resolution).
    """
    if queue is not None:
        return await _enqueue_run(
            agent_or_name, input, session_id=session_id, run_id=run_id, context=context,
            max_turns=max_turns, timeout=timeout, queue=queue, database_url=database_url,
        )
    if isinstance(agent_or_name, Agent):
        name = agent_or_name.name
        try:
            known = get_registered(name)
        except UserError:
            register_agent(agent_or_name)
        else:
            if known is not agent_or_name:
                raise UserError(
                    f"Another agent named {name!r} is registered; durable runs find agents by name."
                )
    elif isinstance(agent_or_name, str):
        name = agent_or_name
        get_registered(name)
    else:
        raise UserError(f"start_run takes an Agent or a registered agent name, not {type(agent_or_name).__name__}.")
    settings = _runtime.launch(database_url)
    spec = _spec(name, input, session_id, context, max_turns, timeout)
    from timestep.durable._workflow import run_workflow

    run_id = run_id or str(uuid.uuid4())
    with SetWorkflowID(run_id):
        await DBOS.start_workflow_async(run_workflow, spec)
    return RunHandle(run_id, database_url=settings.database.sqlalchemy_url)


def _spec(
    name: str,
    input: str | Sequence[TResponseInputItem],
    session_id: str | None,
    context: dict[str, Any] | None,
    max_turns: int | None,
    timeout: TimeoutPolicy | None,
) -> dict[str, Any]:
    """The run workflow's only argument: plain data, so any process can start or resume it.

    It is stored in the database as the workflow's input, so it never holds the database URL
    (which may carry a password): the process executing the run uses the database it is
    launched on, which is necessarily the one the run lives in.
    """
    if context is not None and not isinstance(context, dict):
        raise UserError("A durable run's context must be a JSON-like dict (it is stored and replayed).")
    return {
        "agent": name,
        "input": input if isinstance(input, str) else list(input),
        "session_id": session_id,
        "context": context,
        "max_turns": max_turns,
        "timeout": timeout.to_dict() if timeout else None,
    }


async def _enqueue_run(
    agent_or_name: Agent[Any] | str,
    input: str | Sequence[TResponseInputItem],
    *,
    session_id: str | None,
    run_id: str | None,
    context: dict[str, Any] | None,
    max_turns: int | None,
    timeout: TimeoutPolicy | None,
    queue: str,
    database_url: str | None,
) -> RunHandle:
    name = agent_or_name.name if isinstance(agent_or_name, Agent) else agent_or_name
    if not isinstance(name, str) or not name:
        raise UserError("start_run takes an Agent or a registered agent name.")
    database = _runtime.database_for(database_url)
    run_id = run_id or str(uuid.uuid4())
    spec = _spec(name, input, session_id, context, max_turns, timeout)
    options: EnqueueOptions = {
        "workflow_name": WORKFLOW_NAME,
        "queue_name": queue,
        "workflow_id": run_id,
        # One partition per conversation: the queue runs a session's runs one at a time.
        "queue_partition_key": session_id or run_id,
        "app_version": _runtime.application_version(),
    }
    await _runtime.client(database.sqlalchemy_url).enqueue_async(options, spec)
    return RunHandle(run_id, database_url=database.sqlalchemy_url)


async def approve(
    run_id: str,
    call_id: str | None = None,
    *,
    always: bool = False,
    decided_by: str | None = None,
    database_url: str | None = None,
) -> None:
    """Approve one pending tool call (or all of them when ``call_id`` is None).

    Safe to call from any process and before the run has parked: the decision is stored and
    delivered when the run waits for it. Approving an already-approved call is a no-op.

    Raises:
        RunNotFoundError: no run has this id.
        CallNotFoundError: the run is parked and has no pending call with this id.
        ApprovalConflictError: the run has ended, or the call was already rejected.
    """
    await _decide(run_id, call_id, "approve", always=always, message=None, decided_by=decided_by,
                  database_url=database_url)


async def reject(
    run_id: str,
    call_id: str | None = None,
    *,
    message: str | None = None,
    always: bool = False,
    decided_by: str | None = None,
    database_url: str | None = None,
) -> None:
    """Reject one pending tool call (or all); ``message`` is what the model sees as the output."""
    await _decide(run_id, call_id, "reject", always=always, message=message, decided_by=decided_by,
                  database_url=database_url)


async def _decide(
    run_id: str,
    call_id: str | None,
    decision: str,
    *,
    always: bool,
    message: str | None,
    decided_by: str | None,
    database_url: str | None,
) -> None:
    info, event = await _load(run_id, database_url)
    if info.status in ("succeeded", "failed", "cancelled"):
        raise ApprovalConflictError(f"Run {run_id} has already ended ({info.status}); nothing to decide.")
    decided: dict[str, str] = dict((event or {}).get("decided") or {})
    if call_id is not None:
        previous = decided.get(call_id)
        if previous is not None:
            if previous == decision:
                return  # a duplicate decision is a no-op
            raise ApprovalConflictError(f"Call {call_id} of run {run_id} was already {previous}d.")
        if info.status == "waiting_approval" and call_id not in {p.call_id for p in info.pending}:
            pending = ", ".join(p.call_id for p in info.pending) or "none"
            raise CallNotFoundError(f"Run {run_id} has no pending call {call_id!r} (pending: {pending}).")
    elif info.status == "waiting_approval" and not info.pending:
        return
    if info.status == "waiting_approval":
        await _claim_snapshot(info, database_url)
    payload = {
        "decision": decision,
        "call_id": call_id,
        "always": always,
        "message": message,
        "decided_by": decided_by,
        "decided_at": time.time(),
    }
    # Identical decisions collapse into one message (DBOS de-duplicates on the key).
    key = f"{run_id}:{call_id or '*'}:{decision}:{int(always)}:{message or ''}"
    client = _runtime.client(_runtime.database_for(database_url).sqlalchemy_url)
    await client.send_async(run_id, payload, DECISION_TOPIC, idempotency_key=key)


async def _claim_snapshot(info: RunInfo, database_url: str | None) -> None:
    """Claim the parked run's snapshot row before deciding, or refuse if someone else has.

    The row a parked run wrote may be loaded by another program (a Node service using
    ``RunState.fromString``, or a ``RunStateStore``) to resume the run there. Both sides claim
    the row by setting ``resumed_at`` only where it is still NULL, so exactly one of them
    resumes it; resuming it here too would execute the approved calls a second time.
    """
    from timestep.durable._snapshots import shared_table

    key = info.session_id or info.run_id
    me = f"timestep:durable:{info.run_id}"
    # A shared connection: one per decision made a burst of approvals connect (and fork a
    # Postgres backend) once per run (measured: python -m bench --only parked).
    table = shared_table(_runtime.database_for(database_url).sqlalchemy_url)
    row = await table.active(key)
    if row is None or row.state_type != "interrupted":
        return  # nothing parked to claim (yet): the decision waits for the run
    if row.resumed_at is None:
        if await table.try_mark_resumed(key, row_id=row.id, only_if_unresumed=True, by=me):
            return
        row = await table.active(key)
        if row is None:
            return
    if row.resumed_by == me:
        return  # our own claim, from an earlier decision on this interruption
    raise ApprovalConflictError(
        f"The snapshot of run {info.run_id} (key {key!r}) was loaded for resumption elsewhere "
        f"at {row.resumed_at.isoformat() if row.resumed_at else 'an unknown time'}; this parked "
        f"run will not also resume it. Cancel it with cancel_run({info.run_id!r}) once the other "
        "program has taken over."
    )


async def get_run(run_id: str, *, database_url: str | None = None) -> RunInfo:
    """Status, pending approvals (tool, arguments, call id), output, usage and error of a run."""
    info, _ = await _load(run_id, database_url)
    return info


async def list_runs(
    status: RunStatus | None = None, limit: int = 50, *, database_url: str | None = None
) -> list[RunInfo]:
    """The most recent durable runs, newest first, optionally of one status."""
    if status is not None and status not in _DBOS_STATUSES:
        raise UserError(f"Unknown run status {status!r}; use one of {', '.join(_DBOS_STATUSES)}.")
    client = _runtime.client(_runtime.database_for(database_url).sqlalchemy_url)
    # Parked and running runs share DBOS's PENDING; fetch more and filter on our status event.
    fetch = limit if status not in ("running", "waiting_approval") else max(limit * 4, 200)
    statuses = await client.list_workflows_async(
        name=WORKFLOW_NAME,
        status=_DBOS_STATUSES[status] if status else None,
        limit=fetch,
        sort_desc=True,
        load_input=True,
        load_output=True,
    )
    events = await asyncio.gather(*(_status_event(client, s.workflow_id) for s in statuses))
    infos = [_info(s, e) for s, e in zip(statuses, events, strict=True)]
    if status is not None:
        infos = [i for i in infos if i.status == status]
    return infos[:limit]


async def cancel_run(run_id: str, *, database_url: str | None = None) -> None:
    """Cancel a run: it stops at its next step boundary (a parked run stops at once)."""
    info, _ = await _load(run_id, database_url)
    if info.status in ("succeeded", "failed", "cancelled"):
        raise ApprovalConflictError(f"Run {run_id} has already ended ({info.status}).")
    client = _runtime.client(_runtime.database_for(database_url).sqlalchemy_url)
    await client.cancel_workflow_async(run_id)


async def stream_run(
    run_id: str, *, after: int = 0, poll_interval: float = 0.1, database_url: str | None = None
) -> AsyncIterator[RunEvent]:
    """Yield a run's events live, in order, each exactly once, until the run ends.

    Events are derived from the run's durable record (one per completed step), so a worker
    crash neither loses nor repeats any. Pass ``after`` (the last ``seq`` seen) to resume.
    """
    client = _runtime.client(_runtime.database_for(database_url).sqlalchemy_url)
    await _load(run_id, database_url)
    seen = after
    while True:
        statuses = await client.list_workflows_async(
            workflow_ids=[run_id], load_input=False, load_output=True
        )
        status = statuses[0]
        terminal = status.status in _TERMINAL
        steps = await client.list_workflow_steps_async(run_id, load_output=True)
        for step in _deliverable(steps, seen, terminal):
            for event in _events_of(run_id, step):
                yield event
            seen = step["function_id"]
        if terminal:
            yield _terminal_event(run_id, status, seen + 1)
            return
        await asyncio.sleep(poll_interval)


async def run_events(run_id: str, *, database_url: str | None = None) -> list[RunEvent]:
    """The events of a run so far (what ``stream_run`` would have yielded until now).

    Unlike ``stream_run`` it returns at once, so a page or a CLI can show a parked run.
    """
    client = _runtime.client(_runtime.database_for(database_url).sqlalchemy_url)
    await _load(run_id, database_url)
    statuses = await client.list_workflows_async(workflow_ids=[run_id], load_input=False, load_output=True)
    status = statuses[0]
    terminal = status.status in _TERMINAL
    steps = await client.list_workflow_steps_async(run_id, load_output=True)
    events: list[RunEvent] = []
    for step in _deliverable(steps, 0, terminal):
        events.extend(_events_of(run_id, step))
    if terminal:
        last = max((s["function_id"] for s in steps), default=0)
        events.append(_terminal_event(run_id, status, last + 1))
    return events


def _deliverable(steps: list[StepInfo], seen: int, terminal: bool) -> list[StepInfo]:
    """The steps after ``seen`` that can be delivered now, in step-id order.

    Tool calls run at step ids reserved before they start, so a step row can appear after rows
    with higher ids (a status event written while the tool still runs), and a reservation for a
    call that then needed approval is never used. A missing id therefore holds back delivery
    until it is settled: the run ended, or a later model or snapshot step exists (the SDK starts
    those only once every tool call of the turn has finished).
    """
    present = {step["function_id"]: step for step in steps}
    settled_below = max(
        (s["function_id"] for s in steps
         if s["function_name"].startswith("model:") or s["function_name"] == "snapshot"),
        default=0,
    )
    out: list[StepInfo] = []
    for function_id in range(seen + 1, max(present, default=0) + 1):
        step = present.get(function_id)
        if step is None:
            if terminal or function_id < settled_below:
                continue  # an unused reservation: nothing will ever be written here
            break
        out.append(step)
    return out


async def _load(run_id: str, database_url: str | None) -> tuple[RunInfo, dict[str, Any] | None]:
    client = _runtime.client(_runtime.database_for(database_url).sqlalchemy_url)
    statuses = await client.list_workflows_async(workflow_ids=[run_id], load_input=True, load_output=True)
    if not statuses or statuses[0].name != WORKFLOW_NAME:
        raise RunNotFoundError(f"No durable run has id {run_id!r}.")
    event = await _status_event(client, run_id)
    return _info(statuses[0], event), event


async def _status_event(client: Any, run_id: str) -> dict[str, Any] | None:
    value = await client.get_event_async(run_id, STATUS_EVENT, timeout_seconds=0)
    return value if isinstance(value, dict) else None


def _info(status: WorkflowStatus, event: dict[str, Any] | None) -> RunInfo:
    spec: dict[str, Any] = {}
    if status.input is not None and status.input.get("args"):
        first = status.input["args"][0]
        spec = first if isinstance(first, dict) else {}
    run_status: RunStatus
    if status.status in _TERMINAL:
        run_status = _TERMINAL[status.status]
    elif status.status in ("ENQUEUED", "DELAYED"):
        run_status = "queued"
    elif event is not None and event.get("status") == "waiting_approval":
        run_status = "waiting_approval"
    else:
        run_status = "running"
    output = status.output if isinstance(status.output, dict) else {}
    usage = output.get("usage") or (event or {}).get("usage") or {}
    pending = [PendingApproval.from_dict(p) for p in (event or {}).get("pending") or []]
    return RunInfo(
        run_id=status.workflow_id,
        status=run_status,
        agent=spec.get("agent"),
        session_id=spec.get("session_id"),
        pending=pending if run_status == "waiting_approval" else [],
        output=output.get("output"),
        usage=dict(usage),
        error=_error_text(status) if run_status == "failed" else None,
        created_at=status.created_at / 1000 if status.created_at else None,
        updated_at=status.updated_at / 1000 if status.updated_at else None,
        decisions=dict(output.get("decided") or (event or {}).get("decided") or {}),
    )


def _error_text(status: WorkflowStatus) -> str | None:
    if status.error is None:
        return None
    return str(status.error)


def _events_of(run_id: str, step: StepInfo) -> list[RunEvent]:
    events = _step_events(run_id, step)
    done = step["completed_at_epoch_ms"]
    at = done / 1000 if done else None
    return [dataclasses.replace(e, at=at) for e in events]


def _step_events(run_id: str, step: StepInfo) -> list[RunEvent]:
    name, seq, output = step["function_name"], step["function_id"], step["output"]
    if step["error"] is not None:
        return [RunEvent("step_failed", run_id, seq, {"step": name, "error": str(step["error"])})]
    if name.startswith("model:") and isinstance(output, ModelResponse):
        return [
            RunEvent(
                "model_response",
                run_id,
                seq,
                {
                    "items": [item.model_dump(mode="json", exclude_none=True) for item in output.output],
                    "usage": {
                        "requests": output.usage.requests,
                        "input_tokens": output.usage.input_tokens,
                        "output_tokens": output.usage.output_tokens,
                        "total_tokens": output.usage.total_tokens,
                    },
                },
            )
        ]
    if name.startswith("tool:"):
        tool, _, call_id = name[len("tool:"):].partition("#")
        return [RunEvent("tool_output", run_id, seq, {"tool": tool, "call_id": call_id, "output": _plain(output)})]
    if name == "snapshot" and isinstance(output, list) and output:
        return [RunEvent("approval_required", run_id, seq, {"pending": output})]
    if name == "DBOS.recv" and isinstance(output, dict) and "decision" in output:
        return [RunEvent("decision", run_id, seq, dict(output))]
    return []


def _terminal_event(run_id: str, status: WorkflowStatus, seq: int) -> RunEvent:
    at = status.updated_at / 1000 if status.updated_at else None
    return dataclasses.replace(_terminal_event_data(run_id, status, seq), at=at)


def _terminal_event_data(run_id: str, status: WorkflowStatus, seq: int) -> RunEvent:
    if status.status == "SUCCESS":
        output = status.output if isinstance(status.output, dict) else {}
        return RunEvent("run_completed", run_id, seq, {"output": output.get("output"), "usage": output.get("usage", {})})
    if status.status == "CANCELLED":
        return RunEvent("run_cancelled", run_id, seq, {})
    return RunEvent("run_failed", run_id, seq, {"error": _error_text(status)})


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) else value
