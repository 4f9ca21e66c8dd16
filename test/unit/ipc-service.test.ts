/**
 * The service's channels through the real registrar (sender check → schema → handler → envelope):
 * malformed payloads are refused before the service or a dialog is touched, dialogs are chosen in
 * main, pushes go to our own window only and batched, and no credential value ever comes back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { APP_ENTRY_URL, APP_ORIGIN } from '../../main/app-protocol.js';
import { Batcher } from '../../main/core/service/batcher.js';
import { storeAsCredentialsPort, UnavailableCredentials } from '../../main/core/service/credentials-port.js';
import { readingFrom } from '../../main/core/service/resources.js';
import { EventBus } from '../../main/core/audit/bus.js';
import { ephemeralHeadSigner } from '../../main/core/audit/head.js';
import { AuditStore } from '../../main/core/audit/store.js';
import { recordBusInTrail } from '../../main/core/audit/trail.js';
import { systemClock } from '../../main/core/clock.js';
import type { CredentialStore } from '../../main/core/credentials/store.js';
import { AirlockError } from '../../main/core/errors.js';
import { homeLayout } from '../../main/core/home.js';
import { AirlockService } from '../../main/core/service/service.js';
import { overridesFor } from '../../main/core/service/tasks.js';
import { createIpcRegistrar } from '../../main/ipc/register.js';
import { EngineConnections } from '../../main/ipc/engine-link.js';
import { registerForwardingHandlers } from '../../main/ipc/forward.js';
import { localEngine } from '../../main/ipc/local-engine.js';
import type { Airlock } from '../../main/core/airlock.js';
import { createMainWindow, isAppUrlFor, isOwnWebContents } from '../../main/window.js';
import { FakeWebContents, ipcMainHandlers } from './fake-electron.js';

vi.mock('electron', async () => (await import('./fake-electron.js')).fakeElectron);

type Listener = (event: unknown, ...args: unknown[]) => Promise<{ ok: boolean; value?: unknown; error?: { code: string; message: string } }>;
const TASK = 't_01jz0000000000000000000000';

function fakeService() {
  const methods = ['doctor', 'buildImage', 'imageBuildState', 'listAgents', 'openAgent', 'forgetAgent', 'approveAgent', 'run', 'tasks', 'history', 'stop', 'resume',
    'approvals', 'answerApproval', 'queryAudit', 'verifyAudit', 'exportAudit', 'listCredentials', 'addCredential', 'removeCredential'] as const;
  const fakes = Object.fromEntries(methods.map((m) => [m, vi.fn(() => (m === 'run' ? { task: TASK } : m === 'exportAudit' ? { file: '/tmp/x.csv', records: 3 } : undefined))])) as unknown as Record<(typeof methods)[number], ReturnType<typeof vi.fn>>;
  // The engine's pushes: every listener its callers subscribed.
  const pushListeners = new Set<(push: { topic: string; payload: unknown }) => void>();
  const subscribe = (listener: (push: { topic: string; payload: unknown }) => void) => (pushListeners.add(listener), () => pushListeners.delete(listener));
  return Object.assign(fakes, { subscribe, push: (topic: string, payload: unknown) => [...pushListeners].forEach((listener) => listener({ topic, payload })) });
}

let service: ReturnType<typeof fakeService>;
const dialogs = { chooseManifest: vi.fn(() => Promise.resolve<string | undefined>(undefined)), chooseExportFile: vi.fn(() => Promise.resolve<string | undefined>('/tmp/chosen.csv')) };
let ownPage: { sender: FakeWebContents; senderFrame: { url: string; parent: null } };

function call(channel: string, ...args: unknown[]) {
  return (ipcMainHandlers.get(channel) as Listener)(ownPage, ...args);
}

beforeEach(() => {
  ipcMainHandlers.clear();
  service = fakeService();
  dialogs.chooseManifest.mockClear();
  dialogs.chooseExportFile.mockClear();
  const window = createMainWindow({ preloadPath: '/x/preload/index.cjs', entryUrl: APP_ENTRY_URL, devTools: false });
  ownPage = { sender: window.webContents as unknown as FakeWebContents, senderFrame: { url: APP_ENTRY_URL, parent: null } };
  const registrar = createIpcRegistrar({ handle: (channel, listener) => ipcMainHandlers.set(channel, listener as never) }, { isOwnWebContents, isAppUrl: isAppUrlFor(APP_ORIGIN) }, () => undefined);
  registerForwardingHandlers(registrar.handle, { engine: new EngineConnections(localEngine({ service: service as unknown as AirlockService } as unknown as Airlock)), dialogs });
});

describe('service channels', () => {
  it.each([
    ['run.start', 'an agent id that names no listed agent kind', [{ agentId: '../../etc/passwd' }], 'run'],
    ['run.start', 'an unknown field', [{ agentId: 'builtin:demo', privileged: true }], 'run'],
    ['run.start', 'a host rule with a path', [{ agentId: 'builtin:demo', network: { mode: 'allowlist', allow: ['evil.test/x'] } }], 'run'],
    ['run.start', 'a network mode that does not exist', [{ agentId: 'builtin:demo', network: { mode: 'host' } }], 'run'],
    ['run.start', 'a bad env name', [{ agentId: 'builtin:demo', env: [{ name: 'A=B', value: 'x' }] }], 'run'],
    ['run.start', 'no argument', [], 'run'],
    ['tasks.stop', 'something that is not a task id', ['$(reboot)'], 'stop'],
    ['tasks.history', 'a huge limit', [{ limit: 1e9 }], 'history'],
    ['approvals.answer', 'an answer that does not exist', [{ id: '3b241101-e2bb-4255-8caf-4136c566a962', answer: 'forever' }], 'answerApproval'],
    ['approvals.answer', 'a manifest file named by the renderer', [{ id: '3b241101-e2bb-4255-8caf-4136c566a962', answer: 'always', file: '/etc/passwd' }], 'answerApproval'],
    ['run.start', 'a credential TTL of zero', [{ agentId: 'builtin:demo', credentials: [{ name: 'vendor-api', ttlMs: 0 }] }], 'run'],
    ['run.start', 'a credential TTL that is not a number', [{ agentId: 'builtin:demo', credentials: [{ name: 'vendor-api', ttlMs: '15m' }] }], 'run'],
    ['run.start', 'a credential name with a path', [{ agentId: 'builtin:demo', credentials: [{ name: '../keys', ttlMs: 60_000 }] }], 'run'],
    ['run.start', 'a credential with a secret in it', [{ agentId: 'builtin:demo', credentials: [{ name: 'vendor-api', ttlMs: 60_000, secret: 'hunter2' }] }], 'run'],
    ['tasks.resume', 'something that is not a task id', ['../t_x'], 'resume'],
    ['tasks.resume', 'no argument', [], 'resume'],
    ['approvals.answer', 'an id that is not a uuid', [{ id: 'x', answer: 'once' }], 'answerApproval'],
    ['audit.query', 'no limit', [{ text: 'x' }], 'queryAudit'],
    ['audit.query', 'a cursor that is not a number', [{ limit: 5, cursor: '../../x' }], 'queryAudit'],
    ['audit.export', 'a file path from the renderer', [{ format: 'csv', file: '/etc/cron.d/x' }], 'exportAudit'],
    ['agents.forget', 'a number', [42], 'forgetAgent'],
    ['agents.approve', 'a path that is not an agent id', ['/etc/passwd'], 'approveAgent'],
    ['agents.open', 'a path from the renderer', ['/etc/passwd'], 'openAgent'],
    ['credentials.add', 'no secret', [{ name: 'vendor-api', hosts: ['api.vendor.test'] }], 'addCredential'],
    ['credentials.add', 'an empty host list', [{ name: 'vendor-api', secret: 'hunter2-secret', hosts: [] }], 'addCredential'],
    ['credentials.remove', 'a name with a path', ['../keys'], 'removeCredential'],
    ['images.build', 'extra arguments', [{}, 'more'], 'buildImage'],
  ])('%s refuses %s with bad_argument, touching neither the service nor a dialog', async (channel, _why, args, method) => {
    const result = await call(channel, ...(args as unknown[]));
    expect(result).toMatchObject({ ok: false, error: { code: 'bad_argument' } });
    expect(result.error!.message).not.toContain('hunter2');
    expect(service[method as keyof typeof service]).not.toHaveBeenCalled();
    expect(dialogs.chooseManifest).not.toHaveBeenCalled();
    expect(dialogs.chooseExportFile).not.toHaveBeenCalled();
  });

  it('passes checked arguments through: a run returns the task id at once', async () => {
    await expect(call('run.start', { agentId: 'builtin:demo', network: { mode: 'none' } })).resolves.toEqual({ ok: true, value: { task: TASK } });
    expect(service.run).toHaveBeenCalledExactlyOnceWith({ agentId: 'builtin:demo', network: { mode: 'none' } });
  });

  it('passes lent credentials, resume and "always" through to the service', async () => {
    const request = { agentId: 'file:/home/me/agent.yaml', credentials: [{ name: 'vendor-api', ttlMs: 600_000 }] };
    await expect(call('run.start', request)).resolves.toEqual({ ok: true, value: { task: TASK } });
    expect(service.run).toHaveBeenCalledExactlyOnceWith(request);
    await expect(call('tasks.resume', TASK)).resolves.toEqual({ ok: true, value: undefined });
    expect(service.resume).toHaveBeenCalledExactlyOnceWith(TASK);
    await call('approvals.answer', { id: '3b241101-e2bb-4255-8caf-4136c566a962', answer: 'always' });
    expect(service.answerApproval).toHaveBeenCalledExactlyOnceWith('3b241101-e2bb-4255-8caf-4136c566a962', 'always');
  });

  it('chooses files in main: export writes where the save dialog says, and a cancelled dialog does nothing', async () => {
    await expect(call('audit.export', { format: 'csv', task: TASK })).resolves.toEqual({ ok: true, value: { file: '/tmp/x.csv', records: 3 } });
    expect(dialogs.chooseExportFile).toHaveBeenCalledWith(`airlock-audit-${TASK}.csv`);
    expect(service.exportAudit).toHaveBeenCalledWith('/tmp/chosen.csv', 'csv', TASK);
    await expect(call('agents.open')).resolves.toEqual({ ok: true, value: null });
    expect(service.openAgent).not.toHaveBeenCalled();
  });

  it('refuses a call from a window Airlock did not create', async () => {
    const result = await (ipcMainHandlers.get('run.start') as Listener)({ sender: new FakeWebContents(), senderFrame: { url: APP_ENTRY_URL, parent: null } }, { agentId: 'builtin:demo' });
    expect(result).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(service.run).not.toHaveBeenCalled();
  });
});

describe('pushes', () => {
  it('go to the windows that are connected to the engine, one message per push, and never to destroyed contents', async () => {
    const other = createMainWindow({ preloadPath: '/x/preload/index.cjs', entryUrl: APP_ENTRY_URL, devTools: false }).webContents as unknown as FakeWebContents;
    await call('tasks.list');
    await (ipcMainHandlers.get('tasks.list') as Listener)({ sender: other, senderFrame: ownPage.senderFrame });
    service.push('events', { events: [1, 2, 3] });
    service.push('tasks', []);
    expect(ownPage.sender.sent).toEqual([['push:events', { events: [1, 2, 3] }], ['push:tasks', []]]);
    expect(other.sent).toEqual(ownPage.sender.sent);
    other.destroyed = true;
    other.emit('destroyed');
    await vi.waitFor(() => expect(other.sent).toHaveLength(2));
    service.push('tasks', []);
    expect(other.sent).toHaveLength(2);
    expect(ownPage.sender.sent).toHaveLength(3);
  });

  it('batch events: one flush per interval, or at once when the batch is full', async () => {
    const flushed: number[][] = [];
    const batcher = new Batcher<number>((items) => flushed.push(items), { intervalMs: 20, maxItems: 500 });
    for (let i = 0; i < 1200; i++) batcher.push(i);
    expect(flushed.map((b) => b.length)).toEqual([500, 500]);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(flushed.map((b) => b.length)).toEqual([500, 500, 200]);
    expect(flushed.flat()).toEqual([...Array(1200).keys()]);
  });
});

describe('credentials port', () => {
  it('lists only the named fields of a store\'s records, so nothing else (a secret) can reach the UI', async () => {
    const store = {
      list: () => [{ name: 'vendor-api', hosts: ['api.vendor.test'], inject: { kind: 'query' as const, param: 'key' }, maxTtlMs: 60_000, createdAt: 'x', secret: 'hunter2' }],
      add: vi.fn(),
      remove: vi.fn(),
    };
    const listed = await storeAsCredentialsPort(store).list();
    expect(listed).toEqual([{ name: 'vendor-api', hosts: ['api.vendor.test'], inject: { kind: 'query', param: 'key' }, maxTtlMs: 60_000 }]);
    expect(JSON.stringify(listed)).not.toContain('hunter2');
  });

  it('says plainly when credentials are not available', async () => {
    await expect(new UnavailableCredentials().list()).rejects.toThrow(/credentials are not available yet/);
  });
});

describe('resource readings', () => {
  it('CPU in % of one core between two readings, memory without the page cache', () => {
    const first = { cpu_stats: { cpu_usage: { total_usage: 1_000_000_000 }, system_cpu_usage: 100_000_000_000, online_cpus: 2 }, memory_stats: { usage: 50_000_000, limit: 268_435_456, stats: { inactive_file: 10_000_000 } } };
    const second = { cpu_stats: { cpu_usage: { total_usage: 1_500_000_000 }, system_cpu_usage: 102_000_000_000, online_cpus: 2 }, memory_stats: { usage: 60_000_000, limit: 268_435_456, stats: { inactive_file: 10_000_000 } } };
    expect(readingFrom(first, undefined)).toBeUndefined();
    expect(readingFrom(second, first)).toEqual({ cpuPercent: 50, memoryBytes: 50_000_000, memoryLimitBytes: 268_435_456 });
  });
});

describe('the real service behind the channels', () => {
  /** An AirlockService with no engine, no keychain and no gateway: what it refuses, it refuses before needing them. */
  function realService() {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-ipc-'));
    const unavailable = () => {
      throw new AirlockError('engine_unavailable', 'not in this test');
    };
    const credentials = [{ name: 'vendor-api', hosts: ['api.vendor.test'], inject: { kind: 'header' as const, template: 'Authorization: Bearer {secret}' }, maxTtlMs: 30 * 60_000 }];
    const credentialStore = {
      list: () => credentials,
      get: (name: string) => {
        const found = credentials.find((c) => c.name === name);
        if (!found) throw new AirlockError('not_found', `no credential named '${name}'`);
        return found;
      },
    } as unknown as CredentialStore;
    // A real trail (with a key in memory): an approval is kept only once it is recorded.
    const bus = new EventBus(systemClock);
    const store = new AuditStore({ dir: path.join(root, 'audit'), signer: ephemeralHeadSigner() });
    recordBusInTrail(bus, store);
    const real = new AirlockService({
      engine: unavailable, bus, audit: () => store,
      gateway: unavailable, home: homeLayout(path.join(root, 'home')), assetsDir: path.join(root, 'assets'), keychain: {} as never, clock: systemClock, credentialStore,
    });
    const manifestFile = async (name: string, network: string) => {
      const file = path.join(root, `${name}.yaml`);
      fs.writeFileSync(file, `name: ${name}\ncommand: ["true"]\nnetwork: ${network}\n`);
      const { id } = real.openAgent(file);
      await real.approveAgent(id);
      return id;
    };
    ipcMainHandlers.clear();
    const registrar = createIpcRegistrar({ handle: (channel, listener) => ipcMainHandlers.set(channel, listener as never) }, { isOwnWebContents, isAppUrl: isAppUrlFor(APP_ORIGIN) }, () => undefined);
    registerForwardingHandlers(registrar.handle, { engine: new EngineConnections(localEngine({ service: real } as unknown as Airlock)), dialogs });
    return { real, manifestFile, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
  }

  it('refuses to lend a credential for longer than its maximum, or to a network that does not allow its host, with the fix', async () => {
    const { manifestFile, cleanup } = realService();
    try {
      const allowed = await manifestFile('lender', '{ mode: allowlist, allow: [api.vendor.test] }');
      const over = await call('run.start', { agentId: allowed, credentials: [{ name: 'vendor-api', ttlMs: 31 * 60_000 }] });
      expect(over).toMatchObject({ ok: false, error: { code: 'policy_refused', message: expect.stringMatching(/ttl 31m.* longer than vendor-api's max TTL 30m/) as unknown, hint: expect.any(String) as unknown } });
      const closed = await manifestFile('closed', '{ mode: allowlist, allow: [elsewhere.test] }');
      const host = await call('run.start', { agentId: closed, credentials: [{ name: 'vendor-api', ttlMs: 60_000 }] });
      expect(host).toMatchObject({ ok: false, error: { code: 'policy_refused', message: expect.stringContaining('api.vendor.test is not in network.allow') as unknown } });
      const none = await call('run.start', { agentId: allowed, network: { mode: 'none' }, credentials: [{ name: 'vendor-api', ttlMs: 60_000 }] });
      expect(none).toMatchObject({ ok: false, error: { code: 'policy_refused', message: expect.stringContaining('network is none') as unknown } });
      const unknown = await call('run.start', { agentId: allowed, credentials: [{ name: 'nope', ttlMs: 60_000 }] });
      expect(unknown).toMatchObject({ ok: false, error: { code: 'not_found' } });
    } finally {
      cleanup();
    }
  });

  it('resumes a task that is not one of its own through its containers (no engine here: refused, saying so), and refuses "always" for a request that is not waiting', async () => {
    const { cleanup } = realService();
    try {
      await expect(call('tasks.resume', TASK)).resolves.toMatchObject({ ok: false, error: { code: 'engine_unavailable' } });
      await expect(call('approvals.answer', { id: '3b241101-e2bb-4255-8caf-4136c566a962', answer: 'always' })).resolves.toMatchObject({ ok: false, error: { code: 'not_found' } });
    } finally {
      cleanup();
    }
  });

  it('passes a run request\'s typed values to the task spec as they are (no text made, none re-parsed)', () => {
    expect(overridesFor({ timeoutMs: 90_500, memoryBytes: 256 * 1024 ** 2, cpus: 0.5, credentials: [{ name: 'vendor-api', ttlMs: 90_500 }], network: { mode: 'open' } }))
      .toEqual({ timeoutMs: 90_500, memoryBytes: 256 * 1024 ** 2, cpus: 0.5, creds: [{ name: 'vendor-api', ttlMs: 90_500 }], network: { mode: 'open' } });
    expect(() => overridesFor({ network: { mode: 'allowlist', allow: [] } })).toThrow(/allowlist is empty/);
  });
});
