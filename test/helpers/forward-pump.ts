import path from 'node:path';
import { ephemeralHeadSigner } from '../../main/core/audit/head.js';
import { AuditStore } from '../../main/core/audit/store.js';
import { checkForwarder, forwardersFile } from '../../main/core/forward/config.js';
import type { BatchLimits } from '../../main/core/forward/filter.js';
import { Forwarding } from '../../main/core/forward/forwarding.js';
import type { ForwardBatch, ForwarderInput, SendOutcome, TransportFactory } from '../../main/core/forward/types.js';
import { tempDir } from './env.js';
import { ManualClock } from './manual-clock.js';
import { MemorySecrets } from './memory-secrets.js';

/** A collector in the test: records every batch it is sent, and answers as scripted (ok by default; 'hang' until aborted). */
export function scriptedCollector() {
  const sent: ForwardBatch[] = [];
  const script: Array<SendOutcome | 'hang'> = [];
  const factory: TransportFactory = () => ({
    send(batch, signal) {
      sent.push(batch);
      const next = script.shift() ?? { ok: true };
      if (next !== 'hang') return Promise.resolve(next);
      return new Promise((resolve) => signal.addEventListener('abort', () => resolve({ ok: false, reason: 'aborted' })));
    },
    close: () => Promise.resolve(),
  });
  /** Every record n the collector was sent, in order, with its redelivery mark. */
  const records = () => sent.flatMap((b) => b.items.flatMap((i) => (i.type === 'record' ? [{ n: i.record.n, redelivery: i.redelivery }] : [])));
  return { sent, script, factory, records };
}

/** A real trail (AuditStore, in-memory signing key) in a fresh home, with one forwarder configured. */
export function forwardingHome(forwarder: Partial<ForwarderInput> = {}) {
  const home = tempDir('airlock-fwd-');
  const auditDir = path.join(home, 'audit');
  const signer = ephemeralHeadSigner();
  const store = new AuditStore({ dir: auditDir, signer });
  const clock = new ManualClock();
  const keychain = new MemorySecrets();
  forwardersFile(home).update(() => [checkForwarder({ name: 'siem', kind: 'webhook', url: 'https://collector.test/in', ...forwarder })]);
  const open = (collector: ReturnType<typeof scriptedCollector>, options: { limits?: BatchLimits; random?: () => number } = {}) => {
    const forwarding = new Forwarding({
      home, auditDir, key: () => signer, keychain, transports: collector.factory, clock, version: 'test',
      random: options.random ?? (() => 0.5), ...(options.limits ? { limits: options.limits } : {}),
    });
    forwarding.start();
    return forwarding;
  };
  return { home, auditDir, signer, store, clock, keychain, open };
}

/** Waits (for file I/O, never for time: the clock is fake) until `condition` holds. */
export async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
