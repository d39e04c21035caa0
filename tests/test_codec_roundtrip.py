"""Same-language losslessness and determinism of the codec (no Node needed).

Python -> JS form -> Python must give back the state Python wrote (same invocation ledger,
decisions, items, usage, trace) and resume exactly like the native snapshot; JS -> Python form
-> JS must give back the JS snapshot.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from agents import RunContextWrapper, RunState
from crosslang import golden
from crosslang.py_driver import SCENARIOS, Recorder, drive, make_agents

from timestep.state.codec import (
    JS_SCHEMA_VERSION,
    PY_SCHEMA_VERSION,
    decode_js,
    encode_js,
    snapshot_state_type,
)
from timestep.state.codec._decode import decode_to_py_json
from timestep.state.codec._encode import encode_py_json

STATES = golden.STATES
NAMES = list(STATES)


def _start(name: str) -> Any:
    scenario = STATES[name]["scenario"]
    return make_agents(scenario, Recorder())[SCENARIOS[scenario]["start"]]


@pytest.mark.parametrize("name", NAMES)
async def test_python_through_js_form_is_lossless(name: str) -> None:
    native = golden.load(f"py-0.24.0/{name}.json")
    agent = _start(name)
    state = await RunState.from_json(agent, json.loads(json.dumps(native)))
    encoded = encode_js(state)
    assert encoded["$schemaVersion"] == JS_SCHEMA_VERSION
    back = await decode_js(agent, json.dumps(encoded))
    assert back.to_json()["$schemaVersion"] == PY_SCHEMA_VERSION
    # Everything Python binds decisions to comes back byte for byte, recomputed.
    assert back.to_json()["context"]["tool_invocations"] == native["context"]["tool_invocations"]
    assert golden.py_parity_view(back.to_json()) == golden.py_parity_view(state.to_json())
    assert snapshot_state_type(back) == snapshot_state_type(state)


@pytest.mark.parametrize("name", [n for n in NAMES if not n.endswith("final")])
async def test_python_through_js_form_resumes_identically(name: str) -> None:
    """Approve whatever is pending and finish, from the native JSON and from the JS form."""
    native = golden.load(f"py-0.24.0/{name}.json")
    state = await RunState.from_json(_start(name), json.loads(json.dumps(native)))
    js_form = json.dumps(encode_js(state))
    plan: list[Any] = [{"decide": [{"kind": "approve"}] * len(state.get_interruptions())}, "run"]
    base = {
        "scenario": STATES[name]["scenario"],
        "actions": plan,
        "trace": STATES[name].get("trace", False),
    }
    from_native = await drive({**base, "native": native})
    from_js_form = await drive({**base, "state": js_form})
    for key in ("final_output", "executed", "seen_outputs", "usage", "interruptions"):
        assert from_js_form[key] == from_native[key], key


@pytest.mark.parametrize("name", NAMES)
async def test_js_through_python_form_is_lossless(name: str) -> None:
    js = golden.load(f"js-0.20.0/{name}.json")
    agent = _start(name)
    state = await RunState.from_json(agent, decode_to_py_json(agent, js))
    again = encode_js(state)
    assert golden.js_parity_view(golden.normalize(again)) == golden.js_parity_view(js)


@pytest.mark.parametrize("name", NAMES)
def test_encode_is_deterministic(name: str) -> None:
    native = golden.load(f"py-0.24.0/{name}.json")
    now = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    first = encode_py_json(native, state_type="interrupted", now=now)
    assert (
        encode_py_json(json.loads(json.dumps(native)), state_type="interrupted", now=now) == first
    )


async def test_none_context_becomes_an_empty_object() -> None:
    native = golden.load("py-0.24.0/basic_interrupted.json")
    assert native["context"]["context"] is None
    state = await RunState.from_json(_start("basic_interrupted"), native)
    encoded = encode_js(state)
    assert encoded["context"]["context"] == {}
    assert (await decode_js(_start("basic_interrupted"), encoded)).to_json()["context"][
        "context"
    ] == {}


async def test_decode_applies_a_context_override() -> None:
    js = golden.load("js-0.20.0/context_interrupted.json")
    state = await decode_js(_start("context_interrupted"), js, context_override={"user_id": "u2"})
    assert state.to_json()["context"]["context"] == {"user_id": "u2"}


async def test_state_types() -> None:
    agent = _start("basic_interrupted")
    fresh: RunState[Any] = RunState(RunContextWrapper(context=None), "hello", agent)
    assert snapshot_state_type(fresh) == "checkpoint"
    interrupted = await RunState.from_json(agent, golden.load("py-0.24.0/basic_interrupted.json"))
    assert snapshot_state_type(interrupted) == "interrupted"
    final = await RunState.from_json(_start("final"), golden.load("py-0.24.0/final.json"))
    assert snapshot_state_type(final) == "final"
    assert encode_js(final)["currentStep"] == {
        "type": "next_step_final_output",
        "output": "final: sent:bo@example.com:Second",
    }
    assert "currentStep" not in encode_js(fresh)


async def test_fresh_state_crosses_and_runs() -> None:
    """A checkpoint before the first turn (no model response yet) is carried too."""
    agent = _start("basic_interrupted")
    fresh: RunState[Any] = RunState(RunContextWrapper(context={"user_id": "u1"}), "hello", agent)
    encoded = encode_js(fresh)
    assert encoded["initialInputGuardrailsCompleted"] is False
    assert encoded["noActiveAgentRun"] is True
    back = await decode_js(agent, encoded)
    assert back.to_json()["original_input"] == "hello"
    assert snapshot_state_type(back) == "checkpoint"
