import { randomUUID } from 'node:crypto';
import type { EventBus } from '../audit/bus.js';
import type { AgentRef, EventKind } from '../audit/events.js';
import type { Clock } from '../clock.js';
import { AirlockError } from '../errors.js';
import type { CredentialAuthorization, TaskCredentialsPort } from '../gateway/intercept.js';
import { canonicalHostPatterns, hostPatternMatches, HTTPS_PORTS, normaliseHost, parseHostPattern } from '../host-pattern.js';
import { TaskPlaceholders, unverifiedGrantId, type WatchedPlaceholder } from '../credentials/placeholder.js';
import { placeSecret, type Injection } from '../credentials/injection.js';
import type { CredentialStore } from '../credentials/store.js';
import type { TaskCa } from '../credentials/task-ca.js';

/** What a task asks for: from its manifest's `credentials`, or `--cred name[:ttl]`. */
export interface GrantRequest {
  credential: string;
  /** Undefined: 15 minutes, or the credential's max TTL when that is shorter. */
  ttlMs: number | undefined;
  delivery: 'proxy' | 'env';
  env: string;
  methods?: string[];
  pathPrefix?: string;
  uses?: number;
  /** Only these of the credential's hosts (a kit's `--endpoint`); each must be covered by one of them. Default: all. */
  hosts?: string[];
  /**
   * A child task's grant is drawn from its parent's: the secret is the parent's (never read again
   * from the store), every use is also one of the parent's, and it works only while the parent's does.
   */
  drawFrom?: { credentials: TaskCredentials; grant: string };
}

export const DEFAULT_TTL_MS = 15 * 60_000;

export interface Grant {
  id: string;
  credential: string;
  hosts: string[];
  expiresAt: number;
  delivery: 'proxy' | 'env';
  env: string;
  methods: string[] | undefined;
  pathPrefix: string | undefined;
  usesLeft: number | undefined;
  state: 'active' | 'expired' | 'revoked';
}

interface Held extends Grant {
  inject: Injection;
  secret: string;
  timer: { cancel(): void };
  /** The parent task's grant this one is drawn from (delegation). */
  parent: Held | undefined;
}

/**
 * One task's grants: issued at start (each a `cred.granted`), expiring on their own
 * (`cred.expired`), all revoked when the task ends (`cred.revoked`, and the task's placeholder key
 * and CA are dropped). For `proxy` delivery the sandbox only ever sees a placeholder; the gateway
 * asks `authorize()` before it swaps the real secret into a request.
 */
export class TaskCredentials implements TaskCredentialsPort {
  readonly task: string;
  readonly ca: TaskCa | undefined;
  readonly #grants: Held[];
  readonly #placeholders: TaskPlaceholders;
  readonly #emit: (kind: EventKind, grant: Grant, data: Record<string, unknown>) => void;
  readonly #clock: Clock;
  #revoked = false;

  private constructor(task: string, grants: Held[], placeholders: TaskPlaceholders, ca: TaskCa | undefined, clock: Clock, emit: (kind: EventKind, grant: Grant, data: Record<string, unknown>) => void) {
    this.task = task;
    this.#grants = grants;
    this.#placeholders = placeholders;
    this.ca = ca;
    this.#clock = clock;
    this.#emit = emit;
  }

