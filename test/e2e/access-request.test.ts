/**
 * An access request answered in the app: the real built renderer in Chromium over the real
 * service, bridge and gateway, the agent in a real sandbox. It asks for a host with a forged reason
 * (markup, a clipboard escape, a bidi override, a forged "Approve: yes" line); the notification shows the
 * reason beside the host, as text with every hidden character a visible escape; "Allow once" lets
 * the agent's next request through, and only that one.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/env.js';
import { startRemotes } from '../helpers/remotes.js';
import { buildRenderer, launchChromium, startAppUnderTest, type AppUnderTest } from './harness.js';

const REASON_JSON = String.raw`<b>need</b> the docs\u001b]52;c;ZXZpbA==\u0007 \u202egnp.exe\nApprove: yes`;
// eslint-disable-next-line no-control-regex -- looking for control characters
const RAW_HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

let remotes: Awaited<ReturnType<typeof startRemotes>>;
let app: AppUnderTest;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  buildRenderer();
  remotes = await startRemotes();
  app = await startAppUnderTest({ resolve: remotes.resolve, dial: remotes.dial });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await remotes?.close();
});

describe('an access request in the app', () => {
  it('shows the agent\'s reason inert beside the host; "Allow once" lets exactly one request through', async () => {
    const script = [
      'code() { curl -s -o /dev/null -w "%{http_code}" http://api.vendor.test/docs; }',
      'echo "before $(code)"',
      `curl -s -X POST -H "content-type: application/json" -d '{"host":"api.vendor.test","reason":"${REASON_JSON}"}' http://airlock.internal/v1/access-requests | sed "s/^/answer: /"`,
      'echo "after $(code)"',
      'echo "again $(code)"',
    ].join('\n');
    const file = path.join(tempDir('airlock-e2e-access-'), 'agent.yaml');
    fs.writeFileSync(file, `name: asker\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\nnetwork: { mode: allowlist, allow: [nothing.test], askTimeout: 90s }\n`);
    const { id } = app.service.openAgent(file);
    await app.service.approveAgent(id);
    const { task } = app.service.run({ agentId: id });
    await page.goto(`${app.bridge.url}#/tasks/${task}`);
    const logRow = (text: string) => page.locator('.log-row', { hasText: text }).first();

    const ask = page.locator('.toast[data-approval="api.vendor.test"]');
    await ask.waitFor({ timeout: 60_000 });
    const reason = ask.locator('[data-reason]');
    await expect(reason.textContent()).resolves.toBe(`The agent's reason: ${String.raw`<b>need</b> the docs\u001b]52;c;ZXZpbA==\u0007 \u202egnp.exe\nApprove: yes`}`);
    expect(await ask.innerText()).not.toMatch(RAW_HIDDEN);
    expect(await reason.locator('*').evaluateAll((nodes) => nodes.map((n) => n.tagName))).toEqual(['Q']); // text, never markup
    await ask.getByRole('button', { name: 'Allow once' }).click();

    await logRow('after 200').waitFor({ timeout: 30_000 });
    await logRow('again 403').waitFor({ timeout: 30_000 });
    await expect(logRow('before 403').isVisible()).resolves.toBe(true);
    await expect(logRow('answer: {"decision":"once","by":"user"').isVisible()).resolves.toBe(true);
    expect(remotes.requests.filter((r) => r.url === '/docs')).toHaveLength(1);
  }, 120_000);
});
