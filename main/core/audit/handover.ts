import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';
import { headVerifier, readHead, readKeptPublicKey, readSignedHead, type HeadSigner, type SignedHead } from './head.js';
import type { TrailEnd } from './trail-end.js';

/**
 * The hand-over. The head-signing key lives in the keychain; when the keychain lost it (a reboot
 * with the kernel keyring, a new machine, a reset keychain) Airlock makes a new key, and the first
 * record it writes is `audit.handover`: the new public key, the previous public key (kept beside
 * the trail) with the last head it signed, and why — signed by the NEW key, and chained to exactly
 * the record that head names. The previous key cannot sign it (it is gone), so a hand-over proves
 * only that the records before it are the ones the previous key signed a head for; whether the
 * previous key was really this machine's is for the person to compare (`verify` prints each key's
 * fingerprint).
 */
export interface HandOver {
  publicKey: string;
  fingerprint: string;
  previous: { publicKey: string; fingerprint: string; head: SignedHead };
  reason: string;
  /** Ed25519 by the new key over {kind, time, publicKey, previous, reason} (canonical JSON). */
  signature: string;
}

/** A key change as `verify` reports it. */
export interface KeyChange {
  record: number;
  time: string;
  from: string;
  to: string;
  reason: string;
}

export const HANDOVER_REASON = 'the keychain holds no signing key that signed this trail (lost in a reboot with the kernel keyring, a new machine or a reset keychain): a new key continues the chain';

/** `SHA256:` and the unpadded base64 of the sha256 of the key's SPKI DER, as ssh-keygen -l shows keys. */
export function fingerprint(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  return `SHA256:${createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('base64').replace(/=+$/, '')}`;
}

function signedPart(time: string, publicKey: string, previous: HandOver['previous'], reason: string): Buffer {
  return Buffer.from(canonicalize({ kind: 'audit.handover', time, publicKey, previous, reason })!);
}

/** An Ed25519 public key from PEM, or undefined for anything else (the file and the record are anyone's to write). */
function ed25519Key(pem: unknown): KeyObject | undefined {
  if (typeof pem !== 'string' || pem.length > 4096) return undefined;
  try {
    const key = createPublicKey(pem);
    return key.asymmetricKeyType === 'ed25519' ? key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The previous key's head, when the writer should hand over: the head is not signed with this
 * machine's key, this machine's keychain never recorded signing this trail (`known` is undefined:
 * else a head of another key is tampering), and the public key kept beside the trail — a key
 * other than this one — verifies the head.
 */
export async function dueHandOver(dir: string, signer: HeadSigner, known: TrailEnd | undefined): Promise<{ publicKey: string; head: SignedHead } | undefined> {
  if (known) return undefined;
  if ((await readSignedHead(dir, signer)).state !== 'invalid') return undefined;
  const key = ed25519Key(await readKeptPublicKey(dir).catch(() => undefined));
  if (!key || fingerprint(key) === fingerprint(signer.publicKeyPem())) return undefined;
  if ((await readSignedHead(dir, headVerifier(key))).state !== 'valid') return undefined;
  const head = await readHead(dir).catch(() => undefined);
  return head ? { publicKey: key.export({ type: 'spki', format: 'pem' }).toString(), head } : undefined;
}

/** The data of the `audit.handover` record the new key writes first, chained to the record `previous.head` names. */
export function handOverData(time: string, signer: HeadSigner, previous: { publicKey: string; head: SignedHead }): HandOver {
  const publicKey = signer.publicKeyPem();
  const before = { publicKey: previous.publicKey, fingerprint: fingerprint(previous.publicKey), head: previous.head };
  return {
    publicKey,
    fingerprint: fingerprint(publicKey),
    previous: before,
    reason: HANDOVER_REASON,
    signature: signer.signBytes(signedPart(time, publicKey, before, HANDOVER_REASON)),
  };
}

/**
 * Checks a hand-over record as `verify` meets it (record `n`, chained to `prev`): signed by the
 * key it hands over to, the previous key's head naming exactly record n-1, and (after an earlier
 * hand-over) the previous key being the one that hand-over named. The change, or what is wrong.
 */
export function checkHandOver(record: { n: number; prev: string; time: unknown; data: unknown }, previousFingerprint: string | undefined): { change: KeyChange } | { problem: string } {
  const data = record.data as Partial<HandOver> | undefined;
  const previous = data?.previous;
  const newKey = ed25519Key(data?.publicKey);
  const oldKey = ed25519Key(previous?.publicKey);
  if (!data || !previous || !newKey || !oldKey || typeof data.reason !== 'string' || typeof data.signature !== 'string' || typeof record.time !== 'string') return { problem: 'it is not shaped like one (keys, head, reason, signature)' };
  const from = fingerprint(oldKey);
  const to = fingerprint(newKey);
  let signedByNewKey = false;
  try {
    signedByNewKey = verify(null, signedPart(record.time, data.publicKey!, previous, data.reason), newKey, Buffer.from(data.signature, 'base64'));
  } catch {
    // not a signature
  }
  if (!signedByNewKey) return { problem: `it is not signed by the key it hands over to (${to})` };
  const head = previous.head;
  if (!head || typeof head !== 'object' || !head.head || typeof head.head !== 'object' || !headVerifier(oldKey).verify(head) || head.head.from !== undefined) return { problem: `the previous key's head in it is not signed by the previous key (${from})` };
  if (head.head.n !== record.n - 1 || head.head.hash !== record.prev) return { problem: `the previous key's head names record ${String(head.head.n)}, not record ${record.n - 1} it follows` };
  if (previousFingerprint !== undefined && previousFingerprint !== from) return { problem: `it hands over from key ${from}, but the trail was handed over to key ${previousFingerprint} before` };
  return { change: { record: record.n, time: record.time, from, to, reason: data.reason } };
}
