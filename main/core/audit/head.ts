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

export interface HeadSigner extends TrailEnds {
  sign(head: Head): SignedHead;
  /** False for anything that is not a head signed with this key (also for malformed input). */
  verify(signed: SignedHead): boolean;
  publicKeyPem(): string;
}

const KEY_ACCOUNT = 'audit-head-signing-key';

function payload(head: Head): Buffer {
  const from = head.from ? { from: { n: head.from.n, hash: head.from.hash } } : {};
  return Buffer.from(canonicalize({ n: head.n, hash: head.hash, segment: head.segment, time: head.time, ...from })!);
}

function signerFor(privateKey: KeyObject, ends: TrailEnds): HeadSigner {
  const publicKey = createPublicKey(privateKey);
  return {
    sign: (head) => ({ head, alg: 'Ed25519', signature: sign(null, payload(head), privateKey).toString('base64') }),
    verify: (signed) => {
      try {
        return signed.alg === 'Ed25519' && typeof signed.signature === 'string' && verify(null, payload(signed.head), publicKey, Buffer.from(signed.signature, 'base64'));
      } catch {
        return false; // a head.json someone else wrote: not even shaped like a head
      }
    },
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

/** Atomically replaces the head (write, fsync, rename), and keeps the public key beside it. */
export async function writeHead(dir: string, signed: SignedHead, signer: HeadSigner): Promise<void> {
  const file = path.join(dir, HEAD_FILE);
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await fs.promises.open(temp, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(signed)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(temp, file);
  const keyFile = path.join(dir, PUBLIC_KEY_FILE);
  if (!fs.existsSync(keyFile)) await fs.promises.writeFile(keyFile, signer.publicKeyPem(), { mode: 0o644 });
}

export type HeadState = { state: 'absent' } | { state: 'invalid' } | { state: 'valid'; head: Head };

/** The head as its signature vouches for it: absent, invalid (unreadable, another key, an intent), or valid. */
export async function readSignedHead(dir: string, signer: HeadSigner): Promise<HeadState> {
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
