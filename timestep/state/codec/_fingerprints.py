"""Invocation identities as each SDK computes them, recomputed rather than copied.

Both SDKs bind every per-call approval decision and every completed tool call to a fingerprint
of the call; the formats are unrelated, so a translated snapshot must carry the fingerprint the
*target* SDK would compute, byte for byte, or the target ignores (Python) or refuses (JS) it.

Python (openai-agents 0.24.0, ``agents/_tool_invocation.py``):
    approval_scope = sha256(canonical({"tool_lookup_key": ["bare", name],
                                       "type": "function_call"[, "invocation_role": "handoff"]}))
    fingerprint    = sha256(canonical({"approval_scope": scope, "arguments": <parsed args>,
                                       "type": "function_call"}))
    canonical = ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``.

JS (@openai/agents-core 0.20.0, ``dist/toolInvocation.js``): the fingerprint is the string
    stableStringify({caller: {type: "direct"}, type: "function_call",
                     toolName: '["bare","name"]' | "handoff:<name>", payload: normalizeJsonString(args)})
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from timestep.state.codec._jsjson import encode_json_numbers, js_json_parse, js_stable_stringify

__all__ = [
    "js_fingerprint",
    "js_function_state_key",
    "js_handoff_tool_name",
    "name_from_js_state_key",
    "py_approval_scope",
    "py_fingerprint",
]


# --- Python -------------------------------------------------------------------------------


def _py_canonical_digest(payload: Mapping[str, Any]) -> str:
    encoded = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Invalid JSON constant: {name}")


def _py_normalize_arguments(arguments: str) -> Any:
    """``_normalize_arguments``: parsed JSON when valid (NaN/Infinity refused), else the raw text."""
    try:
        return json.loads(arguments, parse_constant=_reject_constant)
    except ValueError:
        return arguments


def py_approval_scope(tool_name: str, *, handoff: bool = False) -> str:
    """``tool_invocation_approval_scope`` for a bare function tool (or a handoff call)."""
    payload: dict[str, Any] = {"tool_lookup_key": ["bare", tool_name], "type": "function_call"}
    if handoff:
        payload["invocation_role"] = "handoff"
    return _py_canonical_digest(payload)


def py_fingerprint(tool_name: str, arguments: str, *, handoff: bool = False) -> tuple[str, str]:
    """``(approval_scope, fingerprint)`` of a function call, as Python 0.24.0 records them."""
    scope = py_approval_scope(tool_name, handoff=handoff)
    payload = {
        "approval_scope": scope,
        "arguments": _py_normalize_arguments(arguments),
        "type": "function_call",
    }
    return scope, _py_canonical_digest(payload)


# --- JS -----------------------------------------------------------------------------------


def js_function_state_key(tool_name: str) -> str:
    """``getFunctionToolStateKey`` of a bare function tool: ``JSON.stringify(["bare", name])``."""
    return js_stable_stringify(["bare", tool_name])


def js_handoff_tool_name(tool_name: str) -> str:
    """``getHandoffToolInvocationName``: the fingerprint tool name of a handoff call."""
    return f"handoff:{tool_name}"


def name_from_js_state_key(state_key: str) -> str | None:
    """The tool name of a ``["bare", name]`` state key, or None for any other identity."""
    try:
        parts = json.loads(state_key)
    except ValueError:
        return None
    if (
        isinstance(parts, list)
        and len(parts) == 2
        and parts[0] == "bare"
        and isinstance(parts[1], str)
        and parts[1]
    ):
        return parts[1]
    return None


def _js_normalize_json_string(arguments: str) -> dict[str, Any]:
    """``normalizeJsonString``: numbers tagged as canonical strings; raw text when unparsable."""
    try:
        return {"format": "json", "value": js_json_parse(encode_json_numbers(arguments))}
    except (ValueError, RecursionError):
        return {"format": "raw", "value": arguments}


def js_fingerprint(tool_name: str, arguments: str) -> str:
    """``getToolInvocationFingerprint(toolName, call)`` for a direct ``function_call``.

    ``tool_name`` is already canonical: a state key (``js_function_state_key``) for function
    tools, ``js_handoff_tool_name(...)`` for handoffs.
    """
    return js_stable_stringify(
        {
            "caller": {"type": "direct"},
            "type": "function_call",
            "toolName": tool_name,
            "payload": _js_normalize_json_string(arguments),
        }
    )
