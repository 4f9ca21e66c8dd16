import { errors, generateKeyPair, jwtVerify, SignJWT, decodeJwt, type CryptoKey } from 'jose';

/** A JWT: what a placeholder looks like in a header. */
// An empty signature still counts: an `alg: none` forgery must be caught, not passed on.
const JWT = /eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/;
const ALGORITHM = 'EdDSA';
const ISSUER = 'airlock';

export type PlaceholderProblem = 'expired' | 'wrong-host' | 'invalid';

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

  private constructor(task: string, keys: { publicKey: CryptoKey; privateKey: CryptoKey }) {
    this.task = task;
    this.#keys = keys;
  }

  static async create(task: string): Promise<TaskPlaceholders> {
    return new TaskPlaceholders(task, await generateKeyPair(ALGORITHM, { crv: 'Ed25519' }));
  }

  async issue(grant: { id: string; hosts: string[]; expiresAt: number }): Promise<string> {
    if (!this.#keys) throw new Error('the task has ended');
    return new SignJWT({})
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(this.task)
      .setAudience(grant.hosts)
      .setJti(grant.id)
      .setIssuedAt()
      .setExpirationTime(Math.ceil(grant.expiresAt / 1000))
      .sign(this.#keys.privateKey);
  }

  /** Checks a placeholder for a request to `host`. */
  async verify(token: string, host: string, now: number): Promise<{ ok: true; claims: PlaceholderClaims } | { ok: false; problem: PlaceholderProblem; detail: string }> {
    if (!this.#keys) return { ok: false, problem: 'invalid', detail: 'the task has ended' };
    try {
      const { payload } = await jwtVerify(token, this.#keys.publicKey, {
        algorithms: [ALGORITHM], issuer: ISSUER, subject: this.task, currentDate: new Date(now), clockTolerance: 0,
      });
      const hosts = Array.isArray(payload.aud) ? payload.aud : [String(payload.aud)];
      if (!hosts.some((pattern) => hostMatches(pattern, host))) return { ok: false, problem: 'wrong-host', detail: `issued for ${hosts.join(', ')}, sent to ${host}` };
      return { ok: true, claims: { grant: String(payload.jti), task: this.task, hosts } };
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { ok: false, problem: 'expired', detail: 'the grant has expired' };
      return { ok: false, problem: 'invalid', detail: (error as Error).message };
    }
  }

  /** The task has ended: its placeholders can never be verified again. */
  destroy(): void {
    this.#keys = undefined;
  }
}

/** Finds a placeholder-looking token anywhere in the headers (or a URL). */
export function findPlaceholder(headers: Record<string, string | string[] | undefined>, url = ''): { header: string | undefined; token: string } | undefined {
  for (const [name, value] of Object.entries(headers)) {
    for (const text of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
      const match = JWT.exec(text);
      if (match && looksLikeAirlock(match[0])) return { header: name, token: match[0] };
    }
  }
  const inUrl = JWT.exec(decodeURIComponent(url));
  if (inUrl && looksLikeAirlock(inUrl[0])) return { header: undefined, token: inUrl[0] };
  return undefined;
}

function looksLikeAirlock(token: string): boolean {
  try {
    return decodeJwt(token).iss === ISSUER;
  } catch {
    return false;
  }
}

/** A grant host is a credential host pattern: exact, or `*.domain` for subdomains. Ports are not part of it here. */
function hostMatches(pattern: string, host: string): boolean {
  const bare = pattern.replace(/:\d+$/, '');
  return bare.startsWith('*.') ? host.endsWith(bare.slice(1)) : host === bare;
}

/** The grant a token names, without trusting it: for labelling an event about an expired token. */
export function unverifiedGrantId(token: string): string | undefined {
  try {
    return decodeJwt(token).jti;
  } catch {
    return undefined;
  }
}
