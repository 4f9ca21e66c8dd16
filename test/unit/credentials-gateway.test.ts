import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { SignJWT, base64url, generateKeyPair, exportSPKI } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../main/core/audit/bus.js';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { systemClock } from '../../main/core/clock.js';
import { TaskCredentials, type GrantRequest } from '../../main/core/tasks/grants.js';
import { CredentialStore } from '../../main/core/credentials/store.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { buildPolicy } from '../../main/core/gateway/policy.js';
import { tempDir } from '../helpers/env.js';
import { MemorySecrets } from '../helpers/memory-secrets.js';
import { startRemotes } from '../helpers/remotes.js';

const SECRET = 'sk_live_SENTINEL_4f9a1c';
let remotes: Awaited<ReturnType<typeof startRemotes>>;
let gateway: Gateway;
let proxyPort: number;
let store: CredentialStore;
const events: AirlockEvent[] = [];
const bus = new EventBus(systemClock);
bus.subscribe((e) => events.push(e));
const agent = { name: 'cred-test', digest: 'sha256:x' };

beforeAll(async () => {
  remotes = await startRemotes();
  gateway = new Gateway({ bus, clock: systemClock, resolve: remotes.resolve, dial: remotes.dial, upstreamCa: fs.readFileSync(remotes.cert, 'utf8') });
  proxyPort = (await gateway.listen()).port;
  store = new CredentialStore(path.join(tempDir(), 'home'), new MemorySecrets());
  store.add({ name: 'vendor-api', secret: SECRET, hosts: ['api.vendor.test'], maxTtlMs: 3_600_000 });
  store.add({ name: 'files-api', secret: 'files-secret-xyz', hosts: ['files.vendor.test'], header: 'X-Api-Key: {secret}', maxTtlMs: 3_600_000 });
});
afterAll(async () => {
  await gateway.close();
  await remotes.close();
});

let counter = 0;
async function task(requests: Partial<GrantRequest>[] = [{}]) {
  const id = `t_credtest${++counter}`;
  const credentials = await TaskCredentials.open({
    task: id, agent, store, bus, clock: systemClock,
    requests: requests.map((r) => ({ credential: 'vendor-api', ttlMs: 600_000, delivery: 'proxy', env: 'VENDOR_TOKEN', ...r })),
  });
  const credential = gateway.addTask({ task: id, agent, credentials, policy: buildPolicy({ mode: 'allowlist', allow: ['api.vendor.test', 'files.vendor.test', 'other.test'], local: [], onUnknownHost: 'deny' }) });
  const env = await credentials.placeholderEnv();
  return { id, credentials, env, auth: `Basic ${Buffer.from(`${credential.user}:${credential.password}`).toString('base64')}` };
}

/** An HTTPS request through the gateway's CONNECT, trusting only the task's CA (as the sandbox does). */
function viaTunnel(t: Awaited<ReturnType<typeof task>>, host: string, headers: Record<string, string>, method = 'GET', pathname = '/v1/invoices'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxyPort, '127.0.0.1', () => socket.write(`CONNECT ${host}:443 HTTP/1.1\r\nHost: ${host}:443\r\nProxy-Authorization: ${t.auth}\r\n\r\n`));
    socket.once('data', (chunk: Buffer) => {
      if (!/^HTTP\/1\.1 200/.test(chunk.toString())) return reject(new Error(chunk.toString()));
      const ca = t.credentials.ca?.certificatePem ?? fs.readFileSync(remotes.cert, 'utf8');
      const secure = tls.connect({ socket, servername: host, ca });
      const req = http.request({ method, path: pathname, headers: { Host: host, ...headers }, createConnection: () => secure }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    socket.on('error', reject);
  });
}

const ofTask = (id: string, kind: string) => events.filter((e) => e.task === id && e.kind === kind);

