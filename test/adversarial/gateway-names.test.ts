// Names are checked before they are trusted: a hostile sandbox against the real gateway (hostile
// peer, real code, upstreams under the test's control). The server behind every other
// `*.vendor.test` name is one TLS server with many virtual hosts: which one a connection reached
// is the server name (SNI) it was asked for.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../main/core/audit/bus.js';
import { systemClock } from '../../main/core/clock.js';
import { allowHostAlways } from '../../main/core/policy/approval.js';
import { AgentRegistry } from '../../main/core/policy/registry.js';
import { tempDir } from '../helpers/env.js';
import { connectThrough, exchange } from '../helpers/gateway-client.js';
import { answerByServerName, tlsThroughTunnel } from '../helpers/virtual-hosts.js';
import { gatewayUnderAttackForFile, TEST_TIMEOUTS, type GatewayUnderAttack } from '../helpers/gateway-under-attack.js';
import { clientHelloMessage, inRecords } from '../helpers/tls-hello.js';

let attack: GatewayUnderAttack;
const crashes = gatewayUnderAttackForFile((started) => (attack = started));

/** The virtual host each connection to the many-named server reached, by its SNI. */
let reached: string[] = [];
beforeAll(() => {
  reached = answerByServerName(attack);
});

const UNRECOGNIZED_NAME = '\x15\x03\x03\x00\x02\x02\x70';
const ACCESS_DENIED = '\x15\x03\x03\x00\x02\x02\x31';
const tick = () => new Promise((resolve) => setTimeout(resolve, 30));

const tlsVia = (t: { auth: string }, authority: string, servername: string | undefined) => tlsThroughTunnel(attack, t.auth, authority, servername);

/** Raw bytes into a plain tunnel to `authority`: everything that came back until it closed. */
async function rawTunnel(t: { auth: string }, authority: string, chunks: Buffer[], beforeClose?: () => Promise<void>): Promise<string> {
  const { status, socket } = await connectThrough(attack.port, t.auth, authority);
  expect(status).toBe(200);
  const answer = exchange(socket, chunks[0]!);
  for (const chunk of chunks.slice(1)) {
    await tick();
    socket.write(chunk);
  }
  await beforeClose?.();
  return answer;
}

