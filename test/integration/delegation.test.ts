import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../main/core/clock.js';
import { CredentialStore } from '../../main/core/credentials/store.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { loadManifestFile } from '../../main/core/policy/manifest.js';
import { AgentRegistry } from '../../main/core/policy/registry.js';
import { DelegationTree } from '../../main/core/tasks/delegation.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { harness, REPO, runCli, specFrom, tempDir, waitFor } from '../helpers/env.js';
import { MemorySecrets } from '../helpers/memory-secrets.js';

/** Approved agents in a test's own home, and a runner that lets them delegate. */
function setup(agents: Record<string, string>, limits = { concurrentTasks: 8, spawnsPerMinute: 30 }) {
  const h = harness();
  const registry = new AgentRegistry(h.home.root, path.join(REPO, 'assets'));
  const files = Object.entries(agents).map(([name, yaml]) => {
    const file = path.join(h.root, `${name}.yaml`);
    fs.writeFileSync(file, yaml);
    return file;
  });
  // Twice: an approval pins the agents its manifest may start as they are approved at that moment.
  for (const file of [...files, ...files]) registry.approve(loadManifestFile(file), 'test');
  const store = new CredentialStore(h.home.root, new MemorySecrets());
  store.add({ name: 'billing-api', secret: 'billing-secret', hosts: ['billing.vendor.test'], maxTtlMs: 3_600_000 });
  store.add({ name: 'ledger-api', secret: 'ledger-secret', hosts: ['ledger.vendor.test'], maxTtlMs: 3_600_000 });
  const gateway = new Gateway({ bus: h.bus, clock: systemClock, resolve: async () => { throw new Error('no DNS in tests'); } });
  const runner = new TaskRunner({
    engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir: path.join(REPO, 'assets'),
    credentials: store, agents: registry, delegation: new DelegationTree(systemClock, limits),
  });
  return { ...h, runner };
}

const call = (agent: string, extra = '') => `curl -s -X POST -H 'content-type: application/json' -d '{"agent":"${agent}","input":{"from":"'$AGENT'"}${extra}}' http://airlock.internal/v1/tasks`;
/** Agents that delegate need the gateway (the API is reached through it); leaves need no network. */
const agentYaml = (name: string, script: string, delegate: string, extra = '') =>
  `name: ${name}\nenv: { AGENT: ${name} }\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\noutputs: [/workspace/out]\n${extra.includes('network:') ? '' : delegate ? 'network: { mode: allowlist }\n' : 'network: { mode: none }\n'}${delegate}\n${extra}`;

