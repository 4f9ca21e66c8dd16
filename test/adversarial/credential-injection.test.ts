// A credential's secret goes where its injection says — a header, a query parameter, the password
// of Basic authorization — and a placeholder anywhere else is refused, never forwarded as it is.
// A hostile client against the real gateway, an upstream that records (and echoes) every byte, and
// real curl and git as the clients that put a token in a URL. Each attack must fail, the secret must
// reach only the place its injection names, the log must say so, and the gateway must keep serving.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/env.js';
import { exchange, request, tlsThrough } from '../helpers/gateway-client.js';
import { FILES_SECRET, gatewayUnderAttackForFile, type GatewayUnderAttack, SECRET } from '../helpers/gateway-under-attack.js';
import { readableSecret } from '../helpers/secret-forms.js';

const QUERY_SECRET = 'AIzaQuery_SENTINEL_61f0c2';
const GIT_SECRET = 'ghp_Git_SENTINEL_8d21aa';
const ANY_USER_SECRET = 'basic_Any_SENTINEL_0c9b3e';
const run = promisify(execFile);

let attack: GatewayUnderAttack;
const crashes = gatewayUnderAttackForFile((started) => (attack = started));

beforeAll(() => {
  attack.store.add({ name: 'query-api', secret: QUERY_SECRET, hosts: ['echo.vendor.test'], inject: { kind: 'query', param: 'key' }, maxTtlMs: 3_600_000 });
  attack.store.add({ name: 'git-token', secret: GIT_SECRET, hosts: ['echo.vendor.test', 'hostile.vendor.test'], inject: { kind: 'basic', user: 'x-access-token' }, maxTtlMs: 3_600_000 });
  attack.store.add({ name: 'any-user', secret: ANY_USER_SECRET, hosts: ['echo.vendor.test'], inject: { kind: 'basic' }, maxTtlMs: 3_600_000 });
});

let mark = 0;
beforeEach(() => {
  mark = attack.upstream.received.length;
});
/** What the upstream received since the test began. */
const received = () => attack.upstream.received.slice(mark);
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const status = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);

async function rawRequest(t: { auth: string; ca: string }, head: string): Promise<string> {
  const secure = await tlsThrough(attack.port, t.auth, 'echo.vendor.test', t.ca);
  return exchange(secure, `${head}\r\nHost: echo.vendor.test\r\nConnection: close\r\n\r\n`);
}

