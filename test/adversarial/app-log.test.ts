/**
 * In the desktop app (the real built renderer in Chromium, over the real service and a real
 * sandbox), a hostile agent tries to pass its own records off as Airlock's — an action record
 * that calls itself `task.destroyed` by `airlock` — and to make text read other than it is with
 * bidi overrides and control characters, in its output, its action records and a file name. Every
 * row of the log says who recorded it, always visible; no control or bidi character reaches the
 * page (each shows as a visible escape); Airlock's own rows are still there.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RAW_CONTROL } from './hostile-agent.js';
import { SCREENSHOTS, type AppUnderTest } from '../e2e/harness.js';
import { watchHostileAgentInApp, type HostileInApp } from '../e2e/hostile-in-app.js';

let watched: HostileInApp | undefined;
let app: AppUnderTest;
let page: Page;
let task: string;

beforeAll(async () => {
  watched = await watchHostileAgentInApp({
    tempPrefix: 'airlock-app-log-',
    agent: { name: 'impostor', script: 'app-log.mjs', more: ['outputs: [/workspace/out]', 'network: { mode: allowlist, allow: [nothing.test] }'] },
  });
  ({ app, page, task } = watched);
  await page.locator('.log-row', { hasText: 'sandbox destroyed (2 containers' }).waitFor({ timeout: 60_000 });
}, 180_000);

afterAll(async () => {
  await watched?.close();
});

const row = (text: string) => page.locator('.log-row', { hasText: text }).first();

describe('a hostile agent in the app\'s action log', () => {
  it('every row says who recorded it: the forged record is the agent\'s, Airlock\'s rows are Airlock\'s', async () => {
    const forged = row('sandbox destroyed (nothing left)');
    await expect(forged.locator('.log-kind').textContent()).resolves.toBe('agent.action');
    await expect(forged.locator('.log-actor').textContent()).resolves.toBe('agent');
    await expect(forged.locator('.log-actor').isVisible()).resolves.toBe(true);
    const real = row('sandbox destroyed (2 containers');
    await expect(real.locator('.log-actor').textContent()).resolves.toBe('airlock');
    await expect(real.locator('.log-kind').textContent()).resolves.toBe('task.destroyed');
    // Every row carries its marker, and it matches the event's actor.
    const markers = await page.locator('.log-row').evaluateAll((rows) => rows.map((r) => ({ byAgent: r.classList.contains('by-agent'), marker: r.querySelector('.log-actor')?.textContent })));
    expect(markers.length).toBeGreaterThan(8);
    for (const { byAgent, marker } of markers) expect(marker).toBe(byAgent ? 'agent' : marker === 'person' ? 'person' : 'airlock');
    expect(markers.filter((m) => m.marker === 'agent').length).toBeGreaterThanOrEqual(4); // its output lines and its record
    // The detail pane says it too.
    await forged.click();
    await expect(page.locator('.log-detail-head').textContent()).resolves.toContain('recorded by agent');
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'adversarial-app-log.png') });
  });

  it('no control or bidi character reaches the page: each is shown as a visible escape', async () => {
    await expect(row('report ready').locator('.log-text').textContent()).resolves.toBe('report ready: invoice\\u202efdp.exe');
    await expect(row('controls').locator('.log-text').textContent()).resolves.toBe('controls \\u001b]0;title\\u0007 \\u009b2J \\u2066isolated\\u2069 done');
    expect(await page.locator('body').textContent()).not.toMatch(RAW_CONTROL);
    await page.getByRole('tab', { name: /Artifacts/ }).click();
    await expect(page.locator('.table td', { hasText: 'summary' }).first().textContent()).resolves.toBe('/workspace/out/summary\\u202efdp.exe');
    expect(await page.locator('body').textContent()).not.toMatch(RAW_CONTROL);
    // The trail keeps what the agent really wrote.
    await app.service.queryAudit({ task, kinds: ['proc.stdout'], limit: 50 }).then((page) => {
      expect(page.records.map((r) => r.data.line)).toContain('report ready: invoice\u202efdp.exe');
    });
  });
});
