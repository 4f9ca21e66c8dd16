import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import type { Decision } from '../audit/events.js';
import type { Clock } from '../clock.js';
import { normaliseHost } from '../host-pattern.js';
import { isNavigation, tunnelUrl } from './browser.js';
import { forward, type Refusal, type UpgradeTakeover } from './forwarding.js';
import { framingProblem } from './framing.js';
import { forwardHeaders, terminateTls } from './intercept.js';
import { answerClientError } from './refusal.js';
import { parseOriginForm } from './request-target.js';
import type { Found } from './secret-scanner.js';
import { authorizePlaceholders, findPlaceholders } from './substitution.js';
import { formatHost, type Target } from './target.js';
import type { Admission, GatewayEvents, GatewayTask } from './task-state.js';
import { gatewayServer } from './server.js';
import type { GatewayTimeouts, Watchdog } from './timeouts.js';
import type { Watched } from './watch-lists.js';
import { checkClientHandshake, type WebSocketOffer } from './websocket-handshake.js';
import { upgradeHeaders, webSocketTakeover } from './websocket.js';

/** A WebSocket handshake (an Upgrade request) being checked: the sandbox's connection, what followed its head. */
interface Upgrading {
  client: Duplex;
  head: Buffer;
  offer: WebSocketOffer;
}

interface Intercepted {
  network: GatewayTask;
  target: Target;
  address: string;
  decision: Decision;
}

/**
 * The refusal of a request that carried a decoy or a placeholder where it must not go (over plain
 * HTTP, anywhere; in an intercepted connection, to a host its grant does not cover); records why.
 */
export function watchedRefusal(events: GatewayEvents, network: GatewayTask, target: Target, method: string, path: string, found: Found<Watched>, where: { plain: boolean; part: 'head' | 'body' }): Refusal {
  if (found.tag.kind === 'decoy') {
    events.decoyTouched(network, found.tag.decoy, target, method, path);
    return { status: 403, reason: 'a decoy secret was in the request', decision: { allow: false, rule: 'decoy', by: 'policy' } };
  }
  const reason = where.plain
    ? `a credential placeholder sent over plain HTTP to ${formatHost(target)}:${target.port} (${found.form}, in the request ${where.part})`
    : found.tag.placeholder.covers(target.host, target.port)
      ? `a credential placeholder (${found.form}) in the request ${where.part} to ${formatHost(target)}:${target.port} where it is not swapped (only in a header value, a query value or a Basic password)`
      : `a credential placeholder (${found.form}) in the request ${where.part} to ${formatHost(target)}:${target.port}, which its grant does not cover`;
  events.credentialEvent(network, 'cred.misuse', undefined, { method, host: target.host, port: target.port, path, reason });
  return { status: 403, reason, decision: { allow: false, rule: 'credential:misuse', by: 'policy' } };
}

/** The request head as one text, for finding watched values in names, values and the target alike. */
export function requestHeadText(req: http.IncomingMessage, target: string, skipHeaders: ReadonlySet<string> = new Set()): string {
  const lines = [target];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (!skipHeaders.has(req.rawHeaders[i]!.toLowerCase())) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
  }
  return lines.join('\n');
}

/**
 * Hosts a task holds a grant for: their TLS is terminated here (with a leaf from the task's CA),
 * each request is checked — origin form, method, normalised path, framing, Host, every placeholder
 * — given the real secret, forwarded over verified TLS, and its response cleared of the secret.
 */
export class Interception {
  readonly #events: GatewayEvents;
  readonly #clock: Clock;
  readonly #watchdog: Watchdog;
  readonly #timeouts: GatewayTimeouts;
  /** Decrypted connections: served by an HTTP server of their own. */
  readonly #server: http.Server;
  readonly #intercepted = new WeakMap<object, Intercepted>();