describe('the secret goes where its injection says', () => {
  it('a placeholder in three headers at once: all verified and removed, the template\'s one header set, one use', async () => {
    const t = await attack.task({ grants: [{ credential: 'files-api', env: 'FILES_KEY', uses: 1 }] });
    const ph = t.env.FILES_KEY!;
    const secure = await tlsThrough(attack.port, t.auth, 'other.vendor.test', t.ca);
    const answer = await request(secure, { path: '/v1/three', headers: { Host: 'other.vendor.test', Authorization: `Bearer ${ph}`, 'X-Api-Key': ph, 'X-Goog-Api-Key': ph } });
    expect(answer.status).toBe(200);
    const [seen] = received();
    expect(seen?.headers['x-api-key']).toBe(FILES_SECRET);
    expect(seen?.headers.authorization).toBeUndefined();
    expect(seen?.headers['x-goog-api-key']).toBeUndefined();
    expect(JSON.stringify(received())).not.toContain(ph.slice(30, 70));
    expect(t.of('cred.used')).toHaveLength(1);
  });

  it('query: `?key=<placeholder>` becomes `?key=<secret>` with the other parameters in order; the log shows the query without the secret', async () => {
    const t = await attack.task({ grants: [{ credential: 'query-api', env: 'GEMINI_API_KEY' }] });
    const ph = t.env.GEMINI_API_KEY!;
    const viaQuery = await rawRequest(t, `GET /v1beta/models/m:streamGenerateContent?alt=sse&key=${ph}&pageSize=2 HTTP/1.1`);
    expect(status(viaQuery)).toBe(200);
    // The same credential's placeholder in a header: the secret still goes into the query, the header is removed.
    const viaHeader = await rawRequest(t, `GET /v1beta/models?pageSize=3 HTTP/1.1\r\nx-goog-api-key: ${ph}`);
    expect(status(viaHeader)).toBe(200);
    expect(received().map((r) => [r.url, r.headers['x-goog-api-key']])).toEqual([
      [`/v1beta/models/m:streamGenerateContent?alt=sse&pageSize=2&key=${QUERY_SECRET}`, undefined],
      [`/v1beta/models?pageSize=3&key=${QUERY_SECRET}`, undefined],
    ]);
    // The echo upstream sent the URL back: replaced before the sandbox saw it, and recorded.
    expect(readableSecret(viaQuery + viaHeader, [QUERY_SECRET])).toBeUndefined();
    expect(t.of('cred.misuse').filter((e) => e.data.reflected)).toHaveLength(2);
    expect(t.of('net.request').filter((e) => e.data.method === 'GET').map((e) => e.data.query)).toEqual([
      'alt=sse&pageSize=2&key=[redacted:query-api]', 'pageSize=3&key=[redacted:query-api]',
    ]);
    expect(readableSecret(JSON.stringify(attack.events), [QUERY_SECRET])).toBeUndefined();
  });

  it('Basic: the placeholder as the password (or inside it) becomes the secret, with the injection\'s user or the client\'s', async () => {
    const t = await attack.task({ grants: [{ credential: 'git-token', env: 'GH_TOKEN' }, { credential: 'any-user', env: 'ANY_TOKEN' }] });
    expect(status(await rawRequest(t, `GET /org/repo.git/info/refs?service=git-upload-pack HTTP/1.1\r\nAuthorization: ${basic('someone', t.env.GH_TOKEN!)}`))).toBe(200);
    expect(status(await rawRequest(t, `GET /org/other.git/info/refs HTTP/1.1\r\nAuthorization: ${basic('alice', `pre-${t.env.ANY_TOKEN!}`)}`))).toBe(200);
    expect(received().map((r) => r.headers.authorization)).toEqual([basic('x-access-token', GIT_SECRET), basic('alice', ANY_USER_SECRET)]);
    expect(t.of('cred.used').map((e) => e.identity?.credential)).toEqual(['git-token', 'any-user']);
  });

  it('real curl with the token in the URL (https://x-access-token:<placeholder>@host) sends Basic: the upstream gets the secret', async () => {
    const t = await attack.task({ grants: [{ credential: 'git-token', env: 'GH_TOKEN' }] });
    const ca = path.join(tempDir(), 'ca.pem');
    fs.writeFileSync(ca, t.ca);
    const { stdout } = await run('curl', ['-sS', '--noproxy', '', '--proxy', `http://127.0.0.1:${attack.port}`, '--proxy-header', `Proxy-Authorization: ${t.auth}`, '--cacert', ca,
      '-o', '/dev/null', '-w', '%{http_code}', `https://x-access-token:${t.env.GH_TOKEN}@echo.vendor.test/org/repo.git/info/refs?service=git-upload-pack`], { env: { PATH: process.env.PATH } });
    expect(stdout).toBe('200');
    expect(received().map((r) => r.headers.authorization)).toEqual([basic('x-access-token', GIT_SECRET)]);
  });
});