describe('delegation through the in-sandbox API', () => {
  it('a chain helpdesk → invoicing → checker runs, each its own task; the loop back to helpdesk is refused', async () => {
    const { root, events, runner, engine } = setup({
      helpdesk: agentYaml('helpdesk', `curl -s -X POST -H 'content-type: application/json' -d '{"type":"tool_call","tool":"lookup_customer"}' http://airlock.internal/v1/actions; echo; ${call('invoicing')}`, 'delegate: { allow: [invoicing], maxDepth: 3, maxTasks: 5 }'),
      invoicing: agentYaml('invoicing', `cat /workspace/in/request.json; echo; ${call('checker')}; echo '{"invoice":"paid"}' > /workspace/out/result.json`, 'delegate: { allow: [checker], maxDepth: 3 }'),
      checker: agentYaml('checker', `curl -s http://airlock.internal/v1/whoami; echo; ${call('helpdesk')}`, 'delegate: { allow: [helpdesk], maxDepth: 3 }'),
    });
    const outcome = await runner.run(specFrom(root, fs.readFileSync(path.join(root, 'helpdesk.yaml'), 'utf8')));
    expect(outcome.exitCode).toBe(0);
    const created = events.filter((e) => e.kind === 'task.created');
    expect(created.map((e) => e.agent.name)).toEqual(['helpdesk', 'invoicing', 'checker']);
    const [helpdesk, invoicing, checker] = created.map((e) => e.task);
    expect(created[1]).toMatchObject({ parent: helpdesk, chain: [helpdesk] });
    expect(created[2]).toMatchObject({ parent: invoicing, chain: [helpdesk, invoicing] });
    expect(events.filter((e) => e.task === checker).every((e) => e.parent === invoicing)).toBe(true);
    const loop = events.find((e) => e.kind === 'policy.violation' && e.task === checker);
    expect(loop).toMatchObject({ decision: { rule: 'delegate.cycle' }, data: { reason: 'helpdesk is already on the chain helpdesk → invoicing → checker → helpdesk: a loop' } });
    const billingOut = events.filter((e) => e.task === invoicing && e.kind === 'proc.stdout').map((e) => String(e.data.line));
    expect(billingOut[0]).toBe('{\n  "from": "helpdesk"\n}'.split('\n')[0]);
    const supportOut = events.filter((e) => e.task === helpdesk && e.kind === 'proc.stdout').map((e) => String(e.data.line)).join('\n');
    expect(supportOut).toMatch(/"recorded":true/);
    expect(JSON.parse(supportOut.split('\n').at(-1)!)).toMatchObject({ task: invoicing, status: 'exited', exitCode: 0, result: { invoice: 'paid' } });
    expect(events.find((e) => e.kind === 'agent.action' && e.task === helpdesk && e.data.type === 'tool_call')).toMatchObject({ actor: 'agent', data: { tool: 'lookup_customer' } });
    expect((await listTaskObjects(engine)).filter((t) => [helpdesk, invoicing, checker].includes(t.task))).toEqual([]);
  });

  it('refuses agents not listed, chains deeper than allowed, and more descendants than allowed', async () => {
    const { root, events, runner } = setup({
      root: agentYaml('root', `${call('other')}; echo; ${call('child')}; echo; ${call('child')}; echo; ${call('child')}`, 'delegate: { allow: [child], maxDepth: 1, maxTasks: 2 }'),
      child: agentYaml('child', `${call('grandchild')}`, 'delegate: { allow: [grandchild], maxDepth: 5 }'),
      grandchild: agentYaml('grandchild', 'echo too deep', ''),
      other: agentYaml('other', 'echo other', ''),
    });
    await runner.run(specFrom(root, fs.readFileSync(path.join(root, 'root.yaml'), 'utf8')));
    const refusals = events.filter((e) => e.kind === 'policy.violation').map((e) => e.data.rule);
    expect(refusals).toEqual(['delegate.allow', 'delegate.maxDepth', 'delegate.maxDepth', 'delegate.maxTasks']);
    expect(events.filter((e) => e.kind === 'task.created').map((e) => e.agent.name)).toEqual(['root', 'child', 'child']);
  });

  it('a child gets only grants its parent holds, never for longer; asking for more is refused', async () => {
    const { root, events, runner } = setup({
      payer: agentYaml('payer', `${call('invoicing', ',"credentials":["billing-api"]')}; echo; ${call('ledger', ',"credentials":["ledger-api"]')}`, 'delegate: { allow: [invoicing, ledger], maxDepth: 2 }', 'credentials: [{ name: billing-api, ttl: 2m, env: BILLING_TOKEN }]\nnetwork: { mode: allowlist, allow: [billing.vendor.test] }'),
      invoicing: agentYaml('invoicing', 'echo invoicing ran', '', 'credentials: [{ name: billing-api, ttl: 30m, env: BILLING_TOKEN }]\nnetwork: { mode: allowlist, allow: [billing.vendor.test] }'),
      ledger: agentYaml('ledger', 'echo ledger ran', '', 'credentials: [{ name: ledger-api, env: LEDGER_TOKEN }]\nnetwork: { mode: allowlist, allow: [ledger.vendor.test] }'),
    });
    await runner.run(specFrom(root, fs.readFileSync(path.join(root, 'payer.yaml'), 'utf8')));
    const granted = events.filter((e) => e.kind === 'cred.granted').map((e) => ({ agent: e.agent.name, expiresAt: Date.parse(String(e.data.expiresAt)) }));
    expect(granted.map((g) => g.agent)).toEqual(['payer', 'invoicing']);
    expect(granted[1]!.expiresAt).toBeLessThanOrEqual(granted[0]!.expiresAt + 1000);
    const refused = events.find((e) => e.kind === 'policy.violation' && e.data.rule === 'delegate.refused');
    expect(String(refused?.data.reason)).toMatch(/ledger asks for ledger-api, which its parent does not hold/);
  });

  it('a storm of spawns is cut off by the process-wide rate', async () => {
    const { root, events, runner } = setup({
      stormer: agentYaml('stormer', `for i in 1 2 3 4; do ${call('quick')}; echo; done`, 'delegate: { allow: [quick], maxDepth: 1, maxTasks: 10 }'),
      quick: agentYaml('quick', 'echo quick', ''),
    }, { concurrentTasks: 8, spawnsPerMinute: 2 });
    await runner.run(specFrom(root, fs.readFileSync(path.join(root, 'stormer.yaml'), 'utf8')));
    expect(events.filter((e) => e.kind === 'task.created').length).toBe(3);
    expect(events.filter((e) => e.kind === 'policy.violation').map((e) => e.data.rule)).toEqual(['global.spawnsPerMinute', 'global.spawnsPerMinute']);
  });

  it('freezing a parent freezes its running child too', async () => {
    const { root, events, runner } = setup({
      parent: agentYaml('parent', `(${call('sleeper')}) & sleep 2; curl -s http://other.test/ >/dev/null; curl -s http://other.test/ >/dev/null; sleep 60`,
        'delegate: { allow: [sleeper], maxDepth: 1 }', 'maxRefusedRequests: 1\nonViolation: freeze'),
      sleeper: agentYaml('sleeper', 'echo sleeping; sleep 60', ''),
    });
    const controller = new AbortController();
    const running = runner.run(specFrom(root, fs.readFileSync(path.join(root, 'parent.yaml'), 'utf8')), { signal: controller.signal });
    const frozen = await waitFor(async () => {
      const kinds = events.filter((e) => e.kind === 'task.frozen');
      return kinds.length === 2 ? kinds : undefined;
    }, 'parent and child to freeze');
    expect(frozen.map((e) => [e.agent.name, e.data.reason])).toEqual(expect.arrayContaining([
      ['parent', 'more than 1 refused requests'], ['sleeper', 'its parent task was frozen'],
    ]));
    controller.abort();
    await running;
  });

  it('the built-in demo: airlock run support shows the chain and the refused loop', async () => {
    const result = await runCli(['run', 'support'], { env: { AIRLOCK_HOME: path.join(tempDir(), 'home') } });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/↳ billing ▶ t_\w+ billing/);
    expect(result.stdout).toMatch(/ {2}↳ compliance │ compliance: started by support → billing → compliance/);
    expect(result.stdout).toMatch(/↳ compliance ⚠ policy violation: support is already on the chain support → billing → compliance → support: a loop/);
    expect(result.stdout).toMatch(/│ support: replying to the customer: "The duplicate charge of EUR 639\.36 has been refunded\."/);
  });
});
