"""Model items (the ``raw_item`` / ``rawItem`` payloads) between the two SDKs' shapes.

Python 0.24.0 stores OpenAI Responses items (snake_case, ``function_call_output``); JS 0.20.0
stores its protocol items (camelCase, ``function_call_result`` carrying the tool ``name`` and a
``status``; ``types/protocol.js``). Only messages, function calls and their text outputs map;
every other item type is refused by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from timestep.state.codec._common import JsonObject, as_list, as_object, malformed, refuse

__all__ = ["FAKE_ID", "js_to_py", "py_to_js", "refuse_item_type"]

# Python's placeholder for "no provider id" (agents.models.fake_id.FAKE_RESPONSES_ID); Python's
# ResponseOutputMessage requires an id while JS items may omit it.
FAKE_ID = "__fake_id__"

_REFUSED_TYPES: dict[str, str] = {
    "reasoning": "reasoning items",
    "computer_call": "the computer tool",
    "computer_call_output": "the computer tool",
    "computer_call_result": "the computer tool",
    "shell_call": "the shell tool",
    "shell_call_output": "the shell tool",
    "local_shell_call": "the local shell tool",
    "local_shell_call_output": "the local shell tool",
    "apply_patch_call": "the apply_patch tool",
    "apply_patch_call_output": "the apply_patch tool",
    "custom_tool_call": "custom tools",
    "custom_tool_call_output": "custom tools",
    "hosted_tool_call": "hosted tools",
    "web_search_call": "hosted tools",
    "file_search_call": "hosted tools",
    "code_interpreter_call": "hosted tools",
    "image_generation_call": "hosted tools",
    "mcp_call": "MCP tools",
    "mcp_list_tools": "MCP tools",
    "mcp_approval_request": "MCP tools",
    "mcp_approval_response": "MCP tools",
    "tool_search_call": "tool search",
    "tool_search_output": "tool search",
    "compaction": "compaction items",
    "program": "programmatic tool calling",
    "program_output": "programmatic tool calling",
    "item_reference": "item references",
    "unknown": "provider-specific items",
}


def refuse_item_type(item_type: Any, where: str) -> NoReturn:
    """Raise for an item type outside the subset, naming its feature."""
    feature = _REFUSED_TYPES.get(str(item_type), f"items of type {item_type!r}")
    refuse(feature, f"{where} has type {item_type!r}")


def _copy_provider_data(
    source: Mapping[str, Any], src_key: str, target: JsonObject, dst_key: str
) -> None:
    value = source.get(src_key)
    if value is not None:
        target[dst_key] = dict(as_object(value, src_key))


def _check_plain_call(raw: Mapping[str, Any], where: str) -> None:
    if raw.get("namespace"):
        refuse("namespaced or deferred tools", f"{where} calls namespace {raw['namespace']!r}")
    caller = raw.get("caller")
    if caller is not None and as_object(caller, f"{where}.caller").get("type") != "direct":
        refuse("programmatic tool calling", f"{where} was made by a program")


# --- Python -> JS -------------------------------------------------------------------------


def _py_message_to_js(raw: Mapping[str, Any], where: str) -> JsonObject:
    role = raw.get("role")
    content = raw.get("content")
    out: JsonObject = {}
    if raw.get("type") is not None:
        out["type"] = "message"
    if raw.get("id") is not None:
        out["id"] = raw["id"]
    out["role"] = role
    if role == "assistant":
        if raw.get("phase") is not None:
            out["phase"] = raw["phase"]
        out["status"] = raw.get("status") or "completed"
        parts = [content] if isinstance(content, str) else as_list(content, f"{where}.content")
        out["content"] = [_py_assistant_part_to_js(p, f"{where}.content") for p in parts]
    elif role in ("user", "system"):
        if isinstance(content, str):
            out["content"] = content
        elif role == "user":
            out["content"] = [
                _input_text_part(p, f"{where}.content") for p in as_list(content, where)
            ]
        else:
            refuse("non-text system messages", f"{where} has list content")
    else:
        refuse(f"{role} messages", f"{where} has role {role!r}")
    _copy_provider_data(raw, "provider_data", out, "providerData")
    return out


def _py_assistant_part_to_js(part: Any, where: str) -> JsonObject:
    if isinstance(part, str):
        return {"type": "output_text", "text": part}
    obj = as_object(part, where)
    if obj.get("type") == "output_text":
        out: JsonObject = {"type": "output_text", "text": obj.get("text", "")}
        # JS OutputText has no annotation/logprob fields; carry non-empty ones in providerData
        # so a round trip restores them.
        extras = {k: obj[k] for k in ("annotations", "logprobs") if obj.get(k)}
        if extras:
            out["providerData"] = extras
        return out
    if obj.get("type") == "refusal":
        return {"type": "refusal", "refusal": obj.get("refusal", "")}
    refuse("non-text assistant content", f"{where} has part type {obj.get('type')!r}")


def _input_text_part(part: Any, where: str) -> JsonObject:
    obj = as_object(part, where)
    if obj.get("type") != "input_text" or set(obj) - {"type", "text"}:
        refuse("non-text input content", f"{where} has part type {obj.get('type')!r}")
    return {"type": "input_text", "text": obj.get("text", "")}


def py_to_js(raw: Any, where: str, call_names: Mapping[str, str]) -> JsonObject:
    """One Python Responses item -> JS protocol item (``call_names`` maps call id -> tool)."""
    obj = as_object(raw, where)
    item_type = obj.get("type")
    if item_type == "function_call":
        _check_plain_call(obj, where)
        out: JsonObject = {"type": "function_call"}
        if obj.get("id") is not None:
            out["id"] = obj["id"]
        out["callId"] = obj.get("call_id")
        out["name"] = obj.get("name")
        if obj.get("status") is not None:
            out["status"] = obj["status"]
        out["arguments"] = obj.get("arguments")
        _copy_provider_data(obj, "provider_data", out, "providerData")
        return out
    if item_type == "function_call_output":
        call_id = obj.get("call_id")
        output = obj.get("output")
        if not isinstance(output, str):
            refuse("structured tool outputs", f"{where} is not plain text")
        name = call_names.get(str(call_id))
        if name is None:
            refuse("tool outputs without their call", f"{where} answers unknown call {call_id!r}")
        # JS writes text outputs as {type: "text"} (0.20.0 tool execution); both forms load.
        return {
            "type": "function_call_result",
            "name": name,
            "callId": call_id,
            "status": "completed",
            "output": {"type": "text", "text": output},
        }
    if item_type in (None, "message") and "role" in obj:
        return _py_message_to_js(obj, where)
    refuse_item_type(item_type, where)


# --- JS -> Python -------------------------------------------------------------------------


def _js_message_to_py(raw: Mapping[str, Any], where: str) -> JsonObject:
    role = raw.get("role")
    content = raw.get("content")
    out: JsonObject = {}
    if role == "assistant":
        # ResponseOutputMessage requires id/status/type; JS may omit the id.
        out["id"] = raw.get("id") or FAKE_ID
        out["content"] = [
            _js_assistant_part_to_py(p, f"{where}.content") for p in as_list(content, where)
        ]
        out["role"] = "assistant"
        out["status"] = raw.get("status") or "completed"
        out["type"] = "message"
        if raw.get("phase") is not None:
            out["phase"] = raw["phase"]
    elif role in ("user", "system"):
        if raw.get("id") is not None:
            out["id"] = raw["id"]
        out["role"] = role
        if isinstance(content, str):
            out["content"] = content
        elif role == "user":
            out["content"] = [
                _input_text_part(p, f"{where}.content") for p in as_list(content, where)
            ]
        else:
            malformed(where, "system message content must be a string")
        if raw.get("type") is not None:
            out["type"] = "message"
    else:
        refuse(f"{role} messages", f"{where} has role {role!r}")
    _copy_provider_data(raw, "providerData", out, "provider_data")
    return out


def _js_assistant_part_to_py(part: Any, where: str) -> JsonObject:
    obj = as_object(part, where)
    if obj.get("type") == "output_text":
        extras = as_object(obj.get("providerData") or {}, f"{where}.providerData")
        out: JsonObject = {
            "annotations": list(extras.get("annotations") or []),
            "text": obj.get("text", ""),
            "type": "output_text",
        }
        if extras.get("logprobs"):
            out["logprobs"] = extras["logprobs"]
        return out
    if obj.get("type") == "refusal":
        return {"refusal": obj.get("refusal", ""), "type": "refusal"}
    refuse("non-text assistant content", f"{where} has part type {obj.get('type')!r}")


def _js_output_text(output: Any, where: str) -> str:
    if isinstance(output, str):
        return output
    if (
        isinstance(output, Mapping)
        and output.get("type") == "text"
        and isinstance(output.get("text"), str)
    ):
        return str(output["text"])
    refuse("structured tool outputs", f"{where} is not plain text")


def js_to_py(raw: Any, where: str) -> JsonObject:
    """One JS protocol item -> Python Responses item."""
    obj = as_object(raw, where)
    item_type = obj.get("type")
    if item_type == "function_call":
        _check_plain_call(obj, where)
        if not isinstance(obj.get("callId"), str) or not isinstance(obj.get("arguments"), str):
            malformed(where, "function call without callId/arguments strings")
        out: JsonObject = {
            "arguments": obj["arguments"],
            "call_id": obj["callId"],
            "name": obj.get("name"),
            "type": "function_call",
        }
        if obj.get("id") is not None:
            out["id"] = obj["id"]
        if obj.get("status") is not None:
            out["status"] = obj["status"]
        _copy_provider_data(obj, "providerData", out, "provider_data")
        return out
    if item_type == "function_call_result":
        if obj.get("namespace"):
            refuse("namespaced or deferred tools", f"{where} answers a namespaced call")
        return {
            "call_id": obj.get("callId"),
            "output": _js_output_text(obj.get("output"), f"{where}.output"),
            "type": "function_call_output",
        }
    if item_type in (None, "message") and "role" in obj:
        return _js_message_to_py(obj, where)
    refuse_item_type(item_type, where)
