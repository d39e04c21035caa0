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


def decode_to_py_json(agent: Agent[Any], data: str | bytes | Mapping[str, Any]) -> JsonObject:
    """Validate a JS snapshot and translate it to Python ``RunState.to_json()`` form."""
    js = load_json(data)
    validate_shape(js)
    graph = AgentGraph(agent)
    known = graph.names
    ctx = ItemContext(known_agents=known)

    def item(value: Any, where: str) -> JsonObject:
        return item_js_to_py(value, where, ctx)

    current_agent = agent_name(js["currentAgent"], "currentAgent", known)
    for name in as_object(js["toolUseTracker"], "toolUseTracker"):
        agent_name({"name": name}, "toolUseTracker", known)
    generated = [item(v, f"generatedItems[{n}]") for n, v in enumerate(js["generatedItems"])]

    step = js.get("currentStep") or {}
    interruptions: list[JsonObject] = []
    py_step: JsonObject | None = None
    if step.get("type") == "next_step_interruption":
        data_obj = as_object(step.get("data") or {}, "currentStep.data")
        interruptions = [
            item(v, f"currentStep.interruptions[{n}]")
            for n, v in enumerate(
                as_list(data_obj.get("interruptions") or [], "currentStep.data.interruptions")
            )
        ]
        if not interruptions:
            malformed("currentStep", "an interruption step without interruptions")
        py_step = {
            "type": "next_step_interruption",
            "data": {
                "interruptions": interruptions,
                "response_accepted": False,
                "llm_end_hooks_started": True,
            },
        }
    elif step.get("type") == "next_step_run_again":
        py_step = {"type": "next_step_run_again"}

    lpr = js.get("lastProcessedResponse")
    processed: JsonObject | None = None
    # A finished run has no pending work: Python leaves last_processed_response unset then.
    if lpr is not None and step.get("type") != "next_step_final_output":
        processed = _processed.js_to_py(
            as_object(lpr, "lastProcessedResponse"), item, interruptions
        )
        _check_pending_tools(processed["functions"], current_agent, graph)

    responses = [
        {
            "usage": _usage.js_to_py(r.get("usage") or {}, f"modelResponses[{n}].usage"),
            "output": [
                _raw_items.js_to_py(o, f"modelResponses[{n}].output[{m}]")
                for m, o in enumerate(as_list(r.get("output") or [], f"modelResponses[{n}].output"))
            ],
            "response_id": r.get("responseId"),
            "request_id": r.get("requestId"),
        }
        for n, r in enumerate(as_object(r, "modelResponses[]") for r in js["modelResponses"])
    ]

    # Calls are indexed on the JS form (their canonical source) for the ledger and bindings.
    js_lpr = as_object(lpr, "lastProcessedResponse") if processed is not None else {}
    calls = index_calls(
        js["generatedItems"],
        js_lpr.get("newItems") or [],
        [(f["toolCall"], current_agent) for f in js_lpr.get("functions") or []],
        [o for r in js["modelResponses"] for o in (r.get("output") or [])],
    )
    js_context = js["context"]
    py_context: JsonObject = {
        "usage": _usage.js_to_py(js_context["usage"], "context.usage"),
        "approvals": {},
        "tool_invocations": py_tool_invocations(calls),
        "context": dict(js_context["context"]),
        "context_meta": dict(_MAPPING_CONTEXT_META),
    }
    function_approvals = _approvals.js_to_py(js_context, calls, known)
    if function_approvals:
        py_context["function_tool_approvals"] = function_approvals

    original = js["originalInput"]
    out: JsonObject = {
        "$schemaVersion": PY_SCHEMA_VERSION,
        "current_turn": js["currentTurn"],
        "current_agent": agent_ref(current_agent),
        "original_input": original
        if isinstance(original, str)
        else [_raw_items.js_to_py(v, f"originalInput[{n}]") for n, v in enumerate(original)],
        "pending_input": [],
        "model_responses": responses,
        "context": py_context,
        "tool_use_tracker": {k: list(v) for k, v in js["toolUseTracker"].items()},
        "max_turns": js.get("maxTurns"),
        "no_active_agent_run": True,  # Python always writes true (RunState.to_json)
        "input_guardrail_results": _guardrails.convert_results(
            js["inputGuardrailResults"], "input", "inputGuardrailResults"
        ),
        "output_guardrail_results": _guardrails.convert_results(
            js["outputGuardrailResults"], "output", "outputGuardrailResults", known
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
    ownership = js.get("currentResponseGeneratedItemOwnership")
    if (
        py_step is not None
        and py_step["type"] == "next_step_interruption"
        and isinstance(ownership, Mapping)
    ):
        out["current_response_generated_item_ownership"] = {
            "start": ownership.get("generatedItemStartIndex"),
            "end": ownership.get("generatedItemEndIndexExclusive"),
            "interruptions": list(ownership.get("interruptionGeneratedItemIndexes") or []),
        }
    out["generated_items"] = generated
    out["current_step"] = py_step
    out["last_model_response"] = responses[-1] if responses else None
    out["last_processed_response"] = processed
    out["current_turn_persisted_item_count"] = 0
    out["trace"] = _trace.js_to_py(js.get("trace"))
    return out
