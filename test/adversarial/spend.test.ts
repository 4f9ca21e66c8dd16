import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { systemClock } from '../../main/core/clock.js';
import { CredentialStore } from '../../main/core/credentials/store.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { loadManifestFile } from '../../main/core/policy/manifest.js';
import { AgentRegistry } from '../../main/core/policy/registry.js';
import { SpendLedger } from '../../main/core/spend/ledger.js';
import { pricesReader } from '../../main/core/spend/prices.js';
import { DelegationTree } from '../../main/core/tasks/delegation.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { harness, REPO, specFrom } from '../helpers/env.js';
import { MemorySecrets } from '../helpers/memory-secrets.js';
import { startAnthropicApi } from '../helpers/providers/anthropic.js';
import { oneHostRoute } from '../helpers/providers/one-host-route.js';

// Hostile agents in real sandboxes spending through the real gateway against a pretend Anthropic
// API on a `.test` name: usage is read from the relayed answers (streamed and not), a child spends
// out of its parent's budget and is refused at what the parent has left, and an agent that sends
// the same request over and over is stopped.
const KEY = `sk-ant-SPEND-${process.pid}-7c1e`;
const MODEL_HOST = 'api.model.test';
const PUBLIC = '34.120.0.20';
let api: Awaited<ReturnType<typeof startAnthropicApi>>;
beforeAll(async () => {
  // 12 in + 8 out: every answer is 20 tokens.
  api = await startAnthropicApi({ host: MODEL_HOST, key: KEY, script: { calls: [] }, usage: { input_tokens: 12, output_tokens: 8 } });
});
afterAll(async () => {
  await api.close();
});

function setup(agents: Record<string, string>) {
  const h = harness();
  const assetsDir = path.join(REPO, 'assets');
  const registry = new AgentRegistry(h.home.root, assetsDir);
  const files = Object.entries(agents).map(([name, yaml]) => {
    const file = path.join(h.root, `${name}.yaml`);
    fs.writeFileSync(file, yaml);
    return file;
  });
  for (const file of [...files, ...files]) registry.approve(loadManifestFile(file), 'test');
  const store = new CredentialStore(h.home.root, new MemorySecrets());
  store.add({ name: 'model-key', secret: KEY, hosts: [MODEL_HOST], inject: { kind: 'header', template: 'x-api-key: {secret}' }, maxTtlMs: 3_600_000 });
  // The pretend provider's name resolves to a "public" address the dialer maps to its local port.
  const gateway = new Gateway({
    bus: h.bus, clock: systemClock, upstreamCa: fs.readFileSync(api.caFile, 'utf8'),
    ...oneHostRoute(MODEL_HOST, PUBLIC, api.port),
  });
  const runner = new TaskRunner({
    engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir,
    credentials: store, agents: registry, delegation: new DelegationTree(systemClock),
    spend: new SpendLedger({ bus: h.bus, prices: pricesReader(assetsDir, h.home.root) }),
  });
  return { ...h, runner, run: (name: string) => runner.run(specFrom(h.root, fs.readFileSync(path.join(h.root, `${name}.yaml`), 'utf8'))) };
}

const agent = (name: string, script: string, rest: string) =>
  `name: ${name}\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\n${rest}\ncredentials: [{ name: model-key, env: MODEL_KEY }]\nnetwork: { mode: allowlist, allow: [${MODEL_HOST}] }\n`;
/** `call BODY [STREAM]`: a Messages call; prints the status, keeps the body in /tmp/body. */
const CALL = `call() { curl -s -o /tmp/body -w "%{http_code}" -H "x-api-key: $MODEL_KEY" -H "content-type: application/json" https://${MODEL_HOST}/v1/messages -d "{\\"model\\":\\"claude-sonnet-4-5\\",\\"max_tokens\\":5,\\"stream\\":$2,\\"messages\\":[{\\"role\\":\\"user\\",\\"content\\":\\"$1\\"}]}"; }`;
const spawn = (child: string) => `curl -s -X POST -H 'content-type: application/json' -d '{"agent":"${child}"}' http://airlock.internal/v1/tasks`;
const linesOf = (events: AirlockEvent[], agentName: string) => events.filter((e) => e.agent.name === agentName && e.kind === 'proc.stdout').map((e) => String(e.data.line));
const modelCalls = () => api.requests.filter((r) => r.path === '/v1/messages');

