"""Run items (``generated_items`` / ``generatedItems`` entries) between the two SDKs.

The envelope is ``{type, raw_item, agent}`` in Python 0.24.0 (``RunState._serialize_item``) and
``{type, rawItem, agent}`` in JS 0.20.0 (``itemSchema`` in ``runState.js``). Display-only
Python fields (``description``, ``tool_origin``) are dropped towards JS and re-synthesized
towards Python; identity fields are recomputed for the target (``functionToolStateKey``,
``tool_lookup_key``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from timestep.state.codec import _raw_items
from timestep.state.codec._common import (
    JsonObject,
    agent_name,
    agent_ref,
    as_object,
    malformed,
    refuse,
)
from timestep.state.codec._fingerprints import js_function_state_key, name_from_js_state_key

__all__ = ["ItemContext", "js_to_py", "py_to_js"]

_FUNCTION_ORIGIN: JsonObject = {"type": "function"}


@dataclass
class ItemContext:
    """What item translation needs to know about the whole snapshot."""

    #: call id -> tool name, from every function call in the snapshot (JS outputs need it).
    call_names: dict[str, str] = field(default_factory=dict)
    #: call ids whose output is a rejection, not an execution (JS ``executionStatus``).
    rejected_call_ids: frozenset[str] = frozenset()
    #: agent names of the graph, checked on decode (None: not checked).
    known_agents: frozenset[str] | None = None


def _check_origin(item: Mapping[str, Any], where: str) -> None:
    origin = item.get("tool_origin")
    if origin is None:
        return
    origin_type = as_object(origin, f"{where}.tool_origin").get("type")
    if origin_type != "function":
        feature = {"agent_as_tool": "agents-as-tools (nested runs)", "mcp": "MCP tools"}.get(
            str(origin_type), f"tools of origin {origin_type!r}"
        )
        refuse(feature, f"{where} came from a {origin_type!r} tool")


def _py_approval_name(item: Mapping[str, Any], raw: Mapping[str, Any], where: str) -> str:
    if item.get("tool_namespace"):
        refuse("namespaced or deferred tools", f"{where} is namespaced")
    name = raw.get("name")
    lookup = item.get("tool_lookup_key")
    if lookup is not None:
        key = as_object(lookup, f"{where}.tool_lookup_key")
        if key.get("kind") != "bare":
            refuse("namespaced or deferred tools", f"{where} has lookup key {dict(key)!r}")
        name = key.get("name")
    tool_name = item.get("tool_name") or name
    if not isinstance(tool_name, str) or tool_name != name:
        refuse("renamed tool identities", f"{where} approves {tool_name!r} for call {name!r}")
    return tool_name


def py_to_js(item: Any, where: str, ctx: ItemContext) -> JsonObject:
    """One Python run item -> JS serialized run item."""
    obj = as_object(item, where)
    item_type = obj.get("type")
    raw = as_object(obj.get("raw_item"), f"{where}.raw_item")
    _check_origin(obj, where)
    if item_type in (
        "mcp_list_tools_item",
        "mcp_approval_request_item",
        "mcp_approval_response_item",
    ):
        refuse("MCP tools", f"{where} is a {item_type}")
    if item_type == "input_item":
        refuse("pending input (RunState.add_input)", f"{where} is an input item")
    js_raw = _raw_items.py_to_js(raw, f"{where}.raw_item", ctx.call_names)
    if item_type == "handoff_output_item":
        return {
            "type": item_type,
            "rawItem": js_raw,
            "sourceAgent": agent_ref(agent_name(obj.get("source_agent"), f"{where}.source_agent")),
            "targetAgent": agent_ref(agent_name(obj.get("target_agent"), f"{where}.target_agent")),
        }
    agent = agent_ref(agent_name(obj.get("agent"), f"{where}.agent"))
    if item_type in ("message_output_item", "tool_call_item", "handoff_call_item"):
        expected = "message" if item_type == "message_output_item" else "function_call"
        if js_raw.get("type", "message") != expected:
            refuse_raw_mismatch(item_type, js_raw, where)
        return {"type": item_type, "rawItem": js_raw, "agent": agent}
    if item_type == "tool_call_output_item":
        if js_raw.get("type") != "function_call_result":
            refuse_raw_mismatch(item_type, js_raw, where)
        out: JsonObject = {
            "type": item_type,
            "rawItem": js_raw,
            "agent": agent,
            "output": obj.get("output"),
        }
        if obj.get("custom_data"):
            out["customData"] = dict(as_object(obj["custom_data"], f"{where}.custom_data"))
        # JS marks outputs of tools that actually ran (1.17 execution provenance); a rejection
        # message is an output without execution.
        if js_raw["callId"] not in ctx.rejected_call_ids:
            out["executionStatus"] = "executed"
        return out
    if item_type == "tool_approval_item":
        if js_raw.get("type") != "function_call":
            refuse_raw_mismatch(item_type, js_raw, where)
        name = _py_approval_name(obj, raw, where)
        return {
            "type": item_type,
            "rawItem": js_raw,
            "agent": agent,
            "toolName": name,
            "functionToolStateKey": js_function_state_key(name),
        }
    _raw_items.refuse_item_type(str(item_type).removesuffix("_item"), where)


def refuse_raw_mismatch(item_type: Any, raw: Mapping[str, Any], where: str) -> NoReturn:
    _raw_items.refuse_item_type(raw.get("type"), f"{where} ({item_type})")


def js_to_py(item: Any, where: str, ctx: ItemContext) -> JsonObject:
    """One JS serialized run item -> Python run item."""
    obj = as_object(item, where)
    item_type = obj.get("type")
    raw = _raw_items.js_to_py(obj.get("rawItem"), f"{where}.rawItem")
    known = ctx.known_agents
    if item_type == "handoff_output_item":
        source = agent_name(obj.get("sourceAgent"), f"{where}.sourceAgent", known)
        target = agent_name(obj.get("targetAgent"), f"{where}.targetAgent", known)
        return {
            "type": item_type,
            "raw_item": raw,
            "agent": agent_ref(source),
            "source_agent": agent_ref(source),
            "target_agent": agent_ref(target),
        }
    if item_type == "input_item":
        refuse("pending input (RunState.add_input)", f"{where} is an input item")
    agent = agent_ref(agent_name(obj.get("agent"), f"{where}.agent", known))
    if item_type in ("message_output_item", "handoff_call_item"):
        return {"type": item_type, "raw_item": raw, "agent": agent}
    if item_type == "tool_call_item":
        if raw.get("type") != "function_call":
            refuse_raw_mismatch(item_type, raw, where)
        _check_js_state_key(obj, raw, where)
        return {
            "type": item_type,
            "raw_item": raw,
            "agent": agent,
            "tool_name": raw["name"],
            "tool_origin": dict(_FUNCTION_ORIGIN),
        }
    if item_type == "tool_call_output_item":
        out: JsonObject = {
            "type": item_type,
            "raw_item": raw,
            "agent": agent,
            "output": obj.get("output"),
            "tool_origin": dict(_FUNCTION_ORIGIN),
        }
        if obj.get("customData"):
            out["custom_data"] = dict(as_object(obj["customData"], f"{where}.customData"))
        return out
    if item_type == "tool_approval_item":
        if raw.get("type") != "function_call":
            refuse_raw_mismatch(item_type, raw, where)
        name = _check_js_state_key(obj, raw, where)
        tool_name = obj.get("toolName") or name
        if tool_name != name:
            refuse("renamed tool identities", f"{where} approves {tool_name!r} for call {name!r}")
        return {
            "type": item_type,
            "raw_item": raw,
            "agent": agent,
            "tool_name": name,
            "tool_lookup_key": {"kind": "bare", "name": name},
            "tool_origin": dict(_FUNCTION_ORIGIN),
        }
    if not isinstance(item_type, str):
        malformed(where, "run item without a type")
    _raw_items.refuse_item_type(item_type.removesuffix("_item"), where)


def _check_js_state_key(item: Mapping[str, Any], raw: Mapping[str, Any], where: str) -> str:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        malformed(where, "function call without a name")
    state_key = item.get("functionToolStateKey")
    if state_key is not None and name_from_js_state_key(str(state_key)) != name:
        refuse("namespaced or deferred tools", f"{where} has tool identity {state_key!r}")
    return name
