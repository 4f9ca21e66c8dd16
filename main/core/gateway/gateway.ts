import { randomBytes, timingSafeEqual } from 'node:crypto';
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { EventBus } from '../audit/bus.js';
import type { AgentRef, Decision } from '../audit/events.js';
import type { Clock } from '../clock.js';
import { Approvals } from './approvals.js';
import { TaskLimits } from './limits.js';
import { decideName, type NameVerdict, type NetworkPolicy } from './policy.js';
import { rawResponse, refusalBody } from './refusal.js';
import { parseHostRule, refusedAddressReason, type HostRule } from './rules.js';
import { formatTarget, parseAbsoluteUrl, parseAuthority, type Target } from './target.js';
import { forwardHeaders, terminateTls, UpstreamTlsAgent, type TaskCredentialsPort } from './intercept.js';
import { findPlaceholder } from '../credentials/placeholder.js';

/** Names → addresses. Injected so tests reach local servers under `.test` names. */
export type Resolver = (host: string) => Promise<string[]>;
/** Opens a TCP connection to an address the gateway has checked. Injected for the same reason. */
export type Dialer = (address: string, port: number) => Promise<Duplex>;

export interface GatewayDeps {
  bus: EventBus;
  clock: Clock;
  resolve?: Resolver;
  dial?: Dialer;
  /** How long a request to an unknown host waits for a person (onUnknownHost: ask). */
  approvalTimeoutMs?: number;
  /** PEM of one more CA to trust for upstream TLS (besides the system's): for local test servers. */
  upstreamCa?: string;
}

interface TaskNetwork {
  /** Keeps plain-HTTP connections to checked addresses open for the task's next requests. */
  agent: http.Agent;
  task: string;
  agentRef: AgentRef;
  policy: NetworkPolicy;
  token: Buffer;
  approved: HostRule[];
  limits: TaskLimits;
  /** Called when a person answers "always": the caller confirms and updates the manifest. */
  onAlways?: (host: string) => void;
  /** The task's grants: hosts they cover are intercepted and the placeholder swapped for the secret. */
  credentials?: TaskCredentialsPort;
  tlsAgent: UpstreamTlsAgent;
}

interface Intercepted {
  network: TaskNetwork;
  target: Target;
  address: string;
  decision: Decision;
}

type Admission =
  | { ok: true; address: string; decision: Decision }
  | { ok: false; status: number; reason: string; decision: Decision };

export const defaultResolver: Resolver = async (host) => (await dns.promises.lookup(host, { all: true, verbatim: true })).map((a) => a.address);

export const defaultDialer: Dialer = (address, port) => new Promise((resolve, reject) => {
  const socket = net.connect({ host: address, port, timeout: 10_000 });
  socket.once('connect', () => {
    socket.setTimeout(0);
    socket.setNoDelay(true);
    resolve(socket);
  });
  socket.once('timeout', () => socket.destroy(new Error('connection timed out')));
  socket.once('error', reject);
});

/**
 * Airlock's egress proxy: an HTTP forward proxy with CONNECT, shared by all tasks of this process.
 * Each request must carry its task's proxy credential; the target is checked against the task's
 * policy before any DNS lookup, every resolved address is checked before it is dialled (and only
 * checked addresses are dialled), and every request becomes an event.
 */
export class Gateway {
  readonly approvals: Approvals;
  readonly #deps: GatewayDeps;
  readonly #resolve: Resolver;
  readonly #dial: Dialer;
  readonly #server: http.Server;
  readonly #tasks = new Map<string, TaskNetwork>();
  readonly #boundTo = new WeakMap<object, string>();
  /** Decrypted connections to intercepted hosts: served by a second HTTP server. */
  readonly #interceptServer: http.Server;
  readonly #intercepted = new WeakMap<object, Intercepted>();

  constructor(deps: GatewayDeps) {
    this.#deps = deps;
    this.#resolve = deps.resolve ?? defaultResolver;
    this.#dial = deps.dial ?? defaultDialer;
    this.approvals = new Approvals(deps.clock, deps.approvalTimeoutMs ?? 60_000);
    this.#server = http.createServer({ keepAlive: true, requestTimeout: 0, headersTimeout: 30_000 });
    this.#server.on('request', (req, res) => void this.#onRequest(req, res));
    this.#server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void this.#onConnect(req, socket, head));
    this.#server.on('clientError', (_error, socket) => socket.destroy());
    this.#interceptServer = http.createServer({ keepAlive: true, requestTimeout: 0 });
    this.#interceptServer.on('request', (req, res) => void this.#onIntercepted(req, res));
    this.#interceptServer.on('clientError', (_error, socket) => socket.destroy());
  }

