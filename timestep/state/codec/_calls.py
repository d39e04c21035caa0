"""An index of the function calls in a JS-form snapshot, and their completion records.

Both codec directions work on the JS form at this point (encode translates items first; decode
reads them as given), so call discovery is written once, against JS ``itemSchema`` shapes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from timestep.state.codec._common import JsonObject, malformed, refuse
from timestep.state.codec._fingerprints import (
    js_fingerprint,
    js_function_state_key,
    js_handoff_tool_name,
)

__all__ = ["Call", "CallIndex", "index_calls", "js_completion_records"]


@dataclass(frozen=True)
class Call:
    call_id: str
    name: str
    arguments: str
    #: owning agent name; None when only seen in a model response (not a run item)
    agent: str | None
    handoff: bool

    @property
    def js_tool_name(self) -> str:
        """The canonical tool name JS fingerprints this call under."""
        return js_handoff_tool_name(self.name) if self.handoff else js_function_state_key(self.name)

    @property
    def js_fingerprint(self) -> str:
        return js_fingerprint(self.js_tool_name, self.arguments)


@dataclass
class CallIndex:
    calls: dict[str, Call] = field(default_factory=dict)
    #: call ids answered by an output run item in the generated history
    completed: set[str] = field(default_factory=set)

    def add(self, raw: Mapping[str, Any], agent: str | None, handoff: bool, where: str) -> None:
        call_id, name, arguments = raw.get("callId"), raw.get("name"), raw.get("arguments")
        if not isinstance(call_id, str) or not call_id or not isinstance(name, str):
            malformed(where, "function call without callId/name")
        if not isinstance(arguments, str):
            malformed(where, "function call arguments must be a string")
        previous = self.calls.get(call_id)
        call = Call(
            call_id, name, arguments, agent or (previous.agent if previous else None), handoff
        )
        if previous is not None:
            if (previous.name, previous.arguments) != (name, arguments) or (
                previous.agent and agent and previous.agent != agent
            ):
                # Python raises "Model reused a tool call ID", JS marks the id ambiguous.
                refuse("reused tool call ids", f"call id {call_id!r} names two different calls")
            call = Call(call_id, name, arguments, call.agent, previous.handoff or handoff)
        self.calls[call_id] = call

    def names(self) -> dict[str, str]:
        return {call_id: call.name for call_id, call in self.calls.items()}


def _item_agent(item: Mapping[str, Any]) -> str | None:
    agent = item.get("agent") or item.get("sourceAgent")
    return agent.get("name") if isinstance(agent, Mapping) else None


def index_calls(
    generated_items: Iterable[Mapping[str, Any]],
    processed_items: Iterable[Mapping[str, Any]],
    processed_functions: Iterable[tuple[Mapping[str, Any], str]],
    response_outputs: Iterable[Mapping[str, Any]],
) -> CallIndex:
    """Index calls from JS-form run items, processed-response functions and model outputs."""
    index = CallIndex()
    for where, items in (("generatedItems", generated_items), ("newItems", processed_items)):
        for n, item in enumerate(items):
            raw = item.get("rawItem")
            if not isinstance(raw, Mapping):
                continue
            item_type = item.get("type")
            if item_type in ("tool_call_item", "tool_approval_item", "handoff_call_item"):
                if raw.get("type") == "function_call":
                    index.add(
                        raw, _item_agent(item), item_type == "handoff_call_item", f"{where}[{n}]"
                    )
            elif (
                item_type in ("tool_call_output_item", "handoff_output_item")
                and where == "generatedItems"
            ):
                call_id = raw.get("callId")
                if isinstance(call_id, str):
                    index.completed.add(call_id)
    for tool_call, agent in processed_functions:
        index.add(tool_call, agent, False, "lastProcessedResponse.functions")
    for raw in response_outputs:
        if raw.get("type") == "function_call":
            index.add(raw, None, False, "modelResponses")
    return index


@dataclass
class _Open:
    index: int
    fingerprint: str


def js_completion_records(generated_items: list[JsonObject]) -> dict[str, Any]:
    """``completedToolInvocations`` + evidence + ambiguous ids, as JS infers them (1.18+).

    Mirrors ``inferCompletedToolInvocations`` for the supported subset: a completed call is a
    ``tool_call_item``/``handoff_call_item`` followed by its output item from the same agent,
    fingerprinted under the tool's state key (``handoff:<name>`` for handoffs). JS validates
    the records against the history on load, so they must agree exactly.
    """
    open_calls: dict[tuple[str, str], _Open] = {}
    completed: dict[str, dict[str, str]] = {}
    evidence: dict[str, dict[str, JsonObject]] = {}
    ambiguous: dict[str, set[str]] = {}
    for position, item in enumerate(generated_items):
        item_type = item["type"]
        raw = item["rawItem"]
        if item_type in ("tool_call_item", "handoff_call_item"):
            agent = item["agent"]["name"]
            handoff = item_type == "handoff_call_item"
            name = (
                js_handoff_tool_name(raw["name"]) if handoff else js_function_state_key(raw["name"])
            )
            open_calls.setdefault(
                (agent, raw["callId"]), _Open(position, js_fingerprint(name, raw["arguments"]))
            )
        elif item_type in ("tool_call_output_item", "handoff_output_item"):
            agent = (item.get("agent") or item["sourceAgent"])["name"]
            call_id = raw["callId"]
            opened = open_calls.pop((agent, call_id), None)
            if opened is None:
                ambiguous.setdefault(agent, set()).add(call_id)
                continue
            completed.setdefault(agent, {})[call_id] = opened.fingerprint
            evidence.setdefault(agent, {})[call_id] = {
                "fingerprint": opened.fingerprint,
                "items": [{"generatedItemIndex": opened.index}, {"generatedItemIndex": position}],
            }
    return {
        "completedToolInvocations": [
            {"agentIdentity": agent, "invocations": invocations}
            for agent, invocations in completed.items()
        ],
        "completedToolInvocationEvidence": [
            {"agentIdentity": agent, "invocations": invocations}
            for agent, invocations in evidence.items()
        ],
        "ambiguousToolInvocationCallIds": [
            {"agentIdentity": agent, "callIds": sorted(call_ids)}
            for agent, call_ids in ambiguous.items()
        ],
    }
