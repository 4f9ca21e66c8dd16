/**
 * The Chain tab, end to end: the real built renderer in Chromium, over the bridge and a real core
 * (the harness's in-process engine). A chain's events go onto the engine's own bus, as the runner
 * and the gateway put them there (model.usage and mcp.call as issue 17's shapes describe them):
 * some before the page opens (read from the trail), the rest live. The person sees who started
 * whom, a node's state change live, spend against budget, tool calls and violations (an agent's
 * markup and bidi characters shown as text), and clicking a node opens that task.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventInput, EventKind } from '../../main/core/audit/events.js';
import { ephemeralHeadSigner } from '../../main/core/audit/head.js';
import { taskIdFor } from '../helpers/stored-change.js';
import { buildRenderer, launchChromium, startAppUnderTest, type AppUnderTest } from './harness.js';

const [ROOT, CHILD, GRANDCHILD] = [taskIdFor(1701), taskIdFor(1702), taskIdFor(1703)];
const HOSTILE = 'asked for <img src=x onerror="window.__pwned=1"> \u202eexe.txt';

let app: AppUnderTest;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** Emits as the runner would: a delegated task's events carry its parent and the chain above it. */
function emit(task: string, agent: string, kind: string, data: Record<string, unknown> = {}, chain: string[] = [], more: Partial<EventInput> = {}): void {
  app.bus.emit({
    task, agent: { name: agent, digest: '' }, actor: 'airlock', kind: kind as EventKind, data, ...more,
    ...(chain.length > 0 ? { parent: chain.at(-1)!, chain } : {}),
  });
}

const node = (task: string) => page.locator(`[data-chain-task="${task}"]`).first();
const nodeState = (task: string) => node(task).locator('> button [data-chain-state]').innerText();

beforeAll(async () => {
  buildRenderer();
  app = await startAppUnderTest({ signer: ephemeralHeadSigner() });
  emit(ROOT, 'support', 'task.created', { budget: { usd: 2 } });
  emit(ROOT, 'support', 'task.started');
  emit(ROOT, 'support', 'cred.granted', { expiresAt: new Date(Date.now() + 3_600_000).toISOString() }, [], { identity: { grant: 'g_1', credential: 'billing-api' } });
  emit(CHILD, 'billing', 'task.created', {}, [ROOT]);
  emit(CHILD, 'billing', 'task.started', {}, [ROOT]);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (error) => pageErrors.push(String(error)));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe('the Chain tab', () => {
  it('shows the chain read from the trail, then grows and changes live as events arrive', async () => {
    await page.goto(`${app.bridge.url}#/tasks/${ROOT}`);
    await page.getByRole('tab', { name: /^Chain/ }).click();
    await node(CHILD).waitFor();
    await expect(nodeState(ROOT)).resolves.toBe('running');
    await expect(nodeState(CHILD)).resolves.toBe('running');
    await expect(node(ROOT).locator('[data-grant="billing-api"]').getAttribute('data-grant-state')).resolves.toBe('active');
    await expect(node(ROOT).locator('> button [data-spend]').innerText()).resolves.toBe('0 tokens, $0.00 of $2.00');

    // Live: a grandchild is started, the child spends and calls tools, a violation quotes the agent.
    emit(GRANDCHILD, 'compliance', 'task.created', {}, [ROOT, CHILD]);
    await node(GRANDCHILD).waitFor();
    await expect(page.getByRole('tab', { name: 'Chain (3)' }).count()).resolves.toBe(1);
    emit(CHILD, 'billing', 'model.usage', { provider: 'anthropic', model: 'm', totals: { task: { tokens: 1500, usd: 0.4, requests: 2 }, chain: { tokens: 1500, usd: 0.4, requests: 2 } } }, [ROOT]);
    emit(CHILD, 'billing', 'mcp.call', { server: 'files', tool: 'read' }, [ROOT], { decision: { allow: true, rule: 'mcp:files:read', by: 'policy' } });
    emit(CHILD, 'billing', 'mcp.call', { server: 'files', tool: 'rm' }, [ROOT], { decision: { allow: false, rule: 'mcp:files:rm', by: 'policy' } });
    emit(GRANDCHILD, 'compliance', 'policy.violation', { rule: 'delegate.allow', reason: HOSTILE }, [ROOT, CHILD]);
    await expect.poll(() => node(CHILD).locator('> button [data-tool-calls]').innerText()).toBe('2 tool calls (1 refused)');
    await expect(node(CHILD).locator('> button [data-spend]').innerText()).resolves.toBe('1.5k tokens, $0.40, 2 requests');
    // The chain's total, against the root's budget, at the top of the tree.
    await expect(page.locator('[data-chain-total]').innerText()).resolves.toBe('1.5k tokens, $0.40 of $2.00, 2 requests');
    const violation = node(GRANDCHILD).locator('.chain-violations li');
    await expect.poll(() => violation.innerText()).toBe('delegate.allow: asked for <img src=x onerror="window.__pwned=1"> \\u202eexe.txt');
    expect(await page.locator('[data-chain] img').count()).toBe(0);

    // A node's state changes live.
    emit(CHILD, 'billing', 'task.exited', { exitCode: 0 }, [ROOT]);
    await expect.poll(() => nodeState(CHILD)).toBe('exited 0');
    emit(ROOT, 'support', 'task.frozen', { reason: 'budget.usd: $2.00 spent' });
    await expect.poll(() => nodeState(ROOT)).toBe('frozen: budget.usd: $2.00 spent');
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('clicking a node opens that task, whose Chain tab shows the same chain', async () => {
    await node(GRANDCHILD).locator('> button').click();
    await expect.poll(() => new URL(page.url()).hash).toBe(`#/tasks/${GRANDCHILD}`);
    await page.locator('h1 .task-id', { hasText: GRANDCHILD }).waitFor();
    await page.getByRole('tab', { name: /^Chain/ }).click();
    await expect(node(GRANDCHILD).locator('> button').getAttribute('aria-current')).resolves.toBe('page');
    await expect(nodeState(CHILD)).resolves.toBe('exited 0');
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
