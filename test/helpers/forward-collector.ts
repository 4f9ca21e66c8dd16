import type { LookupFunction } from 'node:net';
import type { ForwarderConfig } from '../../main/core/forward/types.js';

/** Resolves the pretend collector names to loopback (no test sends traffic off this machine). */
export const loopbackLookup: LookupFunction = (hostname, options, callback) => {
  if (!hostname.endsWith('.test')) {
    callback(Object.assign(new Error(`refusing to resolve ${hostname} in a test`), { code: 'ENOTFOUND' }), '', 4);
    return;
  }
  if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};

export function forwarder(kind: ForwarderConfig['kind'], url: string, extra: Partial<ForwarderConfig> = {}): ForwarderConfig {
  return { name: 'siem', kind, url, headEveryMs: 60_000, enabled: true, ...extra };
}
