"""Golden snapshot files: normalize volatile fields, compare, or rewrite on request.

Rewrite every golden file with ``TIMESTEP_UPDATE_GOLDEN=1`` (then review the diff: a change
means an SDK or the codec changed its format).
"""

from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path
from typing import Any

from crosslang.cases import ALWAYS_APPROVE, ALWAYS_REJECT, APPROVE, REJECT

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runstate"
UPDATE = os.environ.get("TIMESTEP_UPDATE_GOLDEN") == "1"

#: golden state name -> job (the same job runs in both SDKs)
STATES: dict[str, dict[str, Any]] = {
    "basic_interrupted": {"scenario": "basic", "actions": ["run"]},
    "basic_streamed_interrupted": {"scenario": "basic", "actions": ["run"], "stream": True},
    "basic_approved": {"scenario": "basic", "actions": ["run", APPROVE]},
    "basic_rejected": {"scenario": "basic", "actions": ["run", REJECT]},
    "always_approve": {"scenario": "two_calls", "actions": ["run", ALWAYS_APPROVE]},
    "always_reject": {"scenario": "two_calls", "actions": ["run", ALWAYS_REJECT]},
    "second_interruption": {"scenario": "two_calls", "actions": ["run", APPROVE, "run"]},
    "handoff_interrupted": {"scenario": "handoff", "actions": ["run"]},
    "context_interrupted": {
        "scenario": "basic",
        "actions": ["run"],
        "context": {"user_id": "u1", "tenant": "acme"},
    },
    "traced_interrupted": {"scenario": "basic", "actions": ["run"], "trace": True},
    "unicode_interrupted": {"scenario": "unicode", "actions": ["run"]},
    "parallel_interrupted": {"scenario": "parallel", "actions": ["run"]},
    "chatty_interrupted": {"scenario": "chatty", "actions": ["run"]},
    "always_reject_final": {"scenario": "two_calls", "actions": ["run", ALWAYS_REJECT, "run"]},
    "two_pending_interrupted": {"scenario": "two_pending", "actions": ["run"]},
    "two_pending_decided": {
        "scenario": "two_pending",
        "actions": ["run", {"decide": [{"kind": "approve"}, {"kind": "reject", "message": "No."}]}],
    },
    "final": {"scenario": "two_calls", "actions": ["run", APPROVE, "run", APPROVE, "run"]},
}
_VOLATILE = (
    (re.compile(r"^trace_[0-9a-f]{32}$"), "trace_<volatile>"),
    (re.compile(r"^span_[0-9a-f]{24}$"), "span_<volatile>"),
    (
        re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$"),
        "<timestamp>",
    ),
)


def normalize(value: Any) -> Any:
    """Replace ids and timestamps that differ on every run (trace/span ids, span times)."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, str):
        for pattern, replacement in _VOLATILE:
            if pattern.match(value):
                return replacement
    return value


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def check(relative: str, actual: Any) -> None:
    """Compare ``actual`` (normalized here) with the golden file, or rewrite it if asked."""
    path = FIXTURES / relative
    value = normalize(actual)
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if not UPDATE:
            raise AssertionError(
                f"Golden file {relative} did not exist; written now, review and commit it."
            )
        return
    expected = json.loads(path.read_text(encoding="utf-8"))
    if expected != value:
        diff = "\n".join(
            difflib.unified_diff(
                _pretty(expected).splitlines(),
                _pretty(value).splitlines(),
                "golden",
                "now",
                lineterm="",
                n=2,
            )
        )
        raise AssertionError(
            f"Snapshot format changed for {relative} (an SDK upgrade or a codec change?).\n{diff}\n"
            "If intended, regenerate with TIMESTEP_UPDATE_GOLDEN=1 and review the diff."
        )


def load(relative: str) -> Any:
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


# --- Parity views: a snapshot minus the fields where two valid encodings may differ ---------


def _drop(value: dict[str, Any], *paths: tuple[str, ...]) -> dict[str, Any]:
    for path in paths:
        _drop_path(value, list(path))
    return value


def _drop_path(value: Any, path: list[str]) -> None:
    head, rest = path[0], path[1:]
    if head == "*":
        children = (
            value
            if isinstance(value, list)
            else list(value.values())
            if isinstance(value, dict)
            else []
        )
        for child in children:
            if rest:
                _drop_path(child, rest)
        return
    if isinstance(value, dict) and head in value:
        if rest:
            _drop_path(value[head], rest)
        else:
            del value[head]


def js_parity_view(js: dict[str, Any]) -> dict[str, Any]:
    """A JS snapshot minus the fields where two valid encodings of one state may differ."""
    view = json.loads(json.dumps(js))
    # Only membership matters (AgentToolUseTracker); the SDKs repeat names differently.
    view["toolUseTracker"] = {k: sorted(set(v)) for k, v in view["toolUseTracker"].items()}
    if (view.get("trace") or {}).get("id") == "no-op":
        view["trace"] = None  # JS's placeholder when tracing is off; the codec writes null
    if view.get("currentStep", {}).get("type") == "next_step_final_output":
        view.pop("lastProcessedResponse", None)  # nothing pending; Python keeps none
    for item in view["generatedItems"]:
        if item["type"] == "handoff_output_item":  # Python spells the JSON with a space
            item["rawItem"]["output"]["text"] = json.loads(item["rawItem"]["output"]["text"])
    for function in (view.get("lastProcessedResponse") or {}).get("functions", []):
        function["tool"] = function["tool"]["name"]  # both SDKs re-resolve the tool by name
    return _drop(
        view,
        # Evidence may name the call by its generatedItems index or inline (JS uses the
        # approval item it already dropped); validateToolInvocationCompletionEvidence takes both.
        ("completedToolInvocationEvidence", "*", "invocations", "*", "items"),
        ("currentAgentSpan",),  # the codec synthesizes a minimal closed span (see _trace)
        ("currentTurnSessionInputItems",),  # JS session-transaction bookkeeping
    )


def py_parity_view(py: dict[str, Any]) -> dict[str, Any]:
    view = json.loads(json.dumps(py))
    context = view["context"]
    if context["context"] is None:  # JS requires an object: None travels as {}
        context["context"] = {}
        context["context_meta"].update(original_type="mapping", serialized_via="mapping")
    view["tool_use_tracker"] = {k: sorted(set(v)) for k, v in view["tool_use_tracker"].items()}
    for item in view["generated_items"]:
        item.pop("description", None)  # display-only, unknown to JS
        if item["type"] == "handoff_output_item":
            item["raw_item"]["output"] = json.loads(item["raw_item"]["output"])
    for item in (view.get("last_processed_response") or {}).get("new_items", []):
        item.pop("description", None)
    for function in (view.get("last_processed_response") or {}).get("functions", []):
        function["tool"] = function["tool"]["name"]
    # Session bookkeeping is rebuilt by Python from generated_items when absent.
    return _drop(view, ("session_items",), ("generated_session_item_indexes",))
