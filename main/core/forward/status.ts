/** What `airlock audit forward status` shows for one forwarder: its configuration (never a secret) and where its pump is. */
import type { PumpSnapshot } from './pump.js';
import type { ForwarderConfig, ForwarderStatus } from './types.js';

export function forwarderStatus(config: ForwarderConfig, hasSecret: boolean, snapshot: PumpSnapshot): ForwarderStatus {
  return {
    name: config.name,
    kind: config.kind,
    url: config.url,
    ...(config.encoding ? { encoding: config.encoding } : {}),
    enabled: config.enabled,
    ...(config.filter ? { filter: config.filter } : {}),
    hasSecret,
    ...snapshot,
    // A disabled forwarder sends nothing, whatever its cursor says.
    ...(config.enabled ? {} : { state: 'stopped' as const }),
  };
}

/** The status of a forwarder no pump of this process runs (a CLI without an engine, a disabled one): from its cursor file. */
export function restingSnapshot(cursor: { acked: { n: number; hash: string; time: string } | null; headSent: { n: number; at: string } | null; lastError?: { at: string; message: string } } | Error, tip: { n: number; time?: string }, now: number): PumpSnapshot {
  if (cursor instanceof Error) return { state: 'stopped', tip, lag: { records: tip.n, ms: 0 }, lastError: { at: new Date(now).toISOString(), message: cursor.message } };
  const records = Math.max(0, tip.n - (cursor.acked?.n ?? 0));
  return {
    state: 'stopped',
    ...(cursor.acked ? { acked: { n: cursor.acked.n, time: cursor.acked.time } } : {}),
    tip,
    lag: { records, ms: 0 },
    ...(cursor.lastError ? { lastError: cursor.lastError } : {}),
    ...(cursor.headSent ? { headSent: cursor.headSent } : {}),
  };
}
