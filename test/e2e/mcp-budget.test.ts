/**
 * Issue 17's "done when", end to end: a person gives an agent two MCP servers with per-tool rules
 * and a $-budget (the run dialog's Budget field), watches its tool calls and its spend live on the
 * task page, and the run stops at the budget with the reason in the log. The real built renderer in
 * Chromium, over the bridge, on a real core (keychain, gateway, Docker): the agent, both servers
 * (test/e2e/mcp/tools-server.cjs) and its model calls run in real sandboxes; the model is a pretend
 * Anthropic API on a `.test` name, reached through the gateway with a lent credential, which lets
 * its answers out one at a time so the test sees the page between them.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { tempDir } from '../helpers/env.js';
import { startAnthropicApi } from '../helpers/providers/anthropic.js';
import { buildRenderer, launchChromium, SCREENSHOTS, startAppUnderTest, type AppUnderTest } from './harness.js';
import { oneHostRoute } from '../helpers/providers/one-host-route.js';

const KEY = `sk-ant-E2E-${process.pid}-4b2d`;
const CREDENTIAL = `e2e-model-${process.pid}`;
const MODEL_HOST = 'api.model.test';
const PUBLIC = '34.120.0.21';
const dir = tempDir('airlock-e2e-mcp-');

// Every answer: 100k input + 10k output tokens of claude-sonnet-4-5 ($3 / $15 per million) = $0.45.
const USAGE = { input_tokens: 100_000, output_tokens: 10_000 };

let api: Awaited<ReturnType<typeof startAnthropicApi>>;
let app: AppUnderTest;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
// The pretend model answers only when the test lets one out.
const waiting: (() => void)[] = [];
let credits = 0;
const hold = () => (credits > 0 ? (credits--, Promise.resolve()) : new Promise<void>((resolve) => waiting.push(resolve)));
const releaseOne = () => {
  const next = waiting.shift();
  if (next) next();
  else credits += 1;
};
const modelCalls = () => api.requests.filter((r) => r.path === '/v1/messages');

const server = (name: string, tools: string) =>
  `  - name: ${name}\n    command: ["node", "/srv/mcp/tools-server.cjs", "${name}"]\n    inputs: [{ from: ./mcp, to: /srv/mcp }]\n    tools: ${tools}\n`;
const MANIFEST = `name: mcp-spender
description: Two MCP servers with per-tool rules, and a model it pays for
command: ["sh", "/workspace/agent.sh"]
inputs: [{ from: ./agent.sh, to: /workspace/agent.sh }]
network: { mode: allowlist, allow: [${MODEL_HOST}] }
credentials: [{ name: ${CREDENTIAL}, env: MODEL_KEY }]
onViolation: stop
timeout: 3m
mcp:
${server('notes', '{ read_note: allow, write_note: allow, delete_all: deny }')}${server('calc', '{ add: allow }')}`;

// The agent: plain curl against Airlock's MCP broker and the model, one output line per step.
const AGENT = String.raw`
open() { curl -s -D - -o /dev/null -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"agent","version":"1"}}}' "http://airlock.internal/mcp/$1" | tr -d '\r' | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p'; }
call() { curl -s -H 'content-type: application/json' -H "mcp-session-id: $2" -d "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"$3\",\"arguments\":$4}}" "http://airlock.internal/mcp/$1"; }
model() { curl -s -o /tmp/body -w "%{http_code}" -H "x-api-key: $MODEL_KEY" -H "content-type: application/json" https://${MODEL_HOST}/v1/messages -d "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"turn $1\"}]}"; }
N=$(open notes); C=$(open calc)
echo "READ $(call notes "$N" read_note '{"name":"plan"}')"
echo "DELETE $(call notes "$N" delete_all '{}')"
echo "ADD $(call calc "$C" add '{"a":2,"b":3}')"
echo "SHELL $(call calc "$C" shell '{"command":"id"}')"
for i in 1 2 3 4 5; do echo "MODEL $i $(model $i)"; done
echo "AGENT DONE"
`;

async function shot(name: string): Promise<void> {
  await page.waitForTimeout(250); // let the last batch settle
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

const meter = () => page.locator('.task-meta [data-spend] .spend-figures').innerText();
const logRow = (text: string) => page.locator('.log-row', { hasText: text }).first();

beforeAll(async () => {
  buildRenderer();
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  api = await startAnthropicApi({ host: MODEL_HOST, key: KEY, script: { calls: [] }, usage: USAGE, hold });
  // The gateway trusts the pretend provider's CA as a person's AIRLOCK_UPSTREAM_CA would make it.
  process.env.AIRLOCK_UPSTREAM_CA = api.caFile;
  app = await startAppUnderTest({
    ...oneHostRoute(MODEL_HOST, PUBLIC, api.port),
  });
  app.airlock.credentials.add({ name: CREDENTIAL, secret: KEY, hosts: [MODEL_HOST], inject: { kind: 'header', template: 'x-api-key: {secret}' }, maxTtlMs: 3_600_000 });
  fs.mkdirSync(path.join(dir, 'mcp'));
  fs.copyFileSync(path.join(import.meta.dirname, 'mcp', 'tools-server.cjs'), path.join(dir, 'mcp', 'tools-server.cjs'));
  fs.writeFileSync(path.join(dir, 'agent.sh'), AGENT);
  fs.writeFileSync(path.join(dir, 'mcp-spender.yaml'), MANIFEST);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 180_000);

afterAll(async () => {
  for (const resolve of waiting.splice(0)) resolve();
  await browser?.close();
  try {
    app?.airlock.credentials.remove(CREDENTIAL);
  } finally {
    await app?.close();
    await api?.close();
    delete process.env.AIRLOCK_UPSTREAM_CA;
  }
});

describe('two MCP servers and a $-budget, watched in the app', () => {
  let task: string;

  it('runs with the budget from the run dialog and shows tool calls and spend live, until the budget stops it', async () => {
    app.dialogs.manifest = path.join(dir, 'mcp-spender.yaml');
    await page.goto(`${app.bridge.url}#/agents`);
    await page.locator('[data-open-manifest]').click();
    await page.locator('[data-agent="mcp-spender"] [data-approve]').click();
    await page.locator('[data-agent="mcp-spender"] .badge', { hasText: 'approved' }).waitFor();
    await page.locator('[data-agent="mcp-spender"] [data-run]').click();
    await page.getByRole('dialog').waitFor();
    // A budget the dialog refuses, then the one the run gets.
    await page.locator('[data-budget-usd]').fill('two dollars');
    await page.locator('[data-start]').click();
    await page.getByRole('dialog').getByText("budget: 'two dollars' is not an amount in USD").waitFor();
    await page.locator('[data-budget-usd]').fill('$1');
    await shot('mcp-01-run-dialog-budget');
    await page.locator('[data-start]').click();
    await page.waitForURL(/#\/tasks\/t_[0-9a-z]{26}$/);
    task = /#\/tasks\/(t_[0-9a-z]{26})$/.exec(page.url())![1]!;

    // Tool calls, live: the agent's four calls are in while its first model call waits for its answer.
    await expect.poll(() => modelCalls().length, { timeout: 90_000 }).toBe(1);
    const toolsTab = page.getByRole('tab', { name: /^Tools/ });
    await expect.poll(() => toolsTab.innerText()).toBe('Tools (4, 2 refused)');
    await toolsTab.click();
    const decision = (tool: string) => page.locator(`[data-tool-call="${tool}"] [data-tool-decision]`).innerText();
    await expect(decision('notes/read_note')).resolves.toBe('allowed · mcp:notes:read_note · by the manifest');
    await expect(decision('notes/delete_all')).resolves.toBe('refused · mcp:notes:delete_all · by the manifest');
    await expect(decision('calc/add')).resolves.toBe('allowed · mcp:calc:add · by the manifest');
    await expect(decision('calc/shell')).resolves.toBe('refused · mcp:calc:default · by the manifest');
    await expect(page.locator('[data-tool-call="calc/shell"] .tool-arguments').innerText()).resolves.toBe('{"command":"id"}');
    // The budget the dialog set, nothing spent yet.
    await expect(meter()).resolves.toBe('0 tokens · $0.00 of $1.00 · 0 calls');
    await shot('mcp-02-tools-live');

    // Spend, live: each answer the pretend model lets out moves the meter.
    releaseOne();
    await expect.poll(meter).toBe('110,000 tokens · $0.45 of $1.00 · 1 calls');
    await expect.poll(() => modelCalls().length).toBe(2);
    releaseOne();
    await expect.poll(meter).toBe('220,000 tokens · $0.90 of $1.00 · 2 calls');
    await expect(page.locator('.task-meta meter').getAttribute('value')).resolves.toBe('0.9');
    await shot('mcp-03-spend-live');
    await expect.poll(() => modelCalls().length).toBe(3);
    // The third answer crosses $1: a violation, and onViolation: stop ends the run.
    releaseOne();
    await expect.poll(meter).toBe('330,000 tokens · $1.35 of $1.00 · 3 calls');
    await page.locator('.task-meta .badge', { hasText: 'stopped by policy' }).waitFor({ timeout: 60_000 });
    await page.getByRole('tab', { name: 'Action log' }).click();
    await logRow('budget.usd').waitFor();
    await logRow('stopped').filter({ hasText: 'over its budget of $1' }).waitFor();
    await shot('mcp-04-stopped-at-budget');

    // The record: the violation with its reason, the stop naming it; the agent never finished.
    const events = await app.service.queryAudit({ task, order: 'asc', limit: 5000 });
    const records = events.records;
    const violation = records.find((e) => e.kind === 'policy.violation' && e.data.rule === 'budget.usd');
    expect(String(violation?.data.reason)).toMatch(/budget/);
    expect(records.find((e) => e.kind === 'task.stopped')?.data.reason).toMatch(/^a policy violation \(onViolation: stop\): budget\.usd: this task spent \$1\.35, 330000 tokens, 3 requests, over its budget of \$1$/);
    const lines = records.filter((e) => e.kind === 'proc.stdout').map((e) => String(e.data.line));
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^READ .*read_note done/), expect.stringMatching(/^DELETE .*Airlock refused notes\/delete_all/)]));
    expect(lines).not.toContain('AGENT DONE');
    // Upstream answered three calls with the real key; nothing after the budget was spent.
    expect(modelCalls().map((r) => r.key)).toEqual(['real', 'real', 'real']);
    expect(JSON.stringify(records)).not.toContain(KEY);
    expect(pageErrors).toEqual([]);
  }, 240_000);

  it('the Chain tab nests both MCP servers under the task they served, and every sandbox is gone', async () => {
    await page.getByRole('tab', { name: /^Chain/ }).click();
    const root = page.locator(`[data-chain-task="${task}"]`).first();
    await root.waitFor();
    const servers = root.locator('[data-mcp-server]');
    await expect.poll(() => servers.allInnerTexts()).toEqual(['MCP server notes', 'MCP server calc']);
    await expect(root.locator('> button [data-spend]').innerText()).resolves.toBe('330k tokens, $1.35 of $1.00, 3 requests');
    await expect(root.locator('> button [data-tool-calls]').innerText()).resolves.toBe('4 tool calls (2 refused)');
    await expect.poll(() => root.locator('[data-mcp-server] ~ .badge [data-chain-state]').allInnerTexts(), { timeout: 30_000 }).toEqual(['ended', 'ended']);
    await shot('mcp-05-chain');
    const created = (await app.service.queryAudit({ text: task, kinds: ['task.created'], order: 'asc', limit: 10 })).records;
    const ours = new Set(created.map((e) => e.task));
    expect(ours.size).toBe(3);
    expect((await listTaskObjects(app.airlock.engine())).filter((t) => ours.has(t.task))).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