describe('a placeholder anywhere else, or for another host, is refused and recorded; never forwarded', () => {
  it.each([
    ['Basic with a placeholder of another host\'s grant', (t: Tokens) => `Authorization: ${basic('x-access-token', t.files)}`, 403],
    ['the placeholder as the user of Basic', (t: Tokens) => `Authorization: ${basic(t.vendor, 'x')}`, 403],
    ['the placeholder base64-encoded in another header', (t: Tokens) => `X-Token: ${Buffer.from(t.vendor).toString('base64')}`, 403],
    ['the placeholder percent-encoded in a header', (t: Tokens) => `X-Token: ${[...t.vendor].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('')}`, 403],
    ['a placeholder split across two headers at its signature', (t: Tokens) => `Authorization: Bearer ${t.vendor.slice(0, t.vendor.lastIndexOf('.') + 1)}\r\nX-Rest: ${t.vendor.slice(t.vendor.lastIndexOf('.') + 1)}`, 403],
  ])('%s', async (_what, place, expected) => {
    const t = await attack.task({ grants: [{}, { credential: 'files-api', env: 'FILES_KEY' }] });
    const answer = await rawRequest(t, `GET /v1/x HTTP/1.1\r\n${place({ vendor: t.env.VENDOR_TOKEN!, files: t.env.FILES_KEY! })}`);
    expect(status(answer)).toBe(expected);
    expect(received()).toEqual([]);
    expect(t.of('cred.misuse')).toHaveLength(1);
  });

  it('the placeholder in the path, to a host its grant covers, is refused (it used to be passed on)', async () => {
    const t = await attack.task({ grants: [{}] });
    expect(status(await rawRequest(t, `GET /v1/${t.env.VENDOR_TOKEN} HTTP/1.1`))).toBe(403);
    expect(received()).toEqual([]);
    expect(t.of('cred.misuse').map((e) => e.data.reason)).toEqual([expect.stringMatching(/in the request head to echo\.vendor\.test:443 where it is not swapped/)]);
  });

  it('a placeholder percent-encoded twice in the query is refused (it would reach the upstream as a token)', async () => {
    const t = await attack.task({ grants: [{ credential: 'query-api', env: 'GEMINI_API_KEY' }] });
    const twice = encodeURIComponent([...t.env.GEMINI_API_KEY!].map((c) => `%${c.charCodeAt(0).toString(16)}`).join(''));
    expect(status(await rawRequest(t, `GET /v1beta/models?key=${twice} HTTP/1.1`))).toBe(403);
    expect(received()).toEqual([]);
    expect(t.of('cred.misuse').map((e) => e.data.reason)).toEqual([expect.stringMatching(/percent-encoded more than once/)]);
  });

  it('a placeholder cut inside its payload is no placeholder: nothing is substituted and no secret goes', async () => {
    const t = await attack.task({ grants: [{}] });
    const ph = t.env.VENDOR_TOKEN!;
    const half = ph.indexOf('.') + 10;
    expect(status(await rawRequest(t, `GET /v1/x HTTP/1.1\r\nAuthorization: Bearer ${ph.slice(0, half)}\r\nX-Rest: ${ph.slice(half)}`))).toBe(200);
    expect(readableSecret(JSON.stringify(received()), [SECRET])).toBeUndefined();
    expect(t.of('cred.used')).toEqual([]);
  });

  it('two credentials for one place, or Basic without a user to keep, are refused (400) and recorded', async () => {
    const t = await attack.task({ grants: [{}, { credential: 'git-token', env: 'GH_TOKEN' }, { credential: 'any-user', env: 'ANY_TOKEN' }] });
    const answers = [
      await rawRequest(t, `GET /v1/x HTTP/1.1\r\nAuthorization: Bearer ${t.env.VENDOR_TOKEN}\r\nX-Git: ${t.env.GH_TOKEN}`),
      await rawRequest(t, `GET /v1/x HTTP/1.1\r\nX-Token: ${t.env.ANY_TOKEN}`),
    ];
    expect(answers.map(status)).toEqual([400, 400]);
    expect(received()).toEqual([]);
    expect(t.of('cred.misuse').map((e) => e.data.reason)).toEqual([
      expect.stringMatching(/two credentials \(vendor-api, git-token\) for the one Authorization header/),
      expect.stringMatching(/any-user goes in as Basic authorization with the user the client sends, and this request sent none/),
    ]);
  });

  it('after every attack the gateway still serves, and nothing escaped as an exception', async () => {
    const t = await attack.task({ grants: [{}] });
    expect(status(await rawRequest(t, `GET /v1/still HTTP/1.1\r\nAuthorization: Bearer ${t.env.VENDOR_TOKEN}`))).toBe(200);
    expect(received().map((r) => r.headers.authorization)).toEqual([`Bearer ${SECRET}`]);
    expect(crashes.failures).toEqual([]);
  });
});

describe('git over HTTPS with a lent token', () => {
  it('real git (ls-remote, token in the URL) is answered by a server that checks the Basic password is the real token', async () => {
    const t = await attack.task({ grants: [{ credential: 'git-token', env: 'GH_TOKEN' }] });
    const seen: string[] = [];
    attack.upstream.hostile = (socket: Duplex, head: string) => {
      const authorization = /\r\nauthorization: ([^\r\n]*)/i.exec(head)?.[1];
      seen.push(authorization ?? '(none)');
      if (authorization !== basic('x-access-token', GIT_SECRET)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="git"\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const pkt = (line: string) => `${(line.length + 4).toString(16).padStart(4, '0')}${line}`;
      const body = `${pkt('# service=git-upload-pack\n')}0000${pkt(`${'1'.repeat(40)} HEAD\0multi_ack\n`)}${pkt(`${'1'.repeat(40)} refs/heads/main\n`)}0000`;
      socket.end(`HTTP/1.1 200 OK\r\nContent-Type: application/x-git-upload-pack-advertisement\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    };
    const home = tempDir();
    fs.writeFileSync(path.join(home, 'ca.pem'), t.ca);
    const [proxyUser, proxyPassword] = Buffer.from(t.auth.replace(/^Basic /, ''), 'base64').toString().split(':') as [string, string];
    const { stdout } = await run('git', ['-c', `http.proxy=http://${encodeURIComponent(proxyUser)}:${encodeURIComponent(proxyPassword)}@127.0.0.1:${attack.port}`, '-c', `http.sslCAInfo=${path.join(home, 'ca.pem')}`,
      'ls-remote', `https://x-access-token:${t.env.GH_TOKEN}@hostile.vendor.test/org/repo.git`], { env: { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' } });
    expect(stdout).toContain(`${'1'.repeat(40)}\trefs/heads/main`);
    expect(seen).toContain(basic('x-access-token', GIT_SECRET));
    expect(seen.some((s) => s.includes(Buffer.from(t.env.GH_TOKEN!).toString('base64').slice(4, 40)))).toBe(false);
    expect(t.of('cred.used').map((e) => e.identity?.credential)).toEqual(['git-token']);
  });
});

interface Tokens {
  vendor: string;
  files: string;
}
