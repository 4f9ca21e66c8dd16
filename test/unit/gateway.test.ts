import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { duplexPair } from 'node:stream';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../main/core/audit/bus.js';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { systemClock } from '../../main/core/clock.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { buildPolicy } from '../../main/core/gateway/policy.js';
import { startRemotes } from '../helpers/remotes.js';

let remotes: Awaited<ReturnType<typeof startRemotes>>;
let gateway: Gateway;
let proxyPort: number;
const events: AirlockEvent[] = [];
const bus = new EventBus(systemClock);
bus.subscribe((e) => events.push(e));
const agent = { name: 'probe', digest: 'sha256:x' };

beforeAll(async () => {
  remotes = await startRemotes();
  gateway = new Gateway({ bus, clock: systemClock, resolve: remotes.resolve, dial: remotes.dial, approvalTimeoutMs: 300 });
  proxyPort = (await gateway.listen()).port;
});
afterAll(async () => {
  await gateway.close();
  await remotes.close();
});

let taskCounter = 0;
function task(policy: Partial<Parameters<typeof buildPolicy>[0]> = {}) {
  const id = `t_gatewaytest${++taskCounter}`;
  const credential = gateway.addTask({ task: id, agent, policy: buildPolicy({ mode: 'allowlist', allow: [], local: [], onUnknownHost: 'deny', ...policy }) });
  return { id, auth: `Basic ${Buffer.from(`${credential.user}:${credential.password}`).toString('base64')}`, credential };
}

