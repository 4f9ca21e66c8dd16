/**
 * The preload's exposed surface is the attack surface a compromised page sees. This snapshot makes
 * any change to it — a new function, a renamed one, a non-function value — show up in review.
 */
import { describe, expect, it, vi } from 'vitest';
import { channels } from '../../preload/contract.js';
import { exposedInMainWorld, ipcRenderer } from './fake-electron.js';

vi.mock('electron', async () => (await import('./fake-electron.js')).fakeElectron);

/** Dotted paths of everything exposed; anything that is not a function is marked as such. */
function exposedPaths(value: unknown, prefix = ''): string[] {
  if (typeof value === 'function') return [prefix];
  if (value === null || typeof value !== 'object') return [`${prefix} (${value === null ? 'null' : typeof value}, not a function)`];
  return Object.entries(value).flatMap(([key, child]) => exposedPaths(child, prefix ? `${prefix}.${key}` : key));
}

async function loadPreload(): Promise<Record<string, Record<string, (...args: unknown[]) => Promise<unknown>>>> {
  await import('../../preload/index.js');
  return exposedInMainWorld.get('airlock') as Record<string, Record<string, (...args: unknown[]) => Promise<unknown>>>;
}

describe('preload surface', () => {
  it('exposes exactly one function per contract channel, under window.airlock only', async () => {
    const airlock = await loadPreload();
    const exposed = exposedPaths(airlock).sort();
    expect([...exposedInMainWorld.keys()]).toEqual(['airlock']);
    expect({ exposed, channels: [...channels].sort() }).toMatchSnapshot();
    expect(exposed).toEqual([...channels].sort());
  });

  it('each function invokes its own channel, with no extra arguments, and passes the envelope through', async () => {
    const airlock = await loadPreload();
    for (const channel of channels) {
      const [namespace, method] = channel.split('.') as [string, string];
      const envelope = { ok: false, error: { code: 'engine_unavailable', message: 'down', hint: 'start Docker' } };
      ipcRenderer.invoke.mockClear();
      ipcRenderer.invoke.mockResolvedValueOnce(envelope);
      await expect(airlock[namespace]![method]!()).resolves.toEqual(envelope);
      expect(ipcRenderer.invoke).toHaveBeenCalledExactlyOnceWith(channel);
    }
  });
});
