/**
 * The real built renderer in real Chromium, against the real AirlockService, Docker engine and
 * keychain, through the test bridge (bridge.ts): what a person does in the app, end to end.
 * "Remote" hosts are local servers behind the gateway's injected resolver and dialer (names end
 * in .test); nothing leaves this machine. Screenshots of each screen go to test/e2e/screenshots/.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { Keychain } from '../../main/core/credentials/keychain.js';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { startRemotes } from '../helpers/remotes.js';
import { tempDir } from '../helpers/env.js';
import { buildRenderer, launchChromium, REPO, SCREENSHOTS, startAppUnderTest, type AppUnderTest } from './harness.js';
import { canvasColours, clickScreen, displayAgentYaml, FIELD_AT } from './live-screen.js';

let remotes: Awaited<ReturnType<typeof startRemotes>>;
let app: AppUnderTest;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const dir = tempDir('airlock-e2e-manifests-');
const credentialName = `e2e-${process.pid}`;
const lendName = `e2e-lend-${process.pid}`;

function manifest(name: string, yaml: string): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, yaml);
  return file;
}

async function shot(name: string): Promise<void> {
  await page.waitForTimeout(250); // let the last batch and the charts settle
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

async function openManifest(file: string, name: string): Promise<void> {
  app.dialogs.manifest = file;
  await page.goto(`${app.bridge.url}#/agents`);
  await page.locator('[data-open-manifest]').click();
  await page.locator(`[data-agent="${name}"]`).waitFor();
  // An opened manifest runs only once approved (pinned to its digest).
  await expect(page.locator(`[data-agent="${name}"] [data-run]`).isDisabled()).resolves.toBe(true);
  await page.locator(`[data-agent="${name}"] [data-approve]`).click();
  await page.locator(`[data-agent="${name}"] .badge`, { hasText: 'approved' }).waitFor();
}

async function runFromCard(name: string): Promise<string> {
  await page.locator(`[data-agent="${name}"] [data-run]`).click();
  await page.getByRole('dialog').waitFor();
  await page.locator('[data-start]').click();
  await page.waitForURL(/#\/tasks\/t_[0-9a-z]{26}$/);
  return /#\/tasks\/(t_[0-9a-z]{26})$/.exec(page.url())![1]!;
}

const logRow = (text: string) => page.locator('.log-row', { hasText: text }).first();

beforeAll(async () => {
  // The real renderer as Electron would load it.
  buildRenderer();
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  remotes = await startRemotes();
  app = await startAppUnderTest({ resolve: remotes.resolve, dial: remotes.dial });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await remotes?.close();
  for (const name of [credentialName, lendName]) {
    try {
      new Keychain().delete(`credential:${name}`);
    } catch {
      // removed by the test already
    }
  }
});

describe('the desktop app in Chromium, through the bridge', () => {
  it('shows that Docker, the keychain and the image are ready', async () => {
    await page.goto(`${app.bridge.url}#/status`);
    await page.getByText('Ready to run agents.').waitFor({ timeout: 20_000 });
    await expect(page.locator('.panel h2', { hasText: 'Docker engine' }).locator('.dot-ok').count()).resolves.toBe(1);
    await expect(page.locator('.panel h2', { hasText: 'Keychain' }).locator('.dot-ok').count()).resolves.toBe(1);
    // The engine's Docker context, from the docker CLI's own store (this machine's: `default`).
    await expect(page.locator('.engine-contexts li', { hasText: 'default' }).innerText()).resolves.toMatch(/in use/);
    await shot('01-status');
  });

  it('runs the demo agent from the UI and streams its events in, with its artifacts', async () => {
    const demo = path.join(REPO, 'assets', 'agents', 'demo');
    await openManifest(manifest('demo-local', `
name: demo-local
description: The demo agent's program and sample data, with no network and no credential
command: ["node", "/workspace/agent/review.js"]
inputs: [ { from: ${demo}/agent, to: /workspace/agent }, { from: ${demo}/data, to: /workspace/in } ]
outputs: [ /workspace/out ]
resources: { cpus: 1, memory: 256m }
timeout: 2m
`), 'demo-local');
    await shot('02-agents');
    await page.locator('[data-agent="demo-local"] [data-run]').click();
    await page.getByRole('dialog').waitFor();
    await shot('03-run-dialog');
    await page.locator('[data-start]').click();
    await page.waitForURL(/#\/tasks\/t_/);
    await logRow('found 5 suppliers').waitFor({ timeout: 60_000 });
    await logRow('sandbox destroyed').waitFor({ timeout: 60_000 });
    await expect(logRow('exited with code 0').isVisible()).resolves.toBe(true);
    await page.getByRole('tab', { name: /Artifacts/ }).click();
    await page.getByText('/workspace/out/report.md').waitFor();
    await shot('04-task-demo-artifacts');
  }, 120_000);

  it('shows allowed and refused requests, answers "ask" from the notification, and stops a task leaving nothing behind', async () => {
    await openManifest(manifest('curler', `
name: curler
command: ["sh", "-c", "curl -s -o /dev/null -w 'allowed %{http_code}\\\\n' http://api.vendor.test/ok; curl -s -o /dev/null -w 'refused %{http_code}\\\\n' http://sneaky-metadata.test/latest; curl -s -o /dev/null -w 'asked %{http_code}\\\\n' http://other.test/asked; curl -s -o /dev/null -w 'denied %{http_code}\\\\n' http://files.vendor.test/nope; echo waiting; exec sleep 600"]
network: { mode: allowlist, allow: [api.vendor.test, sneaky-metadata.test], onUnknownHost: ask, askTimeout: 90s }
`), 'curler');
    const task = await runFromCard('curler');
    await logRow('allowed 200').waitFor({ timeout: 60_000 });
    await logRow('refused 403').waitFor();
    // "ask": a notification over the screen; allow other.test once, deny files.vendor.test.
    const ask = page.locator('[data-approval="other.test"]');
    await ask.waitFor({ timeout: 30_000 });
    await shot('05-approval-notification');
    await ask.getByRole('button', { name: 'Allow once' }).click();
    await logRow('asked 200').waitFor();
    const second = page.locator('[data-approval="files.vendor.test"]');
    await second.waitFor({ timeout: 30_000 });
    await second.getByRole('button', { name: 'Deny' }).click();
    await logRow('denied 403').waitFor();
    await logRow('waiting').waitFor();
    expect(remotes.dialled).not.toContain('169.254.169.254:80');
    // Resource samples arrive every 2 s: wait for the CPU chart to have a line.
    await page.locator('.chart-svg[aria-label="CPU over time"]').waitFor({ timeout: 20_000 });
    // Filters: only refusals.
    await page.getByLabel('Decision').first().selectOption('deny');
    await expect(page.locator('.log-row').count()).resolves.toBeGreaterThanOrEqual(3);
    await expect(page.locator('.log-row.tone-ok').count()).resolves.toBe(0);
    await shot('06-task-live-refusals-filtered');
    await page.getByLabel('Decision').first().selectOption('');
    await page.getByRole('tab', { name: /Network/ }).click();
    await shot('07-task-network');
    await page.getByRole('tab', { name: /Action log/ }).click();
    await shot('08-task-live');

    await page.locator('[data-stop]').click();
    await logRow('sandbox destroyed').waitFor({ timeout: 30_000 });
    await page.locator('.badge', { hasText: 'stopped' }).first().waitFor();
    expect((await listTaskObjects(app.airlock.engine())).find((t) => t.task === task)).toBeUndefined();
    await shot('09-task-stopped');
  }, 180_000);

  it('lists tasks live and from the trail', async () => {
    await page.goto(`${app.bridge.url}#/tasks`);
    await page.locator('.tasks-table tbody tr').nth(1).waitFor();
    await shot('10-tasks');
  });

  it('searches, verifies and exports the audit trail', async () => {
    await page.goto(`${app.bridge.url}#/audit`);
    await page.keyboard.press('Control+f');
    await expect(page.evaluate('document.activeElement?.getAttribute("aria-label")')).resolves.toBe('Search text');
    await page.keyboard.type('files.vendor.test');
    await page.keyboard.press('Enter');
    await page.locator('.audit-table tbody tr', { hasText: 'files.vendor.test' }).first().waitFor();
    await page.locator('[data-verify]').click();
    await expect(page.locator('[data-verify-result]').textContent({ timeout: 20_000 })).resolves.toMatch(/^Intact: [\d,]+ records, head signed/);
    const exportFile = path.join(dir, 'trail.csv');
    app.dialogs.exportFile = exportFile;
    await page.getByRole('button', { name: 'Export CSV…' }).click();
    await page.locator('[data-export-result]').waitFor();
    expect(fs.readFileSync(exportFile, 'utf8').split('\n')[0]).toBe('n,time,task,parent,agent,agent_digest,actor,kind,decision,rule,decided_by,grant,credential,data,hash,prev');
    await shot('11-audit');
  });

  it('adds, lists and removes a credential without its value ever reaching the page', async () => {
    const secret = `e2e-secret-${Date.now()}-do-not-show`;
    const seen: string[] = [];
    page.on('websocket', (ws) => ws.on('framereceived', (frame) => seen.push(String(frame.payload))));
    await page.goto(`${app.bridge.url}#/credentials`);
    const form = page.getByRole('form', { name: 'Add a credential' });
    await form.getByLabel('Name').fill(credentialName);
    await form.getByLabel('Hosts').fill('api.vendor.test');
    await form.getByLabel('Secret').fill(secret);
    await form.getByRole('button', { name: 'Add credential' }).click();
    await page.locator('td', { hasText: credentialName }).waitFor();
    await expect(form.getByLabel('Secret').inputValue()).resolves.toBe('');
    await shot('12-credentials');
    expect(await page.content()).not.toContain(secret);
    expect(seen.join('\n')).not.toContain(secret);
    page.once('dialog', (d) => void d.accept());
    await page.locator('tr', { hasText: credentialName }).getByRole('button', { name: 'Remove' }).click();
    await page.locator('td', { hasText: credentialName }).waitFor({ state: 'detached' });
  });

  it('a preset fills hosts and where the secret goes; the list shows the injection, never the value', async () => {
    const name = `e2e-preset-${process.pid}`;
    const secret = `ghp_e2e_${Date.now()}_do_not_show`;
    await page.goto(`${app.bridge.url}#/credentials`);
    const form = page.getByRole('form', { name: 'Add a credential' });
    await form.locator('[data-preset-picker] option[value="github"]').waitFor({ state: 'attached' });
    await form.locator('[data-preset-picker]').selectOption('github');
    await expect(form.getByLabel('Hosts').inputValue()).resolves.toBe('github.com');
    await expect(form.getByLabel('Basic user').inputValue()).resolves.toBe('x-access-token');
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Secret').fill(secret);
    await form.getByRole('button', { name: 'Add credential' }).click();
    const row = page.locator('tr', { hasText: name });
    await row.locator('td', { hasText: 'Basic x-access-token:…' }).waitFor();
    await expect(row.textContent()).resolves.toContain('github.com');
    expect(await page.content()).not.toContain(secret);
    expect(new Keychain().get(`credential:${name}`)).toBe(secret);
    page.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: 'Remove' }).click();
    await page.locator('td', { hasText: name }).waitFor({ state: 'detached' });
  });

  it('lends a stored credential with a TTL from the run dialog: a countdown, never the secret, and refusals in the dialog', async () => {
    const secret = `e2e-lent-secret-${Date.now()}-do-not-show`;
    const seen: string[] = [];
    page.on('websocket', (ws) => ws.on('framereceived', (frame) => seen.push(String(frame.payload))));
    await page.goto(`${app.bridge.url}#/credentials`);
    const form = page.getByRole('form', { name: 'Add a credential' });
    await form.getByLabel('Name').fill(lendName);
    await form.getByLabel('Hosts').fill('api.vendor.test');
    await form.getByLabel('Max lifetime').fill('30m');
    await form.getByLabel('Secret').fill(secret);
    await form.getByRole('button', { name: 'Add credential' }).click();
    await page.locator('td', { hasText: lendName }).waitFor();

    // A network that does not allow the credential's host: refused in the dialog, with the fix.
    await page.goto(`${app.bridge.url}#/agents`);
    await page.locator('[data-agent="demo-local"] [data-run]').click();
    const dialog = page.getByRole('dialog');
    await dialog.locator(`[data-lend="${lendName}"]`).waitFor();
    await dialog.getByLabel(`Lend ${lendName}`).check();
    await page.locator('[data-start]').click();
    await dialog.getByRole('alert').filter({ hasText: 'network is none' }).waitFor();
    await expect(dialog.getByRole('alert').textContent()).resolves.toMatch(/How to fix:.*allow the hosts/);
    await shot('14-run-dialog-credential-refused');
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    await openManifest(manifest('lender', `
name: lender
command: ["sh", "-c", "echo lent; exec sleep 600"]
network: { mode: allowlist, allow: [api.vendor.test] }
`), 'lender');
    await page.locator('[data-agent="lender"] [data-run]').click();
    await dialog.locator(`[data-lend="${lendName}"]`).waitFor();
    const slider = dialog.getByLabel(`${lendName} lifetime`);
    await expect(slider.isDisabled()).resolves.toBe(true);
    await dialog.getByLabel(`Lend ${lendName}`).check();
    await expect(slider.getAttribute('max')).resolves.toBe(String(30 * 60_000));
    await expect(slider.inputValue()).resolves.toBe(String(15 * 60_000)); // the smaller of 15 minutes and the max
    await slider.fill(String(10 * 60_000));
    await dialog.locator(`[data-lend="${lendName}"] .ttl`, { hasText: '10m00s' }).waitFor();
    await shot('15-run-dialog-credentials');
    await page.locator('[data-start]').click();
    await page.waitForURL(/#\/tasks\/t_/);
    const task = /#\/tasks\/(t_[0-9a-z]{26})$/.exec(page.url())![1]!;
    const grant = page.locator(`.task-meta [data-grant="${lendName}"]`);
    await grant.waitFor({ timeout: 60_000 });
    await expect(grant.getAttribute('data-grant-state')).resolves.toBe('active');
    await expect(grant.locator('.grant-time').textContent()).resolves.toMatch(/^(10:00|9:[0-5]\d)$/);
    await logRow('lent').waitFor({ timeout: 60_000 });
    await shot('16-task-grant-countdown');
    await page.goto(`${app.bridge.url}#/tasks`);
    const row = page.locator('.tasks-table tbody tr', { hasText: task });
    await row.locator(`[data-grant="${lendName}"][data-grant-state="active"]`).waitFor();
    await shot('17-tasks-grant-countdown');
    await row.getByRole('button', { name: 'Stop' }).click();
    await row.locator(`[data-grant="${lendName}"][data-grant-state="revoked"]`).waitFor({ timeout: 30_000 });
    await row.locator('.badge', { hasText: 'stopped' }).waitFor({ timeout: 30_000 });
    expect(await page.content()).not.toContain(secret);
    expect(seen.join('\n')).not.toContain(secret);
  }, 180_000);

  it('shows a task frozen by a violation, resumes it, and stops it', async () => {
    await openManifest(manifest('freezer', `
name: freezer
command: ["sh", "-c", "curl -s -o /dev/null -w 'first %{http_code}\\\\n' http://other.test/; curl -s -o /dev/null -w 'second %{http_code}\\\\n' http://other.test/; exec sleep 600"]
network: { mode: allowlist, allow: [api.vendor.test] }
onViolation: freeze
maxRefusedRequests: 1
`), 'freezer');
    const task = await runFromCard('freezer');
    const frozen = page.locator('[data-frozen]');
    await frozen.waitFor({ timeout: 60_000 });
    await expect(frozen.locator('h2').textContent()).resolves.toMatch(/^Frozen: .+/);
    await page.locator('.task-meta .badge', { hasText: 'Frozen' }).waitFor();
    await shot('18-task-frozen');
    await frozen.getByRole('button', { name: 'Resume' }).click();
    await frozen.waitFor({ state: 'detached', timeout: 30_000 });
    await page.locator('.task-meta .badge', { hasText: 'running' }).waitFor();
    await logRow('resumed by a person').waitFor();
    await shot('19-task-resumed');
    await page.locator('[data-stop]').click();
    await logRow('sandbox destroyed').waitFor({ timeout: 30_000 });
    await page.locator('.task-meta .badge', { hasText: 'stopped' }).waitFor();
    expect((await listTaskObjects(app.airlock.engine())).find((t) => t.task === task)).toBeUndefined();
  }, 180_000);

  it('answers an "ask" with "Allow always" after a confirmation, adding the host to the manifest', async () => {
    const file = manifest('asker', `
name: asker
# the allowlist grows when a person answers "always"
command: ["sh", "-c", "curl -s -o /dev/null -w 'always %{http_code}\\\\n' http://other.test/always; exec sleep 600"]
network: { mode: allowlist, allow: [api.vendor.test], onUnknownHost: ask, askTimeout: 90s }
`);
    await openManifest(file, 'asker');
    await runFromCard('asker');
    const ask = page.locator('[data-approval="other.test"]');
    await ask.waitFor({ timeout: 60_000 });
    await ask.getByRole('button', { name: 'Allow always…' }).click();
    const confirm = page.locator('[data-confirm-always]');
    await confirm.waitFor();
    await expect(confirm.textContent()).resolves.toContain(file);
    await shot('20-allow-always-confirm');
    await confirm.getByRole('button', { name: 'Add to manifest and allow' }).click();
    await confirm.waitFor({ state: 'detached' });
    await logRow('always 200').waitFor({ timeout: 30_000 });
    const yaml = fs.readFileSync(file, 'utf8');
    expect(yaml).toMatch(/allow:[\s\S]*other\.test/);
    expect(yaml).toContain('# the allowlist grows'); // comments and layout kept
    await page.locator('[data-stop]').click();
    await logRow('sandbox destroyed').waitFor({ timeout: 30_000 });
    // It stays approved with the host it was given.
    await page.goto(`${app.bridge.url}#/agents`);
    await page.locator('[data-agent="asker"] .badge', { hasText: 'approved' }).waitFor();
    await expect(page.locator('[data-agent="asker"]').textContent()).resolves.toContain('other.test');
  }, 180_000);

  it('opens the run dialog with Ctrl+R, and follows the dark theme', async () => {
    await page.goto(`${app.bridge.url}#/agents`);
    await page.locator('[data-agent]').first().waitFor();
    await page.keyboard.press('Control+r');
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${app.bridge.url}#/tasks`);
    await page.locator('.tasks-table tbody tr').first().click();
    await logRow('sandbox destroyed').waitFor();
    await shot('13-task-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    expect(pageErrors).toEqual([]);
  });

  it('shows a display task\'s screen live, to the window that watches it only; takes control after a confirmation; steps through its screenshots', async () => {
    const events: AirlockEvent[] = [];
    const stopRecording = app.bus.subscribe((event) => events.push(event));
    // A second window that watches nothing must never get a frame.
    const bystander = await browser.newPage();
    const bystanderFrames: string[] = [];
    bystander.on('websocket', (ws) => ws.on('framereceived', (frame) => bystanderFrames.push(String(frame.payload))));
    await bystander.goto(`${app.bridge.url}#/tasks`);
    await openManifest(manifest('screen-viewer', displayAgentYaml('screen-viewer')), 'screen-viewer');
    const task = await runFromCard('screen-viewer');
    const panel = page.locator('[data-live-screen-panel]');
    await panel.waitFor({ timeout: 60_000 });
    await panel.locator('.badge', { hasText: 'View only' }).waitFor();
    await logRow('page open').waitFor({ timeout: 90_000 });
    // The canvas shows the agent's page: its red background and its white heading.
    await expect.poll(() => canvasColours(page), { timeout: 90_000, interval: 500 })
      .toSatisfy((c: Awaited<ReturnType<typeof canvasColours>>) => c.width === 1280 && c.height === 800 && !c.blank && c.page > 0.3 && c.white > 0.005);
    await expect(panel.locator('[data-fps]').textContent()).resolves.toMatch(/^\d+ fps/);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'live-view.png') });

    // Taking control asks first; cancelling changes nothing.
    await panel.locator('[data-take-control]').click();
    const confirm = page.locator('[data-confirm-control]');
    await expect(confirm.textContent()).resolves.toMatch(/Your input goes to the agent's screen.*recorded in the action log/);
    await shot('live-view-confirm');
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    expect(events.filter((e) => e.task === task && e.kind === 'screen.control')).toEqual([]);
    await panel.locator('[data-take-control]').click();
    await confirm.getByRole('button', { name: 'Take control' }).click();
    await panel.locator('.badge', { hasText: 'You have control' }).waitFor();
    await logRow('took control of the screen').waitFor();
    expect(events.find((e) => e.task === task && e.kind === 'screen.control')).toMatchObject({ actor: 'user', data: { control: 'taken' } });
    // Typing into the page's field through the canvas (keysyms, Shift and Backspace included): the agent sees it.
    await clickScreen(page, FIELD_AT.x, FIELD_AT.y);
    await page.keyboard.type('Hix');
    await page.keyboard.press('Backspace');
    await page.locator('.log-row', { hasText: /typed: Hi$/ }).waitFor({ timeout: 20_000 });
    await shot('live-view-control');
    await panel.locator('[data-give-back]').click();
    await panel.locator('.badge', { hasText: 'View only' }).waitFor();
    expect(events.filter((e) => e.task === task && e.kind === 'screen.control').map((e) => e.data.control)).toEqual(['taken', 'released']);
    expect(bystanderFrames.some((frame) => frame.includes('"push":"screen"'))).toBe(false);
    await bystander.close();

    // After the task: its screenshots, each checked against its sha256 in the trail.
    await page.locator('[data-stop]').click();
    await logRow('sandbox destroyed').waitFor({ timeout: 60_000 });
    await panel.waitFor({ state: 'detached' });
    stopRecording();
    const captures = events.filter((e) => e.task === task && e.kind === 'screen.capture');
    expect(captures.length).toBeGreaterThan(0);
    await page.getByRole('tab', { name: /Screenshots/ }).click();
    const image = page.locator('img[data-shot-index]');
    await image.waitFor();
    await expect(image.evaluate((img: { decode(): Promise<void>; naturalWidth: number }) => img.decode().then(() => img.naturalWidth))).resolves.toBe(1280);
    await expect(page.locator('[data-shot-position]').textContent()).resolves.toBe(`${captures.length} / ${captures.length}`);
    await expect(page.locator('[data-shot-sha256]').textContent()).resolves.toBe(String(captures.at(-1)!.data.sha256));
    if (captures.length > 1) {
      await page.getByRole('button', { name: 'Previous screenshot' }).click();
      await page.locator(`img[data-shot-index="${String(captures.at(-2)!.data.index)}"]`).waitFor();
    }
    await shot('live-view-screenshots');
    expect(pageErrors).toEqual([]);
  }, 240_000);
});
