/**
 * The app as a client of a real engine process (its socket; the engine run from the sources), seen
 * from a hostile page — the real renderer's page in Chromium over the bridge, which serves the same
 * forwarding handlers as Electron's main process:
 *  - the engine-only channels (stop the engine, open or write a file the caller names) cannot be
 *    asked from a page, whatever it sends; the engine goes on serving;
 *  - an engine killed under the app does not take the app down: the page is told (engine_unavailable
 *    and what to do) and its call after that is served by a fresh engine.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineClient } from '../../main/core/server/client.js';
import { connectEngine } from '../../main/core/server/connect.js';
import { tempDir } from '../helpers/env.js';
import { startBridge, type Bridge } from '../e2e/bridge.js';
import { buildRenderer, launchChromium, REPO, RENDERER_DIR } from '../e2e/harness.js';

const root = tempDir('airlock-app-engine-');
const env: NodeJS.ProcessEnv = { ...process.env, AIRLOCK_HOME: path.join(root, 'home'), AIRLOCK_ENGINE_IDLE: '60s' };
delete env.AIRLOCK_ENGINE;
/** The engine from the sources (the same build as this test's client: no restart for another build). */
const fromSources = { command: process.execPath, args: ['--import', 'tsx', path.join(REPO, 'main', 'cli', 'entry.ts')] };
const connect = (): Promise<EngineClient> => connectEngine({ env, spawn: fromSources, client: 'app', notice: () => undefined });

let browser: Browser;
let page: Page;
let bridge: Bridge;
const pageErrors: string[] = [];
/** Every message the page's socket received (answers and pushes). */
const received: string[] = [];

type Envelope = { ok: boolean; value?: unknown; error?: { code: string; message: string; hint?: string } };

/** What an engine says of itself, over a connection of the test's own. */
async function engineStatus(): Promise<{ pid: number }> {
  const client = await connect();
  try {
    return await client.call('engine.status');
  } finally {
    await client.close();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A call the page makes through window.airlock, as the renderer would. */
function pageCall(expression: string): Promise<Envelope> {
  return page.evaluate(`(async () => { const airlock = globalThis.airlock; return ${expression}; })()`);
}

beforeAll(async () => {
  buildRenderer();
  bridge = await startBridge({ connect, rendererDir: RENDERER_DIR, dialogs: { chooseManifest: async () => '/etc/passwd', chooseExportFile: async () => path.join(root, 'export.csv') } });
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('websocket', (ws) => ws.on('framereceived', (frame) => received.push(String(frame.payload))));
  await page.goto(`${bridge.url}#/status`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await bridge?.close();
  const client = await connectEngine({ env, start: false, notice: () => undefined }).catch(() => undefined);
  await client?.call('engine.stop').catch(() => undefined);
  await client?.close();
});

describe('the app on a real engine, from a hostile page', () => {
  it('never reaches the engine-only channels, named files included; the engine keeps serving', async () => {
    await expect(pageCall('airlock.tasks.list()')).resolves.toMatchObject({ ok: true });
    const { pid } = await engineStatus();
    // Below window.airlock: the page's own socket to the main process, naming the engine's channels.
    const replies = await page.evaluate(`new Promise((resolve) => {
      const ws = new WebSocket(globalThis.__AIRLOCK_BRIDGE__.url);
      const calls = [['engine.stop', []], ['engine.retire', []], ['engine.status', []], ['agents.openFile', ['/etc/passwd']],
        ['audit.exportTo', [{ file: '/tmp/airlock-stolen.csv', format: 'csv' }]],
        ['artifacts.saveTo', [{ task: 't_01m8t8mb51narw90sssdzxm899', path: '/workspace/out/a', file: '/tmp/airlock-stolen.csv' }]],
        ['artifacts.locate', [{ task: 't_01m8t8mb51narw90sssdzxm899', path: '/workspace/out/a' }]]];
      const replies = {};
      ws.onopen = () => calls.forEach(([channel, args], id) => ws.send(JSON.stringify({ id, channel, args })));
      ws.onmessage = (m) => { const data = JSON.parse(m.data); if ('id' in data) { replies[calls[data.id][0]] = data.envelope; if (Object.keys(replies).length === calls.length) resolve(replies); } };
    })`) as Record<string, Envelope>;
    for (const [channel, envelope] of Object.entries(replies)) {
      expect(envelope, channel).toMatchObject({ ok: false, error: { code: 'bad_argument', message: `no channel ${channel}` } });
    }
    // The window's own channels never take a file from the page: the dialog (in main) chooses it.
    await expect(pageCall(`airlock.agents.open('/etc/passwd')`)).resolves.toMatchObject({ ok: false, error: { code: 'bad_argument' } });
    await expect(pageCall(`airlock.audit.export({ format: 'csv', file: '/tmp/airlock-stolen.csv' })`)).resolves.toMatchObject({ ok: false, error: { code: 'bad_argument' } });
    await expect(pageCall(`airlock.artifacts.save({ task: 't_01m8t8mb51narw90sssdzxm899', path: '/workspace/out/a', file: '/tmp/airlock-stolen.csv' })`)).resolves.toMatchObject({ ok: false, error: { code: 'bad_argument' } });
    expect(fs.existsSync('/tmp/airlock-stolen.csv')).toBe(false);
    // Still the same engine, still serving.
    await expect(engineStatus()).resolves.toMatchObject({ pid });
    await expect(pageCall('airlock.tasks.list()')).resolves.toMatchObject({ ok: true });
  });

  it('outlives an engine killed under it: the page is told, with what to do, then a fresh engine serves it', async () => {
    const { pid } = await engineStatus();
    const before = received.length;
    process.kill(pid, 'SIGKILL');
    // Gone (a signal is delivered asynchronously): the page's next call meets a dead engine, not a dying one.
    await expect.poll(() => isAlive(pid), { timeout: 5_000, interval: 10 }).toBe(false);
    // The first call after the loss is refused (unless a call of the renderer's own took that refusal); the next is served.
    await pageCall('airlock.tasks.list()');
    await expect(pageCall('airlock.tasks.list()')).resolves.toMatchObject({ ok: true, value: [] });
    const refusals = received.slice(before).map((frame) => JSON.parse(frame) as { envelope?: Envelope }).filter((m) => m.envelope?.ok === false).map((m) => m.envelope!.error);
    expect(refusals.length).toBeGreaterThan(0);
    for (const refusal of refusals) {
      expect(refusal).toMatchObject({ code: 'engine_unavailable', message: expect.stringMatching(/^the Airlock engine stopped/) as unknown, hint: expect.stringContaining('try again') as unknown });
    }
    const fresh = await engineStatus();
    expect(fresh.pid).not.toBe(pid);
    // The page itself never broke.
    await expect(pageCall('airlock.app.version()')).resolves.toMatchObject({ ok: true });
    expect(pageErrors).toEqual([]);
  });
});
