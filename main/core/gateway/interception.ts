import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Decision } from '../audit/events.js';
import type { Clock } from '../clock.js';
import { findPlaceholder } from '../credentials/placeholder.js';
import { forwardHeaders, terminateTls } from './intercept.js';
import { formatTarget, type Target } from './target.js';
import { isNavigation, tunnelUrl } from './browser.js';
import type { Admission, GatewayEvents, GatewayTask } from './task-state.js';

interface Intercepted {
  network: GatewayTask;
  target: Target;
  address: string;
  decision: Decision;
}

/**
 * Hosts a task holds a grant for: their TLS is terminated here (with a leaf from the task's CA),
 * each request is checked for a placeholder, given the real secret, and forwarded over verified TLS.
 */
export class Interception {
  readonly #events: GatewayEvents;
  readonly #clock: Clock;
  /** Decrypted connections: served by an HTTP server of their own. */
  readonly #server: http.Server;
  readonly #intercepted = new WeakMap<object, Intercepted>();

  constructor(events: GatewayEvents, clock: Clock) {
    this.#events = events;
    this.#clock = clock;
    this.#server = http.createServer({ keepAlive: true, requestTimeout: 0 });
    this.#server.on('request', (req, res) => void this.#onIntercepted(req, res));
    this.#server.on('clientError', (_error, socket) => socket.destroy());
  }

  close(): void {
    this.#server.closeAllConnections();
  }

  async intercept(network: GatewayTask, target: Target, admission: Extract<Admission, { ok: true }>, client: Duplex, head: Buffer, started: number): Promise<void> {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) client.unshift(head);
    const secure = await terminateTls(client, target.host, network.credentials!);
    secure.on('error', () => secure.destroy());
    this.#intercepted.set(secure, { network, target, address: admission.address, decision: admission.decision });
    secure.once('close', () => this.#events.requestEvent(network, target, 'CONNECT', undefined, 200, 0, 0, started, admission.decision, { intercepted: true }));
    this.#server.emit('connection', secure);
  }

  async #onIntercepted(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const context = this.#intercepted.get(req.socket);
    if (!context) {
      res.writeHead(500).end();
      return;
    }
    const { network, target, address } = context;
    const started = this.#clock.now();
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    // The Host inside the tunnel must be the host that was checked (and that any grant is for):
    // another name on the same server (a CDN, virtual hosting) is not what was allowed.
    const hostHeader = String(req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    if (hostHeader !== target.host) {
      this.#events.credentialEvent(network, 'cred.misuse', undefined, { method, host: target.host, port: target.port, path, reason: `Host: ${hostHeader || '(none)'} inside a tunnel to ${target.host}` });
      res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`Airlock refused this request: its Host (${hostHeader || 'none'}) is not ${target.host}, the host this connection was allowed for.\n`);
      return;
    }
    if (isNavigation(req.headers)) network.onNavigation?.(tunnelUrl(target, path));
    const headers = forwardHeaders(req.headers);
    let decision = context.decision;
    let identity: { grant: string; credential: string } | undefined;
    const decoy = network.decoys?.find(`${path}\n${JSON.stringify(req.headers)}`);
    if (decoy) {
      this.#events.decoyTouched(network, decoy, target, method, path);
      res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Airlock refused this request.\n');
      return;
    }
    const found = findPlaceholder(req.headers);
    if (found) {
      const authorization = await network.credentials!.authorize({ token: found.token, host: target.host, method, path });
      if (!authorization.ok) {
        this.#events.credentialEvent(network, authorization.kind, authorization.grant, { method, host: target.host, port: target.port, path, reason: authorization.reason });
        const refused: Decision = { allow: false, rule: `credential:${authorization.kind.slice(5)}`, by: 'policy' };
        this.#events.requestEvent(network, target, method, path, authorization.status, 0, 0, started, refused);
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
    const findDecoy = network.decoys?.streamFinder();
    req.on('data', (chunk: Buffer) => {
      const inBody = findDecoy?.(chunk);
      if (inBody) {
        this.#events.decoyTouched(network, inBody, target, method, path);
        upstream.destroy();
        if (!res.headersSent) res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Airlock refused this request.\n');
        return;
      }
      bytesUp += chunk.length;
      this.#events.countBytes(network, chunk.length, [req.socket]);
    });
    upstream.on('response', (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, forwardHeaders(upstreamRes.headers));
      upstreamRes.on('data', (chunk: Buffer) => {
        bytesDown += chunk.length;
        this.#events.countBytes(network, chunk.length, [req.socket]);
      });
      upstreamRes.pipe(res);
      upstreamRes.on('end', () => {
        this.#events.requestEvent(network, target, method, path, upstreamRes.statusCode ?? 502, bytesUp, bytesDown, started, decision, identity ? { intercepted: true } : { intercepted: true }, identity);
        if (identity) this.#events.credentialEvent(network, 'cred.used', { id: identity.grant, credential: identity.credential }, { method, host: target.host, port: target.port, path, status: upstreamRes.statusCode });
      });
    });
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' }).end(`Airlock gateway: ${formatTarget(target)} failed: ${error.message}\n`);
      else res.destroy();
      this.#events.requestEvent(network, target, method, path, 502, bytesUp, bytesDown, started, decision, { intercepted: true, error: error.message }, identity);
    });
    req.pipe(upstream);
  }
}
