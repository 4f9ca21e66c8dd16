import fs from 'node:fs';
import path from 'node:path';
import type { HeadSigner, HeadVerifier } from './head.js';
import type { TrailEnd } from './trail-end.js';

export const INTENT_FILE = 'intent.json';

/**
 * The torn-write marker. Before a group of records is written, the writer signs what it is about
 * to append — the record it chains to (`from`) and the number and hash of its last record (`to`)
 * — and makes that durable. Records after the signed head are then explained only by a crash
 * between the group's write and its head: they chain from the head, and the intent vouches for
 * them. Anyone else's records after the head are tampering.
 */
export interface Intent {
  from: TrailEnd;
  to: TrailEnd;
}

/** Written in place (no rename): a torn intent is no intent, and then no record of its group was written yet. */
export async function writeIntent(dir: string, signer: HeadSigner, intent: Intent, segment: string, time: string): Promise<void> {
  const signed = signer.sign({ n: intent.to.n, hash: intent.to.hash, segment, time, from: intent.from });
  const handle = await fs.promises.open(path.join(dir, INTENT_FILE), 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(signed)}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** The last intent, if it is one this key signed; anything else (absent, torn, forged) is none. */
export async function readIntent(dir: string, signer: HeadVerifier): Promise<Intent | undefined> {
  try {
    const signed = JSON.parse(await fs.promises.readFile(path.join(dir, INTENT_FILE), 'utf8')) as Parameters<HeadSigner['verify']>[0];
    const from = signed?.head?.from;
    if (!from || typeof from.n !== 'number' || typeof from.hash !== 'string' || !signer.verify(signed)) return undefined;
    return { from: { n: from.n, hash: from.hash }, to: { n: signed.head.n, hash: signed.head.hash } };
  } catch {
    return undefined;
  }
}

/** Whether the records after `from` (their count and last hash) are a group the intent announced. */
export function intentExplains(intent: Intent | undefined, from: TrailEnd, last: TrailEnd): 'whole' | 'part' | false {
  if (!intent || intent.from.n !== from.n || intent.from.hash !== from.hash) return false;
  if (last.n === intent.to.n) return last.hash === intent.to.hash ? 'whole' : false;
  return last.n < intent.to.n ? 'part' : false;
}
