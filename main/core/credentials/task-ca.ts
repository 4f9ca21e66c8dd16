import 'reflect-metadata'; // @peculiar/x509's documented requirement (its dependency injection)
import { webcrypto } from 'node:crypto';

type KeyPair = webcrypto.CryptoKeyPair;
import tls from 'node:tls';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** How many leaf certificates a task may have minted in a minute, and how many it keeps. */
export interface LeafLimits {
  perMinute: number;
  cached: number;
}

export const DEFAULT_LEAF_LIMITS: LeafLimits = { perMinute: 60, cached: 128 };

/** Refused before minting: the task asked for too many new certificates too fast. */
export class LeafRateExceeded extends Error {
  readonly code = 'rate.certificates';
}

/**
 * A certificate authority made for one task and trusted only inside its sandbox. Its private key
 * is created non-extractable and lives only in memory; leaf certificates (for the hosts the task
 * holds grants for, and, for a display task's browser, the sites it opens) are made on first use —
 * at most `perMinute` a minute, checked before minting — and the last `cached` kept.
 */
export class TaskCa {
  readonly certificatePem: string;
  readonly #cert: x509.X509Certificate;
  readonly #keys: KeyPair;
  /** Most recently used last: a Map keeps insertion order, so the first key is the one to drop. */
  readonly #leaves = new Map<string, Promise<tls.SecureContext>>();
  readonly #expiresAt: Date;
  readonly #limits: LeafLimits;
  readonly #now: () => number;
  readonly #minted: number[] = [];

  private constructor(cert: x509.X509Certificate, keys: KeyPair, expiresAt: Date, limits: LeafLimits, now: () => number) {
    this.#cert = cert;
    this.#keys = keys;
    this.#expiresAt = expiresAt;
    this.#limits = limits;
    this.#now = now;
    this.certificatePem = cert.toString('pem');
  }

  static async create(task: string, lifetimeMs: number, options: { limits?: LeafLimits; now?: () => number } = {}): Promise<TaskCa> {
    const keys = await webcrypto.subtle.generateKey(ALGORITHM, false, ['sign', 'verify']) as KeyPair;
    const notBefore = new Date(Date.now() - 60_000);
    const notAfter = new Date(Date.now() + lifetimeMs + 60_000);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: `CN=Airlock task ${task}, O=Airlock`,
      notBefore, notAfter, signingAlgorithm: ALGORITHM, keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new TaskCa(cert, keys, notAfter, options.limits ?? DEFAULT_LEAF_LIMITS, options.now ?? Date.now);
  }

  /** How much longer a certificate it signs is valid (without the minute of slack for clock skew): a grant lent later never outlives it. */
  remainingMs(): number {
    return this.#expiresAt.getTime() - 60_000 - this.#now();
  }

  /** The TLS context the gateway presents to the sandbox for `host`; rejects with LeafRateExceeded over the rate. */
  contextFor(host: string): Promise<tls.SecureContext> {
    const cached = this.#leaves.get(host);
    if (cached) {
      this.#leaves.delete(host);
      this.#leaves.set(host, cached);
      return cached;
    }
    const now = this.#now();
    while (this.#minted.length > 0 && this.#minted[0]! <= now - 60_000) this.#minted.shift();
    if (this.#minted.length >= this.#limits.perMinute) {
      return Promise.reject(new LeafRateExceeded(`more than ${this.#limits.perMinute} new TLS certificates in a minute (one per host the sandbox opens)`));
    }
    this.#minted.push(now);
    const context = this.#leaf(host);
    this.#leaves.set(host, context);
    // A failed mint is not kept: the next connection tries again (within the rate).
    context.catch(() => this.#leaves.get(host) === context && this.#leaves.delete(host));
    while (this.#leaves.size > this.#limits.cached) this.#leaves.delete(this.#leaves.keys().next().value!);
    return context;
  }

  async #leaf(host: string): Promise<tls.SecureContext> {
    const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']) as KeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: `CN=${host}`,
      issuer: this.#cert.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: this.#expiresAt,
      signingAlgorithm: ALGORITHM,
      publicKey: keys.publicKey,
      signingKey: this.#keys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: host }]),
        await x509.AuthorityKeyIdentifierExtension.create(this.#cert),
      ],
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
    return tls.createSecureContext({ cert: `${cert.toString('pem')}\n${this.certificatePem}`, key });
  }
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f; // positive
  return Buffer.from(bytes).toString('hex');
}
