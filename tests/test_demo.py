"""``timestep demo`` end to end, as a user runs it, plus its scripted model's rules."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.fakes._common import Reply, ToolCall
from tests.fakes.ollama_server import FakeOllama
from tests.test_cli import cli_env, in_process, ok, one_line_error, timestep
from tests.test_cli_errors import closed_port
from timestep.demo._model import reply_for


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path / "home")


def assert_story(out: str) -> None:
    """The demo told the whole story, in order, and its check passed."""
    milestones = [
        "scripted demo model",
        "1/6 Start a worker and submit a run",
        "worker #1 ready: pid",
        "● tool  lookup_order",
        "⏸ parked: waiting for approval of refund",
        "status waiting_approval: refund(",
        "executed so far: model calls: 2, lookup_order: 1, refund: 0",
        "2/6 Kill the worker with SIGKILL",
        "killed, exit code -9",
        "the run is still waiting_approval in the database",
        "3/6 Start a new worker",
        "took its runs over",
        "worker #2 replayed the run: it went through 2 turns and 1 tool call(s) again",
        "executed so far: model calls: 2, lookup_order: 1, refund: 0",
        "unchanged: no model call and no tool ran again",
        "4/6 Approve from another process",
        "$ timestep approve demo-",
        "Approved refund(",
        "5/6 The run finishes on worker #2",
        "✔ approved call_refund_3",
        "● tool  refund → Refunded 129.00 USD on order A-1001",
        "✓ completed",
        "6/6 Check: every step executed exactly once",
        "No step ran twice: 3 recorded turns = 3 model calls",
        "Timeline",
        "turn 3",
        "snapshot",
        "Output: Done. Refunded 129.00 USD",
        "demo finished in",
    ]
    position = 0
    for milestone in milestones:
        found = out.find(milestone, position)
        assert found >= 0, f"missing (after position {position}): {milestone!r}\n{out}"
        position = found + len(milestone)
    # Per process: worker 1 did turns 1-2 and the lookup; worker 2 went through all three turns
    # (two replayed) but executed only what was left.
    rows = {
        m.group(1): m.group(2, 3, 4, 5)
        for m in re.finditer(r"(worker #\d) \(pid \d+\)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", out)
    }
    assert rows == {"worker #1": ("2", "2", "1", "0"), "worker #2": ("3", "1", "0", "1")}, rows
    assert re.search(r"total executed\s+3\s+1\s+1", out)


def test_demo_offline_on_a_temporary_database(env: dict[str, str]) -> None:
    done = timestep("demo", env=env, timeout=180)
    out = ok(done)
    assert_story(out)
    database = re.search(r"Database: sqlite:///(\S+) \(a fresh temporary SQLite file\)", out)
    assert database is not None
    assert not Path(database.group(1)).exists(), "the temporary database outlived the demo"
    assert "`timestep demo --keep` keeps it" in out


async def test_demo_on_postgres_keeps_the_run(postgres_url: str, env: dict[str, str]) -> None:
    out = ok(timestep("demo", "--db", postgres_url, env=env, timeout=180))
    assert_story(out)
    hint = re.search(r"Look again: timestep .*show (demo-\w+)", out)
    assert hint is not None
    shown = json.loads(ok(await in_process("--db", postgres_url, "show", hint.group(1), "--json")))
    assert shown["status"] == "succeeded" and shown["usage"]["requests"] == 3


def test_demo_with_a_model_over_the_ollama_protocol(env: dict[str, str]) -> None:
    # The fake server counts chat requests: three turns across a SIGKILL, none asked twice.
    with FakeOllama.start(models=["llama3.2"]) as ollama:
        ollama.script(
            [
                Reply(tool_calls=(ToolCall("lookup_order", {"order_id": "A-1001"}),)),
                Reply(
                    tool_calls=(ToolCall("refund", {"order_id": "A-1001", "amount_cents": 12900}),)
                ),
                Reply(text="Refunded 129.00 USD for order A-1001."),
            ]
        )
        out = ok(
            timestep(
                "demo",
                "--model",
                "ollama/llama3.2",
                env={**env, "OLLAMA_HOST": ollama.url},
                timeout=180,
            )
        )
        assert ollama.chat_count == 3
    assert "Model:    ollama/llama3.2 (real; --model)" in out
    assert "No step ran twice: 3 recorded turns = 3 model calls" in out
    assert "Refunded 129.00 USD for order A-1001." in out


@pytest.mark.parametrize(
    ("model", "extra_env", "expected"),
    [
        (
            "ollama/llama3.2",
            {"OLLAMA_HOST": "http://127.0.0.1:{port}"},
            "Ollama is not reachable at",
        ),
        ("openai/gpt-4.1-mini", {}, "set OPENAI_API_KEY"),
        ("gpt-4.1-mini", {}, "set OPENAI_API_KEY"),
    ],
)
def test_demo_model_that_cannot_work_is_one_line(
    model: str, extra_env: dict[str, str], expected: str, env: dict[str, str]
) -> None:
    extra = {k: v.format(port=closed_port()) for k, v in extra_env.items()}
    done = timestep("demo", "--model", model, env={**env, **extra}, timeout=60)
    assert done.returncode == 1
    assert expected in one_line_error(done)


def test_demo_model_not_pulled_is_one_line(env: dict[str, str]) -> None:
    with FakeOllama.start(models=["qwen3:0.6b"]) as ollama:
        done = timestep(
            "demo", "--model", "ollama/llama3.2", env={**env, "OLLAMA_HOST": ollama.url}, timeout=60
        )
    assert "run `ollama pull llama3.2`" in one_line_error(done)


def _call(name: str, arguments: dict[str, Any], call_id: str) -> dict[str, Any]:
    return {
        "type": "function_call",
        "name": name,
        "arguments": json.dumps(arguments),
        "call_id": call_id,
    }


def _output(call_id: str, output: str) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def test_scripted_model_plays_the_refund_by_rule() -> None:
    user = {"role": "user", "content": "Order a-1002 is late, refund it"}
    (first,) = reply_for([user])
    assert (first.name, json.loads(first.arguments)) == ("lookup_order", {"order_id": "A-1002"})
    looked_up = [
        user,
        _call("lookup_order", {"order_id": "A-1002"}, "c1"),
        _output("c1", json.dumps({"order_id": "A-1002", "amount_cents": 3450})),
    ]
    (second,) = reply_for(looked_up)
    assert (second.name, json.loads(second.arguments)) == (
        "refund",
        {"order_id": "A-1002", "amount_cents": 3450},
    )
    refunded = [
        *looked_up,
        _call("refund", {}, "c2"),
        _output("c2", "Refunded 34.50 USD on order A-1002."),
    ]
    assert reply_for(refunded)[0].content[0].text.startswith("Done. Refunded 34.50 USD")
    rejected = [*looked_up, _call("refund", {}, "c2"), _output("c2", "Needs a manager.")]
    assert reply_for(rejected)[0].content[0].text == "I did not issue the refund: Needs a manager."
    unknown = [user, _call("lookup_order", {}, "c1"), _output("c1", '{"error": "no such order"}')]
    assert reply_for(unknown)[0].content[0].text.startswith("I could not find that order")
    # Same input, same reply: a re-asked turn would be indistinguishable.
    assert reply_for(looked_up)[0].call_id == second.call_id
