"""A vanilla Node program (``@openai/agents-core`` 0.20.0 + ``pg``) on the ``run_states`` table.

The Node side uses exactly the SQL of ``database/README.md`` ("From Node"): it loads a row
Python saved, approves, finishes the run and saves the result; Python then loads Node's row.
Also: Node reads the file form's ``state.json`` as it is.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, RunConfig, Runner, RunState, function_tool
from agents.testing import ScriptedModel, function_call

from timestep.state import RunStateStore, SnapshotTable
from timestep.state import codec as state_codec

NODE_MODULES = Path(__file__).resolve().parent / "node" / "node_modules"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_MODULES / "@openai" / "agents-core").is_dir(),
    reason="needs node and tests/node/node_modules (npm ci in tests/node)",
)

# CommonJS so that NODE_PATH finds the pinned packages in tests/node/node_modules.
NODE_PROGRAM = r"""
const fs = require('node:fs');
const { Agent, RunState, Usage, run, tool, setTracingDisabled, setTraceProcessors } =
  require('@openai/agents-core');
const { Client } = require('pg');
setTracingDisabled(true);
setTraceProcessors([]);

class FinalModel {
  async getResponse() {
    return {
      usage: new Usage({ requests: 1, inputTokens: 3, outputTokens: 2, totalTokens: 5 }),
      output: [{ type: 'message', id: 'msg_node', role: 'assistant', status: 'completed',
                 content: [{ type: 'output_text', text: 'Sent from Node.' }] }],
      responseId: 'resp_node',
    };
  }
  async *getStreamedResponse() { throw new Error('not used'); }
}

const executed = [];
const sendEmail = tool({
  name: 'send_email',
  description: 'Send an email (needs a human\'s approval).',
  parameters: { type: 'object', properties: { to: { type: 'string' }, body: { type: 'string' } },
                required: ['to', 'body'], additionalProperties: false },
  strict: false,
  needsApproval: true,
  execute: async (args) => { executed.push(args); return `sent to ${args.to}: ${args.body}`; },
});
const agent = new Agent({ name: 'Mailer', instructions: 'You send emails.', model: new FinalModel(),
                          tools: [sendEmail] });

async function fromFile(path) {
  const state = await RunState.fromString(agent, fs.readFileSync(path, 'utf8'));
  return { pending: state.getInterruptions().map((i) => i.rawItem.name) };
}

async function fromDatabase(connectionString, key) {
  const client = new Client({ connectionString });
  await client.connect();
  try {
    // database/README.md, "Read (load for resumption)".
    const { rows } = await client.query(
      `UPDATE run_states SET resumed_at = (NOW() AT TIME ZONE 'UTC')
        WHERE run_id = $1 AND is_active AND resumed_at IS NULL
        RETURNING state_data`, [key]);
    if (rows.length === 0) throw new Error(`no unclaimed active snapshot for ${key}`);
    const state = await RunState.fromString(agent, JSON.stringify(rows[0].state_data));
    const pending = state.getInterruptions();
    for (const item of pending) state.approve(item);
    const result = await run(agent, state);
    const finished = result.state;

    // database/README.md, "Write (save)".
    const json = JSON.parse(finished.toString());
    const stateType = finished.getInterruptions().length > 0 ? 'interrupted'
      : json.currentStep?.type === 'next_step_final_output' ? 'final' : 'checkpoint';
    await client.query('BEGIN');
    try {
      await client.query(
        "SELECT pg_advisory_xact_lock(hashtext('timestep.run_states'), hashtext($1::text))", [key]);
      await client.query(
        'UPDATE run_states SET is_active = false WHERE run_id = $1 AND is_active', [key]);
      await client.query(
        `INSERT INTO run_states (run_id, state_type, schema_version, state_data, is_active, created_at)
         VALUES ($1, $2, $3, $4, true, (clock_timestamp() AT TIME ZONE 'UTC'))`,
        [key, stateType, json.$schemaVersion, JSON.stringify(json)]);
      await client.query('COMMIT');
    } catch (e) { await client.query('ROLLBACK'); throw e; }
    return { pending: pending.map((i) => i.rawItem.name), executed,
             finalOutput: result.finalOutput, stateType };
  } finally {
    await client.end();
  }
}

const [mode, target, key] = process.argv.slice(2);
(mode === 'file' ? fromFile(target) : fromDatabase(target, key))
  .then((report) => process.stdout.write(JSON.stringify(report)))
  .catch((error) => { console.error(error?.stack ?? String(error)); process.exit(1); });
"""


def run_node(tmp_path: Path, *args: str) -> dict[str, Any]:
    script = tmp_path / "store_client.cjs"
    script.write_text(NODE_PROGRAM)
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    proc = subprocess.run(
        ["node", str(script), *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


@function_tool(needs_approval=True)
def send_email(to: str, body: str) -> str:
    """Send an email (needs a human's approval)."""
    return f"sent to {to}: {body}"


async def interrupted(agent: Agent[Any]) -> RunState[Any]:
    model = ScriptedModel(
        [[function_call("send_email", {"to": "bob@example.com", "body": "hi"}, call_id="call_1")]]
    )
    result = await Runner.run(
        agent, "Email Bob", run_config=RunConfig(model=model, tracing_disabled=True)
    )
    return result.to_state()


async def test_node_resumes_a_python_row_and_python_loads_nodes_row(
    postgres_url: str, tmp_path: Path
) -> None:
    agent = Agent(name="Mailer", instructions="You send emails.", tools=[send_email])
    async with RunStateStore(agent, "conv_node", postgres_url) as store:
        await store.save(await interrupted(agent))
        python_row = await store.load_row()

    report = run_node(tmp_path, "db", postgres_url, "conv_node")
    assert report["pending"] == ["send_email"]
    assert report["executed"] == [{"to": "bob@example.com", "body": "hi"}]
    assert report["finalOutput"] == "Sent from Node."
    assert report["stateType"] == "final"

    async with SnapshotTable(postgres_url) as table:
        history = await table.history("conv_node")
        # Node's read marked Python's row: a parked Python resumer's claim now fails.
        assert [r.id for r in history][1] == python_row.id
        assert history[1].resumed_at is not None and not history[1].is_active
        assert await table.mark_resumed("conv_node", row_id=python_row.id) is None
        node_row = history[0]
        assert node_row.is_active and node_row.writer is None and node_row.native_data is None
        assert node_row.state_type == "final" and node_row.schema_version == "1.22"

    async with RunStateStore(agent, "conv_node", postgres_url) as store:
        finished = await store.load()  # decoded from Node's JS form
    assert state_codec.snapshot_state_type(finished) == "final"
    assert finished.get_interruptions() == []


async def test_node_reads_the_file_form_as_it_is(tmp_path: Path) -> None:
    agent = Agent(name="Mailer", instructions="You send emails.", tools=[send_email])
    path = tmp_path / "state.json"
    async with RunStateStore(path, agent) as store:
        await store.save(await interrupted(agent))
    assert run_node(tmp_path, "file", str(path)) == {"pending": ["send_email"]}
