import fs from 'node:fs';
import path from 'node:path';
import type { AirlockEvent, EventKind } from '../../main/core/audit/events.js';
import { ephemeralHeadSigner, keychainHeadSigner, type HeadSigner } from '../../main/core/audit/head.js';
import { AuditStore, SEGMENTS_DIR } from '../../main/core/audit/store.js';
import { tempDir } from './env.js';
import { MemorySecrets } from './memory-secrets.js';

let seq = 0;

/** A plausible event; `time` defaults to now. */
export function event(overrides: Partial<AirlockEvent> & { kind?: EventKind } = {}): AirlockEvent {
  seq += 1;
  return {
    v: 1, seq, time: new Date().toISOString(), task: 't_01test0000000000000000000a', agent: { name: 'demo', digest: 'sha256:abc' },
    actor: 'agent', kind: 'proc.stdout', data: { line: `line ${seq}` },
    ...overrides,
  };
}

/** A store in a fresh folder, with an in-memory signing key (the keychain is not under test here). */
export function freshStore(options: { segmentMaxBytes?: number; signer?: HeadSigner } = {}) {
  const dir = path.join(tempDir('airlock-audit-'), 'audit');
  const signer = options.signer ?? ephemeralHeadSigner();
  const store = new AuditStore({ dir, signer, ...(options.segmentMaxBytes ? { segmentMaxBytes: options.segmentMaxBytes } : {}) });
  return { dir, signer, store };
}

export function segmentFiles(dir: string): string[] {
  return fs.readdirSync(path.join(dir, SEGMENTS_DIR)).sort().map((f) => path.join(dir, SEGMENTS_DIR, f));
}

export function readLinesOf(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

export function writeLinesOf(file: string, lines: string[]): void {
  fs.writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
}

/** A signer whose key and trail counter live in a keychain of their own: a new one is a lost store. */
export const freshKeychainSigner = (): HeadSigner => keychainHeadSigner(new MemorySecrets());

/** A real writer appends `count` events and closes (every CLI command closes its writer). */
export async function writeEvents(dir: string, signer: HeadSigner, count: number, text = 'a task ran'): Promise<void> {
  const store = new AuditStore({ dir, signer });
  for (let i = 0; i < count; i++) store.append(event({ data: { line: `${text} ${i}` } }));
  await store.close();
}

/**
 * What an attacker without the machine's key can make: a trail of its own (`records` rewritten
 * records), signed with a key of its own and handed over to a second key of its own by Airlock's
 * own code (it is public), with both public keys and a valid head in the folder.
 */
export async function forgedHandedOverTrail(records: number): Promise<{ dir: string; from: HeadSigner; to: HeadSigner }> {
  const dir = path.join(tempDir('airlock-forged-'), 'audit');
  const from = freshKeychainSigner();
  const to = freshKeychainSigner();
  await writeEvents(dir, from, records, 'nothing to see');
  await writeEvents(dir, to, 1, 'nothing to see');
  return { dir, from, to };
}
