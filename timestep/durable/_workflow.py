"""The run workflow: one DBOS workflow per durable run.

Step sequence (a contract with parked runs; changing it needs a new ``DEFAULT_APP_VERSION``):
per turn: ``model:*`` step, then one ``tool:*`` step per executed call (ids reserved in output
order) and ``session.*`` steps → on interruption: ``snapshot`` step, status event, then ``recv``
for decisions (plus deadline steps when a timeout policy is set), a status event once all are
in, and the run resumes from the RunState → at the end a final ``snapshot`` step (a failed run
publishes a status event instead). Version 1 also published a status event at the start and at
the end; they said nothing DBOS's own status and the output do not.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import zlib
from typing import Any

from agents import Agent, AgentsException, RunConfig, Runner, RunResult, RunState
from agents.items import ToolApprovalItem
from dbos import DBOS

from timestep.durable import _runtime
from timestep.durable._failpoints import failpoint
from timestep.durable._model import DurableModelProvider
from timestep.durable._registry import durable_agent, registration
from timestep.durable._scope import RunScope, reserve_tool_steps, run_scope
from timestep.durable._session import DurableSession, SQLSession
from timestep.durable._slots import RunSlot
from timestep.durable._snapshots import save_native_snapshot
from timestep.durable._types import (
    DECISION_TOPIC,
    STATUS_EVENT,
    WORKFLOW_NAME,
    PendingApproval,
    TimeoutPolicy,
)
from timestep.errors import RunFailedError, TimestepError, UnsupportedFeatureError
from timestep.run import build_run_config
from timestep.state._rows import PYTHON_WRITER, StateType
from timestep.state._snapshot import native_form, restore_state

__all__ = ["run_workflow"]

logger = logging.getLogger("timestep.durable")

# recv timeout when waiting without a deadline: the loop re-parks after it; a long value keeps
# the number of recorded recv steps small for runs that wait for days.
_WAIT_CHUNK_SECONDS = 24 * 3600.0


@DBOS.workflow(name=WORKFLOW_NAME)
async def run_workflow(spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``spec["agent"]`` durably. ``spec`` is plain data (see ``_api.start_run``)."""
    run_id = DBOS.workflow_id
    assert run_id is not None
    agent = durable_agent(spec["agent"])
    reg = registration(spec["agent"])
    session_id: str | None = spec.get("session_id")
    settings = _runtime.current_settings()
    assert settings is not None, "a run workflow executes only in a launched process"
    database_url = settings.database.sqlalchemy_url
    policy = TimeoutPolicy.from_dict(spec.get("timeout"))
    scope = RunScope(run_id)
    session = DurableSession(SQLSession(session_id, database_url)) if session_id else None
    run_config = _run_config(reg.model_provider, reg.run_config)
    kwargs: dict[str, Any] = {"run_config": run_config, "session": session}
    if spec.get("max_turns") is not None:
        kwargs["max_turns"] = spec["max_turns"]

    # A woken in-process run holds a resume slot until it parks again or ends (see _slots).
    with run_scope(scope), RunSlot(run_id) as slot:
        # No "running" event at the start: a PENDING run without one reads as running.
        try:
            result = await Runner.run(agent, spec["input"], context=spec.get("context"), **kwargs)
            while result.interruptions:
                pending = _pending(result.interruptions)
                usage = _usage(result)
                native, state_type = native_form(result.to_state())
                # A parked run holds neither its RunResult nor its RunState, only the state's
                # JSON, compressed; it is rebuilt once the decisions are in (measured:
                # python -m bench --only parked).
                del result
                await _save_snapshot(native, state_type, session_id or run_id, database_url, pending)
                frozen = _freeze(native)
                del native
                await _publish(status="waiting_approval", pending=pending, usage=usage,
                               decided=scope.decisions)
                # While it waits a run holds no slot (see _slots); it takes one back before
                # the SDK resumes, so a burst of decisions resumes runs a few at a time.
                async with slot.parked():
                    decisions = await _wait_for_decisions(pending, policy, scope)
                state = await _thaw(agent, frozen, run_id)
                approved = _apply_decisions(state, decisions)
                # Approved calls run when the SDK resumes; fix their step ids now, in call order.
                reserve_tool_steps(scope, [p.call_id for p in pending if p.call_id in approved])
                await _publish(status="running", usage=usage, decided=scope.decisions)
                result = await Runner.run(agent, state, **kwargs)
        except (AgentsException, TimestepError) as exc:
            message = f"{type(exc).__name__}: {exc}"
            await _publish(status="failed", error=message)
            raise RunFailedError(message) from None
        native, state_type = native_form(result.to_state())
        await _save_snapshot(native, state_type, session_id or run_id, database_url, [])
        output = _jsonable_output(result.final_output)
        # No "succeeded" event: DBOS's SUCCESS and this output (with the decisions) say it,
        # one transaction per run fewer (python -m bench: ~1.5 ms of host CPU each).
        return {
            "output": output,
            "usage": _usage(result),
            "last_agent": result.last_agent.name,
            "decided": dict(scope.decisions),
        }


