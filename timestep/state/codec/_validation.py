"""Checks on a JS-form snapshot before anything is handed to the Python SDK.

``RunState.from_json`` redacts most failures into ``RuntimeError: Error details are
redacted.`` and silently skips items whose agent or tool it cannot resolve
(``run_state._deserialize_items`` / ``_deserialize_processed_response``). So the decoder
validates the JSON text, the schema label, the top-level shape, the agent names and the
refused JS-only features here, and raises timestep's own errors with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agents import Agent, FunctionTool, Handoff

from timestep.errors import SnapshotFormatError, SnapshotVersionError
from timestep.state.codec._common import as_object, malformed, refuse
from timestep.state.codec._versions import JS_SCHEMA_VERSION, JS_SDK_VERSION

__all__ = ["AgentGraph", "load_json", "validate_shape"]


class AgentGraph:
    """Names, function tools and input-guardrail counts of the agents reachable from the
    starting agent by handoffs (the same traversal as the SDK's ``_iter_agent_graph``)."""

    def __init__(self, starting_agent: Agent[Any]) -> None:
        self.tools: dict[str, frozenset[str]] = {}
        self.input_guardrails: dict[str, int] = {}
        queue: list[Agent[Any]] = [starting_agent]
        seen: set[int] = set()
        while queue:
            agent = queue.pop(0)
            if id(agent) in seen:
                continue
            seen.add(id(agent))
            self.tools.setdefault(
                agent.name, frozenset(t.name for t in agent.tools if isinstance(t, FunctionTool))
            )
            self.input_guardrails.setdefault(agent.name, len(agent.input_guardrails))
            for target in agent.handoffs:
                if isinstance(target, Agent):
                    queue.append(target)
                elif isinstance(target, Handoff):
                    ref = getattr(target, "_agent_ref", None)
                    resolved = ref() if callable(ref) else None
                    if isinstance(resolved, Agent):
                        queue.append(resolved)
        self.names = frozenset(self.tools)


def load_json(data: str | bytes | Mapping[str, Any]) -> Mapping[str, Any]:
    """Parse the snapshot text (or accept a mapping) and check its schema label."""
    if isinstance(data, str | bytes):
        try:
            parsed = json.loads(data)
        except ValueError as error:
            raise SnapshotFormatError(
                f"The run state snapshot is not valid JSON: {error}."
            ) from None
    else:
        parsed = data
    if not isinstance(parsed, Mapping):
        raise SnapshotFormatError("The run state snapshot must be a JSON object.")
    version = parsed.get("$schemaVersion")
    if version is None:
        raise SnapshotFormatError("The run state snapshot has no $schemaVersion.")
    if not isinstance(version, str):
        raise SnapshotFormatError("The run state snapshot's $schemaVersion must be a string.")
    if version != JS_SCHEMA_VERSION:
        hint = (
            " It looks like a Python-native snapshot (snake_case keys); load it with "
            "agents.RunState.from_json instead."
            if "current_turn" in parsed
            else ""
        )
        raise SnapshotVersionError(
            f"Unsupported JS RunState $schemaVersion {version!r}: this timestep reads "
            f"{JS_SCHEMA_VERSION} (@openai/agents-core {JS_SDK_VERSION}) only.{hint}"
        )
    return parsed


_REQUIRED: tuple[tuple[str, tuple[type, ...]], ...] = (
    ("currentTurn", (int,)),
    ("currentAgent", (Mapping,)),
    ("originalInput", (str, list)),
    ("modelResponses", (list,)),
    ("context", (Mapping,)),
    ("toolUseTracker", (Mapping,)),
    ("noActiveAgentRun", (bool,)),
    ("inputGuardrailResults", (list,)),
    ("outputGuardrailResults", (list,)),
    ("generatedItems", (list,)),
    # Mandatory since JS 1.18 (buildRunStateFromJson refuses snapshots without them).
    ("completedToolInvocations", (list,)),
    ("completedToolInvocationEvidence", (list,)),
    ("ambiguousToolInvocationCallIds", (list,)),
)

# JS-only state that has no Python counterpart in the supported subset.
_REFUSED: tuple[tuple[str, str], ...] = (
    ("pendingInput", "pending input (RunState.add_input)"),
    ("pendingAgentToolRuns", "agents-as-tools (nested runs)"),
    ("pendingAgentToolRunAliases", "agents-as-tools (nested runs)"),
    ("pendingSessionWrite", "pending session writes"),
    ("pendingSessionHistoryTransaction", "pending session writes"),
    ("currentTurnDeferredSessionItemIndexes", "pending session writes"),
    ("currentTurnBlockedSessionStartIndex", "pending session writes"),
    ("currentTurnExecutedWithSessionBinding", "pending session writes"),
    ("currentTurnSessionWriteCompactedItemCount", "pending session writes"),
    ("pendingLegacyCompactionSessionItems", "compaction items"),
    ("conversationId", "server-managed conversations (conversation_id)"),
    ("previousResponseId", "server-managed conversations (previous_response_id)"),
    ("sandbox", "sandbox agents"),
    ("toolInputGuardrailResults", "tool guardrail results"),
    ("toolOutputGuardrailResults", "tool guardrail results"),
)


def _type_name(types: tuple[type, ...]) -> str:
    names = {int: "integer", str: "string", list: "list", bool: "boolean", Mapping: "object"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def validate_shape(js: Mapping[str, Any]) -> None:
    """The top-level shape JS's ``SerializedRunState`` requires, plus refused features."""
    for key, types in _REQUIRED:
        value = js.get(key)
        if isinstance(value, bool) and bool not in types:
            value = None
        if not isinstance(value, types):
            malformed(key, f"expected {_type_name(types)}, got {type(value).__name__}")
    max_turns = js.get("maxTurns")
    if max_turns is not None and (isinstance(max_turns, bool) or not isinstance(max_turns, int)):
        malformed("maxTurns", "expected an integer or null")
    if js.get("trace") is not None:
        as_object(js["trace"], "trace")
    context = as_object(js["context"], "context")
    for key in ("usage", "approvals", "context"):
        as_object(context.get(key), f"context.{key}")
    if not isinstance(context.get("approvalInvocations"), list):
        malformed("context.approvalInvocations", "required list is missing")
    if context.get("toolInput") is not None:
        refuse("agents-as-tools (nested runs)", "context.toolInput is set")
    for key, feature in _REFUSED:
        if js.get(key):
            refuse(feature, f"{key} is set")
    step = js.get("currentStep")
    if step is not None:
        step = as_object(step, "currentStep")
        kind = step.get("type")
        if kind == "next_step_handoff":
            refuse("mid-handoff checkpoints", "currentStep is next_step_handoff")
        if kind not in ("next_step_interruption", "next_step_final_output", "next_step_run_again"):
            malformed("currentStep.type", f"unknown step {kind!r}")
        data = step.get("data") if kind == "next_step_interruption" else step
        if isinstance(data, Mapping) and (
            data.get("responseAccepted") or data.get("localProcessingStarted")
        ):
            refuse(
                "server-accepted response checkpoints", "currentStep records an accepted response"
            )
