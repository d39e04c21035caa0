"""Golden snapshots from both SDKs, plus the codec's translation of each.

``py-0.24.0/`` holds Python's own ``RunState.to_json()`` and ``js-0.20.0/`` the JS SDK's
``toString()`` for the same states; ``codec/`` holds what the codec makes of them. The tests
regenerate all of it and compare (volatile ids and timestamps normalized), so an SDK upgrade or
a codec change that alters a format fails here first. Regenerate: ``TIMESTEP_UPDATE_GOLDEN=1
.venv/bin/python -m pytest tests/test_codec_golden.py``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from agents import RunState
from crosslang import golden
from crosslang.cases import ALWAYS_APPROVE, ALWAYS_REJECT, APPROVE, REJECT
from crosslang.node import require_node, run_node
from crosslang.py_driver import SCENARIOS, Recorder, drive, make_agents

from timestep.state.codec import decode_js, encode_js, snapshot_state_type
from timestep.state.codec._decode import decode_to_py_json

# name -> job (the same job runs in both SDKs)
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
    "final": {"scenario": "two_calls", "actions": ["run", APPROVE, "run", APPROVE, "run"]},
}
NAMES = list(STATES)


def _agent(name: str) -> Any:
    scenario = STATES[name]["scenario"]
    return make_agents(scenario, Recorder())[SCENARIOS[scenario]["start"]]


@pytest.fixture(scope="module")
def python_natives() -> dict[str, Any]:
    async def run_all() -> dict[str, Any]:
        return {name: (await drive(job))["native"] for name, job in STATES.items()}

    return asyncio.run(run_all())


@pytest.fixture(scope="module")
def js_natives() -> dict[str, Any]:
    require_node()
    reports = run_node("crosslang.mjs", list(STATES.values()))
    for name, report in zip(NAMES, reports, strict=True):
        assert "error" not in report, f"{name}: {report['error']}"
    return {name: report["native"] for name, report in zip(NAMES, reports, strict=True)}


@pytest.mark.parametrize("name", NAMES)
def test_python_sdk_format_unchanged(python_natives: dict[str, Any], name: str) -> None:
    golden.check(f"py-0.24.0/{name}.json", python_natives[name])


@pytest.mark.parametrize("name", NAMES)
def test_js_sdk_format_unchanged(js_natives: dict[str, Any], name: str) -> None:
    golden.check(f"js-0.20.0/{name}.json", js_natives[name])


@pytest.mark.parametrize("name", NAMES)
async def test_codec_output_for_python_goldens(name: str) -> None:
    """encode_js of the committed Python golden (rebuilt with the SDK's own from_json)."""
    state = await RunState.from_json(_agent(name), golden.load(f"py-0.24.0/{name}.json"))
    golden.check(f"codec/py-to-js/{name}.json", encode_js(state))


@pytest.mark.parametrize("name", NAMES)
async def test_codec_output_for_js_goldens(name: str) -> None:
    """decode of the committed JS golden, before and after the Python SDK rebuilt it."""
    agent = _agent(name)
    js = golden.load(f"js-0.20.0/{name}.json")
    golden.check(f"codec/js-to-py/{name}.json", decode_to_py_json(agent, js))
    state = await decode_js(agent, js)
    expected = "final" if name == "final" else "interrupted"
    assert snapshot_state_type(state) == expected
    js_pending = js.get("currentStep", {}).get("data", {}).get("interruptions", [])
    assert [i.call_id for i in state.get_interruptions()] == [
        i["rawItem"]["callId"] for i in js_pending
    ]


# --- Parity: the codec writes what the target SDK itself writes for the same state ---------


def _drop(value: Any, *paths: tuple[str, ...]) -> Any:
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


def _js_parity_view(js: dict[str, Any]) -> dict[str, Any]:
    """A JS snapshot minus the fields where two valid encodings of one state may differ."""
    view = json.loads(json.dumps(js))
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


def _py_parity_view(py: dict[str, Any]) -> dict[str, Any]:
    view = json.loads(json.dumps(py))
    context = view["context"]
    if context["context"] is None:  # JS requires an object: None travels as {}
        context["context"] = {}
        context["context_meta"].update(original_type="mapping", serialized_via="mapping")
    view["tool_use_tracker"] = {
        k: list(dict.fromkeys(v)) for k, v in view["tool_use_tracker"].items()
    }
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


@pytest.mark.parametrize("name", NAMES)
def test_encode_matches_what_js_writes(name: str) -> None:
    """encode_js(Python's state) equals the JS SDK's own snapshot of the same run."""
    codec_out = _js_parity_view(golden.load(f"codec/py-to-js/{name}.json"))
    js_native = _js_parity_view(golden.load(f"js-0.20.0/{name}.json"))
    assert codec_out == js_native


@pytest.mark.parametrize("name", NAMES)
def test_decode_matches_what_python_writes(name: str) -> None:
    """decode of JS's state equals Python's own snapshot of the same run (fingerprints included)."""
    codec_out = _py_parity_view(golden.load(f"codec/js-to-py/{name}.json"))
    py_native = _py_parity_view(golden.load(f"py-0.24.0/{name}.json"))
    assert codec_out == py_native
