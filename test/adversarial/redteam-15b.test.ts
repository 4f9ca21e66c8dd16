// Second red-team pass over issue 15: WebSockets through the real gateway, attacked by a hostile
// sandbox (a raw or `ws` client holding the task's CA) and a hostile upstream (raw frames). Each
// attack here worked before its fix: handshakes in flight at once passed the per-task stream limit,
// frames with RSV2/RSV3 were passed on unread, a flood of empty fragments held hundreds of bytes of
// bookkeeping per frame that no bound counted, and frames queued behind a message being inflated
// were not counted at all.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { FakeClock } from '../helpers/fake-clock.js';
import { MAX_HELD_BODY_BYTES, MAX_UPGRADED_STREAMS, TaskLimits } from '../../main/core/gateway/limits.js';
import { FrameGate } from '../../main/core/gateway/websocket-frames.js';
import { request, tlsThrough } from '../helpers/gateway-client.js';
import { gatewayUnderAttackForFile, type GatewayUnderAttack } from '../helpers/gateway-under-attack.js';

let attack: GatewayUnderAttack;
const crashes = gatewayUnderAttackForFile((started) => (attack = started));

type Task = Awaited<ReturnType<GatewayUnderAttack['task']>>;
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** A frame as a client (masked) or a server (unmasked) writes it; `first` is the whole first byte. */
function frame(first: number, payload: Buffer, masked: boolean): Buffer {
  const length = payload.length < 126 ? Buffer.from([payload.length]) : payload.length < 65536 ? Buffer.from([126, payload.length >> 8, payload.length & 0xff]) : Buffer.concat([Buffer.from([127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(payload.length)); return b; })()]);
  length[0]! |= masked ? 0x80 : 0;
  if (!masked) return Buffer.concat([Buffer.from([first]), length, payload]);
  const mask = Buffer.from([1, 2, 3, 4]);
  return Buffer.concat([Buffer.from([first]), length, mask, Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!))]);
}

/** The close code and reason in the first close frame of what the sandbox received, if any. */
function closeOf(bytes: Buffer): { code: number; reason: string } | undefined {
  for (let at = 0; at + 2 <= bytes.length;) {
    const length = bytes[at + 1]! & 0x7f;
    if (length > 125) return undefined;
    if ((bytes[at]! & 0x0f) === 0x8) return { code: bytes.readUInt16BE(at + 2), reason: bytes.subarray(at + 4, at + 2 + length).toString('utf8') };
    at += 2 + length;
  }
  return undefined;
}

/** The upstream as the test writes it: answers the handshake with a correct 101, records what comes after. */
function rawUpstream(then?: (socket: Duplex) => void): { received: Buffer[] } {
  const received: Buffer[] = [];
  attack.upstream.hostile = (socket, head) => {
    const key = /sec-websocket-key:\s*(\S+)/i.exec(head)![1]!;
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => undefined);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${createHash('sha1').update(`${key}${GUID}`).digest('base64')}\r\n\r\n`);
    then?.(socket);
  };
  return { received };
}

/** A raw WebSocket from inside the sandbox: the handshake, then whatever bytes the test writes. */
async function rawSocket(t: Task): Promise<{ socket: tls.TLSSocket; received: () => Buffer; closed: Promise<void> }> {
  const socket = await tlsThrough(attack.port, t.auth, 'hostile.vendor.test', t.ca);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(`GET /v1/responses HTTP/1.1\r\nHost: hostile.vendor.test\r\nAuthorization: Bearer ${t.env.VENDOR_TOKEN}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await expect.poll(() => Buffer.concat(chunks).toString('latin1')).toContain('\r\n\r\n');
  const head = Buffer.concat(chunks).toString('latin1');
  expect(head).toMatch(/^HTTP\/1\.1 101/);
  const headLength = head.indexOf('\r\n\r\n') + 4;
  return { socket, received: () => Buffer.concat(chunks).subarray(headLength), closed };
}

