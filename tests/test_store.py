"""``RunStateStore`` (database form) on SQLite and a real Postgres, with real RunStates.

States come from real runs of the SDK's ``Runner`` against ``agents.testing.ScriptedModel`` and a
function tool that needs approval, so "interrupted" means a genuine pending approval.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, RunConfig, Runner, RunState, function_tool
from agents.testing import ScriptedModel, assistant_message, function_call

from tests.store_helpers import count_rows
from timestep.errors import SnapshotError, SnapshotNotFoundError, UserError
from timestep.state import PYTHON_WRITER, RunStateStore, SnapshotTable
from timestep.state import codec as state_codec


@function_tool(needs_approval=True)
def send_email(to: str, body: str) -> str:
    """Send an email (needs a human's approval)."""
    return f"sent to {to}: {body}"


def make_agent(name: str = "Mailer") -> Agent[Any]:
    return Agent(name=name, instructions="You send emails.", tools=[send_email])


def config(model: ScriptedModel) -> RunConfig:
    return RunConfig(model=model, tracing_disabled=True)


async def interrupted_state(agent: Agent[Any]) -> RunState[Any]:
    """A real run paused on one pending approval of ``send_email``."""
    model = ScriptedModel(
        [[function_call("send_email", {"to": "bob@example.com", "body": "hi"}, call_id="call_1")]]
    )
    result = await Runner.run(agent, "Email Bob", run_config=config(model))
    assert [i.name for i in result.interruptions] == ["send_email"]
    return result.to_state()


async def final_state(agent: Agent[Any]) -> RunState[Any]:
    model = ScriptedModel([[assistant_message("Nothing to send.")]])
    result = await Runner.run(agent, "Anything to send?", run_config=config(model))
    assert result.final_output == "Nothing to send."
    return result.to_state()


async def approve_and_resume(agent: Agent[Any], state: RunState[Any]) -> tuple[Any, ScriptedModel]:
    for item in state.get_interruptions():
        state.approve(item)
    model = ScriptedModel([[assistant_message("Sent it.")]])
    result = await Runner.run(agent, state, run_config=config(model))
    model.assert_complete()
    return result, model


# --- round trip -----------------------------------------------------------------------------


async def test_round_trip_is_lossless_and_resumes_identically(db_url: str) -> None:
    agent = make_agent()
    state = await interrupted_state(agent)
    async with RunStateStore(agent, "conv_1", db_url) as store:
        await store.save(state)
    async with RunStateStore(agent, "conv_1", db_url) as other:  # a fresh store, same key
        loaded = await other.load()

    assert loaded.to_json() == state.to_json()
    assert [i.call_id for i in loaded.get_interruptions()] == ["call_1"]

    from_store, model_a = await approve_and_resume(agent, loaded)
    from_memory, model_b = await approve_and_resume(agent, state)
    assert from_store.final_output == from_memory.final_output == "Sent it."
    assert model_a.calls[0].input == model_b.calls[0].input  # the model saw the same history
    assert from_store.to_input_list() == from_memory.to_input_list()
    assert from_store.to_state().to_json() == from_memory.to_state().to_json()


async def test_row_holds_js_form_native_form_and_writer(db_url: str) -> None:
    agent = make_agent()
    state = await interrupted_state(agent)
    async with RunStateStore(agent, "conv_2", db_url) as store:
        await store.save(state)
        row = await store.load_row()
    assert row.run_id == "conv_2" and row.is_active
    # The JS form: camelCase, JS schema version, the pending approval under currentStep.
    assert row.state_data["currentStep"]["type"] == "next_step_interruption"
    assert "current_step" not in row.state_data and "originalInput" in row.state_data
    assert row.schema_version == row.state_data["$schemaVersion"] == state_codec.JS_SCHEMA_VERSION
    assert row.native_data == state.to_json()
    assert row.writer == PYTHON_WRITER and row.has_native


async def test_rows_from_other_writers_are_decoded_from_the_js_form(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = make_agent()
    state = await interrupted_state(agent)
    decoded: list[str] = []
    real_decode = state_codec.decode_js

    async def spy(agent: Agent[Any], data: dict[str, Any], **kw: Any) -> RunState[Any]:
        decoded.append(str(data["$schemaVersion"]))
        return await real_decode(agent, data, **kw)

    monkeypatch.setattr(state_codec, "decode_js", spy)
    js = state_codec.encode_js(state)
    async with SnapshotTable(db_url) as table:
        # As Node writes it (no native form), and as another SDK version would.
        await table.save_json("node", js, state_type="interrupted")
        await table.save_json(
            "older",
            js,
            state.to_json(),
            state_type="interrupted",
            writer="python/openai-agents 0.23.0",
        )
    for key in ("node", "older"):
        async with RunStateStore(agent, key, db_url) as store:
            loaded = await store.load()
        result, _ = await approve_and_resume(agent, loaded)
        assert result.final_output == "Sent it."
    assert decoded == ["1.22", "1.22"]

    async with RunStateStore(agent, "python", db_url) as store:
        await store.save(state)
        await store.load()
    assert len(decoded) == 2  # same writer: the native form, no decoding


# --- state_type -----------------------------------------------------------------------------


async def test_state_type_is_computed(db_url: str) -> None:
    agent = make_agent()
    async with RunStateStore(agent, "types", db_url) as store:
        await store.save(await interrupted_state(agent))
        assert (await store.load_row()).state_type == "interrupted"

        await store.save(await final_state(agent))
        assert (await store.load_row()).state_type == "final"

        # A mid-run checkpoint: the first turn ran its tool, the run has not finished.
        await store.save(await checkpoint_state())
        assert (await store.load_row()).state_type == "checkpoint"
        assert [r.state_type for r in await store.history()] == [
            "checkpoint",
            "final",
            "interrupted",
        ]


@function_tool
def lookup(city: str) -> str:
    """Look up the weather (no approval needed)."""
    return f"sunny in {city}"


async def checkpoint_state() -> RunState[Any]:
    """A state between turns: streamed run cancelled after its first (tool-calling) turn."""
    agent = Agent(name="Weather", tools=[lookup])
    model = ScriptedModel(
        [
            [function_call("lookup", {"city": "Oakland"}, call_id="call_w")],
            [assistant_message("It is sunny.")],
        ]
    )
    result = Runner.run_streamed(agent, "Weather?", run_config=config(model))
    async for event in result.stream_events():
        if event.type == "run_item_stream_event" and event.name == "tool_output":
            result.cancel(mode="after_turn")
    assert result.final_output is None
    return result.to_state()


# --- load / resumed_at / missing / clear ----------------------------------------------------


async def test_load_sets_resumed_at_and_load_row_does_not(db_url: str) -> None:
    agent = make_agent()
    async with RunStateStore(agent, "resume", db_url) as store:
        await store.save(await interrupted_state(agent))
        assert (await store.load_row()).resumed_at is None
        assert (await store.load_row()).resumed_at is None
        await store.load()
        first = (await store.load_row()).resumed_at
        assert first is not None
        await store.load()
        second = (await store.load_row()).resumed_at
        assert second is not None and second >= first


async def test_a_snapshot_that_cannot_be_restored_is_not_marked_resumed(db_url: str) -> None:
    agent = make_agent()
    async with RunStateStore(agent, "wrong-graph", db_url) as store:
        await store.save(await interrupted_state(agent))
    stranger = Agent(name="Somebody else")
    async with RunStateStore(stranger, "wrong-graph", db_url) as store:
        with pytest.raises(SnapshotError):
            await store.load()
        assert (await store.load_row()).resumed_at is None


async def test_missing_key_raises_not_found_naming_the_key(db_url: str) -> None:
    agent = make_agent()
    async with RunStateStore(agent, "no-such-session", db_url) as store:
        with pytest.raises(SnapshotNotFoundError, match="'no-such-session'") as info:
            await store.load()
        assert info.value.key == "no-such-session"
        with pytest.raises(SnapshotNotFoundError, match="no-such-session"):
            await store.load_row()


async def test_generated_key_is_exposed_and_loadable_elsewhere(db_url: str) -> None:
    agent = make_agent()
    async with RunStateStore(agent, connection_string=db_url) as store:
        assert store.key == store.run_id and store.session_id is None
        with pytest.raises(SnapshotNotFoundError, match="generated"):
            await store.load()
        await store.save(await interrupted_state(agent))
        key = store.key
    async with RunStateStore(agent, key, db_url) as elsewhere:
        assert elsewhere.session_id == key
        assert [i.call_id for i in (await elsewhere.load()).get_interruptions()] == ["call_1"]


async def test_clear_deactivates_and_keeps_history(db_url: str) -> None:
    agent = make_agent()
    async with RunStateStore(agent, "clear-me", db_url) as store:
        await store.clear()  # nothing to clear: fine
        await store.save(await interrupted_state(agent))
        await store.save(await final_state(agent))
        await store.clear()
        with pytest.raises(SnapshotNotFoundError):
            await store.load()
        history = await store.history()
        assert [(r.state_type, r.is_active) for r in history] == [
            ("final", False),
            ("interrupted", False),
        ]
    assert count_rows(db_url, "clear-me") == (2, 0)


async def test_clear_does_not_swallow_errors() -> None:
    url = "postgresql://u:pw-xyz@127.0.0.1:1/db?connect_timeout=3"
    store = RunStateStore(make_agent(), "k", url)
    with pytest.raises(SnapshotError, match=r"127\.0\.0\.1") as info:
        await store.clear()
    assert "pw-xyz" not in str(info.value) and "pw-xyz" not in repr(store)
    await store.close()


# --- bad input ------------------------------------------------------------------------------


async def test_bad_input_is_refused_clearly(db_url: str) -> None:
    agent = make_agent()
    async with RunStateStore(agent, "bad", db_url) as store:
        with pytest.raises(UserError, match=r"Expected an agents\.RunState"):
            await store.save({"not": "a state"})  # type: ignore[arg-type]
        model = ScriptedModel([[assistant_message("ok")]])
        result = await Runner.run(agent, "hi", run_config=config(model))
        with pytest.raises(UserError, match=r"to_state\(\)"):
            await store.save(result)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="session id"):
        RunStateStore(agent, agent)  # type: ignore[call-overload]
    with pytest.raises(UserError, match="non-empty"):
        RunStateStore(agent, "")
    with pytest.raises(UserError, match=r"agents\.Agent first"):
        RunStateStore(42)  # type: ignore[call-overload]


# --- configuration --------------------------------------------------------------------------


async def test_default_database_is_wal_sqlite_in_the_app_dir(tmp_path: Path) -> None:
    agent = make_agent()
    async with RunStateStore(agent, "default") as store:  # conftest points TIMESTEP_HOME at tmp
        await store.save(await interrupted_state(agent))
        assert store.table is not None
        path = store.table.url.sqlite_path
    assert path == tmp_path / "timestep-home" / "timestep.sqlite"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT count(*) FROM run_states").fetchone()[0] == 1


async def test_environment_url_is_used(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PG_CONNECTION_URI", db_url)
    agent = make_agent()
    async with RunStateStore(agent, "from-env") as store:
        await store.save(await interrupted_state(agent))
    assert count_rows(db_url, "from-env") == (1, 1)


# --- concurrency ----------------------------------------------------------------------------


async def test_ten_concurrent_saves_leave_exactly_one_active_row(db_url: str) -> None:
    agent = make_agent()
    state = await interrupted_state(agent)
    stores = [RunStateStore(agent, "hot", db_url) for _ in range(10)]
    try:
        await asyncio.gather(*(s.save(state) for s in stores))
        assert count_rows(db_url, "hot") == (10, 1)
        # Loads racing with saves still only ever see (and mark) an active row.
        await asyncio.gather(*(s.load() if i % 2 else s.save(state) for i, s in enumerate(stores)))
        assert count_rows(db_url, "hot") == (15, 1)
    finally:
        for s in stores:
            await s.close()


def _save_in_child(url: str, barrier: Any, errors: Any) -> None:
    """Child process body: build a real interrupted state, then save it when all are ready."""

    async def main() -> None:
        agent = make_agent()
        state = await interrupted_state(agent)
        async with RunStateStore(agent, "shared-key", url) as store:
            assert store.table is not None
            await store.table.migrate()
            await asyncio.to_thread(barrier.wait, 60)
            await store.save(state)

    try:
        asyncio.run(main())
    except BaseException as exc:
        errors.put(f"{type(exc).__name__}: {exc}")
        raise


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method"
)
def test_ten_concurrent_saves_from_separate_processes(db_url: str) -> None:
    # fork: the children inherit the imported SDK (a fresh interpreter per child would spend
    # seconds importing it); each builds its own store, connection and state after the fork.
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(10)
    errors = ctx.Queue()
    procs = [ctx.Process(target=_save_in_child, args=(db_url, barrier, errors)) for _ in range(10)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    failures = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
    assert [p.exitcode for p in procs] == [0] * 10, failures
    assert count_rows(db_url, "shared-key") == (10, 1)