  constructor(events: GatewayEvents, clock: Clock, watchdog: Watchdog, timeouts: GatewayTimeouts) {
    this.#events = events;
    this.#clock = clock;
    this.#watchdog = watchdog;
    this.#timeouts = timeouts;
    this.#server = gatewayServer(watchdog, timeouts);
    this.#server.on('request', (req, res) => void this.#onIntercepted(req, res).catch((error: unknown) => this.#internalError(req, res, error)));
    this.#server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(req, socket, head));
    // A CONNECT inside an intercepted tunnel (authority form): refused, not silently dropped.
    this.#server.on('connect', (req: http.IncomingMessage, socket: Duplex) => {
      const context = this.#intercepted.get(socket);
      if (context) this.#events.refuse(context.network, context.target, 'CONNECT', req.url ?? '', { ok: false, status: 405, reason: 'CONNECT inside an intercepted connection', decision: { allow: false, rule: 'request-target', by: 'policy' } }, this.#clock.now());
      answerClientError(socket, 405, 'CONNECT is not passed on inside an intercepted connection');
    });
    this.#server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
      const context = this.#intercepted.get(socket);
      answerClientError(socket, error, undefined, (status, reason) => {
        if (context) this.#events.refuse(context.network, context.target, '-', undefined, { ok: false, status, reason, decision: { allow: false, rule: 'malformed', by: 'policy' } }, this.#clock.now());
      });
    });
  }

  close(): void {
    this.#server.closeAllConnections();
  }

  async intercept(network: GatewayTask, target: Target, admission: Extract<Admission, { ok: true }>, client: Duplex, head: Buffer, context: tls.SecureContext, started: number): Promise<void> {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) client.unshift(head);
    const secure = terminateTls(client, context);
    secure.on('error', () => secure.destroy());
    this.#intercepted.set(secure, { network, target, address: admission.address, decision: admission.decision });
    secure.once('close', () => this.#events.requestEvent(network, target, 'CONNECT', undefined, 200, 0, 0, started, admission.decision, { intercepted: true }));
    this.#server.emit('connection', secure);
  }

  #internalError(req: http.IncomingMessage, res: http.ServerResponse, error: unknown): void {
    const context = this.#intercepted.get(req.socket);
    const reason = `Airlock could not handle this request (${(error as Error)?.message ?? String(error)})`;
    if (context) this.#events.refuse(context.network, context.target, req.method ?? '-', req.url, { ok: false, status: 500, reason, decision: { allow: false, rule: 'internal', by: 'policy' } }, this.#clock.now());
    if (!res.headersSent && !res.destroyed) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' }).end(`Airlock gateway: ${reason}.\n`);
    else res.destroy();
  }

  /**
   * An Upgrade request: refused unless it is a clean WebSocket handshake, then checked and given the
   * secret as any request is (#onIntercepted), its answers written through a response of its own.
   */
  #onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.pause();
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as net.Socket);
    res.once('finish', () => socket.end());
    const handshake = checkClientHandshake(req);
    if (handshake.ok) {
      void this.#onIntercepted(req, res, { client: socket, head, offer: handshake.offer }).catch((error: unknown) => this.#internalError(req, res, error));
      return;
    }
    const context = this.#intercepted.get(socket);
    if (context) this.#events.refuse(context.network, context.target, req.method ?? '-', req.url, { ok: false, status: handshake.status, reason: handshake.reason, decision: { allow: false, rule: 'websocket', by: 'policy' } }, this.#clock.now());
    res.writeHead(handshake.status, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close', ...(handshake.status === 426 ? { 'Sec-WebSocket-Version': '13' } : {}) }).end(`Airlock refused this request: ${handshake.reason}.\n`);
  }

  /** What the forwarded handshake needs besides an ordinary request's: its upgrade headers, the takeover; or why not. */
  #webSocket(network: GatewayTask, target: Target, path: string, upgrading: Upgrading, headers: http.OutgoingHttpHeaders, scanner: ReturnType<GatewayTask['watch']['requestScanner']>, refuseFound: (found: Found<Watched>) => Refusal): { takeover: UpgradeTakeover } | { limited: string } {
    const limited = network.limits.streamLimit();
    if (limited) return { limited };
    Object.assign(headers, upgradeHeaders(upgrading.offer));
    const reflect = network.watch.responseScanner();
    const closeStream = network.limits.openStream();
    return { takeover: webSocketTakeover({ network, target, path, client: upgrading.client, clientHead: upgrading.head, offer: upgrading.offer, requestScanner: scanner, refuseFound, reflect, closeStream }, { events: this.#events, watchdog: this.#watchdog, timeouts: this.#timeouts }) };
  }

  async #onIntercepted(req: http.IncomingMessage, res: http.ServerResponse, upgrading?: Upgrading): Promise<void> {
    const context = this.#intercepted.get(req.socket);
    if (!context) {
      res.writeHead(500, { Connection: 'close' }).end();
      return;
    }
    const { network, target, address } = context;
    const started = this.#clock.now();
    const method = req.method ?? 'GET';
    const refuse = (status: number, reason: string, rule: string, path = req.url): void => {
      this.#events.refuse(network, target, method, path, { ok: false, status, reason, decision: { allow: false, rule, by: 'policy' } }, started);
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' }).end(`Airlock refused this request: ${reason}.\n`);
    };
    // TRACE echoes the request back: with a secret in it, that is the secret handed to the sandbox.
    if (method === 'TRACE') return refuse(405, 'TRACE echoes the request back, so it is not passed on to a host Airlock holds a credential for', 'method');
    const origin = parseOriginForm(req.url ?? '');
    if (!origin.ok) return refuse(400, origin.reason, 'request-target');
    // Each request in a tunnel counts against the task's rate and byte budget, as one outside does.
    const limited = network.limits.admitRequest();
    if (limited) {
      this.#events.violation(network, limited, target, method, origin.path);
      return refuse(429, limited, limited.split(':')[0]!, origin.path);
    }
    const framing = framingProblem(req);
    if (framing) return refuse(framing.status, framing.reason, 'framing');
    // The Host inside the tunnel must be the host that was checked (and that any grant is for):
    // another name on the same server (a CDN, virtual hosting) is not what was allowed.
    const hostHeader = String(req.headers.host ?? '');
    const hostMatch = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(hostHeader);
    const named = hostMatch ? normaliseHost(hostMatch[1]!) : undefined;
    if (!named || named.host !== target.host || (hostMatch![2] !== undefined && Number(hostMatch![2]) !== target.port)) {
      const reason = `its Host (${hostHeader || 'none'}) is not ${formatHost(target)}:${target.port}, the host this connection was allowed for`;
      this.#events.credentialEvent(network, 'cred.misuse', undefined, { method, host: target.host, port: target.port, path: origin.path, reason: `Host: ${hostHeader || '(none)'} inside a tunnel to ${target.host}` });
      return refuse(421, reason, 'host', origin.path);
    }
    if (isNavigation(req.headers)) network.onNavigation?.(tunnelUrl(target, origin.path));
    // A model call once a budget it counts against is spent: refused before it goes upstream.
    const spend = network.spend?.admit({ host: target.host, port: target.port, method, path: origin.decodedPath });
    if (spend && 'refused' in spend) {
      const { status, reason, rule, body } = spend.refused;
      this.#events.refuse(network, target, method, origin.path, { ok: false, status, reason, decision: { allow: false, rule, by: 'policy' } }, started);
      res.writeHead(status, { 'Content-Type': 'application/json', Connection: 'close' }).end(body);
      return;
    }

    // Placeholders in header values, query values and a Basic password are verified and swapped
    // below; anywhere else in the head, in any encoding, any placeholder is misuse, as is a decoy.
    // In the body, one whose grant covers this host is passed on (it is worthless there).
    const placeholders = findPlaceholders(req, origin.query);
    let query = placeholders.query;
    let shownQuery = query;
    const scanner = network.watch.requestScanner(target, true);
    const headScanner = network.watch.requestScanner(target, false);
    const inHead = headScanner.empty ? undefined : headScanner.find(requestHeadText(req, `${origin.path}${query !== undefined ? `?${query}` : ''}`, placeholders.removed));
    if (inHead) {
      const refusal = watchedRefusal(this.#events, network, target, method, origin.path, inHead, { plain: false, part: 'head' });
      return refuse(refusal.status, refusal.reason, refusal.decision.rule, origin.path);
    }
    const headers = forwardHeaders(req.headers);
    let decision = context.decision;
    let substituted: { grant: string; credential: string }[] = [];
    if (placeholders.tokens.size > 0 || placeholders.misplaced) {
      const substitution = network.credentials
        ? await authorizePlaceholders(network.credentials, placeholders, target, method, origin.decodedPath)
        : { ok: false as const, status: 403 as const, kind: 'cred.misuse' as const, reason: 'a placeholder, but this task holds no credentials', grant: undefined };
      if (!substitution.ok) {
        this.#events.credentialEvent(network, substitution.kind, substitution.grant, { method, host: target.host, port: target.port, path: origin.path, reason: substitution.reason });
        return refuse(substitution.status, substitution.reason, `credential:${substitution.kind.slice(5)}`, origin.path);
      }
      for (const name of placeholders.removed) delete headers[name];
      Object.assign(headers, substitution.set);
      ({ query, shownQuery } = substitution);
      substituted = substitution.grants;
      if (substituted[0]) decision = { allow: true, rule: `grant:${substituted[0].credential}`, by: 'policy' };
    }
    headers.host = target.port === 443 ? formatHost(target) : `${formatHost(target)}:${target.port}`;
    const path = `${origin.path}${query !== undefined ? `?${query}` : ''}`;
    const refuseFound = (found: Found<Watched>) => watchedRefusal(this.#events, network, target, method, origin.path, found, { plain: false, part: 'body' });
    const webSocket = upgrading ? this.#webSocket(network, target, origin.path, upgrading, headers, scanner, refuseFound) : undefined;
    if (webSocket && 'limited' in webSocket) {
      this.#events.violation(network, webSocket.limited, target, method, origin.path);
      return refuse(429, webSocket.limited, 'rate.streams', origin.path);
    }
    // forward() gives the stream's slot back when the exchange ends; if it throws, here.
    await forward({
      network, target, method, path: origin.path, req, res, started, decision, headers,
      ...(substituted[0] ? { identity: substituted[0] } : {}),
      // The query as sent, but a secret placed in it is written [redacted:<credential>].
      extra: { intercepted: true, ...(webSocket ? { ws: true } : {}), ...(shownQuery !== undefined ? { query: shownQuery } : {}) },
      open: (framed) => https.request({ host: address, port: target.port, ...(target.kind === 'name' ? { servername: target.host } : {}), method, path, headers: framed, agent: network.tlsAgent }),
      ...(scanner.empty ? {} : { bodyCheck: { scanner, refuse: refuseFound } }),
      ...(network.watch.responseScanner() ? { reflect: network.watch.responseScanner()! } : {}),
      ...(webSocket ? { upgrade: webSocket.takeover } : {}),
      ...(spend ? { meter: spend.meter } : {}),
      onSent: (status) => {
        for (const grant of substituted) this.#events.credentialEvent(network, 'cred.used', { id: grant.grant, credential: grant.credential }, { method, host: target.host, port: target.port, path: origin.path, status });
      },
    }, { events: this.#events, watchdog: this.#watchdog, timeouts: this.#timeouts }).catch((error: unknown) => {
      webSocket?.takeover.release();
      throw error;
    });
  }
}
