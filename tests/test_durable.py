"""Durable runs in one process, on SQLite and Postgres: steps, approvals, policies, streams."""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from agents import (
    Agent,
    GuardrailFunctionOutput,
    RunContextWrapper,
    RunState,
    function_tool,
    input_guardrail,
)
from dbos import DBOS

import timestep
from tests.durable import app
from tests.durable.rule_model import RuleModelProvider
from tests.durable.spans import max_overlap, work_segments
from timestep.durable import (
    SQLSession,
    TimeoutPolicy,
    approve,
    cancel_run,
    get_run,
    launch,
    list_runs,
    reject,
    shutdown,
    start_run,
    stream_run,
)
from timestep.errors import (
    ApprovalConflictError,
    CallNotFoundError,
    RunFailedError,
    RunNotFoundError,
)

CHARGE = 'please call charge({"customer": "ada", "cents": 500})'


@pytest.fixture
async def durable(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    monkeypatch.setenv("TIMESTEP_TEST_LEDGER", str(tmp_path / "ledger.sqlite"))
    launch(db_url)
    try:
        yield db_url
    finally:
        shutdown()


async def wait_for_status(run_id: str, status: str, timeout: float = 30) -> timestep.RunInfo:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        info = await get_run(run_id)
        if info.status == status:
            return info
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"run {run_id} stayed {info.status}, expected {status}")
        await asyncio.sleep(0.05)


async def step_names_async(run_id: str) -> list[str]:
    steps = await DBOS.list_workflow_steps_async(run_id)
    return [s["function_name"] for s in steps]


async def test_a_burst_of_approvals_resumes_runs_a_few_at_a_time(
    durable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process runs have no worker limit; woken ones take one of the host's resume slots."""
    monkeypatch.setenv("TIMESTEP_RESUME_CONCURRENCY", "2")
    monkeypatch.setenv("TIMESTEP_TEST_MODEL_DELAY", "0.2")
    handles = [
        await start_run("Billing", f'call charge({{"customer": "b{i}", "cents": {i}}})') for i in range(5)
    ]
    for h in handles:
        await wait_for_status(h.run_id, "waiting_approval")
    for h in handles:
        await approve(h.run_id)
    results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 60)
    assert results == [f"done: charged b{i} {i}" for i in range(5)]
    resumed = [
        work_segments(await DBOS.list_workflow_steps_async(h.run_id))[-1] for h in handles
    ]
    # Exactly 2: the gate bounds them, and the 2 slots are used (5 without the gate).
    assert max_overlap(resumed) == 2, sorted(resumed)


async def test_a_parked_run_holds_its_state_as_json_not_as_a_run_state(durable: str) -> None:
    """While parked a run keeps only its state's compressed JSON (memory per waiting run)."""
    customer = f"gc-{uuid.uuid4().hex[:8]}"
    handle = await start_run("Billing", f'call charge({{"customer": "{customer}", "cents": 5}})')
    await wait_for_status(handle.run_id, "waiting_approval")
    gc.collect()
    alive = [o for o in gc.get_objects() if isinstance(o, RunState) and customer in repr(o._original_input)]
    assert alive == []
    await approve(handle.run_id)
    assert await handle.result() == f"done: charged {customer} 5"


async def test_every_turn_and_tool_call_is_a_step(durable: str) -> None:
    handle = await start_run("Billing", 'call lookup({"customer": "ada"})', session_id="s-steps")
    assert await handle.result() == "done: ada is a gold customer"
    names = await step_names_async(handle.run_id)
    model_steps = [n for n in names if n.startswith("model:")]
    tool_steps = [n for n in names if n.startswith("tool:")]
    assert len(model_steps) == 2
    assert len(tool_steps) == 1 and tool_steps[0].startswith("tool:lookup#call_")
    assert names.index(tool_steps[0]) > names.index(model_steps[0])
    # Durable version 2: a run without interruptions publishes no status event at all; its
    # status is DBOS's, its last step the final snapshot.
    assert names[-1] == "snapshot" and "DBOS.setEvent" not in names
    info = await get_run(handle.run_id)
    assert info.status == "succeeded" and info.usage["requests"] == 2 and info.usage["total_tokens"] == 30


