import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { EventBus } from '../audit/bus.js';
import type { AgentRef, Decision } from '../audit/events.js';
import type { Clock } from '../clock.js';
import { findPlaceholder } from '../credentials/placeholder.js';
import { AdmissionControl } from './admission.js';
import { Approvals } from './approvals.js';
import { defaultDialer, defaultResolver, DialingAgent, type Dialer, type Resolver } from './dialing.js';
import { forwardHeaders, UpstreamTlsAgent, type TaskCredentialsPort } from './intercept.js';
import { Interception } from './interception.js';
import { TaskLimits } from './limits.js';
import type { NetworkPolicy } from './policy.js';
import { rawResponse, refusalBody } from './refusal.js';
import { formatHost, formatTarget, parseAbsoluteUrl, parseAuthority } from './target.js';
import { GatewayEvents, type GatewayTask, type SandboxApiHandler } from './task-state.js';
import { DecoyScanner, type Decoy } from './decoys.js';
import { BrowserRefusals, isNavigation, refusalPage } from './browser.js';

/** The reserved name of the in-sandbox API (main/core/tasks/sandbox-api.ts). */
const SANDBOX_API_HOST = 'airlock.internal';

export { defaultDialer, defaultResolver, type Dialer, type Resolver } from './dialing.js';

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

/**
 * Airlock's egress proxy: an HTTP forward proxy with CONNECT, shared by all tasks of this process.
 * Each request must carry its task's proxy credential; the target is checked against the task's
 * policy before any DNS lookup, every resolved address is checked before it is dialled (and only
 * checked addresses are dialled), and every request becomes an event.
 */
export class Gateway {
  readonly approvals: Approvals;
  readonly #deps: GatewayDeps;
  readonly #dial: Dialer;
  readonly #server: http.Server;
  readonly #tasks = new Map<string, GatewayTask>();
  readonly #boundTo = new WeakMap<object, string>();
  /** Connections from a display task's browser (the endpoint's browser port): see browser.ts. */
  readonly #fromBrowser = new WeakSet<object>();
  readonly #browserRefusals = new BrowserRefusals();
  readonly #events: GatewayEvents;
  readonly #admission: AdmissionControl;
  readonly #interception: Interception;
  /** Tunnelled connections to the in-sandbox API, served by an HTTP server of their own. */
  readonly #apiServer: http.Server;
  readonly #apiConnections = new WeakMap<object, GatewayTask>();

