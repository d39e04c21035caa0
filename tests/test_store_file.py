"""The file form ``RunStateStore("state.json", agent)``: JS-form file plus a native sidecar."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, RunConfig, Runner, RunState, function_tool
from agents.testing import ScriptedModel, assistant_message, function_call

from timestep.errors import SnapshotFormatError, SnapshotNotFoundError, UserError
from timestep.state import RunStateStore
from timestep.state import codec as state_codec


@function_tool(needs_approval=True)
def send_email(to: str, body: str) -> str:
    """Send an email (needs a human's approval)."""
    return f"sent to {to}: {body}"


def make_agent() -> Agent[Any]:
    return Agent(name="Mailer", instructions="You send emails.", tools=[send_email])


def config(model: ScriptedModel) -> RunConfig:
    return RunConfig(model=model, tracing_disabled=True)


async def interrupted_state(agent: Agent[Any]) -> RunState[Any]:
    model = ScriptedModel(
        [[function_call("send_email", {"to": "bob@example.com", "body": "hi"}, call_id="call_1")]]
    )
    result = await Runner.run(agent, "Email Bob", run_config=config(model))
    return result.to_state()


async def resume(agent: Agent[Any], state: RunState[Any]) -> Any:
    for item in state.get_interruptions():
        state.approve(item)
    return (
        await Runner.run(
            agent, state, run_config=config(ScriptedModel([[assistant_message("Sent.")]]))
        )
    ).final_output


@pytest.fixture
def decode_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts JS-form decodes (the non-native path)."""
    calls: list[int] = []
    real = state_codec.decode_js

    async def spy(agent: Agent[Any], data: Any, **kw: Any) -> RunState[Any]:
        calls.append(1)
        return await real(agent, data, **kw)

    monkeypatch.setattr(state_codec, "decode_js", spy)
    return calls


async def test_file_round_trip_is_lossless(tmp_path: Path, decode_calls: list[int]) -> None:
    agent = make_agent()
    state = await interrupted_state(agent)
    path = tmp_path / "state.json"
    store = RunStateStore(str(path), agent)
    assert store.path == path and store.key == str(path) and store.session_id is None
    await store.save(state)
    loaded = await RunStateStore(path, agent).load()
    assert loaded.to_json() == state.to_json()
    assert decode_calls == []  # restored from the native sidecar
    assert await resume(agent, loaded) == await resume(agent, state) == "Sent."


async def test_file_holds_only_the_js_form_and_the_sidecar_binds_to_it(tmp_path: Path) -> None:
    agent = make_agent()
    path = tmp_path / "nested" / "state.json"
    async with RunStateStore(path, agent) as store:
        await store.save(await interrupted_state(agent))
    data = json.loads(path.read_text())
    assert data["$schemaVersion"] == state_codec.JS_SCHEMA_VERSION
    assert data["currentStep"]["type"] == "next_step_interruption"
    assert "current_step" not in data  # camelCase JS form, no envelope around it
    sidecar = json.loads((tmp_path / "nested" / "state.json.native.json").read_text())
    assert sidecar["state_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sidecar["state_type"] == "interrupted"
    assert sidecar["native_data"]["$schemaVersion"] == state_codec.PY_SCHEMA_VERSION
    assert [p.name for p in (tmp_path / "nested").iterdir() if p.name.endswith(".tmp")] == []


async def test_rewritten_or_unpaired_file_is_decoded_from_the_js_form(
    tmp_path: Path, decode_calls: list[int]
) -> None:
    agent = make_agent()
    path = tmp_path / "state.json"
    store = RunStateStore(path, agent)
    await store.save(await interrupted_state(agent))

    # Node rewrote the file (same state, its own compact formatting): the sidecar is stale.
    path.write_text(json.dumps(json.loads(path.read_text()), separators=(",", ":")))
    assert await resume(agent, await store.load()) == "Sent."
    assert decode_calls == [1]

    # No sidecar at all (a file Node wrote from scratch).
    (tmp_path / "state.json.native.json").unlink()
    assert await resume(agent, await store.load()) == "Sent."
    assert decode_calls == [1, 1]


async def test_missing_file_clear_and_bad_files(tmp_path: Path) -> None:
    agent = make_agent()
    path = tmp_path / "state.json"
    store = RunStateStore(path, agent)
    with pytest.raises(SnapshotNotFoundError, match=r"state\.json") as info:
        await store.load()
    assert info.value.key == str(path)
    await store.clear()  # nothing there: fine

    await store.save(await interrupted_state(agent))
    await store.clear()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SnapshotNotFoundError):
        await store.load()

    path.write_text("{not json")
    with pytest.raises(SnapshotFormatError, match="not valid JSON"):
        await store.load()


async def test_file_form_arguments_are_checked(tmp_path: Path) -> None:
    agent = make_agent()
    with pytest.raises(UserError, match="second argument must be the agent"):
        RunStateStore(str(tmp_path / "s.json"), "conv_1")  # type: ignore[call-overload]
    with pytest.raises(UserError, match="connection_string"):
        RunStateStore(str(tmp_path / "s.json"), agent, "sqlite:///x.sqlite")  # type: ignore[call-overload]
    with pytest.raises(UserError, match="empty"):
        RunStateStore("", agent)
    store = RunStateStore(tmp_path / "s.json", agent)
    with pytest.raises(UserError, match="database form"):
        await store.load_row()
    with pytest.raises(UserError, match="database form"):
        await store.history()
    with pytest.raises(UserError, match="RunState"):
        await store.save("not a state")  # type: ignore[arg-type]