/** A plain-HTTP request through the proxy, as curl sends it (absolute form). */
function viaProxy(url: string, auth: string | undefined, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxyPort, method, path: url, headers: { Host: new URL(url).host, ...(auth ? { 'Proxy-Authorization': auth } : {}) } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** CONNECT through the proxy; returns the proxy's answer and, when it said 200, the tunnel. */
function connect(authority: string, auth: string | undefined): Promise<{ status: number; head: string; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxyPort, '127.0.0.1', () => {
      socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth ? `Proxy-Authorization: ${auth}\r\n` : ''}\r\n`);
    });
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(buffered)?.[1]);
      if (status !== 200) {
        socket.on('data', (c: Buffer) => (buffered += c.toString()));
        socket.on('end', () => resolve({ status, head: buffered, socket }));
      } else resolve({ status, head: buffered, socket });
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

const ofTask = (id: string) => events.filter((e) => e.task === id);

describe('the egress gateway', () => {
  it('forwards plain HTTP to an allowed host and logs the request with its rule', async () => {
    const t = task({ allow: ['api.vendor.test'] });
    const res = await viaProxy('http://api.vendor.test/v1/invoices?page=2', t.auth);
    expect(res).toEqual({ status: 200, body: 'hello from api.vendor.test/v1/invoices?page=2 (GET)\n' });
    const logged = ofTask(t.id).find((e) => e.kind === 'net.request');
    expect(logged).toMatchObject({ actor: 'agent', decision: { allow: true, rule: 'allow:api.vendor.test', by: 'policy' }, data: { method: 'GET', host: 'api.vendor.test', port: 80, path: '/v1/invoices?page=2', status: 200 } });
    expect(Number(logged!.data.bytesDown)).toBeGreaterThan(0);
    expect(remotes.requests.at(-1)!.headers['proxy-authorization']).toBeUndefined();
  });

  it('tunnels TLS with CONNECT to an allowed host, untouched', async () => {
    const t = task({ allow: ['*.vendor.test'] });
    const tunnel = await connect('files.vendor.test:443', t.auth);
    expect(tunnel.status).toBe(200);
    const secure = tls.connect({ socket: tunnel.socket, servername: 'files.vendor.test', ca: fs.readFileSync(remotes.cert) });
    secure.write('GET /report HTTP/1.1\r\nHost: files.vendor.test\r\nConnection: close\r\n\r\n');
    let response = '';
    for await (const chunk of secure) response += (chunk as Buffer).toString();
    expect(response).toMatch(/hello from files\.vendor\.test\/report \(GET\)/);
    await new Promise((r) => setTimeout(r, 50));
    expect(ofTask(t.id).find((e) => e.kind === 'net.request')).toMatchObject({ decision: { rule: 'allow:*.vendor.test' }, data: { method: 'CONNECT', host: 'files.vendor.test', port: 443, status: 200 } });
  });

  it('refuses a host outside the allowlist with a 403 that says which rule and how to allow it', async () => {
    const t = task({ allow: ['api.vendor.test'] });
    const res = await viaProxy('http://other.test/exfiltrate', t.auth);
    expect(res.status).toBe(403);
    expect(res.body).toBe('Airlock refused other.test:80: other.test:80 is not in this task\'s allowlist.\nRule: allowlist.\nTo allow it: add "other.test" to network.allow in the manifest, or run with --net allow:other.test.\nTo ask for access: POST http://airlock.internal/v1/access-requests {"host":"other.test","reason":"<why this task needs it>"}\n');
    const tunnel = await connect('other.test:443', t.auth);
    expect(tunnel.status).toBe(403);
    expect(tunnel.head).toMatch(/Airlock refused other\.test:443/);
    const denied = ofTask(t.id).filter((e) => e.kind === 'net.denied');
    expect(denied.map((e) => e.data.port)).toEqual([80, 443]);
    expect(denied[0]).toMatchObject({ decision: { allow: false, rule: 'allowlist', by: 'default' }, data: { reason: 'other.test:80 is not in this task\'s allowlist' } });
  });

  it('matches *.domain to subdomains only, and a rule without a port to 80 and 443 only', async () => {
    const t = task({ allow: ['*.vendor.test', 'other.test:8443'] });
    expect((await viaProxy('http://vendor.test/', t.auth)).status).toBe(403);
    expect((await viaProxy('http://api.vendor.test:8080/', t.auth)).status).toBe(403);
    expect((await connect('other.test:443', t.auth)).status).toBe(403);
  });

  it.each([
    ['sneaky-loopback.test', /resolves to 127\.0\.0\.1, a loopback address/],
    ['sneaky-private.test', /resolves to 10\.1\.2\.3, a private-network address/],
    ['sneaky-metadata.test', /resolves to 169\.254\.169\.254, a link-local address/],
    ['sneaky-v6-loopback.test', /resolves to ::1, a loopback address/],
    ['sneaky-v6-linklocal.test', /resolves to fe80::1, a link-local address/],
    ['sneaky-v6-ula.test', /resolves to fd12:3456::1, an IPv6 unique-local address/],
    ['sneaky-mapped.test', /IPv4-mapped form of 169\.254\.169\.254/],
  ])('an allowlisted name that resolves to a non-public address (%s) is refused without a connection', async (name, reason) => {
    const t = task({ allow: [name] });
    const before = remotes.dialled.length;
    const res = await viaProxy(`http://${name}/`, t.auth);
    expect(res.status).toBe(403);
    expect(res.body).toMatch(reason);
    expect(remotes.dialled.length).toBe(before);
  });

  it('normalises numeric hosts in unusual spellings before matching, even in open mode', async () => {
    const t = task({ mode: 'open' });
    for (const spelled of ['2130706433', '0177.0.0.1', '0x7f.1', '127.1', '[::ffff:127.0.0.1]']) {
      const res = await viaProxy(`http://${spelled}/`, t.auth);
      expect(res.status, spelled).toBe(403);
      expect(res.body).toMatch(/Airlock refused (127\.0\.0\.1|\[::ffff:7f00:1\]):80: .*(loopback|IPv4-mapped)/);
    }
    expect((await viaProxy('http://api.vendor.test/', t.auth)).status).toBe(200);
  });

  it('a local rule opens exactly one host:port', async () => {
    const t = task({ local: [`devserver.test:${remotes.httpPort}`] });
    expect((await viaProxy(`http://devserver.test:${remotes.httpPort}/ok`, t.auth)).status).toBe(200);
    expect((await viaProxy(`http://devserver.test:${remotes.httpPort + 1}/`, t.auth)).status).toBe(403);
    expect((await viaProxy('http://devserver.test/', t.auth)).status).toBe(403);
  });

  it('requires this task\'s proxy credential; another task\'s does not work on its connection', async () => {
    const a = task({ allow: ['api.vendor.test'] });
    const b = task({ allow: ['api.vendor.test'] });
    expect((await viaProxy('http://api.vendor.test/', undefined)).status).toBe(407);
    expect((await viaProxy('http://api.vendor.test/', `Basic ${Buffer.from(`${a.id}:wrong`).toString('base64')}`)).status).toBe(407);
    // a connection that arrives through task b's endpoint, presenting task a's credential
    const [inside, outside] = duplexPair();
    gateway.acceptConnection(b.id, outside);
    inside.write(`GET http://api.vendor.test/ HTTP/1.1\r\nHost: api.vendor.test\r\nProxy-Authorization: ${a.auth}\r\nConnection: close\r\n\r\n`);
    let answer = '';
    for await (const chunk of inside) answer += (chunk as Buffer).toString();
    expect(answer).toMatch(/^HTTP\/1\.1 407/);
  });

  it('trips the request rate at the right count, with a 429 and a policy.violation', async () => {
    const t = task({ allow: ['api.vendor.test'], rate: { requestsPerMinute: 3 } });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await viaProxy('http://api.vendor.test/', t.auth)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(ofTask(t.id).filter((e) => e.kind === 'policy.violation')[0]).toMatchObject({ data: { rule: 'rate.requestsPerMinute' } });
  });

  it('trips the byte budget: the transfer that crosses it is cut, later requests get 429', async () => {
    const t = task({ allow: ['api.vendor.test'], rate: { bytes: 100_000 } });
    expect((await viaProxy('http://api.vendor.test/bytes/60000', t.auth)).status).toBe(200);
    await viaProxy('http://api.vendor.test/bytes/60000', t.auth).catch(() => ({ status: 0 }));
    expect((await viaProxy('http://api.vendor.test/', t.auth)).status).toBe(429);
    expect(ofTask(t.id).some((e) => e.kind === 'policy.violation' && e.data.rule === 'rate.bytes')).toBe(true);
  });

  it('asks about an unknown host: allow once, deny, and no answer in time denies', async () => {
    const t = task({ onUnknownHost: 'ask' });
    const stop = gateway.approvals.onRequest((request) => {
      if (request.task !== t.id) return;
      if (request.host === 'api.vendor.test') gateway.approvals.answer(request.id, 'once');
      if (request.host === 'files.vendor.test') gateway.approvals.answer(request.id, 'deny');
    });
    expect((await viaProxy('http://api.vendor.test/', t.auth)).status).toBe(200);
    expect((await viaProxy('http://files.vendor.test/', t.auth)).status).toBe(403);
    const started = Date.now();
    const unanswered = await viaProxy('http://other.test/', t.auth);
    expect(unanswered.status).toBe(403);
    expect(unanswered.body).toMatch(/nobody allowed other\.test:80 in time/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    stop();
    const decided = ofTask(t.id).filter((e) => e.kind === 'approval.decided').map((e) => [e.data.host, e.decision?.rule, e.decision?.by]);
    expect(decided).toEqual([['api.vendor.test', 'ask:once', 'user'], ['files.vendor.test', 'ask:deny', 'user'], ['other.test', 'ask:timeout', 'default']]);
    expect(ofTask(t.id).filter((e) => e.kind === 'approval.requested')).toHaveLength(3);
  });

  it('"this task" approval lasts for the task; "always" also asks the owner to update the manifest', async () => {
    const always: string[] = [];
    const id = 't_gatewaytest_always';
    const credential = gateway.addTask({ task: id, agent, policy: buildPolicy({ mode: 'allowlist', allow: [], local: [], onUnknownHost: 'ask' }), onAlways: (host) => always.push(host) });
    const auth = `Basic ${Buffer.from(`${credential.user}:${credential.password}`).toString('base64')}`;
    let asked = 0;
    const stop = gateway.approvals.onRequest((request) => {
      if (request.task !== id) return;
      asked += 1;
      gateway.approvals.answer(request.id, request.host === 'api.vendor.test' ? 'task' : 'always');
    });
    expect((await viaProxy('http://api.vendor.test/', auth)).status).toBe(200);
    expect((await viaProxy('http://api.vendor.test/again', auth)).status).toBe(200);
    expect((await viaProxy('http://files.vendor.test/', auth)).status).toBe(200);
    expect(asked).toBe(2);
    expect(always).toEqual(['files.vendor.test']);
    stop();
  });

  it('Node 24\'s own fetch works through it with NODE_USE_ENV_PROXY, for http:// (tunnelled) and refusals', async () => {
    const t = task({ allow: ['api.vendor.test'] });
    const script = `
      const ok = await fetch('http://api.vendor.test/from-node').then((r) => r.text());
      let refused;
      try { await fetch('http://other.test/'); } catch (e) { refused = [e.message, e.cause?.message, e.cause?.code, e.cause?.cause?.message].join(' | '); }
      console.log(JSON.stringify({ ok, refused }));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, NODE_USE_ENV_PROXY: '1', HTTP_PROXY: `http://${t.credential.user}:${t.credential.password}@127.0.0.1:${proxyPort}`, NO_PROXY: '' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const started = Date.now();
    const code = await new Promise((r) => child.on('close', r));
    expect(code).toBe(0);
    const result = JSON.parse(out);
    expect(result.ok).toBe('hello from api.vendor.test/from-node (GET)\n');
    expect(result.refused).toMatch(/403/);
    expect(Date.now() - started).toBeLessThan(5000); // answered, not retried at full speed
    expect(ofTask(t.id).filter((e) => e.kind === 'net.denied').length).toBeLessThanOrEqual(2);
  });

  it('plain HTTP goes out with the checked host in Host, whatever the client wrote there', async () => {
    const t = task({ allow: ['api.vendor.test'] });
    const res = await new Promise<number>((resolve, reject) => {
      http.request({ host: '127.0.0.1', port: proxyPort, path: 'http://api.vendor.test/fronted', headers: { Host: 'blocked.cdn.test', 'Proxy-Authorization': t.auth } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      }).on('error', reject).end();
    });
    expect(res).toBe(200);
    expect(remotes.requests.at(-1)).toMatchObject({ url: '/fronted', host: 'api.vendor.test' });
  });
});
