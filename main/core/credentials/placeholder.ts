import { errors, generateKeyPair, jwtVerify, SignJWT, decodeJwt, type CryptoKey } from 'jose';
import { canonicalHostPatterns, hostPatternMatches, HTTPS_PORTS, parseHostPattern, type HostPattern } from '../host-pattern.js';

/** A JWT: what a placeholder looks like in a header. */
// An empty signature still counts: an `alg: none` forgery must be caught, not passed on.
const JWT = /eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
const ALGORITHM = 'EdDSA';
const ISSUER = 'airlock';

export type PlaceholderProblem = 'expired' | 'wrong-host' | 'invalid';

/** A placeholder this task handed out, as the gateway watches for it: where it may go, and for which grant. */
export interface WatchedPlaceholder {
  token: string;
  grant: string;
  /** Does its audience include this host and port (a credential host without a port means 443)? */
  covers(host: string, port: number): boolean;
}

export interface PlaceholderClaims {
  grant: string;
  task: string;
  hosts: string[];
}

/**
 * A task's placeholders: JWTs signed with a key pair made for this task alone and kept in memory
 * (destroyed with the task). Audience = the grant's hosts, exp = the grant's expiry, jti = the
 * grant. Verification pins the algorithm and this task's key, so `alg: none`, HS256 "signed" with
 * the public key, another task's token and a tampered payload all fail.
 */
export class TaskPlaceholders {
  readonly task: string;
  #keys: { publicKey: CryptoKey; privateKey: CryptoKey } | undefined;
  readonly #issued: WatchedPlaceholder[] = [];

  private constructor(task: string, keys: { publicKey: CryptoKey; privateKey: CryptoKey }) {
    this.task = task;
    this.#keys = keys;
  }

  static async create(task: string): Promise<TaskPlaceholders> {
    return new TaskPlaceholders(task, await generateKeyPair(ALGORITHM, { crv: 'Ed25519' }));
  }

  async issue(grant: { id: string; hosts: string[]; expiresAt: number }): Promise<string> {
    if (!this.#keys) throw new Error('the task has ended');
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(this.task)
      .setAudience(grant.hosts)
      .setJti(grant.id)
      .setIssuedAt()
      .setExpirationTime(Math.ceil(grant.expiresAt / 1000))
      .sign(this.#keys.privateKey);
    const audience = audiencePatterns(grant.hosts);
    this.#issued.push({ token, grant: grant.id, covers: (host, port) => audience.some((p) => hostPatternMatches(p, { host, port, kind: kindOf(host) }, HTTPS_PORTS)) });
    return token;
  }

  /** Every placeholder issued, while the task runs (none once it has ended). */
  issued(): WatchedPlaceholder[] {
    return this.#keys ? [...this.#issued] : [];
  }

  /** Checks a placeholder for a request to `host` (on `port`: a credential host without one means 443). */
  async verify(token: string, host: string, now: number, port = 443): Promise<{ ok: true; claims: PlaceholderClaims } | { ok: false; problem: PlaceholderProblem; detail: string }> {
    if (!this.#keys) return { ok: false, problem: 'invalid', detail: 'the task has ended' };
    try {
      const { payload } = await jwtVerify(token, this.#keys.publicKey, {
        algorithms: [ALGORITHM], issuer: ISSUER, subject: this.task, currentDate: new Date(now), clockTolerance: 0,
      });
      const hosts = Array.isArray(payload.aud) ? payload.aud : [String(payload.aud)];
      if (!audiencePatterns(hosts).some((pattern) => hostPatternMatches(pattern, { host, port, kind: kindOf(host) }, HTTPS_PORTS))) return { ok: false, problem: 'wrong-host', detail: `issued for ${hosts.join(', ')}, sent to ${host}` };
      return { ok: true, claims: { grant: String(payload.jti), task: this.task, hosts } };
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { ok: false, problem: 'expired', detail: 'the grant has expired' };
      return { ok: false, problem: 'invalid', detail: (error as Error).message };
    }
  }

  /** The task has ended: its placeholders can never be verified again. */
  destroy(): void {
    this.#keys = undefined;
    this.#issued.length = 0;
  }
}

/** Every Airlock-issued-looking token (a JWT whose issuer is airlock) in a text, verified or not. */
export function placeholderTokens(text: string): string[] {
  if (!text.includes('eyJ')) return [];
  return [...text.matchAll(JWT)].map((m) => m[0]).filter(looksLikeAirlock);
}

function looksLikeAirlock(token: string): boolean {
  try {
    return decodeJwt(token).iss === ISSUER;
  } catch {
    return false;
  }
}

function audiencePatterns(hosts: readonly string[]): HostPattern[] {
  return canonicalHostPatterns(hosts).map((text) => parseHostPattern(text)!);
}

/** The kind of an already-normalised host, as the gateway's targets carry it. */
function kindOf(host: string): HostPattern['kind'] {
  return host.includes(':') ? 'ipv6' : /^\d{1,3}(?:\.\d{1,3}){3}$/.test(host) ? 'ipv4' : 'name';
}

/** The grant a token names, without trusting it: for labelling an event about an expired token. */
export function unverifiedGrantId(token: string): string | undefined {
  try {
    return decodeJwt(token).jti;
  } catch {
    return undefined;
  }
}