describe('the server name of a plain CONNECT', () => {
  it('a ClientHello that names another virtual host than the CONNECT is refused (TLS alert, event); the allowed one is served', async () => {
    const t = await attack.task({ allow: ['shop.vendor.test'] });
    expect(await tlsVia(t, 'shop.vendor.test:443', 'admin.vendor.test')).toMatch(/^error: .*unrecognized name/i);
    expect(await tlsVia(t, 'shop.vendor.test:443', 'ADMIN.Vendor.Test.')).toMatch(/^error:/);
    expect(await tlsVia(t, 'shop.vendor.test:443', undefined)).toMatch(/^error:/); // no SNI: the server's default site
    expect(reached).not.toContain('admin.vendor.test');
    expect(reached).not.toContain('(none)');
    expect(t.of('net.denied').map((e) => e.decision?.rule)).toEqual(['tls.sni', 'tls.sni', 'tls.sni']);
    expect(t.of('net.denied')[0]!.data.reason).toMatch(/names another server \(SNI "admin\.vendor\.test"\)/);
    // Case and a trailing dot are the same name; the tunnel still works for what was allowed.
    expect(await tlsVia(t, 'shop.vendor.test:443', 'Shop.Vendor.Test')).toContain('vhost=Shop.Vendor.Test');
    expect(await tlsVia(t, 'shop.vendor.test:443', 'shop.vendor.test')).toContain('vhost=shop.vendor.test');
    expect(t.of('net.denied')).toHaveLength(3);
    expect(crashes.failures).toEqual([]);
  });

  it('an IP-literal CONNECT carries no server name: one that names a virtual host is refused', async () => {
    const t = await attack.task({ allow: ['34.120.1.20'] });
    expect(await tlsVia(t, '34.120.1.20:443', 'admin.vendor.test')).toMatch(/^error:/);
    expect(await tlsVia(t, '34.120.1.20:443', undefined)).toContain('vhost=(none)');
    expect(t.of('net.denied').map((e) => e.decision?.rule)).toEqual(['tls.sni']);
  });

  it('Encrypted ClientHello (which would hide the name) is refused, even with the right outer name', async () => {
    const t = await attack.task({ allow: ['shop.vendor.test'] });
    const hello = inRecords(clientHelloMessage({ serverName: 'shop.vendor.test', extensions: [[0xfe0d, Buffer.from([0, 0, 1, 0, 1, 1, 0, 0])]] }));
    expect(await rawTunnel(t, 'shop.vendor.test:443', [hello])).toBe(ACCESS_DENIED);
    expect(t.of('net.denied').map((e) => e.decision?.rule)).toEqual(['tls.ech']);
  });

  it('a ClientHello split into one-byte records and trickled in small writes is read whole: the wrong name is still refused', async () => {
    const t = await attack.task({ allow: ['shop.vendor.test'] });
    const hello = inRecords(clientHelloMessage({ serverName: 'admin.vendor.test' }), 1);
    const chunks = Array.from({ length: Math.ceil(hello.length / 97) }, (_, i) => hello.subarray(i * 97, (i + 1) * 97));
    expect(await rawTunnel(t, 'shop.vendor.test:443', chunks)).toBe(UNRECOGNIZED_NAME);
    expect(t.of('net.denied').map((e) => e.decision?.rule)).toEqual(['tls.sni']);
  });

  it('a server that speaks first (port 80, not TLS): a client silent past the ClientHello limit keeps its tunnel', async () => {
    const t = await attack.task({ allow: ['mail.vendor.test:80'] });
    attack.upstream.greeting = '220 mail.vendor.test ready\r\n';
    try {
      // Read raw: the greeting may come in the same packet as the CONNECT's answer.
      const socket = net.connect(attack.port, '127.0.0.1', () => socket.write(`CONNECT mail.vendor.test:80 HTTP/1.1\r\nHost: mail.vendor.test:80\r\nProxy-Authorization: ${t.auth}\r\n\r\n`));
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      const closed = new Promise((resolve) => socket.once('close', resolve));
      while (!text.includes('220')) await tick();
      attack.clock.advance(TEST_TIMEOUTS.clientHelloMs + 1_000); // the client reads the greeting, thinks, then speaks
      await tick();
      socket.write('EHLO sandbox\r\n\r\n');
      await closed;
      // The server's answer to what the client finally sent (this file's upstream names what it was asked for).
      expect(text).toMatch(/^HTTP\/1\.1 200 [^]*\r\n\r\n220 mail\.vendor\.test ready\r\nHTTP\/1\.1 200 OK[^]*vhost=\(none\)$/);
      expect(t.of('net.denied')).toEqual([]);
    } finally {
      attack.upstream.greeting = undefined;
    }
  });

  it('a huge ClientHello, a malformed one, plain HTTP on 443 and a hello that never completes are refused and logged', async () => {
    const t = await attack.task({ allow: ['shop.vendor.test'] });
    const huge = inRecords(clientHelloMessage({ serverName: 'shop.vendor.test', extensions: [[0x0015, Buffer.alloc(40_000)]] }));
    expect(await rawTunnel(t, 'shop.vendor.test:443', [huge])).toBe(ACCESS_DENIED);
    const twoNames = clientHelloMessage({ serverName: 'shop.vendor.test', extensions: [[0x0000, Buffer.from([0, 5, 0, 0, 2, 0x61, 0x62])]] });
    expect(await rawTunnel(t, 'shop.vendor.test:443', [inRecords(twoNames)])).toBe(ACCESS_DENIED);
    expect(await rawTunnel(t, 'shop.vendor.test:443', [Buffer.from('GET / HTTP/1.1\r\nHost: admin.vendor.test\r\n\r\n')])).toMatch(/^HTTP\/1\.1 403/);
    const half = inRecords(clientHelloMessage({ serverName: 'shop.vendor.test' })).subarray(0, 40);
    expect(await rawTunnel(t, 'shop.vendor.test:443', [half], async () => {
      await tick();
      attack.clock.advance(TEST_TIMEOUTS.clientHelloMs + 1_000);
    })).toBe(ACCESS_DENIED);
    expect(t.of('net.denied').map((e) => e.decision?.rule)).toEqual(['tls.malformed', 'tls.malformed', 'tls.required', 'tls.timeout']);
    expect(reached).not.toContain('admin.vendor.test');
    // Airlock kept working: the next tunnel is served.
    expect(await tlsVia(t, 'shop.vendor.test:443', 'shop.vendor.test')).toContain('vhost=shop.vendor.test');
    expect(crashes.failures).toEqual([]);
  });
});

