/**
 * `npm run demo:desktop` as a person watches it: the demo runs from a terminal (the CLI, its own
 * process), and the app — the real renderer in the machine's Chromium over the test bridge, the
 * real core, engine and keychain — shows that task's screen live: the vendor portal in the
 * sandbox's browser. View-only: the CLI runs the core in its own process (AIRLOCK_ENGINE=inprocess),
 * so the task's log belongs to that process. (A CLI task run through the engine is live in the app,
 * control included: cli-to-app.test.ts.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRenderer, launchChromium, REPO, SCREENSHOTS, startAppUnderTest, type AppUnderTest } from './harness.js';

let app: AppUnderTest;
let browser: Browser;
let page: Page;
let demo: ChildProcess | undefined;

beforeAll(async () => {
  buildRenderer();
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  app = await startAppUnderTest();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
}, 180_000);

afterAll(async () => {
  demo?.kill('SIGTERM');
  await browser?.close();
  await app?.close();
});

/** The portal's header colour (#23407a) on the live canvas, and whether the canvas shows anything. */
const PORTAL_PROBE = `() => {
  const canvas = document.querySelector('canvas[data-live-screen]');
  if (!canvas) return 0;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let hits = 0, samples = 0;
  for (let i = 0; i < data.length; i += 4 * 11) {
    samples += 1;
    if (Math.abs(data[i] - 0x23) < 12 && Math.abs(data[i + 1] - 0x40) < 12 && Math.abs(data[i + 2] - 0x7a) < 12) hits += 1;
  }
  return hits / samples;
}`;

describe('the desktop demo, watched in the app', () => {
  it('shows the screen of the demo the CLI runs, live and view-only', { timeout: 150_000 }, async () => {
    let output = '';
    const exited = new Promise<number | null>((resolve) => {
      // Slow steps, so the portal stays on the screen while the app looks at it.
      demo = spawn(process.execPath, [path.join(REPO, 'scripts', 'demo-desktop.mjs'), '--output', path.join(app.root, 'finding'), '--env', 'STEP_PAUSE_MS=4000'],
        { cwd: REPO, env: { ...process.env, AIRLOCK_HOME: app.home.root, AIRLOCK_ENGINE: 'inprocess', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      demo.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      demo.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      demo.on('close', resolve);
    });
    // The app learns of the CLI's task from the audit trail.
    let task: string | undefined;
    for (let i = 0; i < 120 && !task; i += 1) {
      task = (await app.service.history(10)).find((t) => t.agent === 'portal' && t.display && !t.outcome)?.id;
      if (!task) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(task, output).toBeDefined();

    await page.goto(`${app.bridge.url}#/tasks`);
    await page.locator('tr', { hasText: task! }).click();
    const panel = page.locator('[data-live-screen-panel]');
    await panel.waitFor();
    await expect(panel.textContent()).resolves.toContain('run from the CLI: watch only');
    await expect(panel.locator('[data-take-control]').count()).resolves.toBe(0);
    // The portal, signed in, as the agent works through it.
    try {
      await expect.poll(() => page.evaluate<number>(`(${PORTAL_PROBE})()`), { timeout: 60_000, interval: 500 }).toBeGreaterThan(0.02);
    } finally {
      await page.screenshot({ path: path.join(SCREENSHOTS, 'demo-desktop-live.png') });
    }

    expect(await exited, output).toBe(0);
    expect(output).toMatch(/POST \/session with the real key → 204/);
    // The CLI's task is over: the app's view of it closes with the container.
    await expect.poll(() => app.service.history(10).then((h) => h.find((t) => t.id === task)?.outcome), { timeout: 20_000 }).toBe('exited');
  });
});
