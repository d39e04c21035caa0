"""Approval decisions between Python ``function_tool_approvals`` and JS ``functionApprovals``.

Python 0.24.0 (``RunState._serialize_function_tool_approvals``)::

    [{agent: {name}, tool_key: "send_email",
      decision: {approved: [ids] | bool, rejected: [ids] | bool, rejection_messages?: {id: msg},
                 sticky_rejection_message?: msg, sticky_scope?: <approval scope digest>}}]

    plus a per-call binding in ``context.tool_invocations[call_id]`` (see ``_ledger``).

JS 0.20.0 (``functionApprovalsSchema`` / ``approvalRecordSchema`` in ``runState.js``)::

    functionApprovals:   [{agentIdentity, approvals: {'["bare","send_email"]':
                              {approved, rejected, messages?, stickyRejectMessage?}}}]
    approvalInvocations: [{agentIdentity, invocations: {call_id: <fingerprint>}, approvals: {}}]

Sticky decisions (``always_approve`` / ``always_reject``) are a boolean ``approved`` /
``rejected`` on both sides; Python additionally scopes them with ``sticky_scope``, which is the
tool's approval scope and is recomputed. Every per-call decision needs its binding on the
JS side (``validateCurrentApprovalInvocationRecords``), so bindings are recomputed from the
call history; a decision naming a call that is not in the snapshot cannot be bound and is
dropped (it can never apply to this run).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from timestep.state.codec._calls import CallIndex
from timestep.state.codec._common import (
    JsonObject,
    agent_name,
    as_list,
    as_object,
    malformed,
    refuse,
)
from timestep.state.codec._fingerprints import (
    js_function_state_key,
    name_from_js_state_key,
    py_approval_scope,
)

__all__ = ["js_to_py", "py_rejected_call_ids", "py_to_js"]


def _ids(value: Any, where: str) -> bool | list[str]:
    if isinstance(value, bool):
        return value
    ids = as_list(value if value is not None else [], where)
    if not all(isinstance(i, str) for i in ids):
        malformed(where, "call ids must be strings")
    return list(ids)


def _messages(value: Any, where: str) -> dict[str, str]:
    obj = as_object(value if value is not None else {}, where)
    return {str(k): v for k, v in obj.items() if isinstance(v, str)}


def py_rejected_call_ids(
    py_context: Mapping[str, Any], call_owners: Mapping[str, tuple[str, str]]
) -> frozenset[str]:
    """Call ids whose output is a rejection message, not an execution (JS ``executionStatus``).

    Per-call rejections are explicit. A sticky rejection (``always_reject``) covers every call
    of that agent's tool that has no per-call approval; ``call_owners`` maps call id ->
    (agent, tool name).
    """
    rejected: set[str] = set()
    for entry in py_context.get("function_tool_approvals") or []:
        decision = entry.get("decision") or {}
        approved = decision.get("approved")
        per_call = decision.get("rejected")
        if isinstance(per_call, list):
            rejected.update(str(i) for i in per_call)
        rejected.update(str(i) for i in (decision.get("rejection_messages") or {}))
        if per_call is True:
            owner = ((entry.get("agent") or {}).get("name"), entry.get("tool_key"))
            approved_ids = set(approved) if isinstance(approved, list) else set()
            rejected.update(
                call_id
                for call_id, call_owner in call_owners.items()
                if call_owner == owner and call_id not in approved_ids
            )
    return frozenset(rejected)


def _bindable(call_ids: list[str] | bool, agent: str, calls: CallIndex) -> list[str] | bool:
    if isinstance(call_ids, bool):
        return call_ids
    return [c for c in call_ids if c in calls.calls and calls.calls[c].agent in (agent, None)]


def py_to_js(
    py_context: Mapping[str, Any], calls: CallIndex, pending: Mapping[str, tuple[str, str]]
) -> tuple[list[JsonObject], list[JsonObject]]:
    """Python decisions -> (``functionApprovals``, ``approvalInvocations``).

    ``pending`` maps each pending interruption's call id to ``(agent, tool name)``: a sticky
    decision already covers them, and JS binds every call it has a decision for.
    """
    if py_context.get("approvals"):
        refuse("approvals for non-function tools", "context.approvals is not empty")
    if py_context.get("hosted_mcp_approvals"):
        refuse("MCP tools", "context.hosted_mcp_approvals is not empty")
    approvals: dict[str, JsonObject] = {}
    bound: dict[str, dict[str, str]] = {}
    entries = as_list(py_context.get("function_tool_approvals") or [], "function_tool_approvals")
    for n, entry in enumerate(entries):
        where = f"function_tool_approvals[{n}]"
        entry = as_object(entry, where)
        agent = agent_name(entry.get("agent"), f"{where}.agent")
        tool = entry.get("tool_key")
        if not isinstance(tool, str) or not tool:
            malformed(where, "tool_key must be a tool name")
        decision = as_object(entry.get("decision"), f"{where}.decision")
        approved = _bindable(_ids(decision.get("approved"), f"{where}.approved"), agent, calls)
        rejected = _bindable(_ids(decision.get("rejected"), f"{where}.rejected"), agent, calls)
        sticky = isinstance(approved, bool) or isinstance(rejected, bool)
        scope = decision.get("sticky_scope")
        if scope is not None and scope != py_approval_scope(tool):
            refuse("sticky decisions for namespaced tools", f"{where} has a foreign sticky_scope")
        record: JsonObject = {"approved": approved, "rejected": rejected}
        messages = {
            k: v
            for k, v in _messages(decision.get("rejection_messages"), where).items()
            if k in calls.calls
        }
        if messages:
            record["messages"] = messages
        if isinstance(decision.get("sticky_rejection_message"), str):
            record["stickyRejectMessage"] = decision["sticky_rejection_message"]
        approvals.setdefault(agent, {})[js_function_state_key(tool)] = record
        # Bind every call the record decided: per-call lists, calls with a rejection message
        # (Python keys the message by the call the decision was made on, sticky or not) and
        # pending calls a sticky decision covers.
        call_ids = [cid for ids in (approved, rejected) if isinstance(ids, list) for cid in ids]
        call_ids += list(messages)
        if sticky:
            call_ids += [c for c, (a, t) in pending.items() if (a, t) == (agent, tool)]
        for call_id in call_ids:
            bound.setdefault(agent, {})[call_id] = calls.calls[call_id].js_fingerprint
    function_approvals = [
        {"agentIdentity": agent, "approvals": records} for agent, records in approvals.items()
    ]
    invocations = [
        {"agentIdentity": agent, "invocations": by_call, "approvals": {}}
        for agent, by_call in bound.items()
    ]
    return function_approvals, invocations


def js_to_py(
    js_context: Mapping[str, Any], calls: CallIndex, known_agents: frozenset[str]
) -> list[JsonObject]:
    """JS decisions -> Python ``function_tool_approvals`` (bindings checked, then dropped)."""
    if js_context.get("approvals"):
        refuse("approvals for non-function tools", "context.approvals is not empty")
    for key in ("hostedMcpApprovals", "legacyFunctionApprovals"):
        if js_context.get(key):
            refuse(
                "MCP tools" if key.startswith("hosted") else "legacy approvals", f"context.{key}"
            )
    _check_bindings(js_context, calls, known_agents)
    out: list[JsonObject] = []
    for n, entry in enumerate(
        as_list(js_context.get("functionApprovals") or [], "functionApprovals")
    ):
        where = f"context.functionApprovals[{n}]"
        entry = as_object(entry, where)
        agent = agent_name(
            {"name": entry.get("agentIdentity")}, f"{where}.agentIdentity", known_agents
        )
        for state_key, record in as_object(entry.get("approvals"), f"{where}.approvals").items():
            tool = name_from_js_state_key(state_key)
            if tool is None:
                refuse("namespaced or deferred tools", f"{where} decides {state_key!r}")
            record = as_object(record, f"{where}[{state_key!r}]")
            approved = _ids(record.get("approved"), f"{where}.approved")
            rejected = _ids(record.get("rejected"), f"{where}.rejected")
            decision: JsonObject = {"approved": approved, "rejected": rejected}
            messages = _messages(record.get("messages"), f"{where}.messages")
            if messages:
                decision["rejection_messages"] = messages
            if isinstance(record.get("stickyRejectMessage"), str):
                decision["sticky_rejection_message"] = record["stickyRejectMessage"]
            if isinstance(approved, bool) or isinstance(rejected, bool):
                # Python honours a sticky decision only for its own scope (run_context.py
                # _matching_sticky_approval_keys), so it must be stated explicitly.
                decision["sticky_scope"] = py_approval_scope(tool)
            out.append({"agent": {"name": agent}, "tool_key": tool, "decision": decision})
    return out


def _check_bindings(
    js_context: Mapping[str, Any], calls: CallIndex, known_agents: frozenset[str]
) -> None:
    """Fail closed on a decision bound to a different call than the one in the history.

    JS would throw on resume (``_validateAgentApprovalInvocation``); Python re-derives its
    own bindings from the history, so the mismatch must be caught here or it would be lost.
    """
    entries = as_list(js_context.get("approvalInvocations") or [], "context.approvalInvocations")
    for n, entry in enumerate(entries):
        where = f"context.approvalInvocations[{n}]"
        entry = as_object(entry, where)
        agent_name({"name": entry.get("agentIdentity")}, f"{where}.agentIdentity", known_agents)
        if entry.get("approvals"):
            refuse("approvals for non-function tools", f"{where}.approvals is not empty")
        for call_id, fingerprint in as_object(entry.get("invocations"), where).items():
            call = calls.calls.get(call_id)
            if call is not None and call.js_fingerprint != fingerprint:
                malformed(
                    where, f"the decision for call {call_id!r} is bound to different arguments"
                )