async def test_parked_run_shows_pending_call_and_completes_on_approve(durable: str) -> None:
    handle = await start_run("Billing", CHARGE)
    info = await wait_for_status(handle.run_id, "waiting_approval")
    assert len(info.pending) == 1
    pending = info.pending[0]
    assert pending.tool_name == "charge" and pending.agent == "Billing"
    assert pending.call_id.startswith("call_")
    assert '"cents": 500' in pending.arguments
    assert info.usage["requests"] == 1
    await approve(handle.run_id, pending.call_id)
    assert await handle.result() == "done: charged ada 500"
    # A duplicate approval of a decided call is a no-op; a contradicting one is refused.
    with pytest.raises(ApprovalConflictError):
        await approve(handle.run_id, pending.call_id)


async def test_reject_with_message_reaches_the_model(durable: str) -> None:
    handle = await start_run("Billing", CHARGE)
    info = await wait_for_status(handle.run_id, "waiting_approval")
    await reject(handle.run_id, info.pending[0].call_id, message="Denied by a human reviewer.")
    assert await handle.result() == "done: Denied by a human reviewer."


async def test_decision_errors_are_specific(durable: str) -> None:
    with pytest.raises(RunNotFoundError):
        await approve("no-such-run")
    handle = await start_run("Billing", CHARGE)
    info = await wait_for_status(handle.run_id, "waiting_approval")
    with pytest.raises(CallNotFoundError):
        await approve(handle.run_id, "call_unknown")
    call_id = info.pending[0].call_id
    await reject(handle.run_id, call_id, message="no")
    await reject(handle.run_id, call_id, message="no")  # duplicate: no-op
    await handle.result()
    with pytest.raises(ApprovalConflictError):
        await approve(handle.run_id, call_id)


async def test_approval_sent_before_the_run_parks_is_kept(
    durable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIMESTEP_TEST_MODEL_DELAY", "0.5")
    handle = await start_run("Billing", CHARGE)
    assert (await get_run(handle.run_id)).status == "running"
    await approve(handle.run_id)  # all calls, before any is pending
    assert await handle.result() == "done: charged ada 500"


async def test_several_calls_decided_one_by_one(durable: str) -> None:
    text = ('call charge({"customer": "ada", "cents": 1}) and '
            'call charge({"customer": "bob", "cents": 2}) and call lookup({"customer": "cy"})')
    handle = await start_run("Billing", text)
    info = await wait_for_status(handle.run_id, "waiting_approval")
    assert [p.tool_name for p in info.pending] == ["charge", "charge"]
    first, second = info.pending
    await approve(handle.run_id, first.call_id)
    info = await wait_for_pending_count(handle.run_id, 1)
    assert [p.call_id for p in info.pending] == [second.call_id]
    await reject(handle.run_id, second.call_id, message="not bob")
    assert await handle.result() == "done: cy is a gold customer | charged ada 1 | not bob"


async def wait_for_pending_count(run_id: str, count: int) -> timestep.RunInfo:
    for _ in range(600):
        info = await get_run(run_id)
        if info.status == "waiting_approval" and len(info.pending) == count:
            return info
        await asyncio.sleep(0.05)
    raise AssertionError("pending count never reached")


@pytest.mark.parametrize("action", ["reject", "fail", "wait"])
async def test_timeout_policy(durable: str, action: str) -> None:
    policy = TimeoutPolicy(after_seconds=0.3, action=action, message="Nobody answered.")  # type: ignore[arg-type]
    handle = await start_run("Billing", CHARGE, timeout=policy)
    if action == "reject":
        assert await handle.result() == "done: Nobody answered."
    elif action == "fail":
        with pytest.raises(RunFailedError, match="No decision arrived"):
            await handle.result()
    else:
        await wait_for_status(handle.run_id, "waiting_approval")
        await asyncio.sleep(0.6)
        assert (await get_run(handle.run_id)).status == "waiting_approval"
        await approve(handle.run_id)
        assert await handle.result() == "done: charged ada 500"


async def test_session_history_is_shared_and_written_once(durable: str) -> None:
    first = await start_run("Billing", "hello", session_id="conv-1")
    assert await first.result() == "echo: hello"
    second = await start_run("Billing", CHARGE, session_id="conv-1")
    info = await wait_for_status(second.run_id, "waiting_approval")
    await approve(second.run_id, info.pending[0].call_id)
    await second.result()
    items = await SQLSession("conv-1", durable).get_items()
    roles_or_types = [i.get("role") or i.get("type") for i in items]
    assert roles_or_types == [
        "user", "assistant",  # run 1
        "user", "function_call", "function_call_output", "assistant",  # run 2
    ]


async def test_same_run_id_twice_is_the_same_run(durable: str) -> None:
    run_id = f"idem-{uuid.uuid4()}"
    a = await start_run("Billing", "hi", run_id=run_id)
    b = await start_run("Billing", "hi", run_id=run_id)
    assert await a.result() == await b.result() == "echo: hi"
    assert len([r for r in await list_runs() if r.run_id == run_id]) == 1


async def test_stream_delivers_each_event_once_in_order(durable: str) -> None:
    handle = await start_run("Billing", CHARGE)
    events: list[timestep.RunEvent] = []

    async def read() -> None:
        async for event in stream_run(handle.run_id):
            events.append(event)

    reader = asyncio.create_task(read())
    info = await wait_for_status(handle.run_id, "waiting_approval")
    await approve(handle.run_id, info.pending[0].call_id)
    await handle.result()
    await asyncio.wait_for(reader, 30)
    types = [e.type for e in events]
    assert types == [
        "model_response", "approval_required", "decision", "tool_output", "model_response", "run_completed",
    ]
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs))
    assert events[-1].data["output"] == "done: charged ada 500"
    # Resuming after the decision replays nothing already seen.
    later = [e.type async for e in stream_run(handle.run_id, after=events[2].seq)]
    assert later == types[3:]


