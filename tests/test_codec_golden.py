"""Golden snapshots from both SDKs, plus the codec's translation of each.

``py-0.24.0/`` holds Python's own ``RunState.to_json()`` and ``js-0.20.0/`` the JS SDK's
``toString()`` for the same states; ``codec/`` holds what the codec makes of them. The tests
regenerate all of it and compare (volatile ids and timestamps normalized), so an SDK upgrade or
a codec change that alters a format fails here first. Regenerate: ``TIMESTEP_UPDATE_GOLDEN=1
.venv/bin/python -m pytest tests/test_codec_golden.py``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from agents import RunState
from crosslang import golden
from crosslang.node import require_node, run_node
from crosslang.py_driver import SCENARIOS, Recorder, drive, make_agents

from timestep.state.codec import decode_js, encode_js, snapshot_state_type
from timestep.state.codec._decode import decode_to_py_json

STATES = golden.STATES
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
    expected = "final" if name.endswith("final") else "interrupted"
    assert snapshot_state_type(state) == expected
    js_pending = js.get("currentStep", {}).get("data", {}).get("interruptions", [])
    assert [i.call_id for i in state.get_interruptions()] == [
        i["rawItem"]["callId"] for i in js_pending
    ]


# --- Parity: the codec writes what the target SDK itself writes for the same state ---------


@pytest.mark.parametrize("name", NAMES)
def test_encode_matches_what_js_writes(name: str) -> None:
    """encode_js(Python's state) equals the JS SDK's own snapshot of the same run."""
    codec_out = golden.js_parity_view(golden.load(f"codec/py-to-js/{name}.json"))
    js_native = golden.js_parity_view(golden.load(f"js-0.20.0/{name}.json"))
    assert codec_out == js_native


@pytest.mark.parametrize("name", NAMES)
def test_decode_matches_what_python_writes(name: str) -> None:
    """decode of JS's state equals Python's own snapshot of the same run (fingerprints included)."""
    codec_out = golden.py_parity_view(golden.load(f"codec/js-to-py/{name}.json"))
    py_native = golden.py_parity_view(golden.load(f"py-0.24.0/{name}.json"))
    assert codec_out == py_native