def _run_config(model_provider: Any, run_config: RunConfig | None) -> RunConfig:
    base = build_run_config(model_provider, None) if run_config is None else run_config
    # A copy: the registered RunConfig is shared by every run and must not be wrapped twice.
    config = dataclasses.replace(base, model_provider=DurableModelProvider(base.model_provider))
    # Traces are not replay-safe (a replay would export spans again); the durable record in
    # DBOS is the run's history. Users can still enable tracing through their own run_config.
    if run_config is None:
        config.tracing_disabled = True
    return config


async def _publish(
    *,
    status: str,
    pending: list[PendingApproval] | None = None,
    usage: dict[str, int] | None = None,
    error: str | None = None,
    decided: dict[str, str] | None = None,
) -> None:
    await DBOS.set_event_async(
        STATUS_EVENT,
        {
            "status": status,
            "pending": [p.to_dict() for p in pending or []],
            "usage": usage or {},
            "error": error,
            # Every decision so far (call id -> "approve"/"reject"): lets approve() from another
            # process treat a repeated decision as a no-op and refuse a contradicting one.
            "decided": dict(decided or {}),
        },
    )


def _pending(interruptions: list[ToolApprovalItem]) -> list[PendingApproval]:
    now = time.time()
    pending = [
        PendingApproval(
            call_id=item.call_id or "",
            tool_name=item.name or item.tool_name or "",
            arguments=item.arguments or "",
            agent=item.agent.name,
            requested_at=now,
        )
        for item in interruptions
    ]
    return sorted(pending, key=lambda p: p.call_id)


async def _save_snapshot(
    native: dict[str, Any], state_type: StateType, key: str, database_url: str,
    pending: list[PendingApproval],
) -> None:
    """Write the cross-language snapshot row; the step's recorded output is the pending list
    (stream_run turns it into an ``approval_required`` event). ``native`` is the state's
    ``to_json()``, taken in workflow code so that a replay, which skips this step, has it too."""

    async def save() -> list[dict[str, Any]]:
        try:
            # Shared connections (see _snapshots): one per save exhausted Postgres in bursts.
            await save_native_snapshot(native, state_type, key, database_url)
        except UnsupportedFeatureError as exc:
            # The durable run does not need the row (DBOS holds its state); only a Node
            # resumer does. A run using a feature the JS format cannot carry goes on without it.
            logger.warning("run %s: no cross-language snapshot written: %s", key, exc)
        return [p.to_dict() for p in pending]

    await DBOS.run_step_async({"name": "snapshot"}, save)


def _freeze(native: dict[str, Any]) -> bytes:
    # zlib level 1: ~30 us for a one-turn state, a quarter of the JSON text's size.
    return zlib.compress(json.dumps(native, separators=(",", ":")).encode(), 1)


async def _thaw(agent: Agent[Any], frozen: bytes, run_id: str) -> RunState[Any]:
    # The same-SDK native round trip is lossless (tests/test_codec_roundtrip.py), and it is what
    # a RunStateStore.load of this run's row would do.
    native = json.loads(zlib.decompress(frozen))
    return await restore_state(agent, {}, native, PYTHON_WRITER, where=f"parked run {run_id}")


