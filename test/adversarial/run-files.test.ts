/**
 * A compromised page tries to make Airlock copy a host folder of its choosing into a sandbox: the
 * real built renderer's page in Chromium, over the bridge (the app's own registrar and handlers),
 * to a real core. It calls `run.start` as it is exposed to it, naming a host path (the shape
 * before tokens), a made-up token, and a token another window got from the person's dialog. Each
 * is refused before the engine hears of it: no task is created, no event names the folder, and the
 * page's own choice still runs through (to the engine's approval check).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { ephemeralHeadSigner } from '../../main/core/audit/head.js';
import type { AirlockBridge } from '../../preload/contract.js';
import { buildRenderer, launchChromium, startAppUnderTest, type AppUnderTest } from '../e2e/harness.js';
import { tempDir } from '../helpers/env.js';

let app: AppUnderTest;
let browser: Browser;
let hostile: Page;
let other: Page;
const events: AirlockEvent[] = [];
const dir = tempDir('airlock-adv-run-files-');
const secrets = path.join(dir, 'dot-ssh');
const manifestFile = path.join(dir, 'taker.yaml');

beforeAll(async () => {
  buildRenderer();
  fs.mkdirSync(secrets);
  fs.writeFileSync(path.join(secrets, 'id_ed25519'), 'PRIVATE-KEY-CANARY\n');
  fs.writeFileSync(manifestFile, 'name: taker\ncommand: ["true"]\nproject: {}\n');
  app = await startAppUnderTest({ signer: ephemeralHeadSigner() });
  app.bus.subscribe((event) => events.push(event));
  browser = await launchChromium();
  hostile = await browser.newPage();
  other = await browser.newPage();
  for (const page of [hostile, other]) {
    await page.goto(`${app.bridge.url}#/agents`);
    await page.waitForFunction(() => 'airlock' in globalThis);
  }
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

type Envelope = { ok: boolean; value?: unknown; error?: { code: string; message: string } };

/** What the page itself calls: window.airlock, as exposed to it. */
function pageCall(page: Page, namespace: string, method: string, ...args: unknown[]): Promise<Envelope> {
  return page.evaluate(async ([n, m, a]) => {
    const api = (globalThis as unknown as { airlock: AirlockBridge }).airlock as unknown as Record<string, Record<string, (...x: unknown[]) => Promise<unknown>>>;
    return api[n as string]![m as string]!(...(a as unknown[]));
  }, [namespace, method, args] as const) as Promise<Envelope>;
}

describe("a page's forged run files", () => {
  it('are refused: a host path, a made-up token, another window\'s token; nothing starts and Airlock keeps serving', async () => {
    app.dialogs.manifest = manifestFile;
    const opened = await pageCall(hostile, 'agents', 'open');
    const agentId = (opened.value as { id: string }).id;

    const asPath = await pageCall(hostile, 'run', 'start', { agentId, project: { hostPath: secrets } });
    expect(asPath).toMatchObject({ ok: false, error: { code: 'bad_argument', message: expect.stringContaining('run.start: invalid arguments') } });
    const inputPath = await pageCall(hostile, 'run', 'start', { agentId, inputs: [{ hostPath: path.join(secrets, 'id_ed25519') }], outputDir: dir });
    expect(inputPath).toMatchObject({ ok: false, error: { code: 'bad_argument' } });
    const madeUp = await pageCall(hostile, 'run', 'start', { agentId, project: { token: `pick_${'A'.repeat(43)}` } });
    expect(madeUp).toMatchObject({ ok: false, error: { code: 'bad_argument', message: expect.stringMatching(/^project: this window did not choose that file/) } });

    // The person chose the folder in the other window: its token is no good in this one.
    app.runDialogs.project = secrets;
    const chosen = await pageCall(other, 'run', 'pickProject');
    expect(chosen).toMatchObject({ ok: true, value: { name: 'dot-ssh', kind: 'folder' } });
    expect(JSON.stringify(chosen)).not.toContain(dir);
    const stolen = await pageCall(hostile, 'run', 'start', { agentId, project: { token: (chosen.value as { token: string }).token } });
    expect(stolen).toMatchObject({ ok: false, error: { code: 'bad_argument', message: expect.stringMatching(/^project: this window did not choose that file/) } });

    // Nothing started, and nothing anywhere names the folder.
    expect(events.filter((e) => e.kind.startsWith('task.'))).toEqual([]);
    expect(JSON.stringify(events)).not.toContain(secrets);
    expect(app.service.tasks()).toEqual([]);

    // Airlock keeps serving: the other window's own choice passes the token check and reaches the
    // engine, which refuses the unapproved agent (so no sandbox is needed here).
    const own = await pageCall(other, 'run', 'start', { agentId, project: { token: (chosen.value as { token: string }).token } });
    expect(own).toMatchObject({ ok: false, error: { message: expect.stringMatching(/approv/i) } });
    await expect(pageCall(hostile, 'tasks', 'list')).resolves.toEqual({ ok: true, value: [] });
  }, 60_000);
});
