/**
 * The preload's exposed surface is the attack surface a compromised page sees. This snapshot makes
 * any change to it — a new function, a renamed one, a non-function value — show up in review.
 */
import { describe, expect, it, vi } from 'vitest';
import { channels, contract, PUSH_TOPICS, pushChannel, type Channel, type ChannelArgs } from '../../preload/contract.js';
import { exposedInMainWorld, ipcRenderer } from './fake-electron.js';

vi.mock('electron', async () => (await import('./fake-electron.js')).fakeElectron);

/** Dotted paths of everything exposed; anything that is not a function is marked as such. */
function exposedPaths(value: unknown, prefix = ''): string[] {
  if (typeof value === 'function') return [prefix];
  if (value === null || typeof value !== 'object') return [`${prefix} (${value === null ? 'null' : typeof value}, not a function)`];
  return Object.entries(value).flatMap(([key, child]) => exposedPaths(child, prefix ? `${prefix}.${key}` : key));
}

type Exposed = Record<string, Record<string, (...args: unknown[]) => unknown>>;

async function loadPreload(): Promise<Exposed> {
  await import('../../preload/index.js');
  return exposedInMainWorld.get('airlock') as Exposed;
}

const TASK = 't_01jz0000000000000000000000';
/** Valid arguments for every channel (the compiler insists on one entry per channel). */
const SAMPLE_ARGS: { [C in Channel]: ChannelArgs<C> } = {
  'app.version': [],
  'doctor.run': [],
  'engine.contexts': [],
  'engine.useContext': ['build-box'],
  'images.build': [{ offline: true }],
  'images.state': [],
  'agents.list': [],
  'agents.open': [],
  'agents.forget': ['file:/home/me/agent.yaml'],
  'agents.approve': ['builtin:demo', {}],
  'run.start': [{ agentId: 'builtin:demo', network: { mode: 'allowlist', allow: ['api.vendor.test'] }, env: [{ name: 'MODE', value: 'x' }], timeoutMs: 30_000, cpus: 0.5, memoryBytes: 256 * 1024 ** 2, credentials: [{ name: 'vendor-api', ttlMs: 900_000 }] }],
  'tasks.list': [],
  'tasks.history': [{ limit: 20 }],
  'tasks.stop': [TASK],
  'tasks.resume': [TASK],
  'approvals.list': [],
  'approvals.answer': [{ id: '3b241101-e2bb-4255-8caf-4136c566a962', answer: 'always' }],
  'approvals.attend': [{}],
  'audit.query': [{ task: TASK, kinds: ['net.*'], decision: 'deny', text: 'x', order: 'desc', limit: 100 }],
  'audit.verify': [],
  'audit.export': [{ format: 'csv', task: TASK }],
  'credentials.list': [],
  'credentials.presets': [],
  'credentials.add': [{ name: 'vendor-api', secret: 's3cret', hosts: ['api.vendor.test'], inject: { kind: 'basic', user: 'x-access-token' } }],
  'credentials.remove': ['vendor-api'],
  'screen.watch': [TASK],
  'screen.unwatch': [TASK],
  'screen.control': [{ task: TASK, take: true }],
  'screen.input': [{ task: TASK, input: { type: 'pointer', x: 1279, y: 799, buttons: 1 } }],
  'screen.shots': [TASK],
  'screen.shot': [{ task: TASK, index: 1 }],
  'artifacts.read': [{ task: TASK, path: '/workspace/out/report.md' }],
  'artifacts.save': [{ task: TASK, path: '/workspace/out/report.md' }],
  'artifacts.reveal': [{ task: TASK, path: '/workspace/out/report.md' }],
  'terminal.watch': [TASK],
  'terminal.unwatch': [TASK],
  'terminal.control': [{ task: TASK, take: true }],
  'terminal.input': [{ task: TASK, data: new Uint8Array([0x68, 0x69]) }],
  'terminal.resize': [{ task: TASK, cols: 120, rows: 40 }],
  'review.get': [TASK],
  'review.apply': [{ task: TASK, threeWay: true }],
  'review.discard': [TASK],
  'run.pickProject': [],
  'run.pickInputs': [{ folders: false }],
  'run.pickOutput': [],
  'run.drop': [['/home/me/data.csv']],
  'audit.forward.list': [],
  'audit.forward.create': [{ name: 'siem', kind: 'otlp-http', url: 'https://collector.test:4318/v1/logs', encoding: 'json', ca: { token: `pick_${'A'.repeat(43)}` }, filter: { kinds: ['net.*'], decisions: ['deny'] } }, { secret: 's3cret' }],
  'audit.forward.remove': [{ name: 'siem' }],
};

describe('preload surface', () => {
  it('exposes exactly one function per contract channel and one subscription per push topic, under window.airlock only', async () => {
    const airlock = await loadPreload();
    const exposed = exposedPaths(airlock).sort();
    const expected = [...channels, ...PUSH_TOPICS.map((topic) => `subscribe.${topic}`)].sort();
    expect([...exposedInMainWorld.keys()]).toEqual(['airlock']);
    expect({ exposed, channels: [...channels].sort(), pushes: [...PUSH_TOPICS].sort() }).toMatchSnapshot();
    expect(exposed).toEqual(expected);
  });

  it('each function invokes its own channel with its arguments unchanged, and passes the envelope through', async () => {
    const airlock = await loadPreload();
    // run.drop takes the page's File objects and sends their paths (ipc-run-files.test.ts covers it).
    for (const channel of channels.filter((c) => c !== 'run.drop')) {
      const dot = channel.indexOf('.');
      const [namespace, method] = [channel.slice(0, dot), channel.slice(dot + 1)];
      const args = SAMPLE_ARGS[channel] as unknown[];
      expect(contract[channel].args.safeParse(args).success, `${channel} sample is valid`).toBe(true);
      const envelope = { ok: false, error: { code: 'engine_unavailable', message: 'down', hint: 'start Docker' } };
      ipcRenderer.invoke.mockClear();
      ipcRenderer.invoke.mockResolvedValueOnce(envelope);
      await expect(airlock[namespace]![method]!(...args)).resolves.toEqual(envelope);
      expect(ipcRenderer.invoke).toHaveBeenCalledExactlyOnceWith(channel, ...args);
    }
  });

  it('subscriptions hand the listener the payload only, on the contract\'s push channel, until unsubscribed', async () => {
    const airlock = await loadPreload();
    for (const topic of PUSH_TOPICS) {
      const listener = vi.fn();
      const unsubscribe = airlock.subscribe![topic]!(listener) as () => void;
      expect(ipcRenderer.listenerCount(pushChannel(topic))).toBe(1);
      ipcRenderer.emit(pushChannel(topic), { sender: 'the event object, with the sender' }, { payload: topic });
      expect(listener).toHaveBeenCalledExactlyOnceWith({ payload: topic });
      unsubscribe();
      expect(ipcRenderer.listenerCount(pushChannel(topic))).toBe(0);
      ipcRenderer.emit(pushChannel(topic), {}, { payload: 'late' });
      expect(listener).toHaveBeenCalledTimes(1);
    }
    expect(() => airlock.subscribe!.events!('not a function')).toThrow(/listener function/);
  });
});