describe('credential placeholders at the gateway', () => {
  it('the sandbox sees a placeholder; the upstream gets the real secret, exactly where the header template says', async () => {
    const t = await task();
    expect(t.env.VENDOR_TOKEN).toMatch(/^eyJ/);
    expect(t.env.VENDOR_TOKEN).not.toContain(SECRET);
    const res = await viaTunnel(t, 'api.vendor.test', { Authorization: `Bearer ${t.env.VENDOR_TOKEN}` });
    expect(res.status).toBe(200);
    const seen = remotes.requests.at(-1)!;
    expect(seen.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(JSON.stringify(seen.headers)).not.toContain(t.env.VENDOR_TOKEN);
    const used = ofTask(t.id, 'cred.used');
    expect(used).toHaveLength(1);
    expect(used[0]).toMatchObject({ identity: { credential: 'vendor-api' }, data: { host: 'api.vendor.test', method: 'GET', path: '/v1/invoices', status: 200 } });
    expect(JSON.stringify(events)).not.toContain(SECRET);
  });

  it('a placeholder in any header is found, and the template header is set', async () => {
    const t = await task([{ credential: 'files-api', env: 'FILES_KEY' }]);
    const res = await viaTunnel(t, 'files.vendor.test', { 'X-Api-Key': t.env.FILES_KEY! });
    expect(res.status).toBe(200);
    expect(remotes.requests.at(-1)!.headers['x-api-key']).toBe('files-secret-xyz');
  });

  it('sent to a host outside the grant: refused, cred.misuse', async () => {
    const t = await task([{}, { credential: 'files-api', env: 'FILES_KEY' }]);
    const before = remotes.requests.length;
    const res = await viaTunnel(t, 'files.vendor.test', { Authorization: `Bearer ${t.env.VENDOR_TOKEN}` });
    expect(res.status).toBe(403);
    expect(res.body).toMatch(/issued for api\.vendor\.test, sent to files\.vendor\.test/);
    expect(remotes.requests.length).toBe(before);
    expect(ofTask(t.id, 'cred.misuse')).toHaveLength(1);
  });

  it('sent over plain HTTP anywhere: refused, cred.misuse, the secret never goes', async () => {
    const t = await task();
    const res = await new Promise<number>((resolve) => {
      http.request({ host: '127.0.0.1', port: proxyPort, path: 'http://other.test/collect', headers: { Host: 'other.test', 'Proxy-Authorization': t.auth, 'X-Stolen': t.env.VENDOR_TOKEN! } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      }).end();
    });
    expect(res).toBe(403);
    expect(ofTask(t.id, 'cred.misuse')[0]?.data.reason).toMatch(/plain HTTP to other\.test:80/);
  });

  it('after expiry: 401 from the gateway and cred.expired', async () => {
    const t = await task([{ ttlMs: 1500 }]);
    expect((await viaTunnel(t, 'api.vendor.test', { Authorization: `Bearer ${t.env.VENDOR_TOKEN}` })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2600));
    const before = remotes.requests.length;
    const res = await viaTunnel(t, 'api.vendor.test', { Authorization: `Bearer ${t.env.VENDOR_TOKEN}` });
    expect(res.status).toBe(401);
    expect(res.body).toMatch(/expired/);
    expect(remotes.requests.length).toBe(before);
    // one when the grant lapsed, one for the late attempt
    expect(ofTask(t.id, 'cred.expired')).toHaveLength(2);
  });

  it.each([
    ['a tampered payload', async (token: string) => {
      const [h, p, s] = token.split('.');
      const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
      claims.aud = ['files.vendor.test', 'api.vendor.test'];
      return `${h}.${base64url.encode(JSON.stringify(claims))}.${s}`;
    }],
    ['alg: none', async (token: string) => {
      const claims = token.split('.')[1];
      return `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${claims}.`;
    }],
    ['HS256 "signed" with a public key', async (token: string) => {
      const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
      const { publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(await exportSPKI(publicKey)));
    }],
  ])('refuses %s: 403, cred.misuse', async (_what, forge) => {
    const t = await task();
    const forged = await forge(t.env.VENDOR_TOKEN!);
    const before = remotes.requests.length;
    const res = await viaTunnel(t, 'api.vendor.test', { Authorization: `Bearer ${forged}` });
    expect(res.status).toBe(403);
    expect(ofTask(t.id, 'cred.misuse')).toHaveLength(1);
    expect(remotes.requests.length).toBe(before); // nothing, let alone the secret, went upstream
  });

  it('refuses a token from another task, and one from a task that has ended', async () => {
    const other = await task();
    const t = await task();
    const foreign = await viaTunnel(t, 'api.vendor.test', { Authorization: `Bearer ${other.env.VENDOR_TOKEN}` });
    expect(foreign.status).toBe(403);
    other.credentials.revokeAll();
    gateway.removeTask(other.id);
    const ended = await viaTunnel(t, 'api.vendor.test', { Authorization: `Bearer ${other.env.VENDOR_TOKEN}` });
    expect(ended.status).toBe(403);
    expect(ofTask(t.id, 'cred.misuse')).toHaveLength(2);
    expect(ofTask(other.id, 'cred.revoked')).toHaveLength(1);
  });

  it('stops a replay beyond the use count, and keeps to the methods and path granted', async () => {
    const t = await task([{ uses: 2, methods: ['GET'], pathPrefix: '/v1/' }]);
    const auth = { Authorization: `Bearer ${t.env.VENDOR_TOKEN}` };
    expect((await viaTunnel(t, 'api.vendor.test', auth, 'POST')).status).toBe(403);
    expect((await viaTunnel(t, 'api.vendor.test', auth, 'GET', '/admin')).status).toBe(403);
    expect((await viaTunnel(t, 'api.vendor.test', auth)).status).toBe(200);
    expect((await viaTunnel(t, 'api.vendor.test', auth)).status).toBe(200);
    const third = await viaTunnel(t, 'api.vendor.test', auth);
    expect(third.status).toBe(403);
    expect(third.body).toMatch(/no uses left/);
    expect(ofTask(t.id, 'cred.denied').map((e) => e.data.reason)).toHaveLength(3);
  });

  it('hosts without a grant are not intercepted: TLS passes through to the real certificate', async () => {
    const t = await task();
    const res = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(proxyPort, '127.0.0.1', () => socket.write(`CONNECT files.vendor.test:443 HTTP/1.1\r\nHost: files.vendor.test:443\r\nProxy-Authorization: ${t.auth}\r\n\r\n`));
      socket.once('data', () => {
        const secure = tls.connect({ socket, servername: 'files.vendor.test', ca: fs.readFileSync(remotes.cert) }, () => {
          resolve(String(secure.getPeerCertificate().issuer.CN ?? ''));
          secure.destroy();
        });
        secure.on('error', reject);
      });
    });
    expect(res).toBe('api.vendor.test'); // the test server's own self-signed certificate
  });

  it('inside an intercepted tunnel, a Host other than the checked host is refused (no fronting the secret elsewhere)', async () => {
    const t = await task();
    const before = remotes.requests.length;
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const socket = net.connect(proxyPort, '127.0.0.1', () => socket.write(`CONNECT api.vendor.test:443 HTTP/1.1\r\nHost: api.vendor.test:443\r\nProxy-Authorization: ${t.auth}\r\n\r\n`));
      socket.once('data', () => {
        const secure = tls.connect({ socket, servername: 'api.vendor.test', ca: t.credentials.ca!.certificatePem });
        const req = http.request({ path: '/v1/x', headers: { Host: 'attacker.cdn.test', Authorization: `Bearer ${t.env.VENDOR_TOKEN}` }, createConnection: () => secure }, (r) => {
          let body = '';
          r.on('data', (c: Buffer) => (body += c.toString()));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    });
    expect(res.status).toBe(421);
    expect(res.body).toMatch(/its Host \(attacker\.cdn\.test\) is not api\.vendor\.test/);
    expect(remotes.requests.length).toBe(before);
    expect(ofTask(t.id, 'cred.misuse')).toHaveLength(1);
  });
});
