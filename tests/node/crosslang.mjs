// Node half of the cross-language scenarios (the Python half is tests/crosslang/py_driver.py).
//
// Usage: node tests/node/crosslang.mjs < jobs.json > reports.json
// A job runs one side of a hop with the real @openai/agents-core 0.20.0: start from input or
// from a snapshot string (RunState.fromString), apply actions ("run" or {decide: [...]}), and
// report what happened plus state.toString(). Jobs are batched so Node starts once per phase.
// With job.db = {url, key, load?, save?} the snapshot goes through the shared run_states table
// instead, using exactly the SQL that database/README.md ("From Node") documents.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import {
  Agent,
  RunContext,
  RunState,
  Usage,
  getCurrentTrace,
  handoff,
  run,
  setTraceProcessors,
  setTracingDisabled,
  tool,
} from '@openai/agents-core';

const SCENARIOS = JSON.parse(
  readFileSync(new URL('../crosslang/scenarios.json', import.meta.url), 'utf8'),
);

function textOf(output) {
  return typeof output === 'string' ? output : (output?.text ?? JSON.stringify(output));
}

// Same script as the Python fake model: step k = number of tool results already in the input.
class ScenarioModel {
  constructor(steps, recorder) {
    this.steps = steps;
    this.recorder = recorder;
  }

