// Credential interception: added latency of an intercepted HTTPS request with placeholder
// substitution vs a CONNECT pass-through to the same local upstream (keep-alive, warm), and the
// per-task set-up (placeholder key + CA). In one run; prints medians and percentiles.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { EventBus } from '../main/core/audit/bus.js';
import { systemClock } from '../main/core/clock.js';
import type { SecretStore } from '../main/core/credentials/keychain.js';
import { TaskCredentials } from '../main/core/tasks/grants.js';
import { CredentialStore } from '../main/core/credentials/store.js';
import { Gateway } from '../main/core/gateway/gateway.js';
import { buildPolicy } from '../main/core/gateway/policy.js';
import { TaskCa } from '../main/core/credentials/task-ca.js';

const REQUESTS = Number(process.env.BENCH_CRED_REQUESTS ?? 1000);

/** The keychain is not what is measured here. */
class MemorySecrets implements SecretStore {
  readonly #values = new Map<string, string>();
  get(account: string) {
    return this.#values.get(account) ?? null;
  }
  set(account: string, secret: string) {
    this.#values.set(account, secret);
  }
  delete(account: string) {
    return this.#values.delete(account);
  }
}

/** An agent whose one connection is a CONNECT tunnel through the gateway, then TLS to `host`. */
class TunnelAgent extends http.Agent {
  readonly proxyPort: number;
  readonly auth: string;
  readonly host: string;
  readonly ca: string;

  constructor(proxyPort: number, auth: string, host: string, ca: string) {
    super({ keepAlive: true, maxSockets: 1 });
    this.proxyPort = proxyPort;
    this.auth = auth;
    this.host = host;
    this.ca = ca;
  }
  override createConnection(_options: net.NetConnectOpts, callback?: (error: Error | null, socket: Duplex) => void): Duplex | undefined {
    const raw = net.connect(this.proxyPort, '127.0.0.1', () => raw.write(`CONNECT ${this.host}:443 HTTP/1.1\r\nHost: ${this.host}:443\r\nProxy-Authorization: ${this.auth}\r\n\r\n`));
    raw.once('data', (chunk: Buffer) => {
      if (!chunk.toString().startsWith('HTTP/1.1 200')) return callback?.(new Error(chunk.toString()), raw);
      const secure = tls.connect({ socket: raw, servername: this.host, ca: this.ca });
      secure.once('secureConnect', () => callback?.(null, secure));
    });
    return undefined;
  }
}

function request(agent: http.Agent, host: string, headers: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, path: '/v1/ping', headers: { Host: host, ...headers }, agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

async function timings(agent: http.Agent, host: string, headers: Record<string, string>): Promise<number[]> {
  for (let i = 0; i < 50; i++) await request(agent, host, headers);
  const times: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const started = process.hrtime.bigint();
    await request(agent, host, headers);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

export async function benchCredentials(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-cred-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  // The upstream: a local HTTPS server with its own CA, reached under two names.
  const upstreamCa = await TaskCa.create('upstream', 3_600_000);
  const server = https.createServer({ SNICallback: (name, cb) => void upstreamCa.contextFor(name).then((c) => cb(null, c), (e: Error) => cb(e)) }, (req, res) => res.end('pong'));
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  const bus = new EventBus(systemClock);
  const gateway = new Gateway({
    bus, clock: systemClock, upstreamCa: upstreamCa.certificatePem,
    resolve: async () => ['34.120.0.10'],
    dial: (_address, _port) => new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
      socket.on('error', reject);
    }),
  });
  const proxyPort = (await gateway.listen()).port;
  const store = new CredentialStore(dir, new MemorySecrets());
  store.add({ name: 'vendor-api', secret: 'bench-secret', hosts: ['api.vendor.test'] });

  // Per-task set-up: placeholder key pair + CA, as at task start.
  const setups: number[] = [];
  let credentials: TaskCredentials | undefined;
  for (let i = 0; i < 21; i++) {
    const started = performance.now();
    credentials = await TaskCredentials.open({ task: `t_bench${i}`, agent: { name: 'bench', digest: '' }, store, bus, clock: systemClock, requests: [{ credential: 'vendor-api', ttlMs: 600_000, delivery: 'proxy', env: 'TOKEN' }] });
    setups.push(performance.now() - started);
    if (i < 20) credentials.revokeAll();
  }
  setups.sort((a, b) => a - b);
  const lent = credentials!;
  const placeholder = (await lent.placeholderEnv()).TOKEN!;
  const credential = gateway.addTask({ task: 't_bench20', agent: { name: 'bench', digest: '' }, credentials: lent, policy: buildPolicy({ mode: 'allowlist', allow: ['api.vendor.test', 'files.vendor.test'], local: [], onUnknownHost: 'deny' }) });
  const auth = `Basic ${Buffer.from(`${credential.user}:${credential.password}`).toString('base64')}`;

  const passthrough = await timings(new TunnelAgent(proxyPort, auth, 'files.vendor.test', upstreamCa.certificatePem), 'files.vendor.test', {});
  const intercepted = await timings(new TunnelAgent(proxyPort, auth, 'api.vendor.test', lent.ca!.certificatePem), 'api.vendor.test', { Authorization: `Bearer ${placeholder}` });

  console.log(`\nCredential interception (${REQUESTS} keep-alive HTTPS requests each, warm; set-up: median of 21)`);
  console.log('                                        p50          p99          added p50 (target <= 2 ms)');
  console.log(`CONNECT pass-through (no grant)         ${pct(passthrough, 50).toFixed(3)} ms   ${pct(passthrough, 99).toFixed(3)} ms`);
  console.log(`intercepted, placeholder → secret       ${pct(intercepted, 50).toFixed(3)} ms   ${pct(intercepted, 99).toFixed(3)} ms   +${(pct(intercepted, 50) - pct(passthrough, 50)).toFixed(3)} ms`);
  console.log(`per-task set-up (key pair + CA)          ${pct(setups, 50).toFixed(1)} ms (target <= 50 ms)`);
  lent.revokeAll();
  await gateway.close();
  server.close();
}
