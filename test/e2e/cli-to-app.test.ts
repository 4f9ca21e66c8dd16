/**
 * A task started from a terminal, watched and controlled in the app: `airlock run` (the CLI bundle,
 * engine mode) starts the user's engine, which runs a display agent; the app — the real renderer in
 * Chromium, over the bridge with the same forwarding handlers as Electron's main process, each page
 * on its own engine connection — connects to THE SAME engine. The task is live in Tasks with its
 * log, its screen shows, Take control works (and is in the log), Stop stops it; the CLI exits as
 * interrupted (130) and the sandbox is gone.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../main/core/engine/engine.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import type { EngineClient } from '../../main/core/server/client.js';
import { connectEngine } from '../../main/core/server/connect.js';
import { tempDir } from '../helpers/env.js';
import { startBridge, type Bridge } from './bridge.js';
import { buildRenderer, launchChromium, REPO, RENDERER_DIR, SCREENSHOTS } from './harness.js';
import { canvasColours, clickScreen, displayAgentYaml, FIELD_AT } from './live-screen.js';

const CLI = path.join(REPO, 'out', 'cli', 'airlock.cjs');
const root = tempDir('airlock-cli-to-app-');
const env: NodeJS.ProcessEnv = { ...process.env, AIRLOCK_HOME: path.join(root, 'home'), AIRLOCK_ENGINE_IDLE: '30s', NO_COLOR: '1' };
delete env.AIRLOCK_ENGINE;
/**
 * How this test (sources, build `dev`) reaches the engine the CLI bundle started. A client of
 * another build finds it busy with the CLI's task and uses it (it asks the engine to exit once idle).
 */
const reachEngine = (): Promise<EngineClient> => connectEngine({ env, start: false, client: 'app', notice: () => undefined });

let browser: Browser;
let page: Page;
let bridge: Bridge | undefined;
let cli: ChildProcess | undefined;
let eyes: EngineClient | undefined;
const pageErrors: string[] = [];

beforeAll(async () => {
  buildRenderer();
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 180_000);

afterAll(async () => {
  cli?.kill('SIGKILL');
  await browser?.close();
  await bridge?.close();
  // The engine this test made goes with it (its tasks stopped first).
  const client = eyes ?? await reachEngine().catch(() => undefined);
  await client?.call('engine.stop').catch(() => undefined);
  await client?.close();
});

describe('a task started from the CLI, in the app', () => {
  it('shows live in Tasks with its log and screen; Take control and Stop work from the app; the CLI exits as interrupted', { timeout: 240_000 }, async () => {
    const manifest = path.join(root, 'cli-screen.yaml');
    fs.writeFileSync(manifest, displayAgentYaml('cli-screen'));
    execFileSync(process.execPath, [CLI, 'agents', 'approve', manifest], { env, stdio: 'pipe' });

    // The terminal: `airlock run --json` starts the engine and the task, and streams its events.
    cli = spawn(process.execPath, [CLI, 'run', manifest, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    cli.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => cli!.on('close', resolve));
    const lines = readline.createInterface({ input: cli.stdout! });
    const kinds: string[] = [];
    const task = await new Promise<string>((resolve, reject) => {
      lines.on('line', (line) => {
        let event: { task?: string; kind?: string };
        try {
          event = JSON.parse(line) as typeof event;
        } catch {
          return;
        }
        if (event.kind) kinds.push(event.kind);
        if (event.kind === 'task.started' && event.task) resolve(event.task);
      });
      void exited.then((code) => reject(new Error(`airlock run exited (${code}) before its task started: ${stderr}`)));
    });

    // The app, on the same engine.
    eyes = await reachEngine();
    await expect(eyes.call('tasks.list')).resolves.toContainEqual(expect.objectContaining({ id: task }));
    bridge = await startBridge({
      connect: reachEngine, rendererDir: RENDERER_DIR,
      dialogs: { chooseManifest: async () => undefined, chooseExportFile: async () => undefined },
    });
    await page.goto(`${bridge.url}#/tasks`);
    await page.locator('tr', { hasText: task }).first().click();
    await page.waitForURL(new RegExp(`#/tasks/${task}$`));
    const logRow = (text: string | RegExp) => page.locator('.log-row', { hasText: text }).first();
    await logRow('page open').waitFor({ timeout: 90_000 });

    // Its screen, live.
    const panel = page.locator('[data-live-screen-panel]');
    await panel.waitFor();
    // The sandbox's browser paints the page after 'page open'; on a loaded machine that is not quick.
    await expect.poll(() => canvasColours(page), { timeout: 90_000, interval: 500 })
      .toSatisfy((c: Awaited<ReturnType<typeof canvasColours>>) => c.width === 1280 && !c.blank && c.page > 0.3);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'cli-task-in-app.png') });

    // Take control: the person's input reaches the agent, and it is in the task's log.
    await panel.locator('[data-take-control]').click();
    await page.locator('[data-confirm-control]').getByRole('button', { name: 'Take control' }).click();
    await panel.locator('.badge', { hasText: 'You have control' }).waitFor();
    await logRow('took control of the screen').waitFor();
    await clickScreen(page, FIELD_AT.x, FIELD_AT.y);
    await page.keyboard.type('cli');
    await logRow(/typed: cli$/).waitFor({ timeout: 20_000 });
    const control = await eyes.call('audit.query', { task, kinds: ['screen.control'], limit: 10 });
    expect(control.records.map((r) => [r.actor, r.data.control])).toEqual([['user', 'taken']]);

    // Stop, from the app: the sandbox goes, and the terminal's run ends as interrupted.
    await page.locator('[data-stop]').click();
    await logRow('sandbox destroyed').waitFor({ timeout: 60_000 });
    await expect(exited).resolves.toBe(130);
    expect(kinds).toContain('task.destroyed');
    expect((await listTaskObjects(Engine.connect(env))).filter((objects) => objects.task === task)).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
