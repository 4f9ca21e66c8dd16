/**
 * The run dialog's files through the real registrar (sender check → schema → handler → envelope)
 * and the real forwarding to an engine: the window gets tokens and names from the OS dialogs and
 * from a drop, never a path; it runs a task with its own live tokens only; a path it names itself
 * (the old shape), a made-up token, another window's or an expired one never reaches the service.
 * And the preload reads dropped files' paths itself: a File the page made up is refused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { APP_ENTRY_URL, APP_ORIGIN } from '../../main/app-protocol.js';
import type { Airlock } from '../../main/core/airlock.js';
import type { AirlockService } from '../../main/core/service/service.js';
import { EngineConnections } from '../../main/ipc/engine-link.js';
import { registerForwardingHandlers } from '../../main/ipc/forward.js';
import { localEngine } from '../../main/ipc/local-engine.js';
import { PICK_TTL_MS, PickedFiles } from '../../main/ipc/picked-files.js';
import { createIpcRegistrar } from '../../main/ipc/register.js';
import { createMainWindow, isAppUrlFor, isOwnWebContents } from '../../main/window.js';
import { exposedInMainWorld, filePaths, ipcMainHandlers, ipcRenderer, type FakeWebContents } from './fake-electron.js';

vi.mock('electron', async () => (await import('./fake-electron.js')).fakeElectron);

type Envelope = { ok: boolean; value?: unknown; error?: { code: string; message: string } };
type Listener = (event: unknown, ...args: unknown[]) => Promise<Envelope>;
const TASK = 't_01jz0000000000000000000000';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-run-files-'));
const projectDir = path.join(dir, 'my-project');
const inputFile = path.join(dir, 'sales.csv');
const outputDir = path.join(dir, 'results');
fs.mkdirSync(projectDir);
fs.mkdirSync(outputDir);
fs.writeFileSync(inputFile, 'region,total\n');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let run: ReturnType<typeof vi.fn>;
const clock = { now: 5_000_000 };
const runDialogs = {
  chooseProject: vi.fn(async () => projectDir as string | undefined),
  chooseInputs: vi.fn(async (_folders: boolean) => [inputFile]),
  chooseOutputDir: vi.fn(async () => outputDir as string | undefined),
};

function page() {
  const window = createMainWindow({ preloadPath: '/x/preload/index.cjs', entryUrl: APP_ENTRY_URL, devTools: false });
  const event = { sender: window.webContents as unknown as FakeWebContents, senderFrame: { url: APP_ENTRY_URL, parent: null } };
  return (channel: string, ...args: unknown[]) => (ipcMainHandlers.get(channel) as Listener)(event, ...args);
}

beforeEach(() => {
  ipcMainHandlers.clear();
  run = vi.fn(() => ({ task: TASK }));
  const service = { run, subscribe: () => () => undefined } as unknown as AirlockService;
  const registrar = createIpcRegistrar({ handle: (channel, listener) => ipcMainHandlers.set(channel, listener as never) }, { isOwnWebContents, isAppUrl: isAppUrlFor(APP_ORIGIN) }, () => undefined);
  registerForwardingHandlers(registrar.handle, {
    engine: new EngineConnections(localEngine({ service } as unknown as Airlock)),
    dialogs: { chooseManifest: async () => undefined, chooseExportFile: async () => undefined },
    runDialogs, picks: new PickedFiles({ now: () => clock.now }),
  });
});

async function pickAll(call: ReturnType<typeof page>) {
  const project = (await call('run.pickProject')).value as { token: string };
  const inputs = (await call('run.pickInputs', { folders: false })).value as { token: string }[];
  const output = (await call('run.pickOutput')).value as { token: string };
  return { project, input: inputs[0]!, output };
}

describe("the run dialog's files", () => {
  it('answers names and tokens from the OS dialogs, never a path; cancelling answers nothing', async () => {
    const call = page();
    const answers = [await call('run.pickProject'), await call('run.pickInputs', { folders: false }), await call('run.pickOutput'), await call('run.drop', [inputFile])];
    expect(answers.map((a) => a.ok)).toEqual([true, true, true, true]);
    expect(answers[0]!.value).toEqual({ token: expect.stringMatching(/^pick_/), name: 'my-project', kind: 'folder' });
    expect(answers[1]!.value).toEqual([{ token: expect.stringMatching(/^pick_/), name: 'sales.csv', kind: 'file', size: 13 }]);
    for (const answer of answers) expect(JSON.stringify(answer)).not.toContain(dir);
    runDialogs.chooseProject.mockResolvedValueOnce(undefined);
    runDialogs.chooseInputs.mockResolvedValueOnce([]);
    await expect(call('run.pickProject')).resolves.toEqual({ ok: true, value: null });
    await expect(call('run.pickInputs', { folders: true })).resolves.toEqual({ ok: true, value: [] });
    expect(runDialogs.chooseInputs).toHaveBeenLastCalledWith(true);
  });

  it("runs with the window's own tokens: the engine gets the paths the person chose", async () => {
    const call = page();
    const { project, input, output } = await pickAll(call);
    const request = { agentId: 'builtin:demo', project: { token: project.token }, inputs: [{ token: input.token, containerPath: '/workspace/in/data.csv' }], outputDir: { token: output.token } };
    await expect(call('run.start', request)).resolves.toEqual({ ok: true, value: { task: TASK } });
    expect(run).toHaveBeenCalledExactlyOnceWith({
      agentId: 'builtin:demo', project: { hostPath: projectDir }, inputs: [{ hostPath: inputFile, containerPath: '/workspace/in/data.csv' }], outputDir,
    });
  });

  it.each([
    ['a project path (the old shape)', { agentId: 'builtin:demo', project: { hostPath: '/home/me/.ssh' } }, 'bad_argument'],
    ['an input path', { agentId: 'builtin:demo', inputs: [{ hostPath: '/etc/shadow' }] }, 'bad_argument'],
    ['an output folder path', { agentId: 'builtin:demo', outputDir: '/home/me/.config/autostart' }, 'bad_argument'],
    ['a token that is not one', { agentId: 'builtin:demo', project: { token: '/home/me' } }, 'bad_argument'],
    ['a made-up token', { agentId: 'builtin:demo', project: { token: `pick_${'x'.repeat(43)}` } }, 'bad_argument'],
  ])('refuses a run naming %s, and the engine never hears of it', async (_what, request, code) => {
    const call = page();
    await pickAll(call);
    const result = await call('run.start', request);
    expect(result).toMatchObject({ ok: false, error: { code } });
    expect(run).not.toHaveBeenCalled();
  });

  it("refuses another window's token and an expired one, naming which file", async () => {
    const mine = page();
    const other = page();
    const { project, input } = await pickAll(mine);
    const stolen = await other('run.start', { agentId: 'builtin:demo', inputs: [{ token: input.token }] });
    expect(stolen).toMatchObject({ ok: false, error: { code: 'bad_argument', message: expect.stringMatching(/^input 1: this window did not choose that file/) } });
    clock.now += PICK_TTL_MS;
    const late = await mine('run.start', { agentId: 'builtin:demo', project: { token: project.token } });
    expect(late).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^project: .*expired/) } });
    expect(run).not.toHaveBeenCalled();
  });
});

describe("the preload's drop", () => {
  async function preloadDrop() {
    await import('../../preload/index.js');
    return (exposedInMainWorld.get('airlock') as { run: { drop: (files: unknown) => Promise<Envelope> } }).run.drop;
  }

  it('sends the paths Electron gives real dropped files, and refuses a File the page made up without calling main', async () => {
    const drop = await preloadDrop();
    const real = new File(['x'], 'sales.csv');
    filePaths.set(real, inputFile);
    ipcRenderer.invoke.mockClear();
    ipcRenderer.invoke.mockResolvedValueOnce({ ok: true, value: [] });
    await expect(drop([real])).resolves.toEqual({ ok: true, value: [] });
    expect(ipcRenderer.invoke).toHaveBeenCalledExactlyOnceWith('run.drop', [inputFile]);

    ipcRenderer.invoke.mockClear();
    for (const forged of [[new File(['x'], '/etc/passwd')], [real, new File([''], 'made-up')], ['/etc/passwd'], [{ path: '/etc/passwd' }], [], '/etc/passwd']) {
      await expect(drop(forged)).resolves.toMatchObject({ ok: false, error: { code: 'bad_argument' } });
    }
    expect(ipcRenderer.invoke).not.toHaveBeenCalled();
  });
});
