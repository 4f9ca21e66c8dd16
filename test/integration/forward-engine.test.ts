import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ephemeralHeadSigner } from '../../main/core/audit/head.js';
import { AuditStore } from '../../main/core/audit/store.js';
import { checkForwarder, forwardersFile } from '../../main/core/forward/config.js';
import { startEngineServer } from '../../main/core/server/engine-server.js';
import type { IdleTimers } from '../../main/core/server/idle.js';
import type { Keychain } from '../../main/core/credentials/keychain.js';
import { event } from '../helpers/audit.js';
import { MemorySecrets } from '../helpers/memory-secrets.js';
import { removeTempDirs, tempDir } from '../helpers/env.js';
import { scriptedCollector, until } from '../helpers/forward-pump.js';

afterEach(() => removeTempDirs());

/** Idle timers the test fires by hand. */
function handTimers() {
  const armed = new Set<() => void>();
  const timers: IdleTimers = {
    setTimeout: (callback) => {
      armed.add(callback);
      return callback;
    },
    clearTimeout: (handle) => armed.delete(handle as () => void),
  };
  const fire = () => {
    for (const callback of [...armed]) {
      armed.delete(callback);
      callback();
    }
  };
  return { timers, fire, armed };
}

describe('the engine and its forwarders', () => {
  it('does not leave when idle while a forwarder has records its collector has not acknowledged', async () => {
    const home = tempDir('airlock-fwd-engine-');
    const signer = ephemeralHeadSigner();
    const store = new AuditStore({ dir: path.join(home, 'audit'), signer });
    for (let i = 0; i < 20; i++) store.append(event());
    await store.close();
    forwardersFile(home).update(() => [checkForwarder({ name: 'siem', kind: 'webhook', url: 'https://collector.test/in' })]);
    const collector = scriptedCollector();
    for (let i = 0; i < 1000; i++) collector.script.push({ ok: false, reason: 'connect ECONNREFUSED' }); // the collector is down
    const idle = handTimers();
    const logged: string[] = [];
    const engine = await startEngineServer({
      env: { ...process.env, AIRLOCK_HOME: home, AIRLOCK_POOL_SIZE: '0' }, build: 'test', log: (line) => logged.push(line),
      idleMs: 1000, idleTimers: idle.timers, airlock: { signer, transports: collector.factory, keychain: new MemorySecrets() as unknown as Keychain },
    });
    if (!engine) throw new Error('another engine serves this home');
    try {
      await until(async () => (await engine.airlock.service.forwarders.list())[0]?.state === 'retrying', 'the forwarder to fail');
      idle.fire();
      expect(logged.some((line) => line.startsWith('stopping'))).toBe(false);
      const waiting = (await engine.airlock.service.forwarders.list())[0]!;
      expect(waiting.lag.records).toBe(waiting.tip.n); // the 20, its 'started' record (durable before the first send) and maybe its 'failing' one
      expect(waiting.tip.n).toBeGreaterThanOrEqual(21);

      collector.script.length = 0; // the collector is back
      const [after] = await engine.airlock.service.forwarders.flush(30_000);
      expect(after).toMatchObject({ state: 'caught-up', lag: { records: 0 } });
      await until(() => idle.armed.size > 0, 'the idle timer to be armed again');
      idle.fire();
      await engine.stopped;
      expect(logged.some((line) => line.includes('nothing to forward'))).toBe(true);
      const held = [...new Set(collector.records().map((r) => r.n))].sort((a, b) => a - b);
      expect(held.slice(0, 22)).toEqual(Array.from({ length: 22 }, (_, i) => i + 1)); // and its 'started' and 'failing' records (its 'delivering' one may go next time)
    } finally {
      await engine.stop('test over');
    }
  });
});
