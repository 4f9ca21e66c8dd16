import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../main/core/audit/bus.js';
import { systemClock } from '../../main/core/clock.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { buildPolicy } from '../../main/core/gateway/policy.js';
import { RelayMux } from '../../main/core/engine/relay-mux.js';
import { REPO } from '../helpers/env.js';
import { startRemotes } from '../helpers/remotes.js';

// The in-sandbox gateway endpoint, run here as a plain child process: its stdin and stdout carry
// the connections, exactly as the engine's attach stream does for the real one.
let remotes: Awaited<ReturnType<typeof startRemotes>>;
let relay: ChildProcessWithoutNullStreams;
let gateway: Gateway;
let relayPort: number;
let proxyUrl: string;
const bus = new EventBus(systemClock);

beforeAll(async () => {
  remotes = await startRemotes();
  gateway = new Gateway({ bus, clock: systemClock, resolve: remotes.resolve, dial: remotes.dial });
  const credential = gateway.addTask({ task: 't_relaytest', agent: { name: 'relay', digest: '' }, policy: buildPolicy({ mode: 'allowlist', allow: ['*.vendor.test'], local: [], onUnknownHost: 'deny' }) });
  relay = spawn(process.execPath, [path.join(REPO, 'assets/sidecar/sidecar.cjs'), JSON.stringify({ proxyPort: 0 })]);
  const mux = new RelayMux(relay.stdin, { onConnection: (stream) => gateway.acceptConnection('t_relaytest', stream) });
  relay.stdout.on('data', (chunk: Buffer) => mux.input(chunk));
  relayPort = (await mux.ready).port!;
  proxyUrl = `http://${credential.user}:${credential.password}@127.0.0.1:${relayPort}`;
});
afterAll(async () => {
  relay.stdin.end();
  await gateway.close();
  await remotes.close();
});

function fetchThroughRelay(script: string): Promise<string> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, NODE_USE_ENV_PROXY: '1', HTTP_PROXY: proxyUrl, HTTPS_PROXY: proxyUrl, NODE_EXTRA_CA_CERTS: remotes.cert, NO_PROXY: '' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(err)))));
}

describe('the gateway endpoint relay', () => {
  it('carries HTTP and HTTPS (CONNECT) requests, several at once, to the gateway', async () => {
    const out = await fetchThroughRelay(`
      const urls = ['http://api.vendor.test/a', 'https://api.vendor.test/b', 'https://files.vendor.test/c', 'http://files.vendor.test/d'];
      const bodies = await Promise.all(urls.map((u) => fetch(u).then((r) => r.text())));
      console.log(JSON.stringify(bodies));`);
    expect(JSON.parse(out)).toEqual([
      'hello from api.vendor.test/a (GET)\n', 'hello from api.vendor.test/b (GET)\n',
      'hello from files.vendor.test/c (GET)\n', 'hello from files.vendor.test/d (GET)\n',
    ]);
  });

  it('moves a large download intact, with flow control (20 MB over TLS)', async () => {
    const out = await fetchThroughRelay(`
      const { createHash } = await import('node:crypto');
      const body = Buffer.from(await (await fetch('https://api.vendor.test/bytes/20000000')).arrayBuffer());
      console.log(body.length, createHash('sha256').update(body).digest('hex'));`);
    expect(out.trim()).toBe(`20000000 ${createHash('sha256').update(Buffer.alloc(20_000_000, 7)).digest('hex')}`);
  });

  it('sends a large upload intact (5 MB POST over plain HTTP)', async () => {
    const out = await fetchThroughRelay(`
      const res = await fetch('http://api.vendor.test/upload', { method: 'POST', body: 'x'.repeat(5_000_000) });
      console.log((await res.text()).length);`);
    expect(Number(out)).toBe('hello from api.vendor.test/upload (POST '.length + 5_000_000 + ')\n'.length);
  });
});
