// Demo: a billing agent, started by the support agent. It reads the request, asks the compliance
// agent to check the refund, and writes its result for its parent (result.json).
'use strict';

const fs = require('node:fs');

const API = 'http://airlock.internal/v1';
const post = (path, body) => fetch(`${API}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());

async function main() {
  const request = JSON.parse(fs.readFileSync('/workspace/in/request.json', 'utf8'));
  const me = await fetch(`${API}/whoami`).then((r) => r.json());
  console.log(`billing: asked by ${me.chain.length} agent(s) above me to refund ${request.invoice} (${request.reason})`);
  await post('/actions', { type: 'tool_call', tool: 'find_payment', invoice: request.invoice });
  console.log('billing: found two payments for the same invoice; asking compliance before refunding…');
  const compliance = await post('/tasks', { agent: 'compliance', input: { invoice: request.invoice, amount: 639.36 } });
  const approved = compliance.result?.approved === true;
  console.log(`billing: compliance (${compliance.task}) says ${approved ? 'approved' : 'not approved'}`);
  await post('/actions', { type: 'tool_call', tool: approved ? 'issue_refund' : 'hold_refund', invoice: request.invoice });
  fs.mkdirSync('/workspace/out', { recursive: true });
  fs.writeFileSync('/workspace/out/result.json', JSON.stringify({ refunded: approved, reply: approved ? 'The duplicate charge of EUR 639.36 has been refunded.' : 'A refund is being reviewed.' }));
}

main().catch((error) => {
  console.error(`billing: ${error.message}`);
  process.exit(1);
});
