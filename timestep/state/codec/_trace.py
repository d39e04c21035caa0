"""Trace continuity between the SDKs.

Python 0.24.0 stores ``trace`` as ``TraceState.to_json()`` (``group_id``/``metadata`` omitted
when unset) and never stores spans. JS 0.20.0 requires ``group_id`` and ``metadata``, and
re-attaches the stored trace only when ``currentAgentSpan`` is present (``buildRunStateFromJson``
in ``runState.js``); otherwise it silently starts a new trace. So the encoder synthesizes a
*closed* agent span carrying the Python trace id: JS re-attaches the trace, parents new spans
under it, and never exports or ends it again (``Span.start``/``end`` return early once set).

JS writes ``{"id": "no-op"}`` when tracing is disabled; that is not a trace and is dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from timestep.state.codec._common import JsonObject, as_object

__all__ = ["NOOP_TRACE_ID", "js_to_py", "py_to_js"]

NOOP_TRACE_ID = "no-op"


def _js_time_iso(now: datetime) -> str:
    # Same format as JS ``new Date().toISOString()``.
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def py_to_js(
    trace: Any, agent: str, now: datetime | None = None
) -> tuple[JsonObject | None, JsonObject | None]:
    """Python ``trace`` -> JS (``trace``, ``currentAgentSpan``)."""
    if trace is None:
        return None, None
    obj = as_object(trace, "trace")
    trace_id = obj.get("id")
    if not isinstance(trace_id, str) or not trace_id:
        return None, None
    metadata = obj.get("metadata")
    js_trace: JsonObject = {
        "object": "trace",
        "id": trace_id,
        "workflow_name": obj.get("workflow_name") or "Agent workflow",
        "group_id": obj.get("group_id") if isinstance(obj.get("group_id"), str) else None,
        "metadata": dict(metadata) if isinstance(metadata, Mapping) else {},
    }
    stamp = _js_time_iso(now or datetime.now(UTC))
    # Deterministic span id (JS format "span_" + 24 hex): re-encoding the same state is stable.
    span_id = "span_" + hashlib.sha256(f"{trace_id}:{agent}".encode()).hexdigest()[:24]
    span: JsonObject = {
        "object": "trace.span",
        "id": span_id,
        "trace_id": trace_id,
        "parent_id": None,
        "started_at": stamp,
        "ended_at": stamp,
        "span_data": {"type": "agent", "name": agent},
        "error": None,
    }
    return js_trace, span


def js_to_py(trace: Any) -> JsonObject | None:
    """JS ``trace`` -> Python ``trace`` (None for no trace and for JS's no-op trace)."""
    if trace is None:
        return None
    obj = as_object(trace, "trace")
    trace_id = obj.get("id")
    if not isinstance(trace_id, str) or not trace_id or trace_id == NOOP_TRACE_ID:
        return None
    out: JsonObject = {"object": "trace", "id": trace_id}
    if isinstance(obj.get("workflow_name"), str):
        out["workflow_name"] = obj["workflow_name"]
    if isinstance(obj.get("group_id"), str):
        out["group_id"] = obj["group_id"]
    if isinstance(obj.get("metadata"), Mapping) and obj["metadata"]:
        out["metadata"] = dict(obj["metadata"])
    return out
