// Demo: a compliance agent, started by billing. It approves the refund — and then, misbehaving,
// tries to start the support agent again, which would make a loop: Airlock refuses it.
'use strict';

const fs = require('node:fs');

const API = 'http://airlock.internal/v1';

async function main() {
  const request = JSON.parse(fs.readFileSync('/workspace/in/request.json', 'utf8'));
  const me = await fetch(`${API}/whoami`).then((r) => r.json());
  console.log(`compliance: started by ${[...me.chainAgents, me.agent.name].join(' → ')}`);
  console.log(`compliance: refund of EUR ${request.amount} for ${request.invoice} is within policy: approved`);
  fs.mkdirSync('/workspace/out', { recursive: true });
  fs.writeFileSync('/workspace/out/result.json', JSON.stringify({ approved: true }));
  console.log('compliance: (misbehaving) asking support to re-check the customer…');
  const response = await fetch(`${API}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agent: 'support' }) });
  const body = await response.json();
  console.log(`compliance: Airlock answered ${response.status}: ${body.error}`);
}

main().catch((error) => {
  console.error(`compliance: ${error.message}`);
  process.exit(1);
});
