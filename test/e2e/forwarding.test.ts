/**
 * The Audit screen's Forwarding panel, end to end: the real built renderer in Chromium over the
 * bridge and a real core. A person adds a forwarder in the form (its secret in a password field):
 * it is listed with its name, kind and URL and a state, the secret field is emptied and the secret
 * is nowhere in the page afterwards; Remove asks first, then the forwarder is gone. The collector is
 * a closed port on loopback: nothing leaves the machine.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRenderer, launchChromium, startAppUnderTest, type AppUnderTest } from './harness.js';

const SECRET = 'e2e-forwarder-secret-7f3a91c2';
const URL = 'https://127.0.0.1:9/v1/logs';
const STATES = ['caught-up', 'sending', 'retrying', 'stopped'];

let app: AppUnderTest;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  buildRenderer();
  app = await startAppUnderTest();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (error) => pageErrors.push(String(error)));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe('the Audit screen\'s Forwarding panel', () => {
  it('adds a forwarder from the form and lists it; the secret is cleared and never in the page', async () => {
    await page.goto(`${app.bridge.url}#/audit`);
    const panel = page.getByRole('region', { name: 'Forwarding' });
    const form = panel.getByRole('form', { name: 'Add a forwarder' });
    await form.waitFor();
    await form.getByLabel('Kind', { exact: true }).selectOption('otlp-http');
    await form.getByLabel('Name', { exact: true }).fill('siem-e2e');
    await form.getByLabel('URL', { exact: true }).fill(URL);
    await form.getByLabel('Encoding', { exact: true }).selectOption('json');
    await form.getByLabel('Secret', { exact: true }).fill(SECRET);
    await form.getByLabel('Only decisions').selectOption('deny');
    await form.getByRole('button', { name: 'Add forwarder' }).click();

    const row = panel.locator('tr[data-forwarder="siem-e2e"]');
    await row.waitFor({ timeout: 30_000 });
    await expect(row.locator('[data-kind]').textContent()).resolves.toBe('otlp-http (json)');
    await expect(row.locator('[data-url]').textContent()).resolves.toBe(URL);
    expect(STATES).toContain(await row.locator('[data-state]').textContent());
    await expect(form.getByLabel('Secret', { exact: true }).inputValue()).resolves.toBe('');
    expect(app.bridge.calls.get('audit.forward.create')).toBe(1);

    // Listed by the engine too, never with its secret; and after the next refreshes, still nowhere in the page.
    const listed = await app.service.forwarders.list();
    expect(listed.map((f) => [f.name, f.kind, f.url, f.hasSecret])).toEqual([['siem-e2e', 'otlp-http', URL, true]]);
    expect(JSON.stringify(listed)).not.toContain(SECRET);
    await expect.poll(() => app.bridge.calls.get('audit.forward.list') ?? 0, { timeout: 10_000 }).toBeGreaterThan(2);
    expect(await page.content()).not.toContain(SECRET);
    expect(await page.locator('input').evaluateAll((inputs) => inputs.map((input) => (input as unknown as { value: string }).value))).not.toContain(SECRET);
    expect(pageErrors).toEqual([]);
  });

  it('removes it after a confirmation', async () => {
    const confirmations: string[] = [];
    page.once('dialog', (dialog) => {
      confirmations.push(dialog.message());
      void dialog.accept();
    });
    const panel = page.getByRole('region', { name: 'Forwarding' });
    await panel.locator('tr[data-forwarder="siem-e2e"]').getByRole('button', { name: 'Remove' }).click();
    await panel.locator('tr[data-forwarder="siem-e2e"]').waitFor({ state: 'detached' });
    expect(confirmations).toEqual([expect.stringContaining('Remove the forwarder siem-e2e?')]);
    await expect(app.service.forwarders.list()).resolves.toEqual([]);
  });
});
