"""The last processed model response (the pending work of an interrupted turn).

Python 0.24.0 ``_serialize_processed_response`` stores ``functions[{tool_call, tool{name,
lookupKey, description, paramsJsonSchema}}]`` and the turn's ``interruptions``; JS 0.20.0
``serializeProcessedResponse`` embeds the full serialized tool and an ``mcpToolBinding``. Both
re-resolve the tool from the live agent by name, so a minimal tool description suffices. JS
needs ``mcpToolBinding: null`` for a plain function tool: a missing binding reads as "unknown
recipient", which 1.21+ refuses to execute.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from timestep.state.codec import _raw_items
from timestep.state.codec._common import JsonObject, as_list, as_object, refuse

__all__ = ["js_to_py", "py_to_js"]

_PY_REFUSED = {
    "computer_actions": "the computer tool",
    "custom_tool_actions": "custom tools",
    "local_shell_actions": "the local shell tool",
    "shell_actions": "the shell tool",
    "apply_patch_actions": "the apply_patch tool",
    "mcp_approval_requests": "MCP tools",
    "mcp_tool_bindings": "MCP tools",
    "handoffs": "handoffs pending in an interrupted turn",
}
_JS_REFUSED = {
    "computerActions": "the computer tool",
    "shellActions": "the shell tool",
    "applyPatchActions": "the apply_patch tool",
    "mcpApprovalRequests": "MCP tools",
    "functionToolsNotFound": "calls to tools the agent does not have",
    "handoffs": "handoffs pending in an interrupted turn",
}

ItemConverter = Callable[[Any, str], JsonObject]


def py_to_js(
    lpr: Mapping[str, Any], convert_item: ItemConverter, call_names: Mapping[str, str]
) -> JsonObject:
    for key, feature in _PY_REFUSED.items():
        if lpr.get(key):
            refuse(feature, f"last_processed_response.{key} is not empty")
    if lpr.get("tool_output_guardrail_result_start"):
        refuse("tool guardrail results", "the processed response has tool output guardrails")
    functions: list[JsonObject] = []
    for n, entry in enumerate(
        as_list(lpr.get("functions") or [], "last_processed_response.functions")
    ):
        where = f"last_processed_response.functions[{n}]"
        entry = as_object(entry, where)
        if entry.get("agent_run_state") is not None:
            refuse("agents-as-tools (nested runs)", f"{where} has a nested run")
        tool = as_object(entry.get("tool"), f"{where}.tool")
        lookup = tool.get("lookupKey")
        if (
            lookup is not None
            and as_object(lookup, f"{where}.tool.lookupKey").get("kind") != "bare"
        ):
            refuse("namespaced or deferred tools", f"{where} uses lookup key {lookup!r}")
        js_tool: JsonObject = {"type": "function", "name": tool.get("name")}
        if isinstance(tool.get("description"), str):
            js_tool["description"] = tool["description"]
        if isinstance(tool.get("paramsJsonSchema"), Mapping):
            js_tool["parameters"] = dict(tool["paramsJsonSchema"])
        functions.append(
            {
                "toolCall": _raw_items.py_to_js(
                    entry.get("tool_call"), f"{where}.tool_call", call_names
                ),
                "tool": js_tool,
                "mcpToolBinding": None,
            }
        )
    return {
        "newItems": [
            convert_item(item, f"last_processed_response.new_items[{n}]")
            for n, item in enumerate(as_list(lpr.get("new_items") or [], "new_items"))
        ],
        "toolsUsed": list(as_list(lpr.get("tools_used") or [], "tools_used")),
        "handoffs": [],
        "functions": functions,
        "functionToolsNotFound": [],
        "computerActions": [],
        "shellActions": [],
        "applyPatchActions": [],
        "mcpApprovalRequests": [],
    }


def js_to_py(
    lpr: Mapping[str, Any], convert_item: ItemConverter, interruptions: list[JsonObject]
) -> JsonObject:
    for key, feature in _JS_REFUSED.items():
        if lpr.get(key):
            refuse(feature, f"lastProcessedResponse.{key} is not empty")
    functions: list[JsonObject] = []
    for n, entry in enumerate(
        as_list(lpr.get("functions") or [], "lastProcessedResponse.functions")
    ):
        where = f"lastProcessedResponse.functions[{n}]"
        entry = as_object(entry, where)
        if entry.get("mcpToolBinding") is not None:
            refuse("MCP tools", f"{where} is bound to an MCP server")
        call = _raw_items.js_to_py(entry.get("toolCall"), f"{where}.toolCall")
        tool = as_object(entry.get("tool") or {}, f"{where}.tool")
        name = call["name"]
        py_tool: JsonObject = {"name": name, "lookupKey": {"kind": "bare", "name": name}}
        if isinstance(tool.get("description"), str):
            py_tool["description"] = tool["description"]
        if isinstance(tool.get("parameters"), Mapping):
            py_tool["paramsJsonSchema"] = dict(tool["parameters"])
        functions.append({"tool_call": call, "tool": py_tool})
    return {
        "new_items": [
            convert_item(item, f"lastProcessedResponse.newItems[{n}]")
            for n, item in enumerate(as_list(lpr.get("newItems") or [], "newItems"))
        ],
        "tools_used": list(as_list(lpr.get("toolsUsed") or [], "toolsUsed")),
        "functions": functions,
        "computer_actions": [],
        "custom_tool_actions": [],
        "local_shell_actions": [],
        "shell_actions": [],
        "apply_patch_actions": [],
        "handoffs": [],
        "mcp_approval_requests": [],
        "interruptions": interruptions,
        "mcp_tool_bindings": {},
    }