  /** Issues every grant (the caller has checked them against the credentials' limits). */
  static async open(options: {
    task: string; agent: AgentRef; requests: GrantRequest[]; store: CredentialStore | undefined; bus: EventBus; clock: Clock;
    onExpired?: (grant: Grant) => void;
    /** A CA even without proxy grants, valid this long: a display task's browser traffic is opened with it. */
    caLifetimeMs?: number;
  }): Promise<TaskCredentials> {
    const { task, bus, clock } = options;
    const emit = (kind: EventKind, grant: Grant, data: Record<string, unknown>) => bus.emit({
      task, agent: options.agent, actor: 'airlock', kind, identity: { grant: grant.id, credential: grant.credential }, data,
    });
    const now = clock.now();
    const { store } = options;
    if (!store && options.requests.some((r) => !r.drawFrom)) throw new AirlockError('internal', 'credentials were requested but this process has no credential store');
    const held: Held[] = options.requests.map((request) => {
      if (request.drawFrom) return drawnGrant(request, request.drawFrom.credentials.#heldGrant(request.drawFrom.grant), now);
      const info = store!.get(request.credential);
      return {
        id: `g_${randomUUID()}`, credential: info.name, hosts: canonicalHostPatterns(grantHosts(request, info.hosts)), expiresAt: now + (request.ttlMs ?? Math.min(DEFAULT_TTL_MS, info.maxTtlMs)),
        delivery: request.delivery, env: request.env, methods: request.methods?.map((m) => m.toUpperCase()), pathPrefix: request.pathPrefix,
        usesLeft: request.uses, state: 'active', inject: info.inject, secret: store!.secret(info.name),
        timer: { cancel: () => undefined }, parent: undefined,
      };
    });
    const longest = Math.max(0, options.caLifetimeMs ?? 0, ...held.map((g) => g.expiresAt - now));
    const needsCa = held.some((g) => g.delivery === 'proxy') || options.caLifetimeMs !== undefined;
    const [placeholders, ca] = await Promise.all([
      TaskPlaceholders.create(task),
      // The X.509 library is loaded only for a task that needs a CA: it is a third of the CLI's start-up.
      needsCa ? import('../credentials/task-ca.js').then(({ TaskCa }) => TaskCa.create(task, longest)) : Promise.resolve(undefined),
    ]);
    const credentials = new TaskCredentials(task, held, placeholders, ca, clock, emit);
    for (const grant of held) {
      emit('cred.granted', grant, grantedData(grant));
      grant.timer = clock.setTimeout(() => {
        if (grant.state !== 'active') return;
        grant.state = 'expired';
        emit('cred.expired', grant, { credential: grant.credential });
        options.onExpired?.(publicView(grant));
      }, grant.expiresAt - now);
    }
    return credentials;
  }

  /**
   * A proxy grant issued while the task runs, because a person allowed the agent's access request
   * (tasks/credential-requests.ts; the caller has checked it as at start). Recorded as `cred.granted`
   * with `via: access-request`; it expires on its own and is revoked with the task. Returns the
   * placeholder the agent uses, and the secret to redact from the task's events.
   */
  async lend(request: { credential: string; hosts: string[]; ttlMs: number; uses: number | undefined; secret: string; inject: Injection }): Promise<{ grant: Grant; placeholder: string; redaction: { value: string; label: string } }> {
    if (this.#revoked) throw new AirlockError('policy_refused', 'the task has ended', 'nothing to do');
    const now = this.#clock.now();
    const grant: Held = {
      id: `g_${randomUUID()}`, credential: request.credential, hosts: canonicalHostPatterns(request.hosts), expiresAt: now + request.ttlMs,
      delivery: 'proxy', env: '', methods: undefined, pathPrefix: undefined, usesLeft: request.uses, state: 'active',
      inject: request.inject, secret: request.secret, timer: { cancel: () => undefined }, parent: undefined,
    };
    const placeholder = await this.#placeholders.issue(grant);
    this.#grants.push(grant);
    this.#emit('cred.granted', grant, { ...grantedData(grant), env: null, via: 'access-request' });
    grant.timer = this.#clock.setTimeout(() => {
      if (grant.state !== 'active') return;
      grant.state = 'expired';
      this.#emit('cred.expired', grant, { credential: grant.credential });
    }, request.ttlMs);
    return { grant: publicView(grant), placeholder, redaction: { value: grant.secret, label: grant.credential } };
  }

