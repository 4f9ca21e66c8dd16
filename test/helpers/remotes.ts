import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { Dialer, Resolver } from '../../main/core/gateway/gateway.js';
import { tempDir } from './env.js';

/**
 * Pretend remote hosts: local HTTP and HTTPS servers that the gateway reaches through an injected
 * resolver and dialer. Names end in `.test`; the "public" addresses they resolve to are never
 * dialled for real — the dialer maps them to loopback ports and refuses anything else.
 */
export async function startRemotes() {
  const dir = tempDir('airlock-remotes-');
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=api.vendor.test', '-addext', 'subjectAltName=DNS:api.vendor.test,DNS:files.vendor.test', '-keyout', key, '-out', cert], { stdio: 'ignore' });

  const requests: { method: string; url: string; host: string; headers: http.IncomingHttpHeaders }[] = [];
  const handler: http.RequestListener = (req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', host: req.headers.host ?? '', headers: req.headers });
    const size = /^\/bytes\/(\d+)$/.exec(req.url ?? '');
    if (size) {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size[1] });
      res.end(Buffer.alloc(Number(size[1]), 7));
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(`hello from ${req.headers.host}${req.url} (${req.method}${body ? ` ${body}` : ''})\n`);
    });
  };
  const httpServer = http.createServer(handler);
  const httpsServer = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, handler);
  const listen = (server: net.Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  const httpPort = await listen(httpServer);
  const httpsPort = await listen(httpsServer);

  // "Public" addresses the names resolve to, and where they really lead (only ever loopback).
  const PUBLIC = '34.120.0.10';
  const names: Record<string, string[]> = {
    'api.vendor.test': [PUBLIC],
    'files.vendor.test': [PUBLIC],
    'other.test': [PUBLIC],
    'sneaky-loopback.test': ['127.0.0.1'],
    'sneaky-private.test': ['10.1.2.3'],
    'sneaky-metadata.test': ['169.254.169.254'],
    'sneaky-v6-loopback.test': ['::1'],
    'sneaky-v6-linklocal.test': ['fe80::1'],
    'sneaky-v6-ula.test': ['fd12:3456::1'],
    'sneaky-mapped.test': ['::ffff:169.254.169.254'],
    'devserver.test': ['127.0.0.1'],
  };
  const routes = new Map<string, number>([[`${PUBLIC}:80`, httpPort], [`${PUBLIC}:443`, httpsPort], [`127.0.0.1:${httpPort}`, httpPort]]);
  const dialled: string[] = [];
  const resolve: Resolver = async (host) => {
    const found = names[host];
    if (!found) throw Object.assign(new Error(`${host} not found`), { code: 'ENOTFOUND' });
    return found;
  };
  const dial: Dialer = (address, port) => new Promise<Duplex>((ok, fail) => {
    dialled.push(`${address}:${port}`);
    const local = routes.get(`${address}:${port}`);
    if (local === undefined) {
      fail(new Error(`test dialer: ${address}:${port} is not a test host`));
      return;
    }
    const socket = net.connect(local, '127.0.0.1', () => ok(socket));
    socket.once('error', fail);
  });
  return {
    httpPort, httpsPort, cert, requests, dialled, resolve, dial, PUBLIC,
    close: () => Promise.all([httpServer, httpsServer].map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); }))),
  };
}