/** Still serving: an ordinary request of another task is answered. */
async function stillServing(): Promise<void> {
  const other = await attack.task({ grants: [{}] });
  const secure = await tlsThrough(attack.port, other.auth, 'echo.vendor.test', other.ca);
  expect((await request(secure, { path: '/v1/ok', headers: { Host: 'echo.vendor.test', Authorization: `Bearer ${other.env.VENDOR_TOKEN}` } })).status).toBe(200);
}

describe('the per-task limit on WebSocket streams', () => {
  const wsHttp = http.createServer();
  const wss = new WebSocketServer({ noServer: true });
  wsHttp.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data) => ws.send(`got ${String(data)}`))));
  afterAll(() => {
    wss.close();
    wsHttp.close();
  });

  it(`holds for handshakes in flight at once: ${MAX_UPGRADED_STREAMS} open, the rest 429 and logged; closed streams give their slots back`, async () => {
    const t = await attack.task({ grants: [{ credential: 'hostile-api' }] });
    // The upstream answers no handshake until every one has either reached it or been refused.
    const waiting: { socket: Duplex; head: string }[] = [];
    let released = false;
    const pass = (socket: Duplex, head: string) => {
      socket.unshift(Buffer.from(head, 'latin1'));
      wsHttp.emit('connection', socket);
    };
    attack.upstream.hostile = (socket, head) => (released ? pass(socket, head) : waiting.push({ socket, head }));
    const tries = MAX_UPGRADED_STREAMS + 4;
    const refused: string[] = [];
    const sockets = await Promise.all(Array.from({ length: tries }, async () => {
      const secure = await tlsThrough(attack.port, t.auth, 'hostile.vendor.test', t.ca);
      const ws = new WebSocket('wss://hostile.vendor.test/v1/responses', { headers: { Authorization: `Bearer ${t.env.VENDOR_TOKEN}` }, createConnection: () => secure, perMessageDeflate: false });
      const opened = new Promise<boolean>((resolve) => {
        ws.once('open', () => resolve(true));
        ws.once('error', (error) => {
          refused.push(error.message);
          resolve(false);
        });
      });
      return { ws, opened };
    }));
    await expect.poll(() => waiting.length + refused.length, { timeout: 10_000 }).toBe(tries);
    released = true;
    for (const held of waiting.splice(0)) pass(held.socket, held.head);
    const opened = await Promise.all(sockets.map((s) => s.opened));
    expect(opened.filter(Boolean)).toHaveLength(MAX_UPGRADED_STREAMS);
    expect(refused).toHaveLength(4);
    for (const message of refused) expect(message).toMatch(/429/);
    expect(t.of('net.denied').filter((e) => e.decision?.rule === 'rate.streams')).toHaveLength(4);
    expect(t.of('policy.violation').filter((e) => JSON.stringify(e.data).includes('rate.streams'))).toHaveLength(4);

    // Once they are closed, the task may open streams again (the slots were given back).
    await Promise.all(sockets.filter((_, i) => opened[i]).map(({ ws }) => new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close(1000, 'done');
    })));
    await expect.poll(() => t.of('net.request').filter((e) => e.data.ws === true)).toHaveLength(MAX_UPGRADED_STREAMS);
    const secure = await tlsThrough(attack.port, t.auth, 'hostile.vendor.test', t.ca);
    const again = new WebSocket('wss://hostile.vendor.test/v1/responses', { headers: { Authorization: `Bearer ${t.env.VENDOR_TOKEN}` }, createConnection: () => secure, perMessageDeflate: false });
    const answer = await new Promise<string>((resolve, reject) => {
      again.once('open', () => again.send('hello'));
      again.once('message', (data) => resolve(String(data)));
      again.once('error', reject);
    });
    expect(answer).toBe('got hello');
    again.close();
    expect(crashes.failures).toEqual([]);
  });
});

