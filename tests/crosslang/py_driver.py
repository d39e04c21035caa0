"""Python half of the cross-language scenarios (the Node half is tests/node/crosslang.mjs).

A *job* runs one side of a hop: start from input or from a JS-form snapshot, apply a list of
actions (``"run"`` or ``{"decide": [...]}``), and report what happened plus the JS-form
snapshot of where it stopped. Both halves implement the same job format and the same fake model
(scenarios.json), so a test can hand a job's output state to the other language. With
``job["db"] = {"url", "key", "load"?, "save"?}`` the snapshot goes through ``RunStateStore``
(the shared ``run_states`` table) instead.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents import (
    Agent,
    GuardrailFunctionOutput,
    RunConfig,
    RunContextWrapper,
    Runner,
    RunResult,
    RunResultStreaming,
    RunState,
    function_tool,
    handoff,
    input_guardrail,
    output_guardrail,
    set_trace_processors,
    set_tracing_disabled,
)
from agents.testing import ModelCall, ModelStep, ScriptedModel
from agents.tracing import get_current_trace
from agents.usage import Usage
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)

from timestep.state import RunStateStore
from timestep.state.codec import decode_js, encode_js

SCENARIOS: dict[str, Any] = json.loads((Path(__file__).with_name("scenarios.json")).read_text())
Job = dict[str, Any]


@dataclass
class Recorder:
    executed: list[dict[str, Any]] = field(default_factory=list)
    seen_outputs: list[str] = field(default_factory=list)  # last tool output per model call
    trace_ids: list[str | None] = field(default_factory=list)  # active trace per model call
    lookups: list[str] = field(default_factory=list)  # lookup_contact executions

    def saw_trace(self) -> None:
        current = get_current_trace()
        trace_id = current.trace_id if current is not None else None
        self.trace_ids.append(trace_id if trace_id != "no-op" else None)


def _tool_outputs(items: Any) -> list[str]:
    if not isinstance(items, list):
        return []
    return [
        str(i.get("output"))
        for i in items
        if isinstance(i, dict) and i.get("type") == "function_call_output"
    ]


def make_model(scenario: str, recorder: Recorder) -> ScriptedModel:
    steps = SCENARIOS[scenario]["steps"]

    def respond(call: ModelCall) -> ModelStep:
        outputs = _tool_outputs(call.input)
        k = len(outputs)
        recorder.seen_outputs.append(outputs[-1] if outputs else "")
        recorder.saw_trace()
        step = steps[k]
        assert step is not None, f"scenario {scenario!r} reached unexpected step {k}"
        usage = Usage(
            requests=1, input_tokens=10 * (k + 1), output_tokens=5, total_tokens=10 * (k + 1) + 5
        )
        calls = step.get("calls") or ([step["call"]] if "call" in step else [])
        text = step.get("say") if calls else f"final: {outputs[-1] if outputs else ''}"
        items: list[Any] = []
        if text is not None:
            items.append(
                ResponseOutputMessage(
                    type="message",
                    id=f"msg_{k}",
                    role="assistant",
                    status="completed",
                    content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
                )
            )
        items += [
            ResponseFunctionToolCall(
                type="function_call",
                id=f"fc_{spec['call_id']}",
                call_id=spec["call_id"],
                name=spec["name"],
                arguments=spec.get("args_json") or json.dumps(spec["args"], separators=(",", ":")),
                status="completed",
            )
            for spec in calls
        ]
        return ModelStep(output=items, usage=usage, response_id=f"resp_{k}")

    return ScriptedModel([ModelStep.respond(respond) for _ in range(12)])


def make_agents(scenario: str, recorder: Recorder) -> dict[str, Agent[Any]]:
    """The agent graph both languages build: Triage --handoff--> Mailer(send_email)."""
    model = make_model(scenario, recorder)

    @function_tool(needs_approval=True)
    def send_email(
        ctx: RunContextWrapper[Any],
        to: str,
        subject: str,
        priority: float | None = None,
        ttl: float | None = None,
        tags: list[Any] | None = None,
    ) -> str:
        """Send an email."""
        user = ctx.context.get("user_id") if isinstance(ctx.context, dict) else None
        recorder.executed.append({"to": to, "subject": subject, "user": user})
        return f"sent:{to}:{subject}"

    @function_tool
    def lookup_contact(name: str) -> str:
        """Look a contact up (no approval needed)."""
        recorder.lookups.append(name)
        return f"contact:{name}"

    @input_guardrail
    async def no_secrets(
        ctx: RunContextWrapper[Any], agent: Agent[Any], data: Any
    ) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput(output_info={"checked": 1}, tripwire_triggered=False)

    @output_guardrail
    async def polite(
        ctx: RunContextWrapper[Any], agent: Agent[Any], output: Any
    ) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput(output_info={"polite": True}, tripwire_triggered=False)

    mailer: Agent[Any] = Agent(
        name="Mailer",
        instructions="Send email.",
        model=model,
        tools=[lookup_contact, send_email],
        output_guardrails=[polite],
    )
    triage: Agent[Any] = Agent(
        name="Triage",
        instructions="Route.",
        model=model,
        handoffs=[handoff(mailer, tool_name_override="transfer_to_mailer")],
        input_guardrails=[no_secrets],
    )
    return {"Mailer": mailer, "Triage": triage}


def _apply(state: RunState[Any], decisions: Sequence[dict[str, Any]]) -> None:
    pending = state.get_interruptions()
    assert len(pending) == len(decisions), (
        f"{len(pending)} interruptions, {len(decisions)} decisions"
    )
    for item, decision in zip(pending, decisions, strict=True):
        if decision["kind"] == "approve":
            state.approve(item, always_approve=bool(decision.get("always")))
        else:
            state.reject(
                item,
                always_reject=bool(decision.get("always")),
                rejection_message=decision.get("message"),
            )


async def _run(agent: Agent[Any], input: Any, job: Job) -> RunResult | RunResultStreaming:
    config = RunConfig(tracing_disabled=not job.get("trace"))
    kwargs: dict[str, Any] = {"run_config": config}
    if not isinstance(input, RunState):
        kwargs["context"] = job.get("context")
    if job.get("stream"):
        streamed = Runner.run_streamed(agent, input, **kwargs)
        async for _ in streamed.stream_events():
            pass
        return streamed
    return await Runner.run(agent, input, **kwargs)


@contextmanager
def tracing(enabled: bool) -> Iterator[None]:
    """Tracing on or off for one job, never exporting (tests run without an API key)."""
    set_trace_processors([])
    set_tracing_disabled(not enabled)
    try:
        yield
    finally:
        set_tracing_disabled(True)


async def drive(job: Job) -> dict[str, Any]:
    """Run one job (see module docstring) and report it."""
    with tracing(bool(job.get("trace"))):
        return await _drive(job)


async def _drive(job: Job) -> dict[str, Any]:
    recorder = Recorder()
    agents = make_agents(job["scenario"], recorder)
    start = agents[SCENARIOS[job["scenario"]]["start"]]
    state: RunState[Any] | None = None
    result: RunResult | RunResultStreaming | None = None
    db = job.get("db") or {}
    store = RunStateStore(start, db["key"], db["url"]) if db else None
    if store is not None and db.get("load"):
        state = await store.load()
    elif job.get("state") is not None:
        state = await decode_js(start, job["state"])
    elif job.get("native") is not None:  # Python's own JSON, for same-language comparisons
        state = await RunState.from_json(start, copy.deepcopy(job["native"]))
    elif job.get("fresh"):  # a checkpoint before the first turn
        wrapper: RunContextWrapper[Any] = RunContextWrapper(context=job.get("context"))
        state = RunState(wrapper, job.get("input", "Please send it."), start)
    for action in job["actions"]:
        if action == "run":
            result = await _run(
                start, state if state is not None else job.get("input", "Please send it."), job
            )
            state = result.to_state()
        else:
            assert state is not None
            _apply(state, action["decide"])
    assert state is not None
    if store is not None:
        if db.get("save"):
            await store.save(state)
        await store.close()
    native = state.to_json()
    return {
        "state": json.dumps(encode_js(state), ensure_ascii=False),
        "native": native,
        "final_output": result.final_output
        if result is not None and not state.get_interruptions()
        else None,
        "interruptions": [
            {"call_id": i.call_id, "name": i.name, "arguments": i.arguments}
            for i in state.get_interruptions()
        ],
        "executed": recorder.executed,
        "lookups": recorder.lookups,
        "seen_outputs": recorder.seen_outputs,
        "usage": native["context"]["usage"],
        "trace_id": (native.get("trace") or {}).get("id"),
        "trace_ids": recorder.trace_ids,
    }
