/**
 * The Changes tab, end to end: the real built renderer in Chromium, over the bridge and a real core
 * (the harness's in-process engine) with changes stored for two tasks by test/helpers/stored-change.ts.
 * The person sees a task's diff (files, counts, highlighted code side by side or unified) and applies
 * it to the project after confirming; a change whose files the person edited since is refused with
 * the file named and the project untouched, then discarded. The agent's text is hostile: markup in
 * file names and code stays text (no element, nothing runs), bidi characters show as escapes, and the
 * window never learns the project's host path.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { ephemeralHeadSigner } from '../../main/core/audit/head.js';
import type { AirlockBridge } from '../../preload/contract.js';
import { makeProject, storeChange, taskIdFor } from '../helpers/stored-change.js';
import { buildRenderer, launchChromium, startAppUnderTest, type AppUnderTest } from './harness.js';

const REVIEWED = taskIdFor(1601);
const STALE = taskIdFor(1602);
const HOSTILE_NAME = 'docs/<img src=x onerror="window.__pwned=1">.md';
const HOSTILE_LINE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=1">';
const BIDI = 'const isAdmin = false; // \u202e } if (isAdmin) {';

let app: AppUnderTest;
let browser: Browser;
let page: Page;
let project: string;
const events: AirlockEvent[] = [];
const pageErrors: string[] = [];

function recordTask(task: string): void {
  const agent = { name: 'coder', digest: '' };
  app.bus.emit({ task, agent, actor: 'airlock', kind: 'task.project', data: { containerPath: '/workspace/project', git: true, files: 2 } });
  app.bus.emit({ task, agent, actor: 'airlock', kind: 'task.changes', data: { files: 2 } });
}

beforeAll(async () => {
  buildRenderer();
  app = await startAppUnderTest({ signer: ephemeralHeadSigner() });
  app.bus.subscribe((event) => events.push(event));
  project = makeProject({ 'src/app.ts': 'export function total(a: number, b: number): number {\n  return a + b;\n}\n', 'README.md': '# demo\n' }, true);
  storeChange({
    home: app.home.root, task: REVIEWED, project,
    edit: (copy) => {
      fs.writeFileSync(path.join(copy, 'src/app.ts'), `export function total(a: number, b: number): number {\n  return a + b + 1;\n}\n${BIDI}\n`);
      fs.mkdirSync(path.join(copy, 'docs'));
      fs.writeFileSync(path.join(copy, HOSTILE_NAME), `${HOSTILE_LINE}\n`);
    },
  });
  // Snapshotted from the same project: once the first change lands, its src/app.ts is not what this one started from.
  storeChange({ home: app.home.root, task: STALE, project, edit: (copy) => fs.writeFileSync(path.join(copy, 'src/app.ts'), 'export const stale = true;\n') });
  recordTask(REVIEWED);
  recordTask(STALE);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (error) => pageErrors.push(String(error)));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  if (project) fs.rmSync(project, { recursive: true, force: true });
});

async function openChanges(task: string): Promise<void> {
  await page.goto(`${app.bridge.url}#/tasks/${task}`);
  await page.getByRole('tab', { name: 'Changes' }).click();
}

describe('the Changes tab', () => {
  it("shows the task's diff: files with counts, highlighted code side by side or unified; the agent's markup stays text", async () => {
    await openChanges(REVIEWED);
    const files = page.locator('[data-changes] .changes-file');
    await expect.poll(() => files.count()).toBe(2);
    await expect(page.locator('[data-file="src/app.ts"]').innerText()).resolves.toMatch(/modified[\s\S]*\+2\s*−1/);
    await page.locator('[data-file="src/app.ts"]').click();
    const diff = page.locator('.changes-diff');
    await diff.getByText('return a + b + 1;').first().waitFor();
    expect(await diff.locator('table.diff-split').count()).toBe(1);
    expect(await diff.locator('.token.keyword').count()).toBeGreaterThan(0); // highlighted
    // A bidi override in the agent's code is shown as an escape, never applied.
    await diff.getByText('\\u202e', { exact: false }).first().waitFor();
    expect(await page.locator('body').innerText()).not.toContain('\u202e');
    await page.getByRole('button', { name: 'Unified' }).click();
    await diff.locator('table.diff-unified').waitFor();

    await page.locator('.changes-file', { hasText: HOSTILE_NAME }).click();
    await diff.getByText(HOSTILE_LINE).first().waitFor();
    expect(await page.locator('[data-changes] img, [data-changes] script').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('never hands the window a host path: the project is named by its folder alone', async () => {
    const view = await page.evaluate((task) => (globalThis as unknown as { airlock: AirlockBridge }).airlock.review.get(task), REVIEWED);
    expect(view.ok).toBe(true);
    expect(JSON.stringify(view)).not.toContain(project);
    expect(view.ok && view.value.projectName).toBe(path.basename(project));
    await expect(page.locator('[data-changes]').innerText()).resolves.not.toContain(project);
  });

  it('applies the change to the project after confirming, and the trail records it', async () => {
    await page.getByRole('button', { name: 'Apply…' }).click();
    const dialog = page.locator('[data-confirm-change="apply"]');
    await dialog.waitFor();
    await dialog.locator('[data-confirm]').click();
    await page.locator('[data-applied-result]').getByText('2 files written').waitFor();
    await page.locator('[data-applied]').waitFor();
    expect(fs.readFileSync(path.join(project, 'src/app.ts'), 'utf8')).toContain('return a + b + 1;');
    expect(fs.readFileSync(path.join(project, HOSTILE_NAME), 'utf8')).toBe(`${HOSTILE_LINE}\n`);
    expect(events.some((e) => e.task === REVIEWED && e.kind === 'changes.applied')).toBe(true);
  }, 60_000);

  it('refuses a change whose files the person edited since, naming them, and leaves the project as it is; then discards it', async () => {
    const before = fs.readFileSync(path.join(project, 'src/app.ts'), 'utf8');
    await openChanges(STALE);
    await page.getByRole('button', { name: 'Apply…' }).click();
    await page.locator('[data-confirm-change="apply"] [data-confirm]').click();
    await expect(page.locator('[data-changes] [role="alert"]').innerText()).resolves.toContain('src/app.ts');
    expect(fs.readFileSync(path.join(project, 'src/app.ts'), 'utf8')).toBe(before);
    expect(events.some((e) => e.task === STALE && e.kind === 'changes.applied')).toBe(false);

    await page.getByRole('button', { name: 'Discard…' }).click();
    await page.locator('[data-confirm-change="discard"] [data-confirm]').click();
    await page.getByText('No change stored').waitFor();
    expect(fs.readFileSync(path.join(project, 'src/app.ts'), 'utf8')).toBe(before);
    expect(events.some((e) => e.task === STALE && e.kind === 'changes.discarded')).toBe(true);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