describe('hostile host names', () => {
  const hostile = [
    'a_b.vendor.test', '-x.vendor.test', 'x-.vendor.test', `${'a'.repeat(64)}.vendor.test`,
    `${`${'a'.repeat(60)}.`.repeat(4)}vendor.test`, '*.vendor.test', '%2A.vendor.test', 'a%20b.vendor.test',
  ];

  it('a CONNECT or a URL naming one is refused with 400 before any rule matches, and logged', async () => {
    const t = await attack.task({ allow: ['*.vendor.test'] });
    const statuses: number[] = [];
    for (const host of hostile) statuses.push((await connectThrough(attack.port, t.auth, `${host}:443`)).status);
    for (const host of hostile) {
      const answer = await exchange(await t.bound(), `GET http://${host}/ HTTP/1.1\r\nHost: ${host}\r\nProxy-Authorization: ${t.auth}\r\nConnection: close\r\n\r\n`);
      statuses.push(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]));
    }
    expect(statuses).toEqual(Array(hostile.length * 2).fill(400));
    const denied = t.of('net.denied').filter((e) => e.data.status === 400);
    expect(denied.length).toBeGreaterThanOrEqual(hostile.length * 2);
    expect(t.of('net.request').filter((e) => e.data.status === 200)).toEqual([]);
    // Control characters never reach a rule either (Node's parser refuses them: still answered and logged).
    const control = await exchange(await t.bound(), `CONNECT a\x01b.vendor.test:443 HTTP/1.1\r\nProxy-Authorization: ${t.auth}\r\n\r\n`);
    expect(control).toMatch(/^HTTP\/1\.1 400/);
    expect(crashes.failures).toEqual([]);
  });

  it('a host literally named `*.…` is never asked about, so it can never become a wildcard grant', async () => {
    const t = await attack.task({ allow: ['echo.vendor.test'], onUnknownHost: 'ask' });
    expect((await connectThrough(attack.port, t.auth, '*.vendor.test:443')).status).toBe(400);
    expect((await connectThrough(attack.port, t.auth, '%2a.vendor.test:443')).status).toBe(400);
    expect(t.of('approval.requested')).toEqual([]);
    expect(attack.gateway.approvals.pending(t.id)).toEqual([]);
  });

  it('"always" for a name that reads as a pattern is refused: the manifest is not widened', async () => {
    const root = tempDir('airlock-always-');
    const file = path.join(root, 'agent.yaml');
    const text = 'name: asker\ncommand: ["true"]\nnetwork: { mode: allowlist, allow: [echo.vendor.test], onUnknownHost: ask }\n';
    fs.writeFileSync(file, text);
    const recorder = { registry: new AgentRegistry(path.join(root, 'home'), root), bus: new EventBus(systemClock), trail: () => ({ flush: async () => undefined }) };
    await expect(allowHostAlways(recorder, file, { host: '*.vendor.test', port: 443 }, 'me')).rejects.toThrow(/not one host name/);
    await expect(allowHostAlways(recorder, file, { host: 'a_b.vendor.test', port: 443 }, 'me')).rejects.toThrow(/not one host name/);
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
  });
});

describe('asks', () => {
  it('requests for the same host wait on one ask, and all get its answer', async () => {
    const t = await attack.task({ allow: ['echo.vendor.test'], onUnknownHost: 'ask' });
    const waiting = [1, 2, 3].map(() => connectThrough(attack.port, t.auth, 'dup.vendor.test:443'));
    await tick();
    const pending = attack.gateway.approvals.pending(t.id);
    expect(pending).toHaveLength(1);
    attack.gateway.approvals.answer(pending[0]!.id, 'once');
    const answers = await Promise.all(waiting);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    for (const a of answers) a.socket.destroy();
    expect(t.of('approval.requested')).toHaveLength(1);
    expect(t.of('approval.decided')).toHaveLength(1);
  });

  it('a flood of asks is limited per task: the rest are denied unasked, the burst is one event, and asking works again later', async () => {
    const t = await attack.task({ allow: ['echo.vendor.test'], onUnknownHost: 'ask' });
    const flood = Array.from({ length: 12 }, (_, i) => connectThrough(attack.port, t.auth, `flood${i}.vendor.test:443`));
    await tick();
    const pending = attack.gateway.approvals.pending(t.id);
    expect(pending).toHaveLength(5); // DEFAULT_ASK_LIMITS.maxPending
    for (const p of pending) attack.gateway.approvals.answer(p.id, 'deny');
    const statuses = (await Promise.all(flood)).map((a) => a.status);
    expect(statuses).toEqual(Array(12).fill(403));
    expect(t.of('approval.requested')).toHaveLength(5);
    expect(t.of('approval.burst')).toHaveLength(1);
    expect(t.of('net.denied').filter((e) => e.decision?.rule === 'ask:limit')).toHaveLength(7);
    // At most 20 new asks a minute: asked one after another, the 21st is refused unasked.
    for (let i = 0; i < 15; i++) {
      const asked = connectThrough(attack.port, t.auth, `seq${i}.vendor.test:443`);
      await tick();
      attack.gateway.approvals.answer(attack.gateway.approvals.pending(t.id)[0]!.id, 'deny');
      expect((await asked).status).toBe(403);
    }
    expect((await connectThrough(attack.port, t.auth, 'one-more.vendor.test:443')).status).toBe(403);
    expect(attack.gateway.approvals.pending(t.id)).toEqual([]);
    expect(t.of('approval.burst')).toHaveLength(2);
    // A minute later (fake clock) the task may ask again.
    attack.clock.advance(61_000);
    const later = connectThrough(attack.port, t.auth, 'later.vendor.test:443');
    await tick();
    expect(attack.gateway.approvals.pending(t.id)).toHaveLength(1);
    attack.gateway.approvals.answer(attack.gateway.approvals.pending(t.id)[0]!.id, 'deny');
    expect((await later).status).toBe(403);
    expect(crashes.failures).toEqual([]);
  });
});
