// Nothing a sandbox or an upstream sends can end Airlock's process: hostile requests and hostile
// upstream answers against the real gateway, over real sockets. Each attack must fail with an
// answer (a status and a reason), leave the gateway serving, and be in the log.
import { describe, expect, it } from 'vitest';
import { connectThrough, exchange, request, tlsThrough } from '../helpers/gateway-client.js';
import { gatewayUnderAttackForFile, type GatewayUnderAttack, SECRET, TEST_TIMEOUTS } from '../helpers/gateway-under-attack.js';

let attack: GatewayUnderAttack;
const crashes = gatewayUnderAttackForFile((started) => (attack = started));

/** The gateway still serves: a plain request through it gets the upstream's answer. */
async function stillServes(t: { auth: string }): Promise<void> {
  const socket = await connectThrough(attack.port, t.auth, 'echo.vendor.test:443');
  expect(socket.status).toBe(200);
  socket.socket.destroy();
  expect(crashes.failures).toEqual([]);
}

describe('hostile requests', () => {
  it('a malformed percent-escape in a plain-HTTP URL (it used to kill the process) gets an answer; the next request is served', async () => {
    const t = await attack.task({ grants: [{}] });
    const socket = await t.bound();
    const answer = await exchange(socket, `GET http://plain.vendor.test/%E0%A4%A/%zz HTTP/1.1\r\nHost: plain.vendor.test\r\nProxy-Authorization: ${t.auth}\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(t.of('net.request')).toHaveLength(1);
    // and inside an intercepted tunnel, where it reaches the path check: refused with the reason
    const secure = await tlsThrough(attack.port, t.auth, 'echo.vendor.test', t.ca);
    const refused = await exchange(secure, `GET /v1/%zz HTTP/1.1\r\nHost: echo.vendor.test\r\nAuthorization: Bearer ${t.env.VENDOR_TOKEN}\r\nConnection: close\r\n\r\n`);
    expect(refused).toMatch(/^HTTP\/1\.1 400[^]*a malformed percent-escape in the path/);
    expect(t.of('net.denied').at(-1)?.data.reason).toMatch(/malformed percent-escape/);
    await stillServes(t);
  });

  it.each([
    ['Content-Length with Transfer-Encoding', 'POST http://plain.vendor.test/ HTTP/1.1\r\nHost: plain.vendor.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, /Transfer-Encoding can't be present with Content-Length/],
    ['two Content-Lengths', 'POST http://plain.vendor.test/ HTTP/1.1\r\nHost: plain.vendor.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', 400, /Duplicate Content-Length/],
    ['a folded header', 'GET http://plain.vendor.test/ HTTP/1.1\r\nHost: plain.vendor.test\r\nX-A: a\r\n b\r\n\r\n', 400, /malformed request/],
    ['a NUL in a header', 'GET http://plain.vendor.test/ HTTP/1.1\r\nHost: plain.vendor.test\r\nX-A: a\u0000b\r\n\r\n', 400, /Invalid header value char/],
    ['a 40 KB header', `GET http://plain.vendor.test/ HTTP/1.1\r\nHost: plain.vendor.test\r\nX-A: ${'a'.repeat(40_000)}\r\n\r\n`, 431, /request head is too large/],
    ['HTTP/2 spoken to an HTTP/1.1 proxy', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400, /malformed request/],
    ['binary noise', '\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003', 400, /malformed request/],
  ])('%s: a 4xx that says why, and a refusal in the log', async (_what, raw, status, reason) => {
    const t = await attack.task();
    const socket = await t.bound();
    const answer = await exchange(socket, Buffer.from(raw, 'latin1'));
    expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status}`));
    expect(answer).toMatch(reason);
    expect(t.of('net.denied')).toHaveLength(1);
    expect(t.of('net.denied')[0]!.data.reason).toMatch(reason);
    expect(attack.upstream.received.filter((r) => r.url === '/')).toHaveLength(0);
    await stillServes(t);
  });

  it('ambiguous framing inside an intercepted tunnel is refused before anything goes upstream', async () => {
    const t = await attack.task({ grants: [{}] });
    for (const [raw, status] of [
      [`POST /v1/x HTTP/1.1\r\nHost: echo.vendor.test\r\nAuthorization: Bearer ${t.env.VENDOR_TOKEN}\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`, 501],
      [`GET /v1/x HTTP/1.1\r\nHost: echo.vendor.test\r\nHost: evil.test\r\nAuthorization: Bearer ${t.env.VENDOR_TOKEN}\r\nConnection: close\r\n\r\n`, 400],
      [`GET /v1/x HTTP/1.1\r\nHost: echo.vendor.test\r\nAuthorization: Bearer ${t.env.VENDOR_TOKEN}\r\nAuthorization: Bearer x\r\nConnection: close\r\n\r\n`, 400],
      [`POST /v1/x HTTP/1.1\r\nHost: echo.vendor.test\r\nAuthorization: Bearer ${t.env.VENDOR_TOKEN}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400],
    ] as const) {
      const before = attack.upstream.received.length;
      const secure = await tlsThrough(attack.port, t.auth, 'echo.vendor.test', t.ca);
      expect(await exchange(secure, raw)).toMatch(new RegExp(`^HTTP/1\\.1 ${status}`));
      expect(attack.upstream.received.length).toBe(before);
    }
    expect(t.of('net.denied')).toHaveLength(4);
    expect(attack.upstream.raw.join('')).not.toContain(SECRET);
    await stillServes(t);
  });
});

