import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import type { EventBus } from '../audit/bus.js';
import type { AgentRef, Decision } from '../audit/events.js';
import type { Clock } from '../clock.js';
import { HostAddresses } from './addresses.js';
import { AdmissionControl, type AccessAnswer } from './admission.js';
import { FROM_BROWSER_PORT, SandboxApiRoute, SANDBOX_API_HOST } from './api-route.js';
import { Approvals, type AskLimits } from './approvals.js';
import { BrowserRefusals, isNavigation, refusalPage } from './browser.js';
import type { Decoy } from './decoys.js';
import { defaultDialer, defaultResolver, DialingAgent, type Dialer, type Resolver } from './dialing.js';
import { forward } from './forwarding.js';
import { framingProblem } from './framing.js';
import { forwardHeaders, UpstreamTlsAgent, type TaskCredentialsPort } from './intercept.js';
import { Interception, requestHeadText, watchedRefusal } from './interception.js';
import { TaskLimits } from './limits.js';
import type { NetworkPolicy } from './policy.js';
import { answerClientError, rawResponse, refusalBody } from './refusal.js';
import { formatHost, formatTarget, parseAbsoluteUrl, parseAuthority, type Target } from './target.js';
import { GATEWAY_TARGET, GatewayEvents, type GatewayTask, type SandboxApiHandler, type SpendPort } from './task-state.js';
import { gatewayServer } from './server.js';
import { DEFAULT_TIMEOUTS, Watchdog, type GatewayTimeouts } from './timeouts.js';
import type { Found } from './secret-scanner.js';
import { TaskWatch, type Watched } from './watch-lists.js';
import { plainTunnel } from './tunnel.js';
import { type NodeTrustSources, upstreamSecureContext } from './upstream-trust.js';

export { defaultDialer, defaultResolver, type Dialer, type Resolver } from './dialing.js';
export type { GatewayTimeouts } from './timeouts.js';

export interface GatewayDeps {
  bus: EventBus;
  clock: Clock;
  resolve?: Resolver;
  dial?: Dialer;
  /** How long a request to an unknown host waits for a person (onUnknownHost: ask). */
  approvalTimeoutMs?: number;
  /** How many asks a task may have waiting, and make per minute (DEFAULT_ASK_LIMITS when absent). */
  askLimits?: Partial<AskLimits>;
  /** PEM of more CAs to trust for upstream TLS (AIRLOCK_UPSTREAM_CA: a company TLS proxy's, a local test server's). */
  upstreamCa?: string;
  /** The environment the engine started with (NODE_EXTRA_CA_CERTS on older Node); process.env when absent. */
  env?: NodeJS.ProcessEnv;
  /** Where Node's CA lists come from; node:tls when absent (tests give a list another process read). */
  trustSources?: NodeTrustSources;
  /** This machine's interface addresses (refused like loopback); os.networkInterfaces() when absent. */
  hostAddresses?: () => string[];
  timeouts?: Partial<GatewayTimeouts>;
}

