import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import zlib from 'node:zlib';
import type { Dialer, Resolver } from '../../main/core/gateway/gateway.js';
import { tempDir } from './env.js';

/** What an upstream received: each request as a server read it, and every byte as it arrived. */
export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * Upstreams under the test's control, reached through an injected resolver and dialer (nothing
 * leaves this machine): `echo.vendor.test` (HTTPS, port 443) and `plain.vendor.test` (HTTP, port
 * 80) answer with what they received — reflected as the path asks (`/reflect/base64`, `/gzip`, …) —
 * and record every byte; any other `*.vendor.test` name (443: TLS, 80: plain) is `hostile`, whose
 * answer the test writes raw on the socket (`upstream.hostile = (socket, head) => …`).
 */
export async function startHostileUpstream(extraNames: Record<string, string> = {}) {
  const dir = tempDir('airlock-hostile-');
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=vendor.test', '-addext', 'subjectAltName=DNS:*.vendor.test,DNS:vendor.test', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const credentials = { cert: fs.readFileSync(cert), key: fs.readFileSync(key) };

  const received: Received[] = [];
  /** Every byte each upstream connection received, decrypted, as one text per connection. */
  const raw: string[] = [];
  const echo: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('latin1') };
      received.push(entry);
      reflect(req, res, JSON.stringify(entry));
    });
  };
  const echoServer = https.createServer(credentials, echo);
  echoServer.on('secureConnection', (socket: tls.TLSSocket) => {
    const index = raw.push('') - 1;
    socket.on('data', (d: Buffer) => (raw[index] += d.toString('latin1')));
  });
  const plainServer = http.createServer(echo);

  let hostile: (socket: Duplex, head: string) => void = (socket) => socket.end('HTTP/1.1 204 No Content\r\n\r\n');
  /** Hostile connections still open: a test can wait for the gateway to close one. */
  const hostileOpen = new Set<Duplex>();
  /** What the plain hostile server says first, before the client sends anything (as SMTP or SSH servers do). */
  let greeting: string | undefined;
  const onHostile = (socket: Duplex) => {
    hostileOpen.add(socket);
    if (greeting !== undefined && !(socket instanceof tls.TLSSocket)) socket.write(greeting);
    socket.once('close', () => hostileOpen.delete(socket));
    socket.on('error', () => socket.destroy());
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      hostile(socket, head);
    };
    socket.on('data', onData);
  };
  const hostileServer = tls.createServer(credentials, onHostile);
  const hostilePlainServer = net.createServer(onHostile);
  const listen = (server: net.Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  const ports = { echo: await listen(echoServer), plain: await listen(plainServer), hostile: await listen(hostileServer), hostilePlain: await listen(hostilePlainServer) };

  // "Public" addresses (never dialled for real: the dialer maps them to loopback ports).
  const ECHO = '34.120.1.10';
  const HOSTILE = '34.120.1.20';
  const names: Record<string, string> = { 'echo.vendor.test': ECHO, 'plain.vendor.test': ECHO, 'other.vendor.test': ECHO, ...extraNames };
  const routes = new Map([[`${ECHO}:443`, ports.echo], [`${ECHO}:80`, ports.plain], [`${HOSTILE}:443`, ports.hostile], [`${HOSTILE}:80`, ports.hostilePlain]]);
  const resolve: Resolver = async (host) => {
    if (names[host]) return [names[host]];
    if (host.endsWith('.vendor.test')) return [HOSTILE];
    throw Object.assign(new Error(`${host} not found`), { code: 'ENOTFOUND' });
  };
  const servers: net.Server[] = [echoServer, plainServer, hostileServer, hostilePlainServer];
  const connections = new Set<net.Socket>();
  for (const server of servers) {
    server.on('connection', (socket: net.Socket) => {
      connections.add(socket);
      socket.once('close', () => connections.delete(socket));
    });
  }
  const dial: Dialer = (address, port) => new Promise<Duplex>((ok, fail) => {
    const local = routes.get(`${address}:${port}`);
    if (local === undefined) return fail(new Error(`test dialer: ${address}:${port} is not a test host`));
    const socket = net.connect(local, '127.0.0.1', () => ok(socket));
    socket.once('error', fail);
  });
  return {
    cert, received, raw, resolve, dial, hostileOpen,
    set hostile(behaviour: (socket: Duplex, head: string) => void) {
      hostile = behaviour;
    },
    set greeting(text: string | undefined) {
      greeting = text;
    },
    close: () => Promise.all(servers.map((s) => new Promise((r) => {
      for (const socket of hostileOpen) socket.destroy();
      // Every connection, also one still in its TLS handshake, or close() waits for it to time out.
      for (const socket of connections) socket.destroy();
      s.close(r);
    }))),
  };
}

/** The echo, reflected as the request's path asks: as is, encoded, compressed, or in a header. */
function reflect(req: http.IncomingMessage, res: http.ServerResponse, echo: string): void {
  const how = /\/reflect\/([a-z0-9-]+)/.exec(req.url ?? '')?.[1] ?? 'raw';
  const authorization = String(req.headers.authorization ?? req.headers['x-api-key'] ?? '');
  const send = (body: Buffer | string, headers: http.OutgoingHttpHeaders = {}): void => {
    res.writeHead(200, { 'Content-Type': 'text/plain', ...headers }).end(body);
  };
  switch (how) {
    case 'base64': return send(Buffer.from(echo).toString('base64'));
    case 'base64url': return send(Buffer.from(`..${echo}`).toString('base64url'));
    case 'hex': return send(Buffer.from(echo).toString('hex').toUpperCase());
    case 'percent': return send([...Buffer.from(authorization)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''));
    case 'basic': return send(`Authorization: Basic ${Buffer.from(`user:${authorization.replace(/^Bearer /, '')}`).toString('base64')}`);
    case 'header': return send('see the header', { 'X-Echo': authorization, 'Set-Cookie': [`a=${Buffer.from(authorization).toString('base64')}`, 'b=1'] });
    case 'gzip': return send(zlib.gzipSync(echo), { 'Content-Encoding': 'gzip' });
    case 'br': return send(zlib.brotliCompressSync(echo), { 'Content-Encoding': 'br' });
    case 'deflate-gzip': return send(zlib.gzipSync(zlib.deflateSync(echo)), { 'Content-Encoding': 'deflate, gzip' });
    case 'compress': return send(echo, { 'Content-Encoding': 'compress' });
    case 'split': {
      // One byte per write, each its own TLS record: the secret arrives in pieces.
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(echo) });
      const bytes = Buffer.from(echo);
      let i = 0;
      const next = () => {
        if (i >= bytes.length) return void res.end();
        res.write(bytes.subarray(i, i + 1));
        i += 1;
        setImmediate(next);
      };
      return next();
    }
    default: return send(echo);
  }
}
