/**
 * The app's Terminal tab, end to end: the real built renderer in real Chromium, the real core and
 * Docker engine. A task run with a terminal (as `airlock run -it` does) shows its output live in
 * the tab; what a person types goes nowhere until they take control (and the page itself calling
 * terminal.input is refused by the engine); after Take control and its confirmation their keys
 * reach the tool, and the log records who took control, never what was typed.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approve, tempDir } from '../helpers/env.js';
import { buildRenderer, launchChromium, SCREENSHOTS, startAppUnderTest, type AppUnderTest } from './harness.js';

let app: AppUnderTest;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const dir = tempDir('airlock-e2e-terminal-');

beforeAll(async () => {
  buildRenderer();
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  app = await startAppUnderTest();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

const PROBE = 'printf "\\033[32mgreen\\033[0m ready\\n"; while true; do IFS= read -r line && echo "you typed: $line"; done';

describe('the Terminal tab', () => {
  it('shows a terminal task live, refuses typing until Take control, then the keys reach the tool', { timeout: 180_000 }, async () => {
    const file = path.join(dir, 'tty-app.yaml');
    fs.writeFileSync(file, `name: tty-app\ncommand: ["sh", "-c", ${JSON.stringify(PROBE)}]\nnetwork: { mode: none }\ntimeout: 2m\n`);
    approve(file, app.home.root);
    const { task } = app.service.start({ agent: file, attached: false, terminal: { cols: 80, rows: 24 } });
    await page.goto(`${app.bridge.url}#/tasks/${task}`);
    const panel = page.locator('[data-terminal-panel]');
    await panel.waitFor();
    const rows = panel.locator('.xterm-rows');
    await rows.getByText('green ready').waitFor({ timeout: 60_000 });
    await expect(panel.locator('.badge').first().textContent()).resolves.toBe('View only');

    // Typing without control: nothing is sent; the page calling the channel itself is refused.
    await panel.locator('[data-terminal]').click();
    await page.keyboard.type('early-keys\n');
    const refused = await page.evaluate(async (id) => (globalThis as unknown as { airlock: { terminal: { input: (r: unknown) => Promise<unknown> } } }).airlock.terminal.input({ task: id, data: new TextEncoder().encode('forged\r') }), task);
    expect(refused).toMatchObject({ ok: false, error: { code: 'policy_refused' } });

    await panel.locator('[data-terminal-take-control]').click();
    const confirm = page.locator('[data-confirm-control]');
    await expect(confirm.textContent()).resolves.toMatch(/Your keys go to the agent's terminal.*recorded in the action log/);
    await confirm.locator('[data-confirm]').click();
    await panel.locator('.badge', { hasText: 'You have control' }).waitFor();
    await panel.locator('[data-terminal]').click();
    await page.keyboard.type('hello from the app\n');
    await rows.getByText('you typed: hello from the app').waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'terminal-tab.png') });
    const text = (await rows.textContent()) ?? '';
    expect(text).not.toContain('early-keys');
    expect(text).not.toContain('forged');

    await app.service.stop(task);
    await app.service.wait(task);
    const events = (await app.service.queryAudit({ task, limit: 500 })).records;
    const control = events.filter((e) => e.kind === 'terminal.control').map((e) => e.data);
    expect(control[0]).toEqual({ taken: true, by: 'app' });
    expect(JSON.stringify(events)).not.toContain('hello from the app');
    expect(pageErrors).toEqual([]);
  });
});