async def test_cancel_parked_run_and_list_by_status(durable: str) -> None:
    parked = await start_run("Billing", CHARGE)
    await wait_for_status(parked.run_id, "waiting_approval")
    done = await start_run("Billing", "hi")
    await done.result()
    waiting = await list_runs(status="waiting_approval")
    assert [r.run_id for r in waiting] == [parked.run_id]
    assert done.run_id in [r.run_id for r in await list_runs(status="succeeded")]
    await cancel_run(parked.run_id)
    await wait_for_status(parked.run_id, "cancelled")
    with pytest.raises(RunFailedError):
        await parked.result()


@input_guardrail
async def no_moon(ctx: RunContextWrapper[Any], agent: Agent[Any], input: Any) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info=None, tripwire_triggered="moon" in str(input))


@function_tool
def weather(city: str) -> str:
    """Weather for a city."""
    return f"sunny in {city}"


weather_agent = Agent(name="Weather", instructions="Weather.", tools=[weather])
triage = Agent(
    name="Triage", instructions="Route.", handoffs=[weather_agent], input_guardrails=[no_moon]
)
timestep.register_agent(triage, model_provider=RuleModelProvider())


async def test_handoff_and_guardrail_in_durable_runs(durable: str) -> None:
    handoff = await start_run(
        "Triage", 'call transfer_to_weather({})'
    )
    result = await handoff.result()
    assert result.startswith("done:")
    tripped = await start_run("Triage", "tell me about the moon")
    with pytest.raises(RunFailedError, match="InputGuardrailTripwireTriggered"):
        await tripped.result()
    assert (await get_run(tripped.run_id)).status == "failed"


def test_app_module_registered_billing() -> None:
    assert "Billing" in timestep.durable.registered_names()
    assert app.billing.name == "Billing"


async def test_approval_refused_when_snapshot_was_resumed_elsewhere(durable: str) -> None:
    from timestep.state import SnapshotTable

    handle = await start_run("Billing", CHARGE, session_id=f"taken-{uuid.uuid4()}")
    info = await wait_for_status(handle.run_id, "waiting_approval")
    async with SnapshotTable(durable) as table:
        row = await table.active(info.session_id or handle.run_id)
        assert row is not None and row.state_type == "interrupted"
        # What a Node service does when it loads the row to resume the run itself.
        await table.mark_resumed(row.run_id)
    with pytest.raises(ApprovalConflictError, match="loaded for resumption elsewhere"):
        await approve(handle.run_id, info.pending[0].call_id)
    await cancel_run(handle.run_id)


async def test_first_decision_claims_the_snapshot_row(durable: str) -> None:
    from timestep.state import SnapshotTable

    text = 'call charge({"customer": "a", "cents": 1}) and call charge({"customer": "b", "cents": 2})'
    handle = await start_run("Billing", text)
    info = await wait_for_status(handle.run_id, "waiting_approval")
    first, second = info.pending
    await approve(handle.run_id, first.call_id)
    async with SnapshotTable(durable) as table:
        row = await table.active(handle.run_id)
        assert row is not None and row.resumed_by == f"timestep:durable:{handle.run_id}"
        # A Node program's claim (resumed_at IS NULL) now fails: the row is taken.
        assert await table.mark_resumed(handle.run_id, only_if_unresumed=True) is None
    await approve(handle.run_id, second.call_id)  # our own claim does not block us
    assert await handle.result() == "done: charged a 1 | charged b 2"
