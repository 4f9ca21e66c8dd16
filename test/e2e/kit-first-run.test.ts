/**
 * A kit's first run in the app: its image is missing, so the run dialog builds it with a progress
 * bar (the `images` push) and then starts the run, as `airlock run <kit>` does — the person does not
 * have to find the Status screen first. The kit is claude-code built from the local stand-in package
 * (test/fixtures/kit-fake) instead of the npm registry; it is pointed at a pretend endpoint on this
 * machine with the dialog's Endpoint field, so nothing leaves it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { CREDENTIAL_PRESETS } from '../../main/core/credentials/presets.js';
import { buildKitImage } from '../../main/core/images/image-kit.js';
import { KitVersions } from '../../main/core/kits/kit-versions.js';
import { FAKE_KIT_IMAGE, FAKE_KIT_VERSION, packFakeKit, PRETEND_HOST } from '../helpers/kit-fake.js';
import { startPretendHttps, type PretendHttps } from '../helpers/providers/pretend-https.js';
import { buildRenderer, launchChromium, startAppUnderTest, type AppUnderTest } from './harness.js';

const KEY = `sk-ant-e2e-${process.pid}`;
let app: AppUnderTest;
let browser: Browser;
let page: Page;
let endpoint: PretendHttps;
const seenKeys: (string | undefined)[] = [];

beforeAll(async () => {
  buildRenderer();
  const tarball = packFakeKit();
  spawnSync('docker', ['image', 'rm', '--force', FAKE_KIT_IMAGE], { stdio: 'ignore' }); // its first run: no image yet
  endpoint = await startPretendHttps((req, res) => {
    seenKeys.push(req.headers['x-api-key'] as string | undefined);
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"pretend":"anthropic"}');
  });
  // The gateway finds the pretend endpoint on this machine and trusts its CA (read by the core at start).
  process.env.AIRLOCK_GATEWAY_HOSTS = `${PRETEND_HOST}=127.0.0.1`;
  process.env.AIRLOCK_UPSTREAM_CA = endpoint.caFile;
  app = await startAppUnderTest({ buildKit: (docker, options) => buildKitImage(docker, { ...options, packageFile: tarball }) });
  // This user's claude-code is the stand-in's version (as `image build --kit claude-code --version` records it).
  new KitVersions(app.home.root).use({ name: 'claude-code', version: '2.1.332' }, FAKE_KIT_VERSION);
  const preset = CREDENTIAL_PRESETS.anthropic!;
  app.airlock.credentials.add({ name: 'anthropic', secret: KEY, hosts: [`${PRETEND_HOST}:${endpoint.port}`], inject: preset.inject });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
}, 240_000);

afterAll(async () => {
  new Keychain().delete('credential:anthropic');
  await browser?.close();
  await app?.close();
  await endpoint?.close();
  spawnSync('docker', ['image', 'rm', '--force', FAKE_KIT_IMAGE], { stdio: 'ignore' });
});

describe('a kit\'s first run in the app', () => {
  it('Run builds the missing image with progress in the dialog, then the task starts on it', { timeout: 240_000 }, async () => {
    await page.goto(`${app.bridge.url}#/agents`);
    await page.locator('[data-agent="claude-code"] [data-run]').click();
    await page.getByRole('dialog').waitFor();
    await page.getByLabel('Endpoint', { exact: true }).fill(`https://${PRETEND_HOST}:${endpoint.port}`);
    // A kit's tool is a full-screen program: from the app it runs as an interactive session by default.
    await expect(page.getByLabel('Interactive session').isChecked()).resolves.toBe(true);
    await page.locator('[data-start]').click();

    const building = page.locator('[data-kit-build]');
    await building.waitFor({ timeout: 60_000 });
    await expect(building.textContent()).resolves.toContain(`builds its image ${FAKE_KIT_IMAGE}`);
    await expect(building.getByRole('progressbar').count()).resolves.toBe(1);
    await expect(page.locator('[data-start]').textContent()).resolves.toBe('Building image…');

    await page.waitForURL(/#\/tasks\/t_[0-9a-z]{26}$/, { timeout: 180_000 });
    const task = /#\/tasks\/(t_[0-9a-z]{26})$/.exec(page.url())![1]!;
    // The task page opens on its Terminal tab.
    await expect(page.getByRole('tab', { name: 'Terminal' }).getAttribute('aria-selected')).resolves.toBe('true');
    const end = await app.service.wait(task);
    expect(end).toMatchObject({ state: 'exited', exitCode: 0 });
    // The run used the image just built, with the endpoint and the lent key.
    const result = JSON.parse(fs.readFileSync(path.join(end.artifactsDir, 'result.json'), 'utf8')) as { installed: unknown; endpoint: { status?: number } };
    expect(result.endpoint.status).toBe(200);
    expect(seenKeys).toEqual([KEY]);
  });
});
