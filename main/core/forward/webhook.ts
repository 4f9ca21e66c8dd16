/**
 * The webhook's body (application/x-ndjson): one JSON object per item, in order. A record's stored
 * line is embedded verbatim as `"record"`, so a collector re-hashes the exact bytes Airlock hashed.
 */
import type { ForwardBatch, ForwardItem, ForwardSource } from './types.js';

export const WEBHOOK_CONTENT_TYPE = 'application/x-ndjson';

type Of<T extends ForwardItem['type']> = Extract<ForwardItem, { type: T }>;

function sourceFields(source: ForwardSource) {
  return { trail: source.trailId, host: source.host, user: source.user, version: source.version };
}

export function recordLine(item: Of<'record'>, source: ForwardSource): string {
  const head = JSON.stringify({ airlock: 'record', ...sourceFields(source), redelivery: item.redelivery });
  // A stored line holds no line break (the trail is split on them); a CR put there by hand would
  // end this NDJSON line early, so it is sent as a space: the hash check then names that record.
  const line = item.line.replace(/[\r\n]/g, ' ');
  return `${head.slice(0, -1)},"record":${line}}`;
}

export function skippedLine(item: Of<'skipped'>, source: ForwardSource): string {
  return JSON.stringify({ airlock: 'skipped', ...sourceFields(source), redelivery: item.redelivery, from: item.from, to: item.to, count: item.count, prev: item.prev, lastHash: item.lastHash });
}

export function headLine(item: Of<'head'>, source: ForwardSource): string {
  return JSON.stringify({ airlock: 'head', ...sourceFields(source), signed: item.signed, publicKey: item.publicKeyPem, fingerprint: item.fingerprint });
}

export function webhookLine(item: ForwardItem, source: ForwardSource): string {
  if (item.type === 'record') return recordLine(item, source);
  if (item.type === 'skipped') return skippedLine(item, source);
  return headLine(item, source);
}

export function webhookBody(batch: ForwardBatch): Buffer {
  return Buffer.from(batch.items.map((item) => `${webhookLine(item, batch.source)}\n`).join(''), 'utf8');
}
