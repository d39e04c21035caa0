"""The snapshot codec between Python's RunState and the JS SDK's RunState JSON.

``state_data`` in the ``run_states`` table is written in the JS format so that a vanilla
``@openai/agents-core`` 0.20.0 ``RunState.fromString`` can resume it (database/README.md);
rows written by Node are read back through :func:`decode_js`. The two SDKs' formats share
little (key case, item shapes, usage layout, approval keys, invocation fingerprints, trace
handling all differ), so this package translates a supported subset, pinned to exact SDK
versions (openai-agents 0.24.0 / schema 1.21, agents-core 0.20.0 / schema 1.22), and recomputes
every identity-bound field for the target SDK byte for byte.

Supported, both ways: text messages; function tools with approve, reject (with a message),
always approve / always reject (sticky); completed calls in the history (JS completion records
and evidence are rebuilt); parallel calls; handoffs; input and output guardrail results;
JSON-object contexts (Python ``None`` -> ``{}``); usage with per-request entries; trace id
continuity. Interrupted, final and fresh states.

Refused with :class:`~timestep.errors.UnsupportedFeatureError` (``feature`` names it): MCP and
hosted tools, computer / shell / local shell / apply_patch / custom tools, agents-as-tools and
nested runs, reasoning and compaction items, tool search and namespaced tools, programmatic
tool calling, tool guardrail results, structured (non-text) tool outputs and non-text input,
pending input, pending session writes, server-managed conversations, sandbox state, duplicate
agent names, non-mapping or non-JSON contexts.

Modules, one job each: ``_raw_items`` / ``_run_items`` (items), ``_usage``, ``_approvals`` +
``_ledger`` + ``_calls`` (decisions and invocation identities), ``_fingerprints`` + ``_jsjson``
(byte-exact identity strings), ``_trace``, ``_guardrails``, ``_processed`` (pending work),
``_validation`` (pre-checks), ``_encode`` / ``_decode``, ``_versions``, ``_state_type``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents import Agent, RunState

from timestep.state.codec._decode import decode_js as _decode_js
from timestep.state.codec._encode import encode_js as _encode_js
from timestep.state.codec._state_type import StateType, py_state_type
from timestep.state.codec._versions import (
    JS_SCHEMA_VERSION,
    JS_SDK_VERSION,
    PY_SCHEMA_VERSION,
    PY_SDK_VERSION,
)

__all__ = [
    "JS_SCHEMA_VERSION",
    "JS_SDK_VERSION",
    "PY_SCHEMA_VERSION",
    "PY_SDK_VERSION",
    "StateType",
    "decode_js",
    "encode_js",
    "snapshot_state_type",
]


def encode_js(state: RunState[Any]) -> dict[str, Any]:
    """Python RunState -> JS-form JSON (what vanilla ``RunState.fromString`` in agents-core
    0.20.0 loads).

    Raises:
        UnsupportedFeatureError: the state uses something outside the supported subset
            (``feature`` names it).
    """
    return _encode_js(state)


async def decode_js(
    agent: Agent[Any], data: str | bytes | Mapping[str, Any], *, context_override: Any = None
) -> RunState[Any]:
    """JS-form JSON (written by Node or by :func:`encode_js`) -> Python RunState.

    ``agent`` is the starting agent of the run (its handoff graph must contain every agent the
    snapshot names). ``context_override`` replaces the stored context, as in
    ``RunState.from_json``.

    Raises:
        SnapshotFormatError: malformed JSON or snapshot shape.
        SnapshotVersionError: a ``$schemaVersion`` other than the pinned JS one.
        UnknownAgentError: an agent name that is not in the graph.
        UnsupportedFeatureError: a JS-only feature outside the supported subset.
    """
    return await _decode_js(agent, data, context_override=context_override)


def snapshot_state_type(state: RunState[Any]) -> StateType:
    """``interrupted`` when approvals are pending, ``final`` when the run finished,
    ``checkpoint`` otherwise."""
    return py_state_type(state)
