import type { Target } from './target.js';
import { formatHost, formatTarget } from './target.js';

/** What a refused client is told: which rule refused it and how to allow the host. */
export function refusalBody(target: Target, reason: string, rule: string): string {
  const name = formatHost(target);
  const hostRule = target.port === 80 || target.port === 443 ? name : `${name}:${target.port}`;
  return [
    `Airlock refused ${formatTarget(target)}: ${reason}.`,
    `Rule: ${rule}.`,
    rule.startsWith('address')
      ? `To allow it: add a local rule for exactly this host and port to the manifest: network.local: ["${name}:${target.port}"].`
      : rule.startsWith('rate')
        ? 'To allow more: raise network.rate in the manifest.'
        : `To allow it: add "${hostRule}" to network.allow in the manifest, or run with --net allow:${hostRule}.`,
    '',
  ].join('\n');
}

export function rawResponse(status: number, reason: string, body: string, extraHeaders: string[] = []): string {
  return [
    `HTTP/1.1 ${status} ${reason}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...extraHeaders,
    '',
    body,
  ].join('\r\n');
}
