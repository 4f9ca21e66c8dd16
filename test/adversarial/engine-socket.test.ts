import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushTopic } from '../../preload/contract.js';
import { HandlerTable } from '../../main/core/server/dispatch.js';
import { engineEndpoint } from '../../main/core/server/endpoint.js';
import { engineContract } from '../../main/core/server/engine-contract.js';
import { EngineSocketServer } from '../../main/core/server/socket-server.js';
import { CLI, runCli, tempDir, TEST_ENGINE_ENV, waitFor } from '../helpers/env.js';
import { enginesOf, isAlive, stopEngine, testClient } from '../helpers/engine.js';

// The engine's socket is the user's alone, and everything that arrives on it is hostile: another
// uid cannot open it, a client never talks to a socket someone else could have made, and no frame
// a client sends (huge, broken, out of order, thousands of connections, never reading) takes the
// engine down or stops it serving the next client.

const NOBODY = 65534;
let home: string;
let socketPath: string;
let logFile: string;
let pid: number;

beforeAll(async () => {
  home = path.join(tempDir(), 'home');
  // Started by a user whose umask opens everything: the engine's files are still its own alone.
  const start = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('sh', ['-c', 'umask 000 && exec "$0" "$1" engine start', process.execPath, CLI], { env: { ...process.env, ...TEST_ENGINE_ENV, AIRLOCK_HOME: home, AIRLOCK_ENGINE_IDLE: '2m' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  expect(start.code, start.stderr).toBe(0);
  pid = Number(/pid (\d+)/.exec(start.stdout)?.[1]);
  ({ socket: socketPath, log: logFile } = engineEndpoint(home));
});
afterAll(async () => {
  await stopEngine(home);
});

/** The engine still runs and answers a well-behaved client. */
async function stillServes(): Promise<void> {
  expect(isAlive(pid)).toBe(true);
  const client = await testClient(home);
  try {
    expect(await client.call('engine.status')).toMatchObject({ pid });
  } finally {
    await client.close();
  }
}

const engineLog = () => fs.readFileSync(logFile, 'utf8');

/** A raw connection and every line it receives; `closed` settles when the engine closes it. */
function raw(options: { read?: boolean } = {}) {
  const socket = net.createConnection(socketPath);
  const lines: string[] = [];
  let buffered = '';
  if (options.read !== false) {
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      lines.push(...parts);
    });
  }
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const hello = () => socket.write(`${JSON.stringify({ hello: { protocol: 1, build: 'hostile', client: 'hostile' } })}\n`);
  return { socket, lines, closed, hello, messages: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('another uid', () => {
  it('cannot open the engine socket, even with the folders above it opened up', async () => {
    expect(fs.statSync(socketPath).mode & 0o777).toBe(0o600);
    const tryAsNobody = () => new Promise<string>((resolve) => {
      const child = spawn(process.execPath, ['-e', `require('net').createConnection(${JSON.stringify(socketPath)}).on('connect', () => { console.log('CONNECTED'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })`], { uid: NOBODY, gid: NOBODY });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', () => resolve(out.trim()));
    });
    expect(await tryAsNobody()).toBe('EACCES');
    // The socket's own mode (0600) holds when the folders are traversable.
    const folders = [home, path.dirname(home)];
    const modes = folders.map((f) => fs.statSync(f).mode & 0o777);
    try {
      for (const folder of folders) fs.chmodSync(folder, 0o711);
      expect(await tryAsNobody()).toBe('EACCES');
    } finally {
      folders.forEach((folder, i) => fs.chmodSync(folder, modes[i]!));
    }
    await stillServes();
  });
});

describe('a client', () => {
  it('a home folder of ours with a looser mode (made by hand, or by an older Airlock) is narrowed to 0700, not refused', async () => {
    const loose = path.join(tempDir(), 'home');
    fs.mkdirSync(loose, { mode: 0o755 });
    fs.chmodSync(loose, 0o755);
    const status = await runCli(['engine', 'status'], { env: { AIRLOCK_HOME: loose } });
    expect(status.code, status.stderr).toBe(3); // none runs: said, not refused
    expect(fs.statSync(loose).mode & 0o777).toBe(0o700);
  });

  it('refuses a socket or folder someone else could have made, and says nothing to it', async () => {
    const fakeHome = path.join(tempDir(), 'home');
    fs.mkdirSync(fakeHome, { mode: 0o700 });
    const fake = engineEndpoint(fakeHome).socket;
    let received = 0;
    const impostor = net.createServer((s) => s.on('data', (d: Buffer) => (received += d.length)));
    await new Promise<void>((resolve) => impostor.listen(fake, resolve));
    try {
      const attempt = async () => runCli(['engine', 'status'], { env: { AIRLOCK_HOME: fakeHome } });
      fs.chmodSync(fake, 0o666);
      const open = await attempt();
      expect(open.code).toBe(125);
      expect(open.stderr).toMatch(/refusing the Airlock engine's socket .* has mode 0666/);

      fs.chmodSync(fake, 0o600);
      fs.chownSync(fake, NOBODY, NOBODY);
      const foreign = await attempt();
      expect(foreign.stderr).toMatch(/refusing the Airlock engine's socket .* belongs to uid 65534/);
      // Nor does `engine start` start one over it.
      const start = await runCli(['engine', 'start'], { env: { AIRLOCK_HOME: fakeHome } });
      expect(start.code).toBe(125);
      expect(enginesOf(fakeHome)).toEqual([]);
      expect(received).toBe(0);
    } finally {
      await new Promise((resolve) => impostor.close(resolve));
    }
  });
});

describe('hostile frames', () => {
  it('a line over the bound is refused and the connection closed', async () => {
    const c = raw();
    c.hello();
    c.socket.write(Buffer.alloc(9 * 1024 * 1024, 0x61));
    await c.closed;
    expect(c.messages().at(-1)).toMatchObject({ envelope: { ok: false, error: { code: 'bad_argument', message: expect.stringMatching(/longer than/) } } });
    expect(engineLog()).toMatch(/disconnected client \d+ \(hostile hostile\): it sent a line longer than 8388608 bytes/);
    await stillServes();
  });

  it('text that is not JSON, or a call before hello, closes the connection with a reason', async () => {
    const broken = raw();
    broken.socket.write('{"hello": nope\n');
    await broken.closed;
    expect(broken.messages()).toEqual([expect.objectContaining({ envelope: expect.objectContaining({ ok: false }) })]);

    const early = raw();
    early.socket.write(`${JSON.stringify({ id: 1, channel: 'engine.stop', args: [] })}\n`);
    await early.closed;
    expect(JSON.stringify(early.messages())).toMatch(/the first message must be \{hello/);
    expect(engineLog()).toMatch(/it sent a message that is not JSON/);
    expect(engineLog()).toMatch(/it did not start with hello/);
    await stillServes();
  });

  it('unknown channels, arguments that are not a list and bad ids get error envelopes; the connection goes on', async () => {
    const c = raw();
    c.hello();
    c.socket.write([
      { id: 1, channel: 'nope.nothing', args: [] },
      { id: 2, channel: 'engine.status', args: { 0: 1 } },
      { id: 'x', channel: 'engine.status', args: [] },
      { id: 3, channel: 'tasks.stop', args: ['not-a-task'] },
      { id: 4, channel: 'engine.status', args: [] },
    ].map((m) => `${JSON.stringify(m)}\n`).join(''));
    await waitFor(async () => (c.messages().some((m) => m.id === 4) ? true : undefined), 'the last answer');
    const byId = new Map(c.messages().map((m) => [m.id, m.envelope as { ok: boolean }]));
    expect(byId.get(1)).toMatchObject({ ok: false, error: { code: 'bad_argument' } });
    expect(byId.get(2)).toMatchObject({ ok: false, error: { code: 'bad_argument' } });
    expect(byId.get(0)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/positive integer id/) } });
    expect(byId.get(3)).toMatchObject({ ok: false, error: { code: 'bad_argument' } });
    expect(byId.get(4)).toMatchObject({ ok: true, value: { pid } });
    c.socket.destroy();
  });

  it('calls in flight from one client are bounded', async () => {
    const c = raw();
    c.hello();
    c.socket.write(Array.from({ length: 200 }, (_, i) => `${JSON.stringify({ id: i + 1, channel: 'engine.status', args: [] })}\n`).join(''));
    await waitFor(async () => (c.messages().filter((m) => 'id' in m).length === 200 ? true : undefined), 'every answer');
    const refused = c.messages().filter((m) => JSON.stringify(m).includes('calls at once from one client'));
    expect(refused.length).toBeGreaterThan(0);
    expect(c.messages().filter((m) => (m.envelope as { ok?: boolean } | undefined)?.ok).length).toBeLessThanOrEqual(200 - refused.length);
    c.socket.destroy();
  });

  it('thousands of connections at once: the surplus is refused, and the engine serves again once they go', async () => {
    const flood = Array.from({ length: 1500 }, () => raw());
    let settled = 0;
    for (const c of flood) void c.closed.then(() => (settled += 1));
    // Each connection is either held (64 at most), told there are too many, or not accepted at all.
    await waitFor(async () => (flood.filter((c) => c.lines.length > 0).length + settled >= 1500 - 64 ? true : undefined), 'the surplus to be refused', 30_000);
    expect(flood.filter((c) => JSON.stringify(c.lines).includes('too many clients')).length).toBeGreaterThan(0);
    for (const c of flood) c.socket.destroy();
    await Promise.all(flood.map((c) => c.closed));
    expect(engineLog()).toMatch(/refused a connection: 64 clients are connected already/);
    // Once the engine has seen them go (their closes reach it a moment after ours), it serves again.
    await waitFor(async () => {
      const client = await testClient(home).catch(() => undefined);
      if (!client) return undefined;
      try {
        return (await client.call('engine.status').catch(() => undefined))?.pid === pid ? true : undefined;
      } finally {
        await client.close();
      }
    }, 'the engine to serve a client again once the flood has gone', 10_000);
    await stillServes();
  }, 60_000);

  it('a client that never reads its answers stalls only itself: the engine stops reading its calls and holds no more', async () => {
    const c = raw({ read: false });
    c.hello();
    const call = (id: number) => `${JSON.stringify({ id, channel: 'engine.status', args: [] })}\n`;
    // Keep writing until the engine stops taking our calls: then our own writes back up, unsent.
    for (let sent = 0; !/does not read its answers/.test(engineLog()) && sent < 400_000; sent += 1000) {
      c.socket.write(Array.from({ length: 1000 }, (_, i) => call(sent + i + 1)).join(''));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(engineLog()).toMatch(/client \d+ \(hostile hostile\) does not read its answers: its calls wait until it does/);
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    expect(rssKiB).toBeLessThan(400 * 1024);
    await stillServes();
    c.socket.destroy();
  }, 60_000);
});

describe('pushes to a client that never reads', () => {
  it('are bounded: past the bound the engine disconnects it and says so; other clients go on', async () => {
    const logged: string[] = [];
    let pushAll: (push: { topic: PushTopic; payload: unknown }) => void = () => undefined;
    const server = new EngineSocketServer({
      table: new HandlerTable(engineContract),
      subscribe: (listener) => ((pushAll = listener), () => undefined),
      build: 'test',
      runningTasks: () => 0,
      log: (message) => logged.push(message),
      limits: { maxQueuedBytes: 4 * 1024 * 1024 },
    });
    const socket = path.join(tempDir(), 'engine.sock');
    await server.listen(socket);
    try {
      const slow = net.createConnection(socket);
      slow.on('error', () => undefined);
      slow.write(`${JSON.stringify({ hello: { protocol: 1, build: 'hostile', client: 'slow' } })}\n`);
      slow.pause();
      const fast = net.createConnection(socket);
      let fastBytes = 0;
      fast.on('data', (d: Buffer) => (fastBytes += d.length));
      fast.write(`${JSON.stringify({ hello: { protocol: 1, build: 'test', client: 'fast' } })}\n`);
      await waitFor(async () => (server.connections === 2 && fastBytes > 0 ? true : undefined), 'both clients');
      const frame = new Uint8Array(256 * 1024);
      for (let i = 0; i < 200 && logged.every((l) => !/does not read what it is sent/.test(l)); i++) {
        pushAll({ topic: 'screen', payload: { task: 't_x', png: frame } });
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(logged.join('\n')).toMatch(/disconnected client \d+ \(slow hostile\): it does not read what it is sent \(over 4194304 bytes queued\)/);
      await waitFor(async () => (server.connections === 1 ? true : undefined), 'the slow client to be gone');
      const before = fastBytes;
      pushAll({ topic: 'tasks', payload: [] });
      await waitFor(async () => (fastBytes > before ? true : undefined), 'the fast client to get the next push');
      fast.destroy();
    } finally {
      await server.close(socket);
    }
  });
});