  constructor(deps: GatewayDeps) {
    this.#deps = deps;
    this.#dial = deps.dial ?? defaultDialer;
    this.approvals = new Approvals(deps.clock, deps.approvalTimeoutMs ?? 60_000);
    this.#events = new GatewayEvents(deps.bus, deps.clock);
    this.#admission = new AdmissionControl(this.#events, deps.resolve ?? defaultResolver, this.approvals);
    this.#interception = new Interception(this.#events, deps.clock);
    this.#apiServer = http.createServer({ keepAlive: true, requestTimeout: 0 });
    this.#apiServer.on('request', (req, res) => {
      const network = this.#apiConnections.get(req.socket);
      if (network) void this.#sandboxApi(network, req, res, req.url ?? '/');
      else res.writeHead(500).end();
    });
    this.#apiServer.on('clientError', (_error, socket) => socket.destroy());
    this.#server = http.createServer({ keepAlive: true, requestTimeout: 0, headersTimeout: 30_000 });
    this.#server.on('request', (req, res) => void this.#onRequest(req, res));
    this.#server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void this.#onConnect(req, socket, head));
    this.#server.on('clientError', (_error, socket) => socket.destroy());
  }

  /** Registers a task's policy; returns the proxy credential the sandbox will present. */
  addTask(options: {
    task: string; agent: AgentRef; policy: NetworkPolicy; onAlways?: (host: string) => void; credentials?: TaskCredentialsPort; sandboxApi?: SandboxApiHandler; decoys?: Decoy[];
    onNavigation?: (url: string) => void;
  }): { user: string; password: string } {
    const password = randomBytes(24).toString('base64url');
    this.#tasks.set(options.task, {
      agent: new DialingAgent(this.#dial),
      task: options.task, agentRef: options.agent, policy: options.policy, token: Buffer.from(password),
      approved: [], limits: new TaskLimits(this.#deps.clock, options.policy.rate),
      tlsAgent: new UpstreamTlsAgent(this.#dial, this.#deps.upstreamCa),
      ...(options.onAlways ? { onAlways: options.onAlways } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.sandboxApi ? { sandboxApi: options.sandboxApi } : {}),
      ...(options.decoys?.length ? { decoys: new DecoyScanner(options.decoys) } : {}),
      ...(options.onNavigation ? { onNavigation: options.onNavigation } : {}),
    });
    return { user: options.task, password };
  }

  removeTask(task: string): void {
    this.#tasks.get(task)?.agent.destroy();
    this.#tasks.get(task)?.tlsAgent.destroy();
    this.#tasks.delete(task);
    this.approvals.cancelTask(task);
  }

  /**
   * A connection that arrived through a task's own gateway endpoint: only that task's credential
   * works on it. One from the endpoint's browser port (`browser`) needs none — Chromium cannot
   * present one, and only the sandbox can open it — and gets pages rather than bare refusals.
   */
  acceptConnection(task: string, stream: Duplex, options: { browser?: boolean } = {}): void {
    this.#boundTo.set(stream, task);
    if (options.browser) this.#fromBrowser.add(stream);
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
      this.#interception.close();
      this.#browserRefusals.close();
      this.#apiServer.closeAllConnections();
    });
  }

  #authenticate(req: http.IncomingMessage): GatewayTask | undefined {
    if (this.#fromBrowser.has(req.socket)) return this.#tasks.get(this.#boundTo.get(req.socket)!);
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
    if (target.host === SANDBOX_API_HOST) {
      await this.#sandboxApi(network, req, res, path);
      return;
    }
    const decoy = network.decoys?.find(`${req.url ?? ''}\n${JSON.stringify(req.headers)}`);
    if (decoy) {
      this.#events.decoyTouched(network, decoy, target, req.method ?? 'GET', path);
      const decision: Decision = { allow: false, rule: 'decoy', by: 'policy' };
      this.#events.refuse(network, target, req.method ?? 'GET', path, { ok: false, status: 403, reason: 'a decoy secret was in the request', decision }, started);
      res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' }).end('Airlock refused this request.\n');
      return;
    }
    const leaked = findPlaceholder(req.headers, req.url);
    if (leaked && network.credentials && (await network.credentials.isOwnPlaceholder(leaked.token))) {
      // Plain HTTP is never given a secret, and a placeholder on it is going somewhere it should not.
      const reason = `a credential placeholder sent over plain HTTP to ${formatTarget(target)}`;
      this.#events.credentialEvent(network, 'cred.misuse', undefined, { method: req.method, host: target.host, port: target.port, path, reason });
      const decision: Decision = { allow: false, rule: 'credential:misuse', by: 'policy' };
      this.#events.refuse(network, target, req.method ?? 'GET', path, { ok: false, status: 403, reason, decision }, started);
      res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' }).end(`Airlock refused this request: ${reason}. Credentials are only used over HTTPS, with the hosts they were granted for.\n`);
      return;
    }
    const navigation = this.#fromBrowser.has(req.socket) && isNavigation(req.headers);
    if (navigation) network.onNavigation?.(req.url ?? '');
    const admission = await this.#admission.admit(network, target, req.method ?? 'GET', path);
    if (!admission.ok) {
      this.#events.refuse(network, target, req.method ?? 'GET', path, admission, started);
      const body = refusalBody(target, admission.reason, admission.decision.rule);
      if (navigation) res.writeHead(admission.status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'close' }).end(refusalPage(target, body));
      else res.writeHead(admission.status, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' }).end(body);
      return;
    }
    let bytesUp = 0;
    let bytesDown = 0;
    let status = 502;
    const finish = () => this.#events.requestEvent(network, target, req.method ?? 'GET', path, status, bytesUp, bytesDown, started, admission.decision);
    let socket: Duplex | undefined;
    const upstream = http.request({
      // Host is the URL's authority, which was checked, whatever the client put in its Host header
      // (another name on the same server is not what was allowed).
      host: admission.address, port: target.port, method: req.method, path, headers: { ...forwardHeaders(req.headers), host: target.port === 80 ? formatHost(target) : formatTarget(target) }, setHost: false,
      // the task's pool: connections only ever to the address that was checked for this request
      agent: network.agent,
    });
    upstream.on('socket', (s) => (socket = s));
    const findDecoy = network.decoys?.streamFinder();
    req.on('data', (chunk: Buffer) => {
      const inBody = findDecoy?.(chunk);
      if (inBody) {
        this.#events.decoyTouched(network, inBody, target, req.method ?? 'GET', path);
        upstream.destroy();
        if (!res.headersSent) res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' }).end('Airlock refused this request.\n');
        return;
      }
      bytesUp += chunk.length;
      this.#events.countBytes(network, chunk.length, [req.socket, ...(socket ? [socket] : [])]);
    });
    upstream.on('response', (upstreamRes) => {
      status = upstreamRes.statusCode ?? 502;
      res.writeHead(status, forwardHeaders(upstreamRes.headers));
      upstreamRes.on('data', (chunk: Buffer) => {
        bytesDown += chunk.length;
        this.#events.countBytes(network, chunk.length, [req.socket, ...(socket ? [socket] : [])]);
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
    if (target.host === SANDBOX_API_HOST) {
      // Node's fetch tunnels even plain http:// through CONNECT: serve the API inside the tunnel.
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) client.unshift(head);
      this.#apiConnections.set(client, network);
      this.#apiServer.emit('connection', client);
      return;
    }
    const admission = await this.#admission.admit(network, target, 'CONNECT', undefined);
    // The browser's TLS is opened here when the task has a CA: refusals become readable pages,
    // and every request (not just a tunnel) is checked and logged.
    const browser = this.#fromBrowser.has(client) && network.credentials?.ca !== undefined;
    if (!admission.ok) {
      this.#events.refuse(network, target, 'CONNECT', undefined, admission, started);
      const body = refusalBody(target, admission.reason, admission.decision.rule);
      if (browser) await this.#browserRefusals.serve(network, target, client, head, { status: admission.status, body }).catch(() => client.destroy());
      // Answer, never just drop: some clients (Node 24's fetch) retry a dropped CONNECT at full speed.
      else client.end(rawResponse(admission.status, admission.status === 429 ? 'Too Many Requests' : 'Forbidden', body));
      return;
    }
    if (browser || network.credentials?.intercepts(target.host, target.port)) {
      await this.#interception.intercept(network, target, admission, client, head, started);
      return;
    }
    let upstream: Duplex;
    try {
      upstream = await this.#dial(admission.address, target.port);
    } catch (error) {
      client.end(rawResponse(502, 'Bad Gateway', `Airlock gateway: could not connect to ${formatTarget(target)}: ${(error as Error).message}\n`));
      this.#events.requestEvent(network, target, 'CONNECT', undefined, 502, 0, 0, started, admission.decision);
      return;
    }
    let bytesUp = head.length;
    let bytesDown = 0;
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    client.on('data', (chunk: Buffer) => {
      bytesUp += chunk.length;
      this.#events.countBytes(network, chunk.length, [client, upstream]);
    });
    upstream.on('data', (chunk: Buffer) => {
      bytesDown += chunk.length;
      this.#events.countBytes(network, chunk.length, [client, upstream]);
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
      this.#events.requestEvent(network, target, 'CONNECT', undefined, 200, bytesUp, bytesDown, started, admission.decision);
    };
    client.on('close', finish);
    upstream.on('close', finish);
  }

  async #sandboxApi(network: GatewayTask, req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> {
    if (!network.sandboxApi) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Airlock: the in-sandbox API is not available to this task.\n');
      return;
    }
    await network.sandboxApi(req, res, path).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  }
}
