// The egress gateway on loopback: added latency per request (p50, p99; keep-alive and not) and
// the throughput of a 100 MB download — direct, through Airlock's gateway, through the gateway
// plus its in-sandbox relay (as a local child process), and through tinyproxy (Debian's), in one run.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const REQUESTS = Number(process.env.BENCH_GATEWAY_REQUESTS ?? 1000);

interface Proxy { name: string; port?: number; auth?: string }

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

function get(target: string, proxy: Proxy, agent: http.Agent | false): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(target);
    const options: http.RequestOptions = proxy.port
      ? { host: '127.0.0.1', port: proxy.port, path: target, headers: { Host: url.host, ...(proxy.auth ? { 'Proxy-Authorization': proxy.auth } : {}) }, agent }
      : { host: url.hostname, port: url.port, path: url.pathname, agent };
    const req = http.request(options, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => (res.statusCode === 200 ? resolve(bytes) : reject(new Error(`${proxy.name}: status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function latencies(target: string, proxy: Proxy, keepAlive: boolean): Promise<{ p50: number; p99: number }> {
  const agent = keepAlive ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;
  for (let i = 0; i < 50; i++) await get(target, proxy, agent); // warm up
  const times: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const started = process.hrtime.bigint();
    await get(target, proxy, agent);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  if (agent) agent.destroy();
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/** A 100 MB download through a CONNECT tunnel (how HTTPS, and Node 24's fetch, use a proxy). */
function tunnelGet(target: string, proxy: Proxy): Promise<number> {
  const url = new URL(target);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'CONNECT', path: url.host, headers: { Host: url.host, ...(proxy.auth ? { 'Proxy-Authorization': proxy.auth } : {}) } });
    req.on('connect', (res, socket) => {
      if (res.statusCode !== 200) return reject(new Error(`${proxy.name}: CONNECT ${res.statusCode}`));
      const inner = http.request({ path: url.pathname, headers: { Host: url.host }, createConnection: () => socket }, (response) => {
        let bytes = 0;
        response.on('data', (chunk: Buffer) => (bytes += chunk.length));
        response.on('end', () => {
          socket.destroy();
          resolve(bytes);
        });
      });
      inner.on('error', reject);
      inner.end();
    });
    req.on('error', reject);
    req.end();
  });
}

async function tunnelThroughput(target: string, proxy: Proxy): Promise<number | undefined> {
  if (!proxy.port) return throughput(target, proxy);
  const runs: number[] = [];
  for (let i = 0; i < 4; i++) {
    const started = performance.now();
    const bytes = await tunnelGet(target, proxy);
    if (i > 0) runs.push(bytes / 1024 / 1024 / ((performance.now() - started) / 1000));
  }
  return runs.sort((a, b) => a - b)[1]!;
}

async function throughput(target: string, proxy: Proxy): Promise<number> {
  await get(target, proxy, false);
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const bytes = await get(target, proxy, false);
    runs.push(bytes / 1024 / 1024 / ((performance.now() - started) / 1000));
  }
  return runs.sort((a, b) => a - b)[1]!;
}

async function startTinyproxy(dir: string): Promise<{ port: number; child: ChildProcess } | undefined> {
  const binary = ['/usr/bin/tinyproxy', '/usr/sbin/tinyproxy'].find((b) => fs.existsSync(b));
  if (!binary) return undefined;
  const probe = http.createServer();
  const port = await listen(probe);
  await new Promise((r) => probe.close(r));
  const config = path.join(dir, 'tinyproxy.conf');
  fs.writeFileSync(config, `Port ${port}\nListen 127.0.0.1\nTimeout 60\nMaxClients 100\nAllow 127.0.0.1\nLogLevel Critical\nDisableViaHeader Yes\n`);
  const child = spawn(binary, ['-d', '-c', config], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const ok = await get(`http://127.0.0.1:1/`, { name: 'probe', port }, false).then(() => true, (e: Error) => !/ECONNREFUSED/.test(e.message));
    if (ok) return { port, child };
  }
  child.kill();
  return undefined;
}

/** Starts a helper process and returns its first line of output. */
async function helper(args: string[]): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
  return { child, line };
}

export async function benchGateway(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-gateway-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  // Client (this process), origin server, gateway and tinyproxy each run in a process of their own.
  const origin = await helper([path.join(import.meta.dirname, 'fixtures', 'origin-server.mjs')]);
  const port = Number(origin.line);
  const small = `http://127.0.0.1:${port}/small`;
  const big = `http://127.0.0.1:${port}/big`;
  const gatewayProcess = await helper(['--import', 'tsx', path.join(import.meta.dirname, 'fixtures', 'gateway-process.ts'), String(port)]);
  const info = JSON.parse(gatewayProcess.line) as { port: number; relayPort: number; auth: string };
  const airlock: Proxy = { name: 'airlock gateway', port: info.port, auth: info.auth };
  const relayed: Proxy = { name: 'gateway + relay', port: info.relayPort, auth: info.auth };

  const tiny = await startTinyproxy(dir);
  if (!tiny) console.warn('tinyproxy not found: `apt-get install tinyproxy` to add it to the comparison');
  const tinyproxy: Proxy | undefined = tiny ? { name: 'tinyproxy', port: tiny.port } : undefined;
  const direct: Proxy = { name: 'direct' };
  const rows: { name: string; ka: { p50: number; p99: number } | undefined; nka: { p50: number; p99: number }; mbps: number; tunnel: number | undefined }[] = [];
  for (const proxy of [direct, airlock, relayed, ...(tinyproxy ? [tinyproxy] : [])]) {
    // tinyproxy closes the client connection after every response: it has no keep-alive to measure.
    const ka = proxy === tinyproxy ? undefined : await latencies(small, proxy, true);
    rows.push({ name: proxy.name, ka, nka: await latencies(small, proxy, false), mbps: await throughput(big, proxy), tunnel: await tunnelThroughput(big, proxy) });
    process.stderr.write(`  measured ${proxy.name}\n`);
  }
  const base = rows[0]!;
  const ms = (v: number) => `${v.toFixed(3)} ms`;
  console.log(`\nEgress gateway on loopback (${REQUESTS} requests per column; 100 MB download, median of 3)`);
  console.log('                     keep-alive p50 (+added)   p99            new conn p50 (+added)   p99            100 MB, plain HTTP       100 MB, CONNECT tunnel');
  for (const r of rows) {
    const ka = r.ka && base.ka ? `${ms(r.ka.p50)} (+${(r.ka.p50 - base.ka.p50).toFixed(3)})` : 'n/a (closes each connection)';
    console.log(`${r.name.padEnd(21)}${ka.padEnd(26)}${(r.ka ? ms(r.ka.p99) : '').padEnd(15)}${`${ms(r.nka.p50)} (+${(r.nka.p50 - base.nka.p50).toFixed(3)})`.padEnd(24)}${ms(r.nka.p99).padEnd(15)}${`${r.mbps.toFixed(0)} MB/s (${((r.mbps / base.mbps) * 100).toFixed(0)}%)`.padEnd(25)}${r.tunnel ? `${r.tunnel.toFixed(0)} MB/s (${((r.tunnel / base.mbps) * 100).toFixed(0)}%)` : ''}`);
  }
  tiny?.child.kill();
  gatewayProcess.child.stdin!.end();
  origin.child.stdin!.end();
}
