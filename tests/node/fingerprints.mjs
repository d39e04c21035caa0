// Oracle for timestep's JS fingerprint port: the real getToolInvocationFingerprint of
// @openai/agents-core 0.20.0 (dist/toolInvocation.js is not exported, so it is loaded by path).
// Usage: node tests/node/fingerprints.mjs < [[toolName, argumentsString], ...] > [fingerprint, ...]
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { getToolInvocationFingerprint } = require(
  new URL('./node_modules/@openai/agents-core/dist/toolInvocation.js', import.meta.url).pathname,
);

let raw = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) raw += chunk;
const fingerprints = JSON.parse(raw).map(([toolName, args]) =>
  getToolInvocationFingerprint(toolName, { type: 'function_call', callId: 'call', name: 'tool', arguments: args }),
);
process.stdout.write(JSON.stringify(fingerprints));
