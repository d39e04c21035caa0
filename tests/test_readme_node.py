"""The README's "Resuming a run from Node.js" example, run word for word with the real JS SDK.

A Python durable run parks on an approval; the README's Node snippet claims its snapshot row,
approves and finishes the run in JS; the parked Python run then refuses to resume it too.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from agents import Agent, function_tool

import timestep
from tests.durable.rule_model import RuleModelProvider
from timestep.durable import approve, cancel_run, get_run, launch, shutdown, start_run
from timestep.errors import ApprovalConflictError

REPO = Path(__file__).resolve().parents[1]
NODE_DIR = REPO / "tests" / "node"

# The model the snippet's agent uses: the README leaves the model to the reader's setup, so the
# test installs a default provider whose model finishes once the approved tool has run.
PREAMBLE = """
import { setDefaultModelProvider as __setProvider, Usage as __Usage } from '@openai/agents-core';
__setProvider({ getModel: async () => ({
  async getResponse(request) {
    const results = request.input.filter((i) => i.type === 'function_call_result');
    const last = results.length ? results[results.length - 1].output : null;
    const text = typeof last === 'string' ? last : (last?.text ?? 'nothing');
    return { usage: new __Usage({ requests: 1, inputTokens: 1, outputTokens: 1, totalTokens: 2 }),
             output: [{ type: 'message', role: 'assistant', status: 'completed', id: 'msg_js',
                        content: [{ type: 'output_text', text: `node finished: ${text}` }] }] };
  },
  async *getStreamedResponse() { throw new Error('not used'); },
}) });
"""


@function_tool
def lookup_order(order_id: str) -> str:
    """Look an order up."""
    return f"order {order_id}: 1 kettle, 89 USD, delivered"


@function_tool(needs_approval=True)
def refund(order_id: str, amount_usd: int) -> str:
    """Refund an order."""
    return f"python refunded {amount_usd} USD on {order_id}"


refunds = Agent(name="Refunds", instructions="Handle refunds.", tools=[lookup_order, refund])
timestep.register_agent(refunds, model_provider=RuleModelProvider())


def readme_snippet() -> str:
    text = (REPO / "README.md").read_text()
    section = text.split("## Resuming a run from Node.js", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```js\n(.*?)```", section, re.S)
    assert match, "the README section has no JS example"
    return match.group(1)


@pytest.fixture
async def parked_on_postgres(postgres_url: str) -> AsyncIterator[tuple[str, str]]:
    launch(postgres_url)
    try:
        handle = await start_run(
            "Refunds", 'call refund({"order_id": "A-1001", "amount_usd": 89})', session_id="customer-42"
        )
        for _ in range(600):
            if (await get_run(handle.run_id)).status == "waiting_approval":
                break
            await asyncio.sleep(0.05)
        yield postgres_url, handle.run_id
    finally:
        shutdown()


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
async def test_readme_node_example_resumes_a_parked_python_run(
    parked_on_postgres: tuple[str, str], tmp_path: Path
) -> None:
    db_url, run_id = parked_on_postgres
    script = NODE_DIR / f"_readme_example_{os.getpid()}.mjs"  # resolves tests/node/node_modules
    script.write_text(PREAMBLE + readme_snippet() + "\nawait db.end();\n")
    try:
        node = await asyncio.to_thread(
            subprocess.run, ["node", str(script)], capture_output=True, text=True, timeout=120,
            env={**os.environ, "TIMESTEP_DB_URL": db_url},
        )
    finally:
        script.unlink()
    assert node.returncode == 0, node.stderr
    assert node.stdout.strip() == "node finished: refunded 89 USD on A-1001"
    with pytest.raises(ApprovalConflictError, match="loaded for resumption elsewhere"):
        await approve(run_id)
    await cancel_run(run_id)
