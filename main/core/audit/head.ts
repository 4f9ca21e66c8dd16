import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import canonicalize from 'canonicalize';
import type { SecretStore } from '../credentials/keychain.js';
import { keychainTrailEnds, memoryTrailEnds, type TrailEnd, type TrailEnds } from './trail-end.js';

/** The last record's number and hash, signed, so truncation and wholesale rewrites are caught. */
export interface Head {
  n: number;
  hash: string;
  segment: string;
  time: string;
  /** Only in an intent (intent.ts): the record the group about to be written chains to. */
  from?: TrailEnd;
}

export interface SignedHead {
  head: Head;
  alg: 'Ed25519';
  signature: string;
}

/** Checks heads against one public key. */
export interface HeadVerifier {
  /** False for anything that is not a head signed with this key (also for malformed input). */
  verify(signed: SignedHead): boolean;
}

export interface HeadSigner extends HeadVerifier, TrailEnds {
  sign(head: Head): SignedHead;
  /** An Ed25519 signature (base64) over other bytes Airlock vouches for: a hand-over record (handover.ts). */
  signBytes(bytes: Buffer): string;
  publicKeyPem(): string;
}

const KEY_ACCOUNT = 'audit-head-signing-key';

function payload(head: Head): Buffer {
  const from = head.from ? { from: { n: head.from.n, hash: head.from.hash } } : {};
  return Buffer.from(canonicalize({ n: head.n, hash: head.hash, segment: head.segment, time: head.time, ...from })!);
}

/** A verifier for heads signed with `publicKey` (a key kept beside the trail, or one a hand-over names). */
export function headVerifier(publicKey: KeyObject): HeadVerifier {
  return {
    verify: (signed) => {
      try {
        return signed.alg === 'Ed25519' && typeof signed.signature === 'string' && verify(null, payload(signed.head), publicKey, Buffer.from(signed.signature, 'base64'));
      } catch {
        return false; // a head.json someone else wrote: not even shaped like a head
      }
    },
  };
}

function signerFor(privateKey: KeyObject, ends: TrailEnds): HeadSigner {
  const publicKey = createPublicKey(privateKey);
  return {
    sign: (head) => ({ head, alg: 'Ed25519', signature: sign(null, payload(head), privateKey).toString('base64') }),
    signBytes: (bytes) => sign(null, bytes, privateKey).toString('base64'),
    ...headVerifier(publicKey),
    publicKeyPem: () => publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    lastSigned: (dir) => ends.lastSigned(dir),
    rememberSigned: (dir, end) => ends.rememberSigned(dir, end),
  };
}

/**
 * Signs heads with an Ed25519 key kept in the OS keychain (created on first use). Someone who can
 * edit the log files but not read the keychain cannot forge a head for a rewritten log.
 */
export function keychainHeadSigner(keychain: SecretStore): HeadSigner {
  let pem = keychain.get(KEY_ACCOUNT);
  if (!pem) {
    pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    keychain.set(KEY_ACCOUNT, pem);
  }
  return signerFor(createPrivateKey(pem), keychainTrailEnds(keychain));
}

/** A key (and trail ends) that live only in memory: for tests where the keychain is not under test. */
export function ephemeralHeadSigner(): HeadSigner {
  return signerFor(generateKeyPairSync('ed25519').privateKey, memoryTrailEnds());
}

export const HEAD_FILE = 'head.json';
export const PUBLIC_KEY_FILE = 'head-signing-key.pub.pem';

/** The public key this process last found (or put) in each trail folder's key file: read once, not per head. */
const keptPublicKeys = new Map<string, string>();

/**
 * Atomically replaces the head (write, fsync, rename), then keeps the key that signed it beside
 * it: after a hand-over the new key replaces the old one there only once a head of the new key is
 * on disk, so the file always names a key that signed the head or is about to.
 */
export async function writeHead(dir: string, signed: SignedHead, signer: HeadSigner): Promise<void> {
  const file = path.join(dir, HEAD_FILE);
  await replaceAtomically(file, `${JSON.stringify(signed)}\n`, 0o600, true);
  const pem = signer.publicKeyPem();
  const where = path.resolve(dir);
  if (keptPublicKeys.get(where) === pem) return;
  // Renamed into place, not fsynced: the head is what must survive a crash; a key file lost with one is written again by the next head.
  if ((await readKeptPublicKey(dir)) !== pem) await replaceAtomically(path.join(dir, PUBLIC_KEY_FILE), pem, 0o644, false);
  keptPublicKeys.set(where, pem);
}

/** The trail's files changed under this process (account.ts): the key file is read again at the next head. */
export function forgetKeptPublicKey(dir: string): void {
  keptPublicKeys.delete(path.resolve(dir));
}

/** The public key file beside the trail, as text; undefined when there is none. */
export async function readKeptPublicKey(dir: string): Promise<string | undefined> {
  try {
    return await fs.promises.readFile(path.join(dir, PUBLIC_KEY_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function replaceAtomically(file: string, text: string, mode: number, durably: boolean): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await fs.promises.open(temp, 'w', mode);
  try {
    await handle.writeFile(text);
    if (durably) await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(temp, file);
}

export type HeadState = { state: 'absent' } | { state: 'invalid' } | { state: 'valid'; head: Head };

/** The head as its signature vouches for it: absent, invalid (unreadable, another key, an intent), or valid. */
export async function readSignedHead(dir: string, signer: HeadVerifier): Promise<HeadState> {
  let signed: SignedHead | undefined;
  try {
    signed = await readHead(dir);
  } catch {
    return { state: 'invalid' };
  }
  if (!signed) return { state: 'absent' };
  if (typeof signed !== 'object' || signed === null || typeof signed.head !== 'object' || signed.head === null) return { state: 'invalid' };
  const { n, hash, from } = signed.head;
  if (!Number.isSafeInteger(n) || n < 0 || typeof hash !== 'string' || from !== undefined || !signer.verify(signed)) return { state: 'invalid' };
  return { state: 'valid', head: signed.head };
}

export async function readHead(dir: string): Promise<SignedHead | undefined> {
  try {
    return JSON.parse(await fs.promises.readFile(path.join(dir, HEAD_FILE), 'utf8')) as SignedHead;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
