// Demo: a support agent. It handles a customer's refund question, records its own tool calls with
// Airlock, and delegates the refund to the billing agent through Airlock's in-sandbox API.
'use strict';

const API = 'http://airlock.internal/v1';
const post = (path, body) => fetch(`${API}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());

async function main() {
  console.log('support: customer C-1042 asks why they were charged twice for invoice INV-1042');
  await post('/actions', { type: 'tool_call', tool: 'lookup_customer', customer: 'C-1042' });
  console.log('support: looked up the customer; the duplicate charge needs a refund, which only billing may issue');
  console.log('support: delegating to the billing agent…');
  const billing = await post('/tasks', { agent: 'billing', input: { customer: 'C-1042', invoice: 'INV-1042', reason: 'duplicate charge' } });
  console.log(`support: billing (${billing.task}) finished with ${billing.status} ${billing.exitCode ?? ''}: ${JSON.stringify(billing.result)}`);
  console.log(`support: replying to the customer: "${billing.result?.reply ?? 'we are looking into it'}"`);
}

main().catch((error) => {
  console.error(`support: ${error.message}`);
  process.exit(1);
});
