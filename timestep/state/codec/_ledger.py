"""Python's canonical tool-invocation ledger (``context.tool_invocations``), recomputed.

Python 0.24.0 honours a per-call decision only when the call id has a ledger record whose
fingerprint matches the call (``RunContextWrapper._mark_restored_unbound_pending_approval``);
without one the resumed run silently asks for approval again. It also validates every record
marked ``completed`` against a restored call *and* its output
(``run_state._validate_completed_tool_invocations``). So every call owned by a run item gets a
record: ``executed``/``completed`` when its output is in the history, pending otherwise.
"""

from __future__ import annotations

from timestep.state.codec._calls import CallIndex
from timestep.state.codec._common import JsonObject
from timestep.state.codec._fingerprints import py_fingerprint

__all__ = ["py_tool_invocations"]


def py_tool_invocations(calls: CallIndex) -> dict[str, JsonObject]:
    ledger: dict[str, JsonObject] = {}
    for call in calls.calls.values():
        if call.agent is None:
            continue  # only seen in a model response: never registered as runtime work
        scope, fingerprint = py_fingerprint(call.name, call.arguments, handoff=call.handoff)
        done = call.call_id in calls.completed
        ledger[call.call_id] = {
            "type": "function_call",
            "approval_scope": scope,
            "fingerprint": fingerprint,
            "executed": done,
            "completed": done,
        }
    return ledger