#: A decision to apply once the state is rebuilt: call id, approved, always, rejection message.
Decision = tuple[str, bool, bool, str | None]


async def _wait_for_decisions(
    pending: list[PendingApproval], policy: TimeoutPolicy, scope: RunScope
) -> list[Decision]:
    """Park on ``recv`` until every pending call is decided; returns the decisions in order."""
    tools = {p.call_id: p.tool_name for p in pending if p.call_id}
    decisions: list[Decision] = []
    deadline: float | None = None
    if policy.after_seconds is not None:
        after = float(policy.after_seconds)
        deadline = await DBOS.run_step_async({"name": "approval.deadline"}, _deadline, after)
    while len(decisions) < len(tools):
        timeout = _WAIT_CHUNK_SECONDS
        if deadline is not None:
            # Measured inside a step so a replay sees the same value as the first execution.
            due: float = deadline
            timeout = await DBOS.run_step_async(
                {"name": "approval.remaining"}, _remaining, due
            )
        failpoint("before_recv")
        message = await DBOS.recv_async(DECISION_TOPIC, timeout_seconds=max(timeout, 0.001))
        failpoint("after_recv")
        decided = {d[0] for d in decisions}
        if message is None:
            if deadline is None or policy.action == "wait":
                deadline = None if policy.action == "wait" else deadline
                continue
            undecided = [call_id for call_id in tools if call_id not in decided]
            if policy.action == "fail":
                raise RunFailedError(
                    f"No decision arrived within {policy.after_seconds} s for call(s) {', '.join(undecided)}."
                )
            decisions += [(call_id, False, False, policy.message) for call_id in undecided]
            for call_id in undecided:
                scope.decisions[call_id] = "reject"
            break
        for decision in _decisions_of(message, tools, decided):
            decisions.append(decision)
            scope.decisions[decision[0]] = "approve" if decision[1] else "reject"
        remaining = [p for p in pending if p.call_id not in scope.decisions]
        if remaining:
            await _publish(status="waiting_approval", pending=remaining, decided=scope.decisions)
    return decisions


def _deadline(after: float) -> float:
    return time.time() + after


def _remaining(deadline: float) -> float:
    return max(0.0, deadline - time.time())


def _decisions_of(message: dict[str, Any], tools: dict[str, str], decided: set[str]) -> list[Decision]:
    """The decisions one message makes (call id → tool name in ``tools``; ``decided`` so far)."""
    call_id = message.get("call_id")
    targets = [c for c in tools if c not in decided] if call_id is None else [call_id]
    if call_id is not None and message.get("always") and call_id in tools:
        # "Always" covers every pending call of the same tool, as it will cover future ones.
        targets += [c for c, tool in tools.items() if tool == tools[call_id] and c != call_id]
    out: list[Decision] = []
    for target in targets:
        if target not in tools or target in decided:
            # Unknown or already-decided call: the first decision wins; duplicates are no-ops.
            logger.info("ignoring decision for call %s (unknown or already decided)", target)
            continue
        decided.add(target)
        approve = message.get("decision") == "approve"
        out.append((target, approve, bool(message.get("always")), None if approve else message.get("message")))
    return out


def _apply_decisions(state: RunState[Any], decisions: list[Decision]) -> set[str]:
    """Approve/reject the rebuilt state's interruptions; returns the approved call ids."""
    items = {item.call_id: item for item in state.get_interruptions() if item.call_id}
    approved: set[str] = set()
    for call_id, approve, always, message in decisions:
        item = items[call_id]
        if approve:
            state.approve(item, always_approve=always)
            approved.add(call_id)
        else:
            state.reject(item, always_reject=always, rejection_message=message)
    return approved


def _usage(result: RunResult) -> dict[str, int]:
    usage = result.context_wrapper.usage
    return {
        "requests": usage.requests,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }


def _jsonable_output(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    return value