  /** What goes into the sandbox's environment: placeholders for proxy grants. */
  async placeholderEnv(): Promise<Record<string, string>> {
    const env: Record<string, string> = {};
    for (const grant of this.#grants) if (grant.delivery === 'proxy') env[grant.env] = await this.#placeholders.issue(grant);
    return env;
  }

  /** Env grants: real values, for the agent process only (never the container's configuration). */
  envSecrets(): { name: string; value: string }[] {
    return this.#grants.filter((g) => g.delivery === 'env').map((g) => ({ name: g.env, value: g.secret }));
  }

  /** Every secret value this task holds, for redaction. */
  secrets(): string[] {
    return this.#grants.map((g) => g.secret);
  }

  /** Every secret with its credential's name: what events (and a child's answer) are redacted of. */
  redactions(): { value: string; label: string }[] {
    return this.#grants.map((g) => ({ value: g.secret, label: g.credential }));
  }

  grants(): Grant[] {
    return this.#grants.map(publicView);
  }

  /** Granted hosts stay intercepted after the grant expires, so a late use gets a clear 401, not a TLS failure. */
  intercepts(host: string, port: number): boolean {
    return this.#grants.some((g) => g.delivery === 'proxy' && g.state !== 'revoked' && g.hosts.some((pattern) => covers(pattern, host, port)));
  }

  /** What the gateway watches for: the proxy grants' secrets (never to come back to the sandbox) and the placeholders issued. */
  watched(): { secrets: { value: string; grant: { id: string; credential: string } }[]; placeholders: WatchedPlaceholder[] } {
    const secrets = this.#grants.filter((g) => g.delivery === 'proxy' && g.state !== 'revoked' && g.secret !== '').map((g) => ({ value: g.secret, grant: ref(g) }));
    return { secrets, placeholders: this.#placeholders.issued() };
  }

  async authorize(request: { token: string; host: string; port: number; method: string; path: string }): Promise<CredentialAuthorization> {
    const verdict = await this.#placeholders.verify(request.token, request.host, this.#clock.now(), request.port);
    if (!verdict.ok) {
      if (verdict.problem === 'expired') {
        const id = unverifiedGrantId(request.token); // only to name the grant in the event
        const grant = this.#grants.find((g) => g.id === id);
        return { ok: false, status: 401, kind: 'cred.expired', reason: `the credential's grant has expired (${verdict.detail})`, ...(grant ? { grant: ref(grant) } : {}) };
      }
      return { ok: false, status: 403, kind: 'cred.misuse', reason: verdict.problem === 'wrong-host' ? `a placeholder ${verdict.detail}` : `a placeholder that is not valid for this task (${verdict.detail})` };
    }
    const grant = this.#grants.find((g) => g.id === verdict.claims.grant);
    if (!grant) return { ok: false, status: 403, kind: 'cred.misuse', reason: 'a placeholder for a grant this task does not hold' };
    if (grant.state !== 'active') return { ok: false, status: 401, kind: grant.state === 'expired' ? 'cred.expired' : 'cred.denied', reason: `the grant of ${grant.credential} is ${grant.state}`, grant: ref(grant) };
    const method = request.method.toUpperCase();
    // Methods that echo the request back would hand the secret to whoever reads the response.
    if (ECHOING_METHODS.has(method)) return { ok: false, status: 403, kind: 'cred.denied', reason: `${method} echoes the request back, so it never carries a secret`, grant: ref(grant) };
    if (grant.methods && !grant.methods.includes(method)) return { ok: false, status: 403, kind: 'cred.denied', reason: `${request.method} is not among the grant's methods (${grant.methods.join(', ')})`, grant: ref(grant) };
    if (grant.pathPrefix && !withinPrefix(request.path, grant.pathPrefix)) return { ok: false, status: 403, kind: 'cred.denied', reason: `${request.path} is outside the grant's path ${grant.pathPrefix}`, grant: ref(grant) };
    const exhausted = drawUse(grant);
    if (exhausted) return { ok: false, status: 403, kind: 'cred.denied', reason: exhausted, grant: ref(grant) };
    return { ok: true, grant: ref(grant), place: placeSecret(grant.inject, grant.secret) };
  }

  /** A grant of this task, for a child's grant to be drawn from (see GrantRequest.drawFrom). */
  #heldGrant(id: string): Held | undefined {
    return this.#grants.find((g) => g.id === id);
  }

  /** The task is over: every grant revoked, its placeholders dead for good. */
  revokeAll(): void {
    this.#revoked = true;
    for (const grant of this.#grants) {
      grant.timer.cancel();
      if (grant.state === 'active') {
        grant.state = 'revoked';
        this.#emit('cred.revoked', grant, { credential: grant.credential, reason: 'the task ended' });
      }
      grant.secret = '';
    }
    this.#placeholders.destroy();
  }
}

/**
 * A child's grant, drawn from its parent's: the parent's hosts, injection and secret; never past the
 * parent's expiry. The caller (delegation) has already narrowed delivery, methods, path and uses.
 */
function drawnGrant(request: GrantRequest, parent: Held | undefined, now: number): Held {
  if (!parent || parent.state !== 'active' || parent.credential !== request.credential) {
    throw new AirlockError('policy_refused', `the parent's grant of ${request.credential} is not active`, 'a child only gets credentials its parent holds');
  }
  return {
    id: `g_${randomUUID()}`, credential: parent.credential, hosts: parent.hosts,
    expiresAt: Math.min(parent.expiresAt, now + (request.ttlMs ?? DEFAULT_TTL_MS)),
    delivery: request.delivery, env: request.env, methods: request.methods?.map((m) => m.toUpperCase()), pathPrefix: request.pathPrefix,
    usesLeft: request.uses, state: 'active', inject: parent.inject, secret: parent.secret,
    timer: { cancel: () => undefined }, parent,
  };
}

/**
 * Counts one use of a grant, which is also a use of every grant it is drawn from: refused (with the
 * reason) when any of them has none left or is no longer active; nothing is counted then.
 */
function drawUse(grant: Held): string | undefined {
  const line: Held[] = [];
  for (let g: Held | undefined = grant; g; g = g.parent) line.push(g);
  for (const above of line.slice(1)) {
    if (above.state !== 'active') return `the parent task's grant of ${above.credential} is ${above.state}`;
  }
  for (const g of line) {
    if (g.usesLeft !== undefined && g.usesLeft <= 0) return g === grant ? `the grant of ${g.credential} has no uses left` : `the parent task's grant of ${g.credential} has no uses left`;
  }
  for (const g of line) if (g.usesLeft !== undefined) g.usesLeft -= 1;
  return undefined;
}

const ECHOING_METHODS = new Set(['TRACE', 'TRACK']);

/**
 * Is a (normalised) path within a grant's prefix, segment by segment: `/v1` and `/v1/` both allow
 * `/v1/invoices`, neither allows `/v1-admin`.
 */
export function withinPrefix(path: string, prefix: string): boolean {
  const base = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return path === base || path.startsWith(`${base}/`);
}

/** What `cred.granted` says of a grant. */
function grantedData(grant: Held): Record<string, unknown> {
  return { credential: grant.credential, hosts: grant.hosts, delivery: grant.delivery, env: grant.env, expiresAt: new Date(grant.expiresAt).toISOString(), ...(grant.usesLeft !== undefined ? { uses: grant.usesLeft } : {}), ...(grant.parent ? { drawnFrom: grant.parent.id } : {}) };
}

function ref(grant: Grant): { id: string; credential: string } {
  return { id: grant.id, credential: grant.credential };
}

function publicView(grant: Held | Grant): Grant {
  const { id, credential, hosts, expiresAt, delivery, env, methods, pathPrefix, usesLeft, state } = grant;
  return { id, credential, hosts, expiresAt, delivery, env, methods, pathPrefix, usesLeft, state };
}

/** A credential host (`api.vendor.test`, `*.vendor.test`, `host:8443`; 443 when no port) covers a request target. */
function covers(pattern: string, host: string, port: number): boolean {
  const parsed = parseHostPattern(pattern);
  const target = normaliseHost(host);
  return parsed !== undefined && target !== undefined && hostPatternMatches(parsed, { ...target, port }, HTTPS_PORTS);
}

/**
 * The hosts a grant is for: the credential's, or only those the request names (a kit's
 * `--endpoint`), each exactly one host that one of the credential's hosts covers; refused otherwise.
 */
export function grantHosts(request: Pick<GrantRequest, 'credential' | 'hosts'>, credentialHosts: string[]): string[] {
  if (request.hosts === undefined) return credentialHosts;
  const patterns = credentialHosts.map(parseHostPattern).filter((p) => p !== undefined);
  for (const host of request.hosts) {
    const asked = parseHostPattern(host);
    const covered = asked !== undefined && !asked.wildcard && patterns.some((p) => hostPatternMatches(p, { host: asked.host, kind: asked.kind, port: asked.port ?? 443 }, HTTPS_PORTS));
    if (!covered) throw new AirlockError('policy_refused', `credential ${request.credential}: ${host} is not one of its hosts (${credentialHosts.join(', ')})`, `add the host: airlock cred add ${request.credential} … --host ${host}`);
  }
  return request.hosts;
}