  /** Registers a task's policy; returns the proxy credential the sandbox will present. */
  addTask(options: { task: string; agent: AgentRef; policy: NetworkPolicy; onAlways?: (host: string) => void; credentials?: TaskCredentialsPort }): { user: string; password: string } {
    const password = randomBytes(24).toString('base64url');
    this.#tasks.set(options.task, {
      agent: new DialingAgent(this.#dial),
      task: options.task, agentRef: options.agent, policy: options.policy, token: Buffer.from(password),
      approved: [], limits: new TaskLimits(this.#deps.clock, options.policy.rate),
      tlsAgent: new UpstreamTlsAgent(this.#dial, this.#deps.upstreamCa),
      ...(options.onAlways ? { onAlways: options.onAlways } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    });
    return { user: options.task, password };
  }

  removeTask(task: string): void {
    this.#tasks.get(task)?.agent.destroy();
    this.#tasks.get(task)?.tlsAgent.destroy();
    this.#tasks.delete(task);
    this.approvals.cancelTask(task);
  }

  /** A connection that arrived through a task's own gateway endpoint: only that task's credential works on it. */
  acceptConnection(task: string, stream: Duplex): void {
    this.#boundTo.set(stream, task);
    this.#server.emit('connection', stream);
  }

  /** Also serve on a TCP port (tests, benchmarks); connections must still authenticate. */
  listen(port = 0, host = '127.0.0.1'): Promise<net.AddressInfo> {
    return new Promise((resolve) => this.#server.listen(port, host, () => resolve(this.#server.address() as net.AddressInfo)));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
      this.#interceptServer.closeAllConnections();
    });
  }

  #authenticate(req: http.IncomingMessage): TaskNetwork | undefined {
    const header = req.headers['proxy-authorization'];
    const match = typeof header === 'string' ? /^Basic\s+(\S+)$/i.exec(header) : null;
    if (!match) return undefined;
    const decoded = Buffer.from(match[1]!, 'base64').toString();
    const colon = decoded.indexOf(':');
    const network = this.#tasks.get(decoded.slice(0, colon));
    if (!network) return undefined;
    const given = Buffer.from(decoded.slice(colon + 1));
    if (given.length !== network.token.length || !timingSafeEqual(given, network.token)) return undefined;
    const bound = this.#boundTo.get(req.socket);
    if (bound !== undefined && bound !== network.task) return undefined;
    return network;
  }