describe('hostile upstreams', () => {
  it.each([
    ['a status that is not a final HTTP status (099)', 'HTTP/1.1 099 Nope\r\nContent-Length: 0\r\n\r\n', /not a final HTTP status/],
    ['101 Switching Protocols nobody asked for', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', /switched protocols/],
    ['a header of 40 KB', `HTTP/1.1 200 OK\r\nX-Big: ${'b'.repeat(40_000)}\r\nContent-Length: 0\r\n\r\n`, /failed/],
    ['a header with a NUL', 'HTTP/1.1 200 OK\r\nX-A: a\u0000b\r\nContent-Length: 0\r\n\r\n', /failed/],
    ['Content-Length with Transfer-Encoding', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', /failed/],
    ['noise instead of HTTP', '\u0000\u0001garbage\r\n\r\n', /failed/],
    ['a close before any answer', '', /failed/],
  ])('%s: the sandbox gets a 502 with the reason (plain and intercepted), one net.request each, and the gateway serves on', async (_what, answer, reason) => {
    const t = await attack.task({ grants: [{ credential: 'hostile-api', env: 'HOSTILE_TOKEN' }] });
    attack.upstream.hostile = (socket) => socket.end(Buffer.from(answer, 'latin1'));
    const plain = await exchange(await t.bound(), `GET http://hostile.vendor.test/p HTTP/1.1\r\nHost: hostile.vendor.test\r\nProxy-Authorization: ${t.auth}\r\nConnection: close\r\n\r\n`);
    expect(plain).toMatch(/^HTTP\/1\.1 502/);
    expect(plain).toMatch(reason);
    const secure = await tlsThrough(attack.port, t.auth, 'hostile.vendor.test', t.ca);
    const intercepted = await exchange(secure, `GET /i HTTP/1.1\r\nHost: hostile.vendor.test\r\nAuthorization: Bearer ${t.env.HOSTILE_TOKEN}\r\nConnection: close\r\n\r\n`);
    expect(intercepted).toMatch(/^HTTP\/1\.1 502/);
    expect(intercepted).toMatch(reason);
    const requests = t.of('net.request').filter((e) => e.data.method === 'GET');
    expect(requests.map((e) => [e.data.path, e.data.status])).toEqual([['/p', 502], ['/i', 502]]);
    await stillServes(t);
  });

  it('a 1xx before the answer is passed over, and the answer arrives', async () => {
    const t = await attack.task({ grants: [{ credential: 'hostile-api', env: 'HOSTILE_TOKEN' }] });
    attack.upstream.hostile = (socket) => socket.end('HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    const secure = await tlsThrough(attack.port, t.auth, 'hostile.vendor.test', t.ca);
    const res = await request(secure, { path: '/hints', headers: { Host: 'hostile.vendor.test', Authorization: `Bearer ${t.env.HOSTILE_TOKEN}` } });
    expect([res.status, res.body]).toEqual([200, 'ok']);
  });

  it('a response that lies about its length (closes early) reaches the sandbox cut off, and is logged with the error', async () => {
    const t = await attack.task({ grants: [{ credential: 'hostile-api', env: 'HOSTILE_TOKEN' }] });
    attack.upstream.hostile = (socket) => socket.end(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly a little${'.'.repeat(400)}`);
    const secure = await tlsThrough(attack.port, t.auth, 'hostile.vendor.test', t.ca);
    const answer = await exchange(secure, `GET /short HTTP/1.1\r\nHost: hostile.vendor.test\r\nAuthorization: Bearer ${t.env.HOSTILE_TOKEN}\r\n\r\n`);
    // The head and what had passed the secret scan arrive; the connection then ends short of 1000 bytes.
    expect(answer).toMatch(/^HTTP\/1\.1 200[^]*content-length: 1000\r\n[^]*\r\n\r\nonly a little\.+$/i);
    expect(answer.length - answer.indexOf('\r\n\r\n') - 4).toBeLessThan(1000);
    expect(t.of('net.request').find((e) => e.data.path === '/short')?.data).toMatchObject({ status: 200, error: expect.stringMatching(/aborted|premature/i) });
    await stillServes(t);
  });

  it('an upstream that never answers, or stops half-way, is cut off by the time limits (fake clock)', async () => {
    const t = await attack.task({ grants: [{ credential: 'hostile-api', env: 'HOSTILE_TOKEN' }] });
    attack.upstream.hostile = () => undefined; // reads the request, says nothing
    const silent = await tlsThrough(attack.port, t.auth, 'hostile.vendor.test', t.ca);
    const silentAnswer = exchange(silent, `GET /silent HTTP/1.1\r\nHost: hostile.vendor.test\r\nAuthorization: Bearer ${t.env.HOSTILE_TOKEN}\r\n\r\n`);
    await waitUntil(() => attack.upstream.hostileOpen.size > 0);
    attack.clock.advance(TEST_TIMEOUTS.upstreamResponseMs + 1_000);
    expect(await silentAnswer).toMatch(/^HTTP\/1\.1 504[^]*did not answer within 10 s/);
    await waitUntil(() => attack.upstream.hostileOpen.size === 0); // the upstream connection was closed, not kept

    attack.upstream.hostile = (socket) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nstarted${'.'.repeat(400)}`);
    const stalled = await tlsThrough(attack.port, t.auth, 'hostile.vendor.test', t.ca);
    const stalledAnswer = exchange(stalled, `GET /stalled HTTP/1.1\r\nHost: hostile.vendor.test\r\nAuthorization: Bearer ${t.env.HOSTILE_TOKEN}\r\n\r\n`);
    await waitUntil(() => attack.upstream.hostileOpen.size > 0);
    await new Promise((r) => setTimeout(r, 50)); // the response head reaches the gateway over real sockets
    attack.clock.advance(TEST_TIMEOUTS.upstreamIdleMs + 1_000);
    expect(await stalledAnswer).toMatch(/^HTTP\/1\.1 200[^]*\r\n\r\nstarted\.+$/);
    const requests = t.of('net.request').filter((e) => e.data.method === 'GET');
    expect(requests.map((e) => [e.data.path, e.data.status])).toEqual([['/silent', 504], ['/stalled', 200]]);
    expect(requests[1]!.data.error).toMatch(/stopped sending its response/);
    await waitUntil(() => attack.upstream.hostileOpen.size === 0);
    await stillServes(t);
  });
});

/** Waits (on real I/O, no fixed sleep) until a condition holds. */
async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

describe('time limits (fake clock)', () => {
  it('a request head that never completes (slowloris) is cut after the head limit, with a 408 and an event', async () => {
    const t = await attack.task();
    const socket = await t.bound();
    const closed = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.once('close', () => resolve(text));
    });
    socket.write(`GET http://plain.vendor.test/slow HTTP/1.1\r\nHost: plain.vendor.test\r\nX-Drip: a`);
    await new Promise((r) => setImmediate(r));
    attack.clock.advance(TEST_TIMEOUTS.headersMs + 1_000);
    expect(await closed).toMatch(/^(HTTP\/1\.1 408[^]*)?$/);
    expect(t.of('net.denied').at(-1)?.data).toMatchObject({ status: 408, reason: expect.stringMatching(/request head did not arrive within 5 s/) });
    await stillServes(t);
  });

  it('a request body that stops is cut after the idle limit; the upstream request goes with it', async () => {
    const t = await attack.task({ grants: [{}] });
    const secure = await tlsThrough(attack.port, t.auth, 'echo.vendor.test', t.ca);
    const closed = new Promise<void>((resolve) => secure.once('close', () => resolve()));
    secure.on('error', () => undefined);
    secure.write(`POST /v1/upload HTTP/1.1\r\nHost: echo.vendor.test\r\nAuthorization: Bearer ${t.env.VENDOR_TOKEN}\r\nContent-Length: 100\r\n\r\nonly part`);
    await new Promise((r) => setTimeout(r, 50)); // let the partial body reach the upstream (real sockets)
    attack.clock.advance(TEST_TIMEOUTS.idleMs + 1_000);
    await closed;
    await waitUntil(() => t.of('net.request').some((e) => e.data.path === '/v1/upload'));
    expect(t.of('net.request').find((e) => e.data.path === '/v1/upload')?.data).toMatchObject({ status: 499, bytesUp: 9, error: expect.stringMatching(/closed the connection before the response was complete/) });
    expect(attack.upstream.received.find((r) => r.url === '/v1/upload')).toBeUndefined(); // never completed upstream
    await stillServes(t);
  });
});

it('a usable request still works after all of this', async () => {
  const t = await attack.task({ grants: [{}] });
  const secure = await tlsThrough(attack.port, t.auth, 'echo.vendor.test', t.ca);
  const res = await request(secure, { path: '/v1/ok', headers: { Host: 'echo.vendor.test', Authorization: `Bearer ${t.env.VENDOR_TOKEN}` } });
  expect(res.status).toBe(200);
  expect(attack.upstream.received.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET}`);
  expect(crashes.failures).toEqual([]);
});
