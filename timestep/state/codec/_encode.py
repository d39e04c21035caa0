"""Python RunState (openai-agents 0.24.0, schema 1.21) -> JS RunState JSON (agents-core 0.20.0,
schema 1.22).

The encoder reads the SDK's own ``RunState.to_json()`` (so it sees exactly what Python would
persist), refuses anything outside the supported subset by name, translates the rest, and
recomputes everything that is identity-bound in JS: tool state keys, approval bindings,
completed-invocation records with their evidence, and the trace's agent span. Key order follows
JS ``RunState.toJSON`` so the output reads like a JS-written snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from agents import RunState
from agents.exceptions import UserError as SdkUserError

from timestep.errors import UserError
from timestep.state.codec import _approvals, _guardrails, _processed, _raw_items, _trace, _usage
from timestep.state.codec._calls import index_calls, js_completion_records
from timestep.state.codec._common import (
    JsonObject,
    agent_name,
    agent_ref,
    as_list,
    as_object,
    refuse,
)
from timestep.state.codec._run_items import ItemContext
from timestep.state.codec._run_items import py_to_js as item_py_to_js
from timestep.state.codec._state_type import py_state_type
from timestep.state.codec._versions import JS_SCHEMA_VERSION

__all__ = ["encode_js", "encode_py_json"]

# Python-only bookkeeping that must be empty/unset for a snapshot to cross.
_PY_REFUSED_FIELDS: tuple[tuple[str, str], ...] = (
    ("pending_input", "pending input (RunState.add_input)"),
    ("conversation_id", "server-managed conversations (conversation_id)"),
    ("previous_response_id", "server-managed conversations (previous_response_id)"),
    ("auto_previous_response_id", "server-managed conversations (auto_previous_response_id)"),
    ("pending_session_write", "pending session writes"),
    ("terminal_unrecoverable", "unsettled session writes of a finished turn"),
    ("sandbox", "sandbox agents"),
    ("nested_history_owned_session_item_refs", "agents-as-tools (nested runs)"),
)


def encode_js(state: RunState[Any], *, now: datetime | None = None) -> JsonObject:
    """See :func:`timestep.state.codec.encode_js` (``now`` stamps the synthesized span)."""
    try:
        py = state.to_json()
    except SdkUserError as error:  # e.g. same-name agents the SDK itself cannot tell apart
        raise UserError(f"This RunState cannot be snapshotted: {error}") from None
    return encode_py_json(py, state_type=py_state_type(state), now=now)


def encode_py_json(
    py: Mapping[str, Any], *, state_type: str, now: datetime | None = None
) -> JsonObject:
    """Translate a Python ``RunState.to_json()`` payload (the encoder's core, pure JSON)."""
    _refuse_unsupported(py)
    return _Encoder(py, state_type, now).encode()


def _refuse_unsupported(py: Mapping[str, Any]) -> None:
    for key, feature in _PY_REFUSED_FIELDS:
        if py.get(key):
            refuse(feature, f"{key} is set")
    context = as_object(py.get("context"), "context")
    meta = as_object(context.get("context_meta") or {}, "context.context_meta")
    if meta.get("serialized_via", "mapping") not in ("mapping", "none"):
        refuse(
            "non-mapping contexts",
            f"the context is a {meta.get('original_type')!r}; JS can only restore a JSON object",
        )
    try:
        json.dumps(context.get("context"), allow_nan=False)
    except (TypeError, ValueError):
        refuse("non-JSON context values", "the context mapping holds values JSON cannot carry")
    if context.get("tool_input") is not None:
        refuse("agents-as-tools (nested runs)", "context.tool_input is set")
    _guardrails.refuse_tool_guardrail_results(
        [(k, py.get(k)) for k in ("tool_input_guardrail_results", "tool_output_guardrail_results")]
    )
    step = py.get("current_step") or {}
    if (step.get("data") or {}).get("response_accepted"):
        refuse("server-accepted response checkpoints", "current_step.data.response_accepted is set")


def _py_calls(py: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """Every function call Python stored: call id -> tool name (JS outputs need the name) and,
    for calls owned by a run item, call id -> (agent, tool name)."""
    names: dict[str, str] = {}
    owners: dict[str, tuple[str, str]] = {}
    raws: list[Any] = []
    if isinstance(py.get("original_input"), list):
        raws += py["original_input"]
    for response in py.get("model_responses") or []:
        raws += response.get("output") or []
    lpr = py.get("last_processed_response") or {}
    for item in [*(py.get("generated_items") or []), *(lpr.get("new_items") or [])]:
        raw = item.get("raw_item")
        raws.append(raw)
        agent = (item.get("agent") or {}).get("name")
        if isinstance(raw, Mapping) and raw.get("type") == "function_call" and agent:
            owners[str(raw.get("call_id"))] = (str(agent), str(raw.get("name")))
    for raw in raws:
        if isinstance(raw, Mapping) and raw.get("type") == "function_call" and raw.get("call_id"):
            names[str(raw["call_id"])] = str(raw.get("name"))
    return names, owners


def _final_output(generated: list[JsonObject]) -> str:
    """The final output JS keeps in ``next_step_final_output`` (Python does not store it)."""
    if not generated:
        return ""
    last = generated[-1]
    if last["type"] == "message_output_item":
        parts = last["rawItem"]["content"]
        return "".join(p.get("text", "") for p in parts if p["type"] == "output_text")
    output = last.get("output")
    return output if isinstance(output, str) else json.dumps(output)


class _Encoder:
    """One translation; each method produces one part of the JS snapshot."""

    def __init__(self, py: Mapping[str, Any], state_type: str, now: datetime | None) -> None:
        self.py = py
        self.state_type = state_type
        self.now = now
        self.call_names, owners = _py_calls(py)
        self.py_context = as_object(py.get("context"), "context")
        self.items = ItemContext(
            call_names=self.call_names,
            rejected_call_ids=_approvals.py_rejected_call_ids(self.py_context, owners),
        )
        self.current_agent = agent_name(py.get("current_agent"), "current_agent")

    def item(self, value: Any, where: str) -> JsonObject:
        return item_py_to_js(value, where, self.items)

    def raw(self, value: Any, where: str) -> JsonObject:
        return _raw_items.py_to_js(value, where, self.call_names)

    def original_input(self) -> str | list[JsonObject]:
        original = self.py.get("original_input")
        if isinstance(original, str):
            return original
        items = as_list(original, "original_input")
        return [self.raw(v, f"original_input[{n}]") for n, v in enumerate(items)]

    def responses(self) -> list[JsonObject]:
        out: list[JsonObject] = []
        for n, value in enumerate(as_list(self.py.get("model_responses") or [], "model_responses")):
            response = as_object(value, f"model_responses[{n}]")
            js: JsonObject = {
                "usage": _usage.py_to_js(
                    response.get("usage") or {},
                    f"model_responses[{n}].usage",
                    include_entries=False,
                ),
                "output": [
                    self.raw(o, f"model_responses[{n}].output[{m}]")
                    for m, o in enumerate(response.get("output") or [])
                ],
            }
            if response.get("response_id"):
                js["responseId"] = response["response_id"]
            if response.get("request_id"):
                js["requestId"] = response["request_id"]
            out.append(js)
        return out

    def step(self, generated: list[JsonObject]) -> tuple[JsonObject | None, list[JsonObject]]:
        """(``currentStep``, its interruptions)."""
        step = self.py.get("current_step") or {}
        if step.get("type") == "next_step_interruption":
            data = as_object(step.get("data") or {}, "current_step.data")
            interruptions = [
                self.item(v, f"current_step.interruptions[{n}]")
                for n, v in enumerate(data.get("interruptions") or [])
            ]
            return {"type": "next_step_interruption", "data": {"interruptions": interruptions}}, (
                interruptions
            )
        if step.get("type") == "next_step_run_again":
            return {"type": "next_step_run_again"}, []
        if self.state_type == "final":
            return {"type": "next_step_final_output", "output": _final_output(generated)}, []
        return None, []

    def context(
        self,
        generated: list[JsonObject],
        processed: JsonObject | None,
        interruptions: list[JsonObject],
        responses: list[JsonObject],
    ) -> JsonObject:
        calls = index_calls(
            generated,
            processed["newItems"] if processed else [],
            [(f["toolCall"], self.current_agent) for f in (processed or {}).get("functions", [])],
            [o for r in responses for o in r["output"]],
        )
        pending = {
            i["rawItem"]["callId"]: (i["agent"]["name"], i["toolName"]) for i in interruptions
        }
        function_approvals, invocations = _approvals.py_to_js(self.py_context, calls, pending)
        out: JsonObject = {
            "usage": _usage.py_to_js(self.py_context.get("usage") or {}, "context.usage"),
            "approvals": {},
        }
        if function_approvals:
            out["functionApprovals"] = function_approvals
        out["approvalInvocations"] = invocations  # mandatory since JS 1.18
        out["context"] = dict(self.py_context.get("context") or {})  # JS requires an object
        return out

    def ownership(self, processed: JsonObject | None) -> JsonObject | None:
        """JS ``currentResponseGeneratedItemOwnership`` from Python's same-purpose record."""
        ownership = self.py.get("current_response_generated_item_ownership")
        if self.state_type != "interrupted" or not isinstance(ownership, Mapping) or not processed:
            return None
        return {
            "generatedItemStartIndex": ownership.get("start"),
            "generatedItemEndIndexExclusive": ownership.get("end"),
            "interruptionGeneratedItemIndexes": list(ownership.get("interruptions") or []),
            "toolOutputGuardrailResultStartIndex": 0,  # tool guardrail results are refused
        }

    def encode(self) -> JsonObject:
        py = self.py
        generated = [
            self.item(v, f"generated_items[{n}]")
            for n, v in enumerate(as_list(py.get("generated_items") or [], "generated_items"))
        ]
        responses = self.responses()
        lpr = py.get("last_processed_response")
        processed = (
            _processed.py_to_js(
                as_object(lpr, "last_processed_response"), self.item, self.call_names
            )
            if lpr
            else None
        )
        step, interruptions = self.step(generated)
        trace, span = _trace.py_to_js(py.get("trace"), self.current_agent, self.now)
        tracker = as_object(py.get("tool_use_tracker") or {}, "tool_use_tracker")
        turn = py.get("current_turn", 0)
        out: JsonObject = {
            "$schemaVersion": JS_SCHEMA_VERSION,
            "currentTurn": turn,
            "currentAgent": agent_ref(self.current_agent),
            "originalInput": self.original_input(),
            "modelResponses": responses,
            "context": self.context(generated, processed, interruptions, responses),
            "toolUseTracker": {
                agent_name({"name": name}, "tool_use_tracker"): list(tools)
                for name, tools in tracker.items()
            },
            "maxTurns": py.get("max_turns"),
            "currentAgentSpan": span,
            # After a model response JS marks the agent run active, so a resume emits no
            # second agent_start (run.js); Python always writes ``no_active_agent_run: true``.
            "noActiveAgentRun": not responses,
            "inputGuardrailResults": _guardrails.convert_results(
                py.get("input_guardrail_results"), "input", "input_guardrail_results"
            ),
            # JS refuses to resume without it (run.js); Python only checkpoints after the
            # initial input guardrails of turn 1 passed (a tripwire raises, returns no state).
            "initialInputGuardrailsCompleted": turn > 0,
            "outputGuardrailResults": _guardrails.convert_results(
                py.get("output_guardrail_results"), "output", "output_guardrail_results"
            ),
            "toolInputGuardrailResults": [],
            "toolOutputGuardrailResults": [],
            "currentTurnInProgress": self.state_type == "interrupted",
        }
        if step is not None:
            out["currentStep"] = step
        if responses:
            out["lastModelResponse"] = responses[-1]
        out["generatedItems"] = generated
        ownership = self.ownership(processed)
        if ownership is not None:
            out["currentResponseGeneratedItemOwnership"] = ownership
        out["pendingAgentToolRuns"] = {}
        out["pendingAgentToolRunAliases"] = {}
        if processed is not None:
            out["lastProcessedResponse"] = processed
        # Sessions do not cross languages: 0 = nothing of this turn persisted by the reader yet.
        out["currentTurnPersistedItemCount"] = 0
        out.update(js_completion_records(generated))
        if py.get("reasoning_item_id_policy") in ("preserve", "omit"):
            out["reasoningItemIdPolicy"] = py["reasoning_item_id_policy"]
        out["trace"] = trace
        return out