  async #onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = this.#deps.clock.now();
    const network = this.#authenticate(req);
    if (!network) {
      res.writeHead(407, { 'Proxy-Authenticate': 'Basic realm="airlock"', 'Content-Type': 'text/plain' }).end('Airlock gateway: this task\'s proxy credential is required (it is in HTTP_PROXY inside the sandbox).\n');
      return;
    }
    const parsed = parseAbsoluteUrl(req.url ?? '');
    if (!parsed) {
      res.writeHead(400, { 'Content-Type': 'text/plain' }).end('Airlock gateway: send absolute http:// URLs, or CONNECT for anything else.\n');
      return;
    }
    const { target, path } = parsed;
    const leaked = findPlaceholder(req.headers, req.url);
    if (leaked && network.credentials && (await network.credentials.isOwnPlaceholder(leaked.token))) {
      // Plain HTTP is never given a secret, and a placeholder on it is going somewhere it should not.
      const reason = `a credential placeholder sent over plain HTTP to ${formatTarget(target)}`;
      this.#credentialEvent(network, 'cred.misuse', undefined, { method: req.method, host: target.host, port: target.port, path, reason });
      const decision: Decision = { allow: false, rule: 'credential:misuse', by: 'policy' };
      this.#refuse(network, target, req.method ?? 'GET', path, { ok: false, status: 403, reason, decision }, started);
      res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' }).end(`Airlock refused this request: ${reason}. Credentials are only used over HTTPS, with the hosts they were granted for.\n`);
      return;
    }
    const admission = await this.#admit(network, target, req.method ?? 'GET', path);
    if (!admission.ok) {
      this.#refuse(network, target, req.method ?? 'GET', path, admission, started);
      res.writeHead(admission.status, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' }).end(refusalBody(target, admission.reason, admission.decision.rule));
      return;
    }
    let bytesUp = 0;
    let bytesDown = 0;
    let status = 502;
    const finish = () => this.#requestEvent(network, target, req.method ?? 'GET', path, status, bytesUp, bytesDown, started, admission.decision);
    let socket: Duplex | undefined;
    const upstream = http.request({
      host: admission.address, port: target.port, method: req.method, path, headers: forwardHeaders(req.headers), setHost: false,
      // the task's pool: connections only ever to the address that was checked for this request
      agent: network.agent,
    });
    upstream.on('socket', (s) => (socket = s));
    req.on('data', (chunk: Buffer) => {
      bytesUp += chunk.length;
      this.#countBytes(network, chunk.length, [req.socket, ...(socket ? [socket] : [])]);
    });
    upstream.on('response', (upstreamRes) => {
      status = upstreamRes.statusCode ?? 502;
      res.writeHead(status, forwardHeaders(upstreamRes.headers));
      upstreamRes.on('data', (chunk: Buffer) => {
        bytesDown += chunk.length;
        this.#countBytes(network, chunk.length, [req.socket, ...(socket ? [socket] : [])]);
      });
      upstreamRes.pipe(res);
      upstreamRes.on('end', finish);
    });
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' }).end(`Airlock gateway: could not reach ${formatTarget(target)}: ${error.message}\n`);
      else res.destroy();
      finish();
    });
    req.pipe(upstream);
  }

  async #onConnect(req: http.IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    const started = this.#deps.clock.now();
    client.on('error', () => client.destroy());
    const network = this.#authenticate(req);
    if (!network) {
      client.end(rawResponse(407, 'Proxy Authentication Required', 'Airlock gateway: this task\'s proxy credential is required.\n', ['Proxy-Authenticate: Basic realm="airlock"']));
      return;
    }
    const target = parseAuthority(req.url ?? '');
    if (!target) {
      client.end(rawResponse(400, 'Bad Request', 'Airlock gateway: CONNECT needs host:port.\n'));
      return;
    }
    const admission = await this.#admit(network, target, 'CONNECT', undefined);
    if (!admission.ok) {
      this.#refuse(network, target, 'CONNECT', undefined, admission, started);
      // Answer, never just drop: some clients (Node 24's fetch) retry a dropped CONNECT at full speed.
      client.end(rawResponse(admission.status, admission.status === 429 ? 'Too Many Requests' : 'Forbidden', refusalBody(target, admission.reason, admission.decision.rule)));
      return;
    }
    if (network.credentials?.intercepts(target.host, target.port)) {
      await this.#intercept(network, target, admission, client, head, started);
      return;
    }
    let upstream: Duplex;
    try {
      upstream = await this.#dial(admission.address, target.port);
    } catch (error) {
      client.end(rawResponse(502, 'Bad Gateway', `Airlock gateway: could not connect to ${formatTarget(target)}: ${(error as Error).message}\n`));
      this.#requestEvent(network, target, 'CONNECT', undefined, 502, 0, 0, started, admission.decision);
      return;
    }
    let bytesUp = head.length;
    let bytesDown = 0;
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    client.on('data', (chunk: Buffer) => {
      bytesUp += chunk.length;
      this.#countBytes(network, chunk.length, [client, upstream]);
    });
    upstream.on('data', (chunk: Buffer) => {
      bytesDown += chunk.length;
      this.#countBytes(network, chunk.length, [client, upstream]);
    });
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      upstream.destroy();
      client.destroy();
      this.#requestEvent(network, target, 'CONNECT', undefined, 200, bytesUp, bytesDown, started, admission.decision);
    };
    client.on('close', finish);
    upstream.on('close', finish);
  }

  /** A host the task holds a grant for: terminate its TLS here, so each request can be checked and given the secret. */
  async #intercept(network: TaskNetwork, target: Target, admission: Extract<Admission, { ok: true }>, client: Duplex, head: Buffer, started: number): Promise<void> {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) client.unshift(head);
    const secure = await terminateTls(client, target.host, network.credentials!);
    secure.on('error', () => secure.destroy());
    this.#intercepted.set(secure, { network, target, address: admission.address, decision: admission.decision });
    secure.once('close', () => this.#requestEvent(network, target, 'CONNECT', undefined, 200, 0, 0, started, admission.decision, { intercepted: true }));
    this.#interceptServer.emit('connection', secure);
  }

  /** One request inside an intercepted connection: check the placeholder, swap in the secret, forward over verified TLS. */
  async #onIntercepted(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const context = this.#intercepted.get(req.socket);
    if (!context) {
      res.writeHead(500).end();
      return;
    }
    const { network, target, address } = context;
    const started = this.#deps.clock.now();
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const headers = forwardHeaders(req.headers);
    let decision = context.decision;
    let identity: { grant: string; credential: string } | undefined;
    const found = findPlaceholder(req.headers);
    if (found) {
      const authorization = await network.credentials!.authorize({ token: found.token, host: target.host, method, path });
      if (!authorization.ok) {
        this.#credentialEvent(network, authorization.kind, authorization.grant, { method, host: target.host, port: target.port, path, reason: authorization.reason });
        const refused: Decision = { allow: false, rule: `credential:${authorization.kind.slice(5)}`, by: 'policy' };
        this.#requestEvent(network, target, method, path, authorization.status, 0, 0, started, refused);
        res.writeHead(authorization.status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`Airlock refused this request: ${authorization.reason}.\n`);
        return;
      }
      if (found.header) delete headers[found.header];
      headers[authorization.header.name.toLowerCase()] = authorization.header.value;
      identity = { grant: authorization.grant.id, credential: authorization.grant.credential };
      decision = { allow: true, rule: `grant:${authorization.grant.credential}`, by: 'policy' };
    }
    let bytesUp = 0;
    let bytesDown = 0;
    const upstream = https.request({ host: address, port: target.port, servername: target.host, method, path, headers, agent: network.tlsAgent });
    req.on('data', (chunk: Buffer) => {
      bytesUp += chunk.length;
      this.#countBytes(network, chunk.length, [req.socket]);
    });
    upstream.on('response', (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, forwardHeaders(upstreamRes.headers));
      upstreamRes.on('data', (chunk: Buffer) => {
        bytesDown += chunk.length;
        this.#countBytes(network, chunk.length, [req.socket]);
      });
      upstreamRes.pipe(res);
      upstreamRes.on('end', () => {
        this.#requestEvent(network, target, method, path, upstreamRes.statusCode ?? 502, bytesUp, bytesDown, started, decision, identity ? { intercepted: true } : { intercepted: true }, identity);
        if (identity) this.#credentialEvent(network, 'cred.used', { id: identity.grant, credential: identity.credential }, { method, host: target.host, port: target.port, path, status: upstreamRes.statusCode });
      });
    });
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' }).end(`Airlock gateway: ${formatTarget(target)} failed: ${error.message}\n`);
      else res.destroy();
      this.#requestEvent(network, target, method, path, 502, bytesUp, bytesDown, started, decision, { intercepted: true, error: error.message }, identity);
    });
    req.pipe(upstream);
  }

  #credentialEvent(network: TaskNetwork, kind: 'cred.used' | 'cred.misuse' | 'cred.denied' | 'cred.expired', grant: { id: string; credential: string } | undefined, data: Record<string, unknown>): void {
    this.#deps.bus.emit({
      task: network.task, agent: network.agentRef, actor: kind === 'cred.used' ? 'agent' : 'airlock', kind, data,
      ...(grant ? { identity: { grant: grant.id, credential: grant.credential } } : {}),
      ...(kind === 'cred.used' ? {} : { decision: { allow: false, rule: `credential:${kind.slice(5)}`, by: 'policy' as const } }),
    });
  }

  /** Rate, then the name (before DNS), then every resolved address. */
  async #admit(network: TaskNetwork, target: Target, method: string, path: string | undefined): Promise<Admission> {
    const limited = network.limits.admitRequest();
    if (limited) {
      this.#violation(network, limited, target, method, path);
      return { ok: false, status: 429, reason: limited, decision: { allow: false, rule: limited.split(':')[0]!, by: 'policy' } };
    }
    const named = decideName(network.policy, target, network.approved);
    const verdict = named.verdict === 'ask' ? await this.#ask(network, target) : named;
    if (verdict.verdict === 'deny') return { ok: false, status: 403, reason: verdict.reason, decision: verdict.decision };
    let addresses: string[];
    try {
      addresses = target.kind === 'name' ? await this.#resolve(target.host) : [target.host];
    } catch (error) {
      return { ok: false, status: 502, reason: `${target.host} could not be resolved (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, decision: { ...verdict.decision, allow: false } };
    }
    if (verdict.local) return addresses[0] ? { ok: true, address: addresses[0], decision: verdict.decision } : { ok: false, status: 502, reason: `${target.host} has no address`, decision: { ...verdict.decision, allow: false } };
    const usable = addresses.find((address) => refusedAddressReason(address) === undefined);
    if (usable) return { ok: true, address: usable, decision: verdict.decision };
    const first = addresses[0] ?? '';
    const reason = target.kind === 'name' ? `${target.host} resolves to ${first}, ${refusedAddressReason(first)}` : `${first} is ${refusedAddressReason(first)}`;
    return { ok: false, status: 403, reason, decision: { allow: false, rule: 'address:not-public', by: 'policy' } };
  }

  async #ask(network: TaskNetwork, target: Target): Promise<Exclude<NameVerdict, { verdict: 'ask' }>> {
    const { request, answer } = this.approvals.request(network.task, target.host, target.port, network.policy.askTimeoutMs);
    this.#deps.bus.emit({ task: network.task, agent: network.agentRef, actor: 'airlock', kind: 'approval.requested', data: { id: request.id, host: target.host, port: target.port, expiresAt: new Date(request.expiresAt).toISOString() } });
    const { answer: given, by } = await answer;
    const allow = given !== 'deny';
    const decision: Decision = { allow, rule: allow ? `ask:${given}` : by === 'default' ? 'ask:timeout' : 'ask:deny', by };
    this.#deps.bus.emit({ task: network.task, agent: network.agentRef, actor: by === 'user' ? 'user' : 'airlock', kind: 'approval.decided', decision, data: { id: request.id, host: target.host, port: target.port, answer: given } });
    if (!allow) return { verdict: 'deny', decision, reason: by === 'default' ? `nobody allowed ${formatTarget(target)} in time` : `a person refused ${formatTarget(target)}` };
    if (given === 'task' || given === 'always') {
      const rule = parseHostRule(target.port === 80 || target.port === 443 ? target.host : `${target.host}:${target.port}`);
      if (rule) network.approved.push(rule);
    }
    if (given === 'always') network.onAlways?.(target.port === 80 || target.port === 443 ? target.host : `${target.host}:${target.port}`);
    return { verdict: 'allow', decision, local: false };
  }

  #countBytes(network: TaskNetwork, count: number, sockets: Duplex[]): void {
    const broken = network.limits.addBytes(count);
    if (!broken) return;
    for (const socket of sockets) socket.destroy();
    this.#violation(network, broken, undefined, undefined, undefined);
  }

  #violation(network: TaskNetwork, rule: string, target: Target | undefined, method: string | undefined, path: string | undefined): void {
    this.#deps.bus.emit({
      task: network.task, agent: network.agentRef, actor: 'airlock', kind: 'policy.violation',
      decision: { allow: false, rule: rule.split(':')[0]!, by: 'policy' },
      data: { rule: rule.split(':')[0], reason: rule, ...(target ? { host: target.host, port: target.port } : {}), ...(method ? { method } : {}), ...(path ? { path } : {}) },
    });
  }

  #refuse(network: TaskNetwork, target: Target, method: string, path: string | undefined, admission: Extract<Admission, { ok: false }>, started: number): void {
    this.#deps.bus.emit({
      task: network.task, agent: network.agentRef, actor: 'airlock', kind: 'net.denied', decision: admission.decision,
      data: { method, host: target.host, port: target.port, ...(path !== undefined ? { path } : {}), status: admission.status, reason: admission.reason },
    });
    this.#requestEvent(network, target, method, path, admission.status, 0, 0, started, admission.decision);
  }

  #requestEvent(network: TaskNetwork, target: Target, method: string, path: string | undefined, status: number, bytesUp: number, bytesDown: number, started: number, decision: Decision, extra: Record<string, unknown> = {}, identity?: { grant: string; credential: string }): void {
    this.#deps.bus.emit({
      task: network.task, agent: network.agentRef, actor: 'agent', kind: 'net.request', decision, ...(identity ? { identity } : {}),
      data: { method, host: target.host, port: target.port, ...(path !== undefined ? { path } : {}), status, bytesUp, bytesDown, durationMs: this.#deps.clock.now() - started, ...extra },
    });
  }
}

/** An HTTP agent whose connections are opened by the gateway's (injectable) dialer. */
class DialingAgent extends http.Agent {
  readonly #dial: Dialer;

  constructor(dial: Dialer) {
    super({ keepAlive: true, maxSockets: 32, maxFreeSockets: 8, timeout: 60_000 });
    this.#dial = dial;
  }

  override createConnection(options: net.NetConnectOpts, callback?: (error: Error | null, socket: Duplex) => void): Duplex | undefined {
    const { host, port } = options as { host: string; port: number };
    this.#dial(host, Number(port)).then((socket) => callback?.(null, socket), (error: Error) => callback?.(error, undefined as unknown as Duplex));
    return undefined;
  }
}
