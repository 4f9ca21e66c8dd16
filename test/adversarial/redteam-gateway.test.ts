// Red team: a hostile sandbox against the real gateway (hostile peer, real code, injected
// upstreams). Each test is an attack that succeeds on issue 12's code: it fails until fixed.
import net from 'node:net';
import zlib from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import { exchange, request, tlsThrough } from '../helpers/gateway-client.js';
import { gatewayUnderAttackForFile, type GatewayUnderAttack, SECRET } from '../helpers/gateway-under-attack.js';

let attack: GatewayUnderAttack;
const crashes = gatewayUnderAttackForFile((started) => (attack = started));

let mark = 0;
beforeEach(() => {
  mark = attack.upstream.received.length;
});
/** The method and target of each upstream request since the test began that carried the real secret. */
function requestsCarrying(secret: string): string[] {
  return attack.upstream.received.slice(mark).filter((r) => JSON.stringify(r).includes(secret)).map((r) => `${r.method} ${r.url}`);
}

/** Raw bytes on a fresh connection to the gateway; everything that comes back until it closes. */
function rawExchange(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text));
  });
}

describe('red team: a grant\'s pathPrefix', () => {
  it('a `..;` segment (read as `..` by Tomcat, Jetty, Spring) does not carry the secret outside the prefix', async () => {
    const t = await attack.task({ grants: [{ pathPrefix: '/v1/invoices/' }] });
    // Java servlet containers strip `;params` from each segment before resolving dot-segments:
    // /v1/invoices/..;/admin is /v1/admin there. Airlock checks it as a segment named `..;`.
    const attempts = ['/v1/invoices/..;/admin', '/v1/invoices/..;x=1/..;/admin', '/v1/invoices/%2e%2e;/admin', '/v1/invoices/.;/..;/..;/root'];
    const statuses: number[] = [];
    for (const path of attempts) {
      const secure = await tlsThrough(attack.port, t.auth, 'echo.vendor.test', t.ca);
      statuses.push((await request(secure, { path, headers: { Host: 'echo.vendor.test', Authorization: `Bearer ${t.env.VENDOR_TOKEN}`, Connection: 'close' } })).status);
    }
    expect(requestsCarrying(SECRET)).toEqual([]);
    expect(statuses.every((s) => s === 400 || s === 403)).toBe(true);
    expect(t.of('net.denied')).toHaveLength(attempts.length);
    expect(crashes.failures).toEqual([]);
  });
});

describe('red team: the task\'s request rate', () => {
  it('holds for requests inside an intercepted tunnel (one CONNECT, many keep-alive requests)', async () => {
    const t = await attack.task({ grants: [{}], rate: { requestsPerMinute: 5 } });
    // One CONNECT counts once; then twenty requests on the kept-alive TLS connection (pipelined).
    const secure = await tlsThrough(attack.port, t.auth, 'echo.vendor.test', t.ca);
    const requests = Array.from({ length: 20 }, (_, i) => `GET /v1/n${i} HTTP/1.1\r\nHost: echo.vendor.test\r\nAuthorization: Bearer ${t.env.VENDOR_TOKEN}\r\n${i === 19 ? 'Connection: close\r\n' : ''}\r\n`).join('');
    const answers = await exchange(secure, requests);
    const statuses = [...answers.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    // At most five requests a minute, the CONNECT among them: the rest never reach the upstream.
    expect(requestsCarrying(SECRET).length).toBeLessThanOrEqual(4);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(4);
    expect(t.of('policy.violation').map((e) => e.data.rule)).toContain('rate.requestsPerMinute');
  });
});

describe('red team: memory an agent can make Airlock spend', () => {
  it('compressed request bodies (gzip bombs) on concurrent connections do not make Airlock hold gigabytes', async () => {
    // A task holding a proxy grant: every plain-HTTP body is scanned for its placeholder, and a
    // compressed one is read whole and decompressed first (up to 8 MiB in, 64 MiB out, per request).
    const t = await attack.task({ grants: [{}] });
    const bomb = zlib.gzipSync(Buffer.alloc(63 * 1024 * 1024)); // ~64 KiB on the wire
    const head = Buffer.from(`POST http://plain.vendor.test/upload HTTP/1.1\r\nHost: plain.vendor.test\r\nProxy-Authorization: ${t.auth}\r\nContent-Encoding: gzip\r\nContent-Length: ${bomb.length}\r\nConnection: close\r\n\r\n`);
    const before = process.memoryUsage().arrayBuffers;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 10);
    // 16 connections: well under the 128 a task may hold through its relay. ~1 MiB sent in all.
    const answers = await Promise.all(Array.from({ length: 16 }, () => rawExchange(attack.port, Buffer.concat([head, bomb]))));
    clearInterval(sampler);
    const grewMiB = (peak - before) / 2 ** 20;
    // The relay's own bound is ~32 MiB a task; a request body's inspection should be bounded per task too.
    expect(grewMiB).toBeLessThan(256);
    expect(answers.every((a) => /^HTTP\/1\.1 \d{3}/.test(a))).toBe(true);
    expect(crashes.failures).toEqual([]);
  }, 60_000);
});