const PLAIN = { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' };

/**
 * Airlock's egress proxy: an HTTP forward proxy with CONNECT, shared by all tasks of this process.
 * Each request must carry its task's proxy credential; the target is checked against the task's
 * policy before any DNS lookup, every resolved address is checked before it is dialled (and only
 * checked addresses are dialled), and every request becomes an event. Nothing a sandbox or an
 * upstream sends can throw out of it: every handler answers a failure with a status and a reason.
 */
export class Gateway {
  readonly approvals: Approvals;
  readonly #deps: GatewayDeps;
  readonly #dial: Dialer;
  /** What upstream TLS is verified against, built once: see upstream-trust.ts. */
  readonly #upstreamTrust: tls.SecureContext;
  readonly #server: http.Server;
  readonly #tasks = new Map<string, GatewayTask>();
  readonly #boundTo = new WeakMap<object, string>();
  /** Connections from a display task's browser (the endpoint's browser port): see browser.ts. */
  readonly #fromBrowser = new WeakSet<object>();
  readonly #browserRefusals: BrowserRefusals;
  readonly #events: GatewayEvents;
  readonly #admission: AdmissionControl;
  readonly #interception: Interception;
  readonly #timeouts: GatewayTimeouts;
  readonly #watchdog: Watchdog;
  readonly #api: SandboxApiRoute;
  /** Tunnelled connections to the in-sandbox API, served by an HTTP server of their own. */
  readonly #apiServer: http.Server;
  readonly #apiConnections = new WeakMap<object, GatewayTask>();
  /** Every connection from a sandbox still open (tunnels included, which leave the HTTP server): closed with the gateway. */
  readonly #open = new Set<Duplex>();

  constructor(deps: GatewayDeps) {
    this.#deps = deps;
    this.#dial = deps.dial ?? defaultDialer;
    this.#upstreamTrust = upstreamSecureContext({ env: deps.env ?? process.env, ...(deps.trustSources ? { node: deps.trustSources } : {}), ...(deps.upstreamCa ? { upstreamCa: deps.upstreamCa } : {}) });
    this.#timeouts = { ...DEFAULT_TIMEOUTS, ...deps.timeouts };
    this.#watchdog = new Watchdog(deps.clock);
    this.approvals = new Approvals(deps.clock, deps.approvalTimeoutMs ?? 60_000, deps.askLimits);
    this.#events = new GatewayEvents(deps.bus, deps.clock);
    const hostAddresses = new HostAddresses(deps.clock, deps.hostAddresses);
    this.#admission = new AdmissionControl(this.#events, deps.resolve ?? defaultResolver, this.approvals, hostAddresses);
    this.#interception = new Interception(this.#events, deps.clock, this.#watchdog, this.#timeouts);
    this.#browserRefusals = new BrowserRefusals(this.#watchdog, this.#timeouts);
    this.#api = new SandboxApiRoute(this.#events, deps.clock, this.#watchdog, this.#timeouts);
    this.#apiServer = gatewayServer(this.#watchdog, this.#timeouts, this.#recordExpired((socket) => this.#apiConnections.get(socket)));
    this.#apiServer.on('request', (req, res) => {
      const network = this.#apiConnections.get(req.socket);
      if (!network) return void res.writeHead(500, PLAIN).end();
      this.#api.serve(network, req, res, req.url ?? '/').catch((error: unknown) => this.#internalError(network, req, res, error));
    });
    this.#apiServer.on('connect', (_req: http.IncomingMessage, socket: Duplex) => answerClientError(socket, 405, 'CONNECT is not passed on here'));
    this.#apiServer.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(socket, error, undefined, this.#recordMalformed(this.#apiConnections.get(socket))));

    this.#server = gatewayServer(this.#watchdog, this.#timeouts, this.#recordExpired((socket) => this.#boundTask(socket)));
    this.#server.on('connection', (socket: Duplex) => {
      this.#open.add(socket);
      socket.once('close', () => this.#open.delete(socket));
    });
    this.#server.on('request', (req, res) => {
      this.#onRequest(req, res).catch((error: unknown) => this.#internalError(this.#boundTask(req.socket), req, res, error));
    });
    this.#server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      this.#onConnect(req, socket, head).catch((error: unknown) => {
        const network = this.#boundTask(socket);
        if (network) this.#events.refuse(network, GATEWAY_TARGET, 'CONNECT', undefined, { ok: false, status: 500, reason: `Airlock could not handle this CONNECT (${(error as Error)?.message})`, decision: { allow: false, rule: 'internal', by: 'policy' } }, deps.clock.now());
        answerClientError(socket, 500, 'Airlock could not handle this CONNECT');
      });
    });
    this.#server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(socket, error, undefined, this.#recordMalformed(this.#boundTask(socket))));
  }

  /** Registers a task's policy; returns the proxy credential the sandbox will present. */
  addTask(options: {
    task: string; agent: AgentRef; policy: NetworkPolicy; onAlways?: (host: string) => void; credentials?: TaskCredentialsPort; sandboxApi?: SandboxApiHandler; decoys?: Decoy[];
    onNavigation?: (url: string) => void; spend?: SpendPort;
  }): { user: string; password: string } {
    const password = randomBytes(24).toString('base64url');
    this.#tasks.set(options.task, {
      agent: new DialingAgent(this.#dial),
      task: options.task, agentRef: options.agent, policy: options.policy, token: Buffer.from(password),
      approved: [], allowedOnce: new Set(), limits: new TaskLimits(this.#deps.clock, options.policy.rate),
      tlsAgent: new UpstreamTlsAgent(this.#dial, this.#upstreamTrust),
      watch: new TaskWatch(options.decoys ?? [], options.credentials),
      ...(options.onAlways ? { onAlways: options.onAlways } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.sandboxApi ? { sandboxApi: options.sandboxApi } : {}),
      ...(options.onNavigation ? { onNavigation: guarded(options.onNavigation) } : {}),
      ...(options.spend ? { spend: options.spend } : {}),
    });
    return { user: options.task, password };
  }

  /** An access request of `task` (tasks/access-requests.ts): see AdmissionControl.requestAccess. */
  async requestAccess(task: string, target: Target, reason: string): Promise<AccessAnswer> {
    const network = this.#tasks.get(task);
    if (!network) return { decision: 'deny', by: 'default', message: 'this task has no network to grant hosts on' };
    return this.#admission.requestAccess(network, target, reason);
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
    stream.on('error', () => stream.destroy());
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
      for (const socket of this.#open) socket.destroy();
      for (const network of this.#tasks.values()) {
        network.agent.destroy();
        network.tlsAgent.destroy();
      }
      this.#interception.close();
      this.#browserRefusals.close();
      this.#apiServer.closeAllConnections();
      this.#watchdog.close();
    });
  }

  #boundTask(socket: object): GatewayTask | undefined {
    const task = this.#boundTo.get(socket);
    return task === undefined ? undefined : this.#tasks.get(task);
  }

  /** A request Node's parser refused on a task's connection: recorded as refused. */
  #recordMalformed(network: GatewayTask | undefined): (status: number, reason: string) => void {
    return (status, reason) => {
      if (network) this.#events.refuse(network, GATEWAY_TARGET, '-', undefined, { ok: false, status, reason, decision: { allow: false, rule: 'malformed', by: 'policy' } }, this.#deps.clock.now());
    };
  }

  /** A connection cut for taking too long over its request head (partly sent) or body: recorded. */
  #recordExpired(taskOf: (socket: Duplex) => GatewayTask | undefined): (socket: Duplex, phase: 'head' | 'body') => void {
    return (socket, phase) => {
      const network = taskOf(socket);
      if (!network || phase !== 'head') return; // a body that stalls ends its request's own event
      const reason = `the request head did not arrive within ${this.#timeouts.headersMs / 1000} s`;
      this.#events.refuse(network, GATEWAY_TARGET, '-', undefined, { ok: false, status: 408, reason, decision: { allow: false, rule: 'timeout', by: 'policy' } }, this.#deps.clock.now());
    };
  }

  #internalError(network: GatewayTask | undefined, req: http.IncomingMessage, res: http.ServerResponse, error: unknown): void {
    const reason = `Airlock could not handle this request (${(error as Error)?.message ?? String(error)})`;
    if (network) this.#events.refuse(network, GATEWAY_TARGET, req.method ?? '-', undefined, { ok: false, status: 500, reason, decision: { allow: false, rule: 'internal', by: 'policy' } }, this.#deps.clock.now());
    if (!res.headersSent && !res.destroyed) res.writeHead(500, PLAIN).end(`Airlock gateway: ${reason}.\n`);
    else res.destroy();
  }

  #authenticate(req: http.IncomingMessage): GatewayTask | undefined {
    if (this.#fromBrowser.has(req.socket)) return this.#boundTask(req.socket);
    const header = req.headers['proxy-authorization'];
    const match = typeof header === 'string' ? /^Basic\s+(\S+)$/i.exec(header) : null;
    if (!match) return undefined;
    const decoded = Buffer.from(match[1]!, 'base64').toString();
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
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
    const method = req.method ?? 'GET';
    const network = this.#authenticate(req);
    if (!network) {
      // On a task's own connection the attempt is the task's: recorded (elsewhere there is no task to record it for).
      const bound = this.#boundTask(req.socket);
      if (bound) this.#events.refuse(bound, GATEWAY_TARGET, method, undefined, { ok: false, status: 407, reason: 'the request did not carry this task\'s proxy credential', decision: { allow: false, rule: 'proxy-credential', by: 'policy' } }, started);
      res.writeHead(407, { 'Proxy-Authenticate': 'Basic realm="airlock"', ...PLAIN }).end('Airlock gateway: this task\'s proxy credential is required (it is in HTTP_PROXY inside the sandbox).\n');
      return;
    }
    const refuse = (target: Target, path: string | undefined, refusal: { status: number; reason: string; decision: Decision }, body = `Airlock refused this request: ${refusal.reason}.\n`) => {
      this.#events.refuse(network, target, method, path, { ok: false, ...refusal }, started);
      res.writeHead(refusal.status, PLAIN).end(body);
    };
    const parsed = parseAbsoluteUrl(req.url ?? '');
    if (!parsed) return refuse(GATEWAY_TARGET, undefined, { status: 400, reason: 'send absolute http:// URLs, or CONNECT for anything else', decision: { allow: false, rule: 'request-target', by: 'policy' } });
    const { target, path } = parsed;
    if (target.host === SANDBOX_API_HOST) return this.#api.serve(network, req, res, path, this.#fromBrowser.has(req.socket));
    const framing = framingProblem(req);
    if (framing) return refuse(target, path, { ...framing, decision: { allow: false, rule: 'framing', by: 'policy' } });
    // Plain HTTP is never given a secret: a placeholder on it (in any encoding) is going somewhere it should not.
    const scanner = network.watch.requestScanner(target, false);
    const inHead = scanner.empty ? undefined : scanner.find(requestHeadText(req, req.url ?? ''));
    if (inHead) return refuse(target, path, watchedRefusal(this.#events, network, target, method, path, inHead, { plain: true, part: 'head' }));
    const navigation = this.#fromBrowser.has(req.socket) && isNavigation(req.headers);
    if (navigation) network.onNavigation?.(req.url ?? '');
    const admission = await this.#admission.admit(network, target, method, path);
    if (!admission.ok) {
      const body = refusalBody(target, admission.reason, admission.decision.rule);
      this.#events.refuse(network, target, method, path, admission, started);
      if (navigation) res.writeHead(admission.status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'close' }).end(refusalPage(target, body));
      else res.writeHead(admission.status, PLAIN).end(body);
      return;
    }
    const reflect = network.watch.responseScanner();
    await forward({
      network, target, method, path, req, res, started, decision: admission.decision,
      // Host is the URL's authority, which was checked, whatever the client put in its Host header
      // (another name on the same server is not what was allowed).
      headers: { ...forwardHeaders(req.headers), host: target.port === 80 ? formatHost(target) : formatTarget(target) },
      // the task's pool: connections only ever to the address that was checked for this request
      open: (headers) => http.request({ host: admission.address, port: target.port, method, path, headers, setHost: false, agent: network.agent }),
      ...(scanner.empty ? {} : { bodyCheck: { scanner, refuse: (found: Found<Watched>) => watchedRefusal(this.#events, network, target, method, path, found, { plain: true, part: 'body' }) } }),
      ...(reflect ? { reflect } : {}),
    }, { events: this.#events, watchdog: this.#watchdog, timeouts: this.#timeouts });
  }

  async #onConnect(req: http.IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    const started = this.#deps.clock.now();
    const network = this.#authenticate(req);
    if (!network) {
      client.end(rawResponse(407, 'Proxy Authentication Required', 'Airlock gateway: this task\'s proxy credential is required.\n', ['Proxy-Authenticate: Basic realm="airlock"']));
      return;
    }
    const target = parseAuthority(req.url ?? '');
    if (!target) {
      this.#events.refuse(network, GATEWAY_TARGET, 'CONNECT', undefined, { ok: false, status: 400, reason: 'CONNECT needs host:port', decision: { allow: false, rule: 'request-target', by: 'policy' } }, started);
      client.end(rawResponse(400, 'Bad Request', 'Airlock gateway: CONNECT needs host:port.\n'));
      return;
    }
    if (target.host === SANDBOX_API_HOST && this.#fromBrowser.has(client)) {
      const reason = FROM_BROWSER_PORT;
      this.#events.refuse(network, target, 'CONNECT', undefined, { ok: false, status: 403, reason, decision: { allow: false, rule: 'api.browser', by: 'policy' } }, started);
      client.end(rawResponse(403, 'Forbidden', `Airlock refused this request: ${reason}.\n`));
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
      const context = browser ? await this.#leafFor(network, target, client, started, false) : undefined;
      if (context) this.#browserRefusals.serve(network, target, client, head, { status: admission.status, body }, context);
      // Answer, never just drop: some clients (Node 24's fetch) retry a dropped CONNECT at full speed.
      else if (!client.writableEnded) client.end(rawResponse(admission.status, admission.status === 429 ? 'Too Many Requests' : 'Forbidden', body));
      return;
    }
    if (browser || network.credentials?.intercepts(target.host, target.port)) {
      const context = await this.#leafFor(network, target, client, started, true);
      if (context) await this.#interception.intercept(network, target, admission, client, head, context, started);
      return;
    }
    await plainTunnel({ events: this.#events, watchdog: this.#watchdog, timeouts: this.#timeouts, dial: this.#dial }, network, target, admission, client, head, started);
  }

  /**
   * The task CA's certificate for `target`, minted within the task's rate (checked before minting);
   * refused (answered, and recorded when `record`) when over it.
   */
  async #leafFor(network: GatewayTask, target: Target, client: Duplex, started: number, record: boolean): Promise<tls.SecureContext | undefined> {
    try {
      return await network.credentials!.ca!.contextFor(target.host);
    } catch (error) {
      const limited = (error as { code?: string }).code === 'rate.certificates';
      const reason = limited ? `rate.certificates: ${(error as Error).message}` : `no certificate could be made for ${target.host} (${(error as Error).message})`;
      if (limited) this.#events.violation(network, reason, target, 'CONNECT', undefined);
      if (record) this.#events.refuse(network, target, 'CONNECT', undefined, { ok: false, status: limited ? 429 : 502, reason, decision: { allow: false, rule: limited ? 'rate.certificates' : 'internal', by: 'policy' } }, started);
      client.end(rawResponse(limited ? 429 : 502, limited ? 'Too Many Requests' : 'Bad Gateway', `Airlock gateway: ${reason}.\n`));
      return undefined;
    }
  }
}

/** A callback of the owner's: whatever it throws stays out of the request's handling. */
function guarded(callback: (url: string) => void): (url: string) => void {
  return (url) => {
    try {
      callback(url);
    } catch {
      // the screen capture it triggers is best-effort
    }
  };
}
