// Upstream TLS to intercepted hosts trusts what Node and the OS trust plus AIRLOCK_UPSTREAM_CA —
// so a company TLS-inspecting proxy's CA given the usual way works — and nothing else: a hostile
// upstream with a self-made CA, or a trusted CA's certificate for another name, is refused before
// the secret goes, logged as a refusal, and the gateway keeps serving.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../main/core/audit/bus.js';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { systemClock } from '../../main/core/clock.js';
import { CredentialStore } from '../../main/core/credentials/store.js';
import { Gateway, type Dialer, type Resolver } from '../../main/core/gateway/gateway.js';
import { buildPolicy } from '../../main/core/gateway/policy.js';
import { gatewayEnvironment } from '../../main/core/gateway/pinned-hosts.js';
import { pemCertificates, upstreamCaList, type NodeTrustSources } from '../../main/core/gateway/upstream-trust.js';
import { TaskCredentials } from '../../main/core/tasks/grants.js';
import { tempDir } from '../helpers/env.js';
import { proxyAuth, request, tlsThrough, watchProcessFailures } from '../helpers/gateway-client.js';
import { MemorySecrets } from '../helpers/memory-secrets.js';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';

const SECRET = 'corp_SENTINEL_4f19c2';

describe('the list of CAs upstream TLS is verified against', () => {
  const a = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----';
  const b = '-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----';
  const c = '-----BEGIN CERTIFICATE-----\nCCCC\n-----END CERTIFICATE-----';

  it('on Node with getCACertificates: Node\'s default set, the OS store, and every certificate of AIRLOCK_UPSTREAM_CA', () => {
    const node: NodeTrustSources = { rootCertificates: [], getCACertificates: (kind) => (kind === 'default' ? [a] : kind === 'system' ? [b] : []) };
    expect(upstreamCaList({ env: {}, node, upstreamCa: `${c}\n${a}\n` })).toEqual([a, b, c]);
  });

  it('an AIRLOCK_UPSTREAM_CA that cannot be read or holds no certificate is refused, naming the file: never silently not trusted', () => {
    const dir = tempDir();
    const empty = path.join(dir, 'empty.pem');
    fs.writeFileSync(empty, 'not a certificate\n');
    expect(() => gatewayEnvironment({ AIRLOCK_UPSTREAM_CA: path.join(dir, 'missing.pem') })).toThrow(/AIRLOCK_UPSTREAM_CA: cannot read .*missing\.pem \(ENOENT\)/);
    expect(() => gatewayEnvironment({ AIRLOCK_UPSTREAM_CA: empty })).toThrow(/AIRLOCK_UPSTREAM_CA: .*empty\.pem holds no PEM certificate/);
    const good = path.join(dir, 'ca.pem');
    fs.writeFileSync(good, `${a}\n`);
    expect(gatewayEnvironment({ AIRLOCK_UPSTREAM_CA: good }).upstreamCa).toContain(a);
  });

  it('an OS store Node cannot read leaves the rest trusted', () => {
    const node: NodeTrustSources = { rootCertificates: [], getCACertificates: (kind) => {
      if (kind === 'system') throw new Error('no store here');
      return kind === 'default' ? [a] : [];
    } };
    expect(upstreamCaList({ env: {}, node })).toEqual([a]);
  });

  it('on older Node: the bundled roots and NODE_EXTRA_CA_CERTS read from the engine\'s environment', () => {
    const node: NodeTrustSources = { rootCertificates: [a] };
    const readFile = (file: string) => (file === '/corp/ca.pem' ? `${b}\n${c}\n` : '');
    expect(upstreamCaList({ env: { NODE_EXTRA_CA_CERTS: '/corp/ca.pem' }, node, readFile })).toEqual([a, b, c]);
    // An unreadable file is ignored as Node ignores it (with a warning): the rest is still trusted.
    expect(upstreamCaList({ env: { NODE_EXTRA_CA_CERTS: '/missing.pem' }, node, readFile: () => { throw new Error('ENOENT'); } })).toEqual([a]);
  });

  it('the real Node 24: NODE_EXTRA_CA_CERTS set at start is in its default set', () => {
    const ca = makeTestCa('Extra Test CA');
    expect(nodeDefaultSet(ca.file)).toContain(pemCertificates(ca.pem)[0]!.trim());
  });
});

/** tls.getCACertificates('default') of a Node process started with NODE_EXTRA_CA_CERTS=file. */
function nodeDefaultSet(file: string): string[] {
  const out = execFileSync(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(require("node:tls").getCACertificates("default")))'], { env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: file } });
  return (JSON.parse(out.toString()) as string[]).map((pem) => pem.trim());
}