  respond(request) {
    const input = Array.isArray(request.input) ? request.input : [];
    const outputs = input.filter((i) => i.type === 'function_call_result').map((i) => textOf(i.output));
    const k = outputs.length;
    this.recorder.seenOutputs.push(outputs.length ? outputs[outputs.length - 1] : '');
    const traceId = getCurrentTrace()?.traceId ?? null;
    this.recorder.traceIds.push(traceId === 'no-op' ? null : traceId);
    const step = this.steps[k];
    if (step == null) throw new Error(`scenario reached unexpected step ${k}`);
    const usage = { requests: 1, inputTokens: 10 * (k + 1), outputTokens: 5, totalTokens: 10 * (k + 1) + 5 };
    const calls = step.calls ?? (step.call ? [step.call] : []);
    const text = calls.length ? step.say : `final: ${outputs.length ? outputs[outputs.length - 1] : ''}`;
    const output = [];
    if (text != null) {
      output.push({ type: 'message', id: `msg_${k}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text }] });
    }
    output.push(...calls.map((call) => ({
      type: 'function_call',
      id: `fc_${call.call_id}`,
      callId: call.call_id,
      name: call.name,
      arguments: call.args_json ?? JSON.stringify(call.args),
      status: 'completed',
    })));
    return { usage, output, responseId: `resp_${k}` };
  }

  async getResponse(request) {
    const { usage, output, responseId } = this.respond(request);
    return { usage: new Usage(usage), output, responseId };
  }

  async *getStreamedResponse(request) {
    const { usage, output, responseId } = this.respond(request);
    yield { type: 'response_started' };
    for (const item of output) {
      if (item.type === 'message') yield { type: 'output_text_delta', delta: item.content[0].text };
    }
    yield { type: 'response_done', response: { id: responseId, usage, output } };
  }
}

function makeAgents(scenario, recorder) {
  const model = new ScenarioModel(SCENARIOS[scenario].steps, recorder);
  const sendEmail = tool({
    name: 'send_email',
    description: 'Send an email.',
    parameters: {
      type: 'object',
      properties: {
        to: { type: 'string' },
        subject: { type: 'string' },
        priority: { type: ['number', 'null'] },
        ttl: { type: ['number', 'null'] },
        tags: { type: ['array', 'null'], items: {} },
      },
      required: ['to', 'subject'],
      additionalProperties: false,
    },
    strict: false,
    needsApproval: true,
    execute: async (args, runContext) => {
      recorder.executed.push({ to: args.to, subject: args.subject, user: runContext?.context?.user_id ?? null });
      return `sent:${args.to}:${args.subject}`;
    },
  });
  const lookupContact = tool({
    name: 'lookup_contact',
    description: 'Look a contact up (no approval needed).',
    parameters: {
      type: 'object',
      properties: { name: { type: 'string' } },
      required: ['name'],
      additionalProperties: false,
    },
    strict: false,
    execute: async (args) => {
      recorder.lookups.push(args.name);
      return `contact:${args.name}`;
    },
  });
  const mailer = new Agent({
    name: 'Mailer',
    instructions: 'Send email.',
    model,
    tools: [lookupContact, sendEmail],
    outputGuardrails: [
      { name: 'polite', execute: async () => ({ tripwireTriggered: false, outputInfo: { polite: true } }) },
    ],
  });
  const triage = new Agent({
    name: 'Triage',
    instructions: 'Route.',
    model,
    handoffs: [handoff(mailer, { toolNameOverride: 'transfer_to_mailer' })],
    inputGuardrails: [
      { name: 'no_secrets', execute: async () => ({ tripwireTriggered: false, outputInfo: { checked: 1 } }) },
    ],
  });
  return { Mailer: mailer, Triage: triage };
}

function apply(state, decisions) {
  const pending = state.getInterruptions();
  if (pending.length !== decisions.length) {
    throw new Error(`${pending.length} interruptions, ${decisions.length} decisions`);
  }
  pending.forEach((item, n) => {
    const d = decisions[n];
    if (d.kind === 'approve') state.approve(item, { alwaysApprove: Boolean(d.always) });
    else state.reject(item, { alwaysReject: Boolean(d.always), ...(d.message ? { message: d.message } : {}) });
  });
}

async function runOnce(agent, input, job) {
  const options = input instanceof RunState ? {} : { context: job.context ?? undefined };
  if (job.stream) {
    const result = await run(agent, input, { ...options, stream: true });
    for await (const _event of result) {
      // drain
    }
    await result.completed;
    return result;
  }
  return run(agent, input, options);
}

// database/README.md, "Read (load for resumption)".
async function loadRow(db) {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query(
      `UPDATE run_states SET resumed_at = (NOW() AT TIME ZONE 'UTC')
        WHERE run_id = $1 AND is_active AND resumed_at IS NULL
        RETURNING state_data`,
      [db.key],
    );
    if (rows.length === 0) throw new Error(`no active snapshot for ${db.key}`);
    return JSON.stringify(rows[0].state_data);
  } finally {
    await client.end();
  }
}

// database/README.md, "Write (save)".
async function saveRow(db, state) {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_advisory_xact_lock(hashtext('timestep.run_states'), hashtext($1::text))", [db.key]);
    await client.query('UPDATE run_states SET is_active = false WHERE run_id = $1 AND is_active', [db.key]);
    const json = JSON.parse(state.toString());
    const stateType =
      state.getInterruptions().length > 0
        ? 'interrupted'
        : json.currentStep?.type === 'next_step_final_output'
          ? 'final'
          : 'checkpoint';
    await client.query(
      `INSERT INTO run_states (run_id, state_type, schema_version, state_data, is_active, created_at)
       VALUES ($1, $2, $3, $4, true, (clock_timestamp() AT TIME ZONE 'UTC'))`,
      [db.key, stateType, json.$schemaVersion, JSON.stringify(json)],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    await client.end();
  }
}

async function drive(job) {
  setTracingDisabled(!job.trace);
  const recorder = { executed: [], seenOutputs: [], traceIds: [], lookups: [] };
  const agents = makeAgents(job.scenario, recorder);
  const start = agents[SCENARIOS[job.scenario].start];
  const stored = job.db?.load ? await loadRow(job.db) : job.state;
  let state = stored != null ? await RunState.fromString(start, stored) : undefined;
  if (job.fresh) {
    // A checkpoint before the first turn.
    state = new RunState(new RunContext(job.context ?? {}), job.input ?? 'Please send it.', start, 10);
  }
  let result;
  for (const action of job.actions) {
    if (action === 'run') {
      result = await runOnce(start, state ?? job.input ?? 'Please send it.', job);
      state = result.state;
    } else {
      apply(state, action.decide);
    }
  }
  if (job.db?.save) await saveRow(job.db, state);
  const text = state.toString();
  const native = JSON.parse(text);
  const interruptions = state.getInterruptions();
  return {
    state: text,
    native,
    final_output: result && interruptions.length === 0 ? (result.finalOutput ?? null) : null,
    interruptions: interruptions.map((i) => ({ call_id: i.rawItem.callId, name: i.rawItem.name, arguments: i.rawItem.arguments })),
    executed: recorder.executed,
    lookups: recorder.lookups,
    seen_outputs: recorder.seenOutputs,
    usage: native.context.usage,
    trace_id: native.trace?.id ?? null,
    trace_ids: recorder.traceIds,
  };
}

setTraceProcessors([]); // never export traces from tests

let raw = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) raw += chunk;
const reports = [];
for (const job of JSON.parse(raw)) {
  try {
    reports.push(await drive(job));
  } catch (error) {
    reports.push({ error: `${error?.name ?? 'Error'}: ${error?.message ?? String(error)}`, stack: error?.stack ?? null });
  }
}
process.stdout.write(JSON.stringify(reports));