describe('model spend under budgets', () => {
  it('a child overspending its parent\'s budget is refused at what the parent has left, before upstream; the parent stops with the reason', async () => {
    const { events, engine, run } = setup({
      // The parent's budget is 100 tokens: its own streamed call takes 20, the child may take the rest.
      spender: agent('spender', `${CALL}; echo "parent $(call first true)"; ${spawn('overspender')} > /dev/null; echo parent after child; sleep 30`,
        'budget: { tokens: 100, usd: 5 }\nonViolation: stop\ndelegate: { allow: [overspender], maxDepth: 1 }'),
      // Its own budget is far larger: it still spends out of its parent's.
      overspender: agent('overspender', `${CALL}; for i in 1 2 3 4 5 6; do s=$(call "child $i" false); echo "child $i $s"; if [ "$s" = 429 ]; then cat /tmp/body; echo; sleep 30; fi; done`,
        'budget: { tokens: 1000000 }'),
    });
    api.requests.length = 0;
    const outcome = await run('spender');

    // The parent was stopped by its budget; the reason is on the record.
    expect(outcome.status).toBe('stopped');
    const parent = events.find((e) => e.kind === 'task.created' && e.agent.name === 'spender')!;
    const child = events.find((e) => e.kind === 'task.created' && e.agent.name === 'overspender')!;
    expect(parent.data.budget).toEqual({ tokens: 100, usd: 5 });
    const violation = events.find((e) => e.kind === 'policy.violation' && e.data.rule === 'budget.tokens')!;
    expect(violation.task).toBe(parent.task);
    expect(String(violation.data.reason)).toMatch(/the budget of spender \(t_\w+\), which this task's spend comes out of, is spent \(\$0\.00078, 100 tokens, 5 requests of \$5, 100 tokens\)/);
    expect(events.find((e) => e.task === parent.task && e.kind === 'task.stopped')?.data.reason).toEqual(expect.stringMatching(/budget/));

    // The child got four answers, then a refusal it can read; its sixth call was never made.
    const childLines = linesOf(events, 'overspender');
    expect(childLines.slice(0, 5)).toEqual(['child 1 200', 'child 2 200', 'child 3 200', 'child 4 200', 'child 5 429']);
    expect(JSON.parse(childLines[5]!)).toEqual({
      error: 'airlock_budget', message: expect.stringMatching(/^Airlock refused this model call: the budget of spender/),
      spent: { tokens: 100, usd: expect.closeTo(0.00078, 8), requests: 5 }, budget: { tokens: 100, usd: 5 },
    });
    expect(childLines).not.toContain('child 6 200');
    // Upstream saw five calls, with the real key; the refused one never left.
    expect(modelCalls().map((r) => r.key)).toEqual(['real', 'real', 'real', 'real', 'real']);
    expect(events.find((e) => e.kind === 'net.denied' && e.task === child.task)).toMatchObject({ decision: { allow: false, rule: 'budget.tokens' }, data: { status: 429, host: MODEL_HOST, path: '/v1/messages' } });

    // Every answer's usage is on the record, priced, with the task's and the chain's totals.
    const usage = events.filter((e) => e.kind === 'model.usage');
    expect(usage.map((e) => e.task)).toEqual([parent.task, child.task, child.task, child.task, child.task]);
    expect(usage[0]!.data).toMatchObject({ provider: 'anthropic', model: 'claude-sonnet-4-5', host: MODEL_HOST, path: '/v1/messages', inputTokens: 12, outputTokens: 8, cachedTokens: 0, costUsd: expect.closeTo(0.000156, 9) });
    expect(usage.at(-1)!.data.totals).toEqual({ task: { tokens: 80, usd: expect.closeTo(0.000624, 9), requests: 4 }, chain: { tokens: 100, usd: expect.closeTo(0.00078, 9), requests: 5 } });
    expect(events.some((e) => e.kind === 'policy.violation' && e.data.rule === 'loop.model')).toBe(false);
    expect(JSON.stringify(events)).not.toContain(KEY);
    expect((await listTaskObjects(engine)).filter((t) => events.some((e) => e.task === t.task))).toEqual([]);
  });

  it('an agent that sends the same model request over and over is stopped for the loop, its answers metered until then', async () => {
    const { events, run } = setup({
      looper: agent('looper', `${CALL}; i=0; while [ $i -lt 200 ]; do i=$((i+1)); echo "looper $(call same false)"; done; echo looper done`,
        'loops: { maxRepeats: 3 }\nonViolation: stop\ntimeout: 60s'),
    });
    api.requests.length = 0;
    const outcome = await run('looper');
    expect(outcome.status).toBe('stopped');
    const loops = events.filter((e) => e.kind === 'policy.violation' && e.data.rule === 'loop.model');
    expect(loops).toHaveLength(1);
    expect(String(loops[0]!.data.reason)).toMatch(/the same model request \(POST api\.model\.test\/v1\/messages, same body\) was sent 4 times on this chain \(loops\.maxRepeats: 3\)/);
    expect(linesOf(events, 'looper')).not.toContain('looper done');
    // The first three were answered (the fourth is the one that revealed the loop).
    expect(linesOf(events, 'looper').slice(0, 3)).toEqual(['looper 200', 'looper 200', 'looper 200']);
    expect(modelCalls().length).toBeGreaterThanOrEqual(4);
    // Every answer before the stop was still served and metered.
    expect(events.filter((e) => e.kind === 'model.usage').length).toBeGreaterThanOrEqual(4);
  });
});
