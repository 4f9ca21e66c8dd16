/**
 * The run dialog's files, end to end: the real built renderer in Chromium, over the bridge, a real
 * core and Docker. A person picks a project folder, two input files (removing one) and the folder
 * outputs go to through the OS dialogs (the harness's fakes, shown by "main"), sees each by name,
 * and runs: the agent gets the project's working copy and the input, its output lands in the chosen
 * folder, and the trail records the project (task.project) and the input (fs.input). The page never
 * learns a host path.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { tempDir } from '../helpers/env.js';
import { buildRenderer, launchChromium, startAppUnderTest, type AppUnderTest } from './harness.js';

let app: AppUnderTest;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const events: AirlockEvent[] = [];
const dir = tempDir('airlock-e2e-run-files-');
const projectDir = path.join(dir, 'quarterly-report');
const inputFile = path.join(dir, 'sales.csv');
const unwanted = path.join(dir, 'unwanted.csv');
const outputDir = path.join(dir, 'results');
const manifestFile = path.join(dir, 'analyst.yaml');

beforeAll(async () => {
  buildRenderer();
  fs.mkdirSync(projectDir);
  fs.writeFileSync(path.join(projectDir, 'README.md'), 'PROJECT-README\n');
  fs.writeFileSync(inputFile, 'region,total\nnorth,42\n');
  fs.writeFileSync(unwanted, 'NOT-CHOSEN\n');
  fs.mkdirSync(outputDir);
  fs.writeFileSync(manifestFile, `
name: analyst
command: ["sh", "-c", "echo \\"cwd: $(pwd)\\"; echo \\"readme: $(cat README.md)\\"; echo \\"input: $(tail -1 /workspace/in/sales.csv)\\"; echo \\"unwanted: $(test -e /workspace/in/unwanted.csv && echo present || echo absent)\\"; echo summary > /workspace/out/summary.txt"]
project: {}
outputs: [ /workspace/out ]
resources: { cpus: 1, memory: 256m }
timeout: 2m
`);
  app = await startAppUnderTest();
  app.bus.subscribe((event) => events.push(event));
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("the run dialog's files", () => {
  it('picks a project, inputs and the output folder through main, and the task gets them', async () => {
    app.dialogs.manifest = manifestFile;
    await page.goto(`${app.bridge.url}#/agents`);
    await page.locator('[data-open-manifest]').click();
    await page.locator('[data-agent="analyst"] [data-approve]').click();
    await page.locator('[data-agent="analyst"] .badge', { hasText: 'approved' }).waitFor();
    await page.locator('[data-agent="analyst"] [data-run]').click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();

    app.runDialogs.project = projectDir;
    await dialog.getByRole('button', { name: 'Choose project folder…' }).click();
    await dialog.locator('[data-picked="Project"] [data-picked-name="quarterly-report"]').waitFor();
    app.runDialogs.inputs = [inputFile, unwanted];
    await dialog.getByRole('button', { name: 'Add files…' }).click();
    await dialog.locator('[data-picked-name="unwanted.csv"]').waitFor();
    await dialog.getByRole('button', { name: 'Remove unwanted.csv' }).click();
    await expect(dialog.locator('[data-picked="Inputs"] li').count()).resolves.toBe(1);
    await expect(dialog.locator('[data-picked-name="sales.csv"]').innerText()).resolves.toMatch(/sales\.csv\s+22 B/);
    app.runDialogs.outputDir = outputDir;
    await dialog.getByRole('button', { name: 'Choose folder…' }).click();
    await dialog.locator('[data-picked="Outputs go to"] [data-picked-name="results"]').waitFor();
    // The dialog names the chosen things, never where they are (the agent card shows its manifest's path, which the person opened).
    const shown = await dialog.innerHTML();
    for (const hostPath of [projectDir, inputFile, outputDir]) expect(shown).not.toContain(hostPath);

    await page.locator('[data-start]').click();
    await page.waitForURL(/#\/tasks\/t_/);
    const task = /#\/tasks\/(t_[0-9a-z]{26})$/.exec(page.url())![1]!;
    await page.locator('.log-row', { hasText: 'sandbox destroyed' }).first().waitFor({ timeout: 90_000 });

    const ofTask = events.filter((e) => e.task === task);
    const said = ofTask.filter((e) => e.kind === 'proc.stdout').map((e) => String((e.data as { line?: string }).line ?? '')).join('\n');
    expect(said).toContain('cwd: /workspace/project');
    expect(said).toContain('readme: PROJECT-README');
    expect(said).toContain('input: north,42');
    expect(said).toContain('unwanted: absent');
    expect(ofTask.find((e) => e.kind === 'task.project')?.data).toMatchObject({ hostPath: projectDir, containerPath: '/workspace/project' });
    expect(ofTask.filter((e) => e.kind === 'fs.input').map((e) => JSON.stringify(e.data)).join('\n')).toContain('sales.csv');
    expect(ofTask.find((e) => e.kind === 'task.exited')?.data).toMatchObject({ exitCode: 0 });
    expect(fs.readFileSync(path.join(outputDir, 'summary.txt'), 'utf8')).toBe('summary\n');
    expect(pageErrors).toEqual([]);
  }, 150_000);
});
