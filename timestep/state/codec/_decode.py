"""JS RunState JSON (agents-core 0.20.0, schema 1.22) -> Python RunState (openai-agents 0.24.0).

The decoder validates first (``_validation``), translates to the Python snapshot format, then
lets the SDK's own ``RunState.from_json`` build the state. Identity-bound Python fields are
recomputed: the invocation ledger (``tool_invocations``), sticky approval scopes and tool lookup
keys. Session bookkeeping is not carried (sessions do not cross languages).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents import Agent, RunState

from timestep.errors import SnapshotError, SnapshotFormatError
from timestep.state.codec import _approvals, _guardrails, _processed, _raw_items, _trace, _usage
from timestep.state.codec._calls import index_calls
from timestep.state.codec._common import (
    JsonObject,
    agent_name,
    agent_ref,
    as_list,
    as_object,
    malformed,
    refuse,
)
from timestep.state.codec._ledger import py_tool_invocations
from timestep.state.codec._run_items import ItemContext
from timestep.state.codec._run_items import js_to_py as item_js_to_py
from timestep.state.codec._validation import AgentGraph, load_json, validate_shape
from timestep.state.codec._versions import PY_SCHEMA_VERSION

__all__ = ["decode_js", "decode_to_py_json"]

_MAPPING_CONTEXT_META: JsonObject = {
    "original_type": "mapping",
    "serialized_via": "mapping",
    "requires_deserializer": False,
    "omitted": False,
}


async def decode_js(
    agent: Agent[Any], data: str | bytes | Mapping[str, Any], *, context_override: Any = None
) -> RunState[Any]:
    """See :func:`timestep.state.codec.decode_js`."""
    py = decode_to_py_json(agent, data)
    try:
        return await RunState.from_json(agent, py, context_override=context_override)
    except SnapshotError:
        raise
    except Exception as error:
        # The SDK redacts its reasons; everything checkable was checked above, so what is left
        # is an inconsistency between the snapshot and this agent graph.
        raise SnapshotFormatError(
            f"The Python SDK refused the translated snapshot ({type(error).__name__}: {error}). "
            "Check that the agent graph matches the one the run was started with."
        ) from None


def _check_pending_tools(functions: list[JsonObject], agent: str, graph: AgentGraph) -> None:
    # Python drops a pending call whose tool the agent lacks without a word
    # (_deserialize_processed_response), which would lose the approval: fail instead.
    for entry in functions:
        name = entry["tool"]["name"]
        if name not in graph.tools.get(agent, frozenset()):
            raise SnapshotFormatError(
                f"The snapshot has a pending call to tool {name!r}, which agent {agent!r} does "
                "not have. Pass the agent graph the run was started with."
            )


def _check_input_guardrails(js: Mapping[str, Any], graph: AgentGraph, current_agent: str) -> None:
    """Refuse a snapshot whose initial input guardrails have not run, where Python would skip them.

    JS records ``initialInputGuardrailsCompleted`` and refuses to resume a started snapshot
    without it (run.js); Python runs input guardrails only when a run starts from input, never
    on a resumed state (run.py: ``current_turn == 0 and not resuming_turn``). So a started
    snapshot without the flag, or a fresh one whose agent has input guardrails, would resume in
    Python with its input never checked.
    """
    if js.get("initialInputGuardrailsCompleted") is True:
        return
    if js["currentTurn"] > 0 or graph.input_guardrails.get(current_agent):
        refuse(
            "checkpoints whose input guardrails have not run",
            "Python does not run input guardrails when resuming a state; start the run from "
            "its input instead",
        )


def decode_to_py_json(agent: Agent[Any], data: str | bytes | Mapping[str, Any]) -> JsonObject:
    """Validate a JS snapshot and translate it to Python ``RunState.to_json()`` form."""
    js = load_json(data)
    validate_shape(js)
    decoder = _Decoder(js, AgentGraph(agent))
    _check_input_guardrails(js, decoder.graph, decoder.current_agent)
    return decoder.decode()


class _Decoder:
    """One translation; each method produces one part of the Python snapshot."""

    def __init__(self, js: Mapping[str, Any], graph: AgentGraph) -> None:
        self.js = js
        self.graph = graph
        self.items = ItemContext(known_agents=graph.names)
        self.current_agent = agent_name(js["currentAgent"], "currentAgent", graph.names)
        for name in as_object(js["toolUseTracker"], "toolUseTracker"):
            agent_name({"name": name}, "toolUseTracker", graph.names)
        step = js.get("currentStep")
        self.step_type = step.get("type") if isinstance(step, Mapping) else None

    def item(self, value: Any, where: str) -> JsonObject:
        return item_js_to_py(value, where, self.items)

    def step(self) -> tuple[JsonObject | None, list[JsonObject]]:
        """(``current_step``, its interruptions); a final step is Python's ``None``."""
        if self.step_type == "next_step_run_again":
            return {"type": "next_step_run_again"}, []
        if self.step_type != "next_step_interruption":
            return None, []
        data = as_object(self.js["currentStep"].get("data") or {}, "currentStep.data")
        raw = as_list(data.get("interruptions") or [], "currentStep.data.interruptions")
        interruptions = [self.item(v, f"currentStep.interruptions[{n}]") for n, v in enumerate(raw)]
        if not interruptions:
            malformed("currentStep", "an interruption step without interruptions")
        # JS 1.18+ rejects accepted-response progress without a server-managed conversation,
        # and such conversations are refused, so the response was never accepted.
        flags = {"response_accepted": False, "llm_end_hooks_started": True}
        return {
            "type": "next_step_interruption",
            "data": {"interruptions": interruptions, **flags},
        }, (interruptions)

    def processed(self, interruptions: list[JsonObject]) -> JsonObject | None:
        lpr = self.js.get("lastProcessedResponse")
        # A finished run has no pending work: Python leaves last_processed_response unset then.
        if lpr is None or self.step_type == "next_step_final_output":
            return None
        out = _processed.js_to_py(as_object(lpr, "lastProcessedResponse"), self.item, interruptions)
        _check_pending_tools(out["functions"], self.current_agent, self.graph)
        return out

    def responses(self) -> list[JsonObject]:
        out: list[JsonObject] = []
        for n, value in enumerate(self.js["modelResponses"]):
            response = as_object(value, f"modelResponses[{n}]")
            outputs = as_list(response.get("output") or [], f"modelResponses[{n}].output")
            out.append(
                {
                    "usage": _usage.js_to_py(
                        response.get("usage") or {}, f"modelResponses[{n}].usage"
                    ),
                    "output": [
                        _raw_items.js_to_py(o, f"modelResponses[{n}].output[{m}]")
                        for m, o in enumerate(outputs)
                    ],
                    "response_id": response.get("responseId"),
                    "request_id": response.get("requestId"),
                }
            )
        return out

    def context(self, with_processed: bool) -> JsonObject:
        js, js_context = self.js, self.js["context"]
        lpr = as_object(js.get("lastProcessedResponse") or {}, "lastProcessedResponse")
        lpr = lpr if with_processed else {}
        # Calls are indexed on the JS form (their canonical source) for ledger and bindings.
        calls = index_calls(
            js["generatedItems"],
            lpr.get("newItems") or [],
            [(f["toolCall"], self.current_agent) for f in lpr.get("functions") or []],
            [o for r in js["modelResponses"] for o in (r.get("output") or [])],
        )
        out: JsonObject = {
            "usage": _usage.js_to_py(js_context["usage"], "context.usage"),
            "approvals": {},
            "tool_invocations": py_tool_invocations(calls),
            "context": dict(js_context["context"]),
            "context_meta": dict(_MAPPING_CONTEXT_META),
        }
        function_approvals = _approvals.js_to_py(js_context, calls, self.graph.names)
        if function_approvals:
            out["function_tool_approvals"] = function_approvals
        return out

    def original_input(self) -> str | list[JsonObject]:
        original = self.js["originalInput"]
        if isinstance(original, str):
            return original
        return [_raw_items.js_to_py(v, f"originalInput[{n}]") for n, v in enumerate(original)]

    def ownership(self, step: JsonObject | None) -> JsonObject | None:
        ownership = self.js.get("currentResponseGeneratedItemOwnership")
        if (
            step is None
            or step["type"] != "next_step_interruption"
            or not isinstance(ownership, Mapping)
        ):
            return None
        return {
            "start": ownership.get("generatedItemStartIndex"),
            "end": ownership.get("generatedItemEndIndexExclusive"),
            "interruptions": list(ownership.get("interruptionGeneratedItemIndexes") or []),
        }

    def decode(self) -> JsonObject:
        js = self.js
        generated = [
            self.item(v, f"generatedItems[{n}]") for n, v in enumerate(js["generatedItems"])
        ]
        step, interruptions = self.step()
        processed = self.processed(interruptions)
        responses = self.responses()
        out: JsonObject = {
            "$schemaVersion": PY_SCHEMA_VERSION,
            "current_turn": js["currentTurn"],
            "current_agent": agent_ref(self.current_agent),
            "original_input": self.original_input(),
            "pending_input": [],
            "model_responses": responses,
            "context": self.context(processed is not None),
            "tool_use_tracker": {k: list(v) for k, v in js["toolUseTracker"].items()},
            "max_turns": js.get("maxTurns"),
            "no_active_agent_run": True,  # what Python always writes (RunState.to_json)
            "input_guardrail_results": _guardrails.convert_results(
                js["inputGuardrailResults"], "input", "inputGuardrailResults"
            ),
            "output_guardrail_results": _guardrails.convert_results(
                js["outputGuardrailResults"], "output", "outputGuardrailResults", self.graph.names
            ),
            "tool_input_guardrail_results": [],
            "tool_output_guardrail_results": [],
            "conversation_id": None,
            "previous_response_id": None,
            "auto_previous_response_id": False,
            "generated_prompt_cache_key": None,
            "reasoning_item_id_policy": js.get("reasoningItemIdPolicy"),
            "nested_history_owned_session_item_refs": [],
        }
        ownership = self.ownership(step)
        if ownership is not None:
            out["current_response_generated_item_ownership"] = ownership
        out["generated_items"] = generated
        out["current_step"] = step
        out["last_model_response"] = responses[-1] if responses else None
        out["last_processed_response"] = processed
        # Sessions do not cross languages (session_items are rebuilt from generated_items).
        out["current_turn_persisted_item_count"] = 0
        out["trace"] = _trace.js_to_py(js.get("trace"))
        return out
