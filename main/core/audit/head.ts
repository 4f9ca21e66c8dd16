import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import canonicalize from 'canonicalize';
import type { SecretStore } from '../credentials/keychain.js';

/** The last record's number and hash, signed, so truncation and wholesale rewrites are caught. */
export interface Head {
  n: number;
  hash: string;
  segment: string;
  time: string;
}

export interface SignedHead {
  head: Head;
  alg: 'Ed25519';
  signature: string;
}

export interface HeadSigner {
  sign(head: Head): SignedHead;
  verify(signed: SignedHead): boolean;
  publicKeyPem(): string;
}

const KEY_ACCOUNT = 'audit-head-signing-key';

function payload(head: Head): Buffer {
  return Buffer.from(canonicalize({ n: head.n, hash: head.hash, segment: head.segment, time: head.time })!);
}

function signerFor(privateKey: KeyObject): HeadSigner {
  const publicKey = createPublicKey(privateKey);
  return {
    sign: (head) => ({ head, alg: 'Ed25519', signature: sign(null, payload(head), privateKey).toString('base64') }),
    verify: (signed) => signed.alg === 'Ed25519' && verify(null, payload(signed.head), publicKey, Buffer.from(signed.signature, 'base64')),
    publicKeyPem: () => publicKey.export({ type: 'spki', format: 'pem' }).toString(),
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
  return signerFor(createPrivateKey(pem));
}

/** A key that lives only in memory: for tests of the store, where the keychain is not under test. */
export function ephemeralHeadSigner(): HeadSigner {
  return signerFor(generateKeyPairSync('ed25519').privateKey);
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

export async function readHead(dir: string): Promise<SignedHead | undefined> {
  try {
    return JSON.parse(await fs.promises.readFile(path.join(dir, HEAD_FILE), 'utf8')) as SignedHead;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
