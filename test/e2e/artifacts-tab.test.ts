/**
 * The Artifacts tab and the live Changes tab, end to end: the real built renderer in Chromium over
 * the bridge and a real core, with hostile agents run in real sandboxes. The agent's names and
 * text hold bidi overrides, isolates, zero-width and control characters: the list and every preview
 * show them as visible escapes, never applied. Save writes the artifact where the (fake) save
 * dialog says, checked against the trail; one swapped or replaced by a symlink on the host since
 * it was collected is refused, nothing is written, the refusal is recorded, and saving the others
 * still works. Reveal hands the file manager the artifact's own file. A running task's Changes tab
 * shows a file the agent changed while it runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { hostileAgent } from '../adversarial/hostile-agent.js';
import { tempDir } from '../helpers/env.js';
import { buildRenderer, launchChromium, startAppUnderTest, type AppUnderTest } from './harness.js';

let app: AppUnderTest;
let browser: Browser;
let page: Page;
let task: string;
let dir: string;
const events: AirlockEvent[] = [];
const pageErrors: string[] = [];
/** The memo's name as the agent wrote it, and as the page must show it. */
const MEMO = '/workspace/out/memo\u202etxt.exe';
const MEMO_SHOWN = '/workspace/out/memo\\u202etxt.exe';
/** Any character that changes what a person reads without being seen, raw on the page (innerText puts tabs and newlines between cells itself). */
// eslint-disable-next-line no-control-regex -- looking for control characters
const RAW_HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

