import { ephemeralHeadSigner } from '../../main/core/audit/head.js';
import { fingerprint } from '../../main/core/audit/handover.js';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { GENESIS, hashBody, openLine, sealRecord, type AuditRecord } from '../../main/core/audit/record.js';
import type { ForwardBatch, ForwardItem, ForwardSource } from '../../main/core/forward/types.js';

export const SOURCE: ForwardSource = { trailId: '0123456789abcdef0123456789abcdef', host: 'laptop-7', user: 'ada', version: '1.4.0' };

const AGENT = { name: 'support', digest: `sha256:${'d'.repeat(64)}` };

function event(kind: AirlockEvent['kind'], extra: Partial<AirlockEvent> = {}): AirlockEvent {
  return { v: 1, seq: 1, time: '2025-03-04T05:06:07.891Z', task: '01JTASK0000000000000000000', agent: AGENT, actor: 'agent', kind, data: {}, ...extra };
}

/** Sealed records chained from `prev`, each with its exact stored line. */
export function chain(events: AirlockEvent[], firstN = 1, prev = GENESIS): Array<{ record: AuditRecord; line: string }> {
  return events.map((item, index) => {
    const { line, hash } = sealRecord(item, firstN + index, prev);
    prev = hash;
    return { record: JSON.parse(line) as AuditRecord, line };
  });
}

/**
 * A fixed batch: an ordinary record, a denied request (an OCSF Network Activity body), a misuse
 * (a Detection Finding), a skipped range, a record with chain and identity, and the signed head.
 */
export function fixedBatch(overrides: Partial<AirlockEvent> = {}): ForwardBatch {
  const first = chain([
    event('task.started', { data: { image: 'airlock/agent-base:1' }, ...overrides }),
    event('net.denied', { decision: { allow: false, rule: 'hosts.allow', by: 'policy' }, data: { host: 'evil.test', port: 443 }, ...overrides }),
    event('cred.misuse', { identity: { grant: 'g-1', credential: 'github' }, data: { host: 'other.test' }, ...overrides }),
  ], 7);
  const skippedFrom = chain([event('proc.stdout'), event('proc.stdout')], 10, first[2]!.record.hash);
  const last = chain([event('cred.used', { actor: 'user', parent: '01JPARENT', chain: ['01JROOT', '01JPARENT'], identity: { grant: 'g-2', credential: 'openai' }, decision: { allow: true, rule: 'creds', by: 'user' }, ...overrides })], 12, skippedFrom[1]!.record.hash);
  const signer = ephemeralHeadSigner();
  const tip = last[0]!.record;
  const signed = signer.sign({ n: tip.n, hash: tip.hash, segment: '000001.jsonl', time: '2025-03-04T05:06:08.000Z' });
  const record = (item: { record: AuditRecord; line: string }, redelivery = false): ForwardItem => ({ type: 'record', ...item, redelivery });
  return {
    source: SOURCE,
    items: [
      record(first[0]!),
      record(first[1]!, true),
      record(first[2]!),
      { type: 'skipped', from: 10, to: 11, count: 2, prev: skippedFrom[0]!.record.prev, lastHash: skippedFrom[1]!.record.hash, redelivery: false },
      record(last[0]!),
      { type: 'head', signed, publicKeyPem: signer.publicKeyPem(), fingerprint: fingerprint(signer.publicKeyPem()) },
    ],
  };
}

/** Whether a line re-hashes to the hash it ends in (what a collector checks). */
export function rehashes(line: string): boolean {
  const opened = openLine(line);
  return opened !== undefined && hashBody(opened.body) === opened.claimed;
}