describe('frames Airlock cannot read are not passed on', () => {
  it('a frame from the sandbox with RSV2 set never reaches the upstream: the stream ends 1002, logged; the gateway keeps serving', async () => {
    const upstream = rawUpstream();
    const t = await attack.task({ grants: [{ credential: 'hostile-api' }] });
    const sandbox = await rawSocket(t);
    sandbox.socket.write(frame(0x80 | 0x20 | 0x1, Buffer.from('meaning only to a colluding upstream'), true));
    await sandbox.closed;
    expect(closeOf(sandbox.received())).toMatchObject({ code: 1002 });
    expect(closeOf(sandbox.received())!.reason).toMatch(/RSV2 or RSV3/);
    expect(Buffer.concat(upstream.received).toString('latin1')).not.toMatch(/\S/);
    await expect.poll(() => t.of('net.request').filter((e) => e.data.ws === true)).toHaveLength(1);
    expect(String(t.of('net.request').find((e) => e.data.ws === true)!.data.error)).toMatch(/RSV2 or RSV3/);
    await stillServing();
  });

  it('a frame from the upstream with RSV3 set never reaches the sandbox', async () => {
    rawUpstream((socket) => socket.write(frame(0x80 | 0x10 | 0x1, Buffer.from('RSV3-PAYLOAD'), false)));
    const t = await attack.task({ grants: [{ credential: 'hostile-api' }] });
    const sandbox = await rawSocket(t);
    await sandbox.closed;
    expect(sandbox.received().toString('latin1')).not.toContain('RSV3-PAYLOAD');
    expect(closeOf(sandbox.received())).toMatchObject({ code: 1002 });
    await expect.poll(() => t.of('net.request').filter((e) => e.data.ws === true)).toHaveLength(1);
  });
});

describe('memory a hostile sandbox can make the gateway hold', () => {
  it('a message of 20 000 empty fragments is refused (1009) before any of it goes up; logged; the gateway keeps serving', async () => {
    const upstream = rawUpstream();
    const t = await attack.task({ grants: [{ credential: 'hostile-api' }] });
    const sandbox = await rawSocket(t);
    const empty = frame(0x00, Buffer.alloc(0), true);
    sandbox.socket.write(Buffer.concat([frame(0x01, Buffer.from('x'), true), ...Array.from({ length: 20_000 }, () => empty), frame(0x80, Buffer.from('y'), true)]));
    await sandbox.closed;
    expect(closeOf(sandbox.received())).toMatchObject({ code: 1009 });
    expect(Buffer.concat(upstream.received).length).toBe(0);
    await expect.poll(() => t.of('net.request').filter((e) => e.data.ws === true)).toHaveLength(1);
    expect(String(t.of('net.request').find((e) => e.data.ws === true)!.data.error)).toMatch(/more than 8 MiB/);
    await stillServing();
    expect(crashes.failures).toEqual([]);
  });

  it('frames sent while a compressed message is still being inflated count against the task\'s allowance (no unbounded queue)', async () => {
    const limits = new TaskLimits(new FakeClock(), {});
    const passed: Buffer[] = [];
    const stops: { code?: number; reason?: string }[] = [];
    const gate = new FrameGate<never>({
      fromClient: true, deflate: true, noContextTakeover: false, scanner: undefined,
      hold: (bytes) => limits.holdBody(bytes), release: (bytes) => limits.releaseBody(bytes),
      pass: (frames) => passed.push(frames),
      stop: (why) => stops.push('code' in why ? why : {}),
    });
    // A bomb that takes a while to inflate, then 24 MiB of small messages before it is done.
    const bomb = zlib.deflateRawSync(Buffer.alloc(48 * 1024 * 1024), { level: 9 });
    gate.push(frame(0x80 | 0x40 | 0x1, bomb.subarray(0, bomb.length - 4), true));
    const small = frame(0x82, Buffer.alloc(64 * 1024), true);
    for (let i = 0; i < 384; i++) gate.push(small);
    await gate.drained();
    expect(stops).toHaveLength(1);
    expect(stops[0]).toMatchObject({ code: 1009 });
    expect(passed.reduce((sum, f) => sum + f.length, 0)).toBeLessThan(MAX_HELD_BODY_BYTES);
    // Everything held was given back once the stream ended.
    expect(limits.holdBody(MAX_HELD_BODY_BYTES)).toBe(true);
  });
});