describe('a credentialed call through the real gateway to upstreams with company and hostile CAs', () => {
  let corpCa: TestCa;
  const received: string[] = [];
  const servers: net.Server[] = [];
  const routes = new Map<string, number>();
  const crashes = watchProcessFailures();
  // api.corp.test: the company CA; other.corp.test serves the company CA's certificate for another
  // name; evil.corp.test: a self-made CA's certificate for its own name.
  const names: Record<string, string> = { 'api.corp.test': '34.120.9.1', 'mismatch.corp.test': '34.120.9.2', 'evil.corp.test': '34.120.9.3' };
  const resolve: Resolver = async (host) => {
    if (names[host]) return [names[host]];
    throw Object.assign(new Error(`${host} not found`), { code: 'ENOTFOUND' });
  };
  const dial: Dialer = (address, port) => new Promise<Duplex>((ok, fail) => {
    const local = routes.get(`${address}:${port}`);
    if (local === undefined) return fail(new Error(`test dialer: ${address}:${port} is not a test host`));
    const socket = net.connect(local, '127.0.0.1', () => ok(socket));
    socket.once('error', fail);
  });

  beforeAll(async () => {
    corpCa = makeTestCa('Corp TLS Inspection CA');
    const evilCa = makeTestCa('Self-made CA');
    const serve = async (address: string, leaf: { cert: string; key: string }) => {
      const server = https.createServer(leaf, (req, res) => {
        received.push(`${req.headers.host} ${String(req.headers.authorization)}`);
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      });
      servers.push(server);
      const port = await new Promise<number>((done) => server.listen(0, '127.0.0.1', () => done((server.address() as net.AddressInfo).port)));
      routes.set(`${address}:443`, port);
    };
    await serve(names['api.corp.test']!, corpCa.leaf(['api.corp.test']));
    await serve(names['mismatch.corp.test']!, corpCa.leaf(['other.corp.test']));
    await serve(names['evil.corp.test']!, evilCa.leaf(['evil.corp.test']));
  });
  afterAll(async () => {
    for (const server of servers) {
      (server as https.Server).closeAllConnections();
      await new Promise((done) => server.close(done));
    }
    crashes.stop();
  });

  /** A gateway with this trust, a task holding a grant for every corp host, and its events. */
  async function gatewayWith(trust: { upstreamCa?: string; trustSources?: NodeTrustSources }) {
    const bus = new EventBus(systemClock);
    const events: AirlockEvent[] = [];
    bus.subscribe((e) => events.push(e));
    const gateway = new Gateway({ bus, clock: systemClock, resolve, dial, ...trust });
    const port = (await gateway.listen()).port;
    const store = new CredentialStore(path.join(tempDir(), 'home'), new MemorySecrets());
    store.add({ name: 'corp-api', secret: SECRET, hosts: ['*.corp.test'], maxTtlMs: 3_600_000 });
    const agent = { name: 'agent', digest: 'sha256:x' };
    const credentials = await TaskCredentials.open({ task: 't_trust', agent, store, bus, clock: systemClock, requests: [{ credential: 'corp-api', ttlMs: 600_000, delivery: 'proxy', env: 'CORP_TOKEN' }] });
    const auth = proxyAuth(gateway.addTask({ task: 't_trust', agent, policy: buildPolicy({ mode: 'allowlist', allow: ['*.corp.test'], local: [], onUnknownHost: 'deny' }), credentials }));
    const token = (await credentials.placeholderEnv()).CORP_TOKEN!;
    const call = async (host: string) => {
      const secure = await tlsThrough(port, auth, host, credentials.ca!.certificatePem);
      const answer = await request(secure, { path: '/v1/models', headers: { Host: host, Authorization: `Bearer ${token}`, Connection: 'close' } });
      secure.destroy();
      return answer;
    };
    return { gateway, events, call, close: () => gateway.close() };
  }

  it('trusts a company CA given through NODE_EXTRA_CA_CERTS (as Node read it at start): the secret arrives', async () => {
    const fromNode = nodeDefaultSet(corpCa.file);
    const g = await gatewayWith({ trustSources: { rootCertificates: tls.rootCertificates, getCACertificates: (kind) => (kind === 'default' ? fromNode : []) } });
    try {
      expect((await g.call('api.corp.test')).status).toBe(200);
      expect(received.at(-1)).toBe(`api.corp.test Bearer ${SECRET}`);
    } finally {
      await g.close();
    }
  });

  it('trusts a company CA given through AIRLOCK_UPSTREAM_CA (a bundle of several certificates)', async () => {
    const g = await gatewayWith({ upstreamCa: `${makeTestCa('Unrelated CA').pem}\n${corpCa.pem}` });
    try {
      expect((await g.call('api.corp.test')).status).toBe(200);
      expect(received.at(-1)).toBe(`api.corp.test Bearer ${SECRET}`);
    } finally {
      await g.close();
    }
  });

  it('refuses an upstream whose CA is not trusted, or whose certificate names another host: the secret never goes, the refusal is logged, the gateway keeps serving', async () => {
    const g = await gatewayWith({ upstreamCa: corpCa.pem });
    const before = received.length;
    try {
      for (const host of ['evil.corp.test', 'mismatch.corp.test']) {
        const answer = await g.call(host);
        expect(answer.status, host).toBe(502);
        expect(answer.body).toMatch(/certificate Airlock does not trust/);
        expect(answer.body).not.toContain(SECRET);
      }
      expect(received.length).toBe(before);
      const refused = g.events.filter((e) => e.kind === 'net.denied' && e.decision?.rule === 'tls.upstream').map((e) => e.data.host);
      expect(refused).toEqual(['evil.corp.test', 'mismatch.corp.test']);
      expect(JSON.stringify(g.events)).not.toContain(SECRET);
      // Still serving: the trusted host answers.
      expect((await g.call('api.corp.test')).status).toBe(200);
      expect(crashes.failures).toEqual([]);
    } finally {
      await g.close();
    }
  });

  it('without the company CA, the company-signed upstream is refused too (fails closed)', async () => {
    const g = await gatewayWith({});
    try {
      expect((await g.call('api.corp.test')).status).toBe(502);
      expect(g.events.some((e) => e.kind === 'net.denied' && e.decision?.rule === 'tls.upstream')).toBe(true);
    } finally {
      await g.close();
    }
  });
});