beforeAll(async () => {
  buildRenderer();
  app = await startAppUnderTest();
  app.bus.subscribe((event) => events.push(event));
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  dir = tempDir('airlock-e2e-artifacts-');
  const file = hostileAgent(dir, { name: 'artist', script: 'artifacts.mjs', more: ['outputs: [/workspace/out]', 'timeout: 2m'] });
  const { id } = app.service.openAgent(file);
  await app.service.approveAgent(id);
  ({ task } = app.service.run({ agentId: id }));
  await app.service.wait(task);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const row = (shownPath: string) => page.locator(`tr[data-artifact="${shownPath.replace(/\\/g, '\\\\')}"]`);
const recorded = (name: string) => events.find((e) => e.task === task && e.kind === 'fs.output' && path.posix.basename(String(e.data.path)) === name)!.data as { file: string; sha256: string };

async function save(shownPath: string, to: string): Promise<void> {
  app.artifactFiles.saveAs = to;
  await row(shownPath).getByRole('button', { name: /^Save/ }).click();
}

describe('the Artifacts tab', () => {
  it("shows the agent's names and text with hidden characters escaped, never applied", async () => {
    await page.goto(`${app.bridge.url}#/tasks/${task}`);
    await page.getByRole('tab', { name: /Artifacts/ }).click();
    await page.getByText(MEMO_SHOWN, { exact: true }).waitFor();

    await row(MEMO_SHOWN).getByRole('button', { name: /^Show/ }).click();
    const preview = page.locator('.artifact-preview');
    await preview.getByText('pay \\u202eevil\\u202c now\\u0007 \\u001b[31mred\\u001b[0m\\rover \\u2066isolate\\u2069 zero\\u200bwidth', { exact: false }).waitFor();
    await expect(preview.innerText()).resolves.toContain('second line'); // a line break stays a line break

    await row('/workspace/out/table.csv').getByRole('button', { name: /^Show/ }).click();
    await page.locator('.artifact-preview td', { hasText: 'a \\u202ereversed\\u202c cell' }).waitFor();
    await row('/workspace/out/notes.md').getByRole('button', { name: /^Show/ }).click();
    await page.locator('.artifact-preview h1', { hasText: 'Title \\u202eeltit' }).waitFor();

    expect(await page.locator('body').innerText()).not.toMatch(RAW_HIDDEN);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('saves an artifact where the save dialog says, checked against the trail, and records it; the page learns no host path', async () => {
    const destination = path.join(dir, 'saved-memo.txt');
    await save(MEMO_SHOWN, destination);
    await page.locator('[data-artifact-saved]', { hasText: 'as saved-memo.txt' }).waitFor();
    expect(fs.readFileSync(destination)).toEqual(fs.readFileSync(recorded('memo\u202etxt.exe').file));
    expect(fs.statSync(destination).mode & 0o111).toBe(0);
    // The dialog offered the artifact's own name (made visible); the trail says what was saved where.
    expect(app.artifactFiles.defaultNames.at(-1)).toBe('memo_u202etxt.exe'); // the override escaped in the dialog too
    expect(events.find((e) => e.task === task && e.kind === 'artifact.saved')?.data).toEqual({ path: MEMO, sha256: recorded('memo\u202etxt.exe').sha256, size: fs.statSync(destination).size, destination });
    await expect(page.locator('[data-artifacts]').innerText()).resolves.not.toContain(dir);
  }, 30_000);

  it('refuses to save an artifact swapped, replaced by a symlink or put behind a symlinked folder since it was collected; nothing is written, the refusal is recorded, the others still save', async () => {
    fs.writeFileSync(recorded('swapped.txt').file, 'forged\n');
    const secret = path.join(dir, 'secret.txt');
    fs.writeFileSync(secret, 'original\n'); // even the same bytes: a symlink is not followed
    fs.rmSync(recorded('linked.txt').file);
    fs.symlinkSync(secret, recorded('linked.txt').file);
    // A folder on the way swapped for a symlink to one of the user's holding the same file.
    const sub = path.dirname(recorded('inner.txt').file);
    fs.renameSync(sub, path.join(dir, 'elsewhere'));
    fs.symlinkSync(path.join(dir, 'elsewhere'), sub);

    const swappedTo = path.join(dir, 'swapped-copy.txt');
    await save('/workspace/out/swapped.txt', swappedTo);
    await page.locator('[role="alert"]', { hasText: 'was changed after it was collected' }).waitFor();
    const linkedTo = path.join(dir, 'linked-copy.txt');
    await save('/workspace/out/linked.txt', linkedTo);
    await page.locator('[role="alert"]', { hasText: 'is now a symlink: not followed' }).waitFor();
    const innerTo = path.join(dir, 'inner-copy.txt');
    await save('/workspace/out/sub/inner.txt', innerTo);
    await page.locator('[role="alert"]', { hasText: 'is now behind a symlinked folder' }).waitFor();
    expect([swappedTo, linkedTo, innerTo].filter((file) => fs.existsSync(file))).toEqual([]);
    expect(fs.readdirSync(dir).filter((name) => name.endsWith('.part'))).toEqual([]);
    const refusals = events.filter((e) => e.task === task && e.kind === 'artifact.refused').map((e) => e.data);
    expect(refusals).toEqual([
      expect.objectContaining({ path: '/workspace/out/swapped.txt', action: 'save', reason: expect.stringContaining('changed after it was collected') as unknown }),
      expect.objectContaining({ path: '/workspace/out/linked.txt', action: 'save', reason: expect.stringContaining('symlink') as unknown }),
      expect.objectContaining({ path: '/workspace/out/sub/inner.txt', action: 'save', reason: expect.stringContaining('symlinked folder') as unknown }),
    ]);

    // Airlock kept working: another artifact saves.
    const plainTo = path.join(dir, 'plain-copy.txt');
    await save('/workspace/out/plain.txt', plainTo);
    await page.locator('[data-artifact-saved]', { hasText: 'as plain-copy.txt' }).waitFor();
    expect(fs.readFileSync(plainTo, 'utf8')).toBe('plain\n');
  }, 30_000);

  it("reveals the artifact's own file in the file manager, and refuses a symlinked one", async () => {
    await row(MEMO_SHOWN).getByRole('button', { name: /^Reveal/ }).click();
    await expect.poll(() => app.artifactFiles.revealed).toEqual([recorded('memo\u202etxt.exe').file]);
    await row('/workspace/out/linked.txt').getByRole('button', { name: /^Reveal/ }).click();
    await page.locator('[role="alert"]', { hasText: 'is now a symlink: not followed' }).waitFor();
    expect(app.artifactFiles.revealed).toHaveLength(1);
  }, 30_000);
});

describe('the Changes tab of a running task', () => {
  it('shows a file the agent changes while it runs, and stops asking once the tab is left', async () => {
    const project = path.join(dir, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'README.md'), '# demo\n');
    const manifest = path.join(dir, 'live.yaml');
    // It changes the project at once, adds a file 5 s later (after the tab's first read), then runs on (the test stops it).
    fs.writeFileSync(manifest, 'name: live-editor\ncommand: ["sh", "-c", "echo edited >> /workspace/project/README.md; sleep 5; echo new > /workspace/project/live.txt; sleep 110"]\nproject: {}\ntimeout: 2m\n');
    const { id } = app.service.openAgent(manifest);
    await app.service.approveAgent(id);
    const { task: live } = app.service.start({ agent: manifest, project: { hostPath: project }, attached: false });
    // Its own page, whose clock the test moves once the tab is left.
    const livePage = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    await livePage.clock.install();
    try {
      await livePage.goto(`${app.bridge.url}#/tasks/${live}`);
      await livePage.getByRole('tab', { name: 'Changes' }).click({ timeout: 60_000 });
      await livePage.locator('[data-live-change]').waitFor();
      await livePage.locator('[data-file="README.md"]').waitFor({ timeout: 60_000 });
      await livePage.locator('[data-file="live.txt"]').waitFor({ timeout: 60_000 });
      // Read again while it ran: the first read was before the agent made live.txt.
      expect(app.bridge.calls.get('review.get')).toBeGreaterThan(1);
      // Not final while it runs: nothing is applied from here yet.
      await expect(livePage.getByRole('button', { name: 'Apply…' }).isDisabled()).resolves.toBe(true);
      expect(fs.readFileSync(path.join(project, 'README.md'), 'utf8')).toBe('# demo\n');
      // Left: no more asking, however long the page waits.
      await livePage.getByRole('tab', { name: 'Action log' }).click();
      const asked = app.bridge.calls.get('review.get') ?? 0;
      await livePage.clock.runFor(30_000);
      expect(app.bridge.calls.get('review.get') ?? 0).toBeLessThanOrEqual(asked + 1); // one may have been on its way
      await livePage.close();
    } finally {
      await app.service.stop(live).catch(() => undefined);
      await app.service.wait(live).catch(() => undefined);
    }
  }, 150_000);
});
