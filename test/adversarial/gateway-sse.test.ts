// Server-sent events through an intercepted tunnel (how Anthropic, OpenAI and Gemini stream): each
// event reaches the sandbox as soon as the upstream sends it — not held until more arrive — and a
// model that thinks for 40 s between events does not get its stream cut (the gateway's own limits,
// on an injected clock: no real waiting).
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUTS } from '../../main/core/gateway/timeouts.js';
import { tlsThrough } from '../helpers/gateway-client.js';
import { gatewayUnderAttackForFile, type GatewayUnderAttack, HOSTILE_SECRET } from '../helpers/gateway-under-attack.js';

let attack: GatewayUnderAttack;
const crashes = gatewayUnderAttackForFile((started) => (attack = started), { timeouts: { upstreamIdleMs: DEFAULT_TIMEOUTS.upstreamIdleMs, upstreamResponseMs: DEFAULT_TIMEOUTS.upstreamResponseMs } });

const until = (check: () => boolean) => new Promise<void>((resolve) => {
  const poll = () => (check() ? resolve() : setTimeout(poll, 5));
  poll();
});

describe('server-sent events', () => {
  it('each event arrives before the next is sent, a 40 s silence does not end the stream, and the secret went up', async () => {
    let stream: Duplex | undefined;
    let upstreamHead = '';
    attack.upstream.hostile = (socket, head) => {
      upstreamHead = head;
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n');
      stream = socket;
    };
    const send = (event: string) => {
      const data = `event: delta\ndata: ${JSON.stringify({ text: event })}\n\n`;
      stream!.write(`${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n`);
    };
    const t = await attack.task({ grants: [{ credential: 'hostile-api' }] });
    const secure = await tlsThrough(attack.port, t.auth, 'hostile.vendor.test', t.ca);
    const received: string[] = [];
    let ended = false;
    const req = http.request({ method: 'POST', path: '/v1/messages', headers: { Host: 'hostile.vendor.test', 'x-api-key': 'unused', Authorization: `Bearer ${t.env.VENDOR_TOKEN}`, 'Content-Type': 'application/json' }, createConnection: () => secure }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => received.push(chunk));
      res.on('end', () => (ended = true));
    });
    req.on('error', () => undefined);
    req.end('{"stream":true}');
    await until(() => stream !== undefined);
    expect(upstreamHead).toContain(`Bearer ${HOSTILE_SECRET}`);

    send('one');
    await until(() => received.join('').includes('"one"'));
    // The model thinks for 40 s: the gateway's limits run on the fake clock and must let it.
    attack.clock.advance(40_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ended).toBe(false);
    expect(received.join('')).not.toContain('"two"');
    send('two');
    await until(() => received.join('').includes('"two"'));
    attack.clock.advance(40_000);
    send('three');
    stream!.end('0\r\n\r\n');
    await until(() => ended);
    expect(received.join('').match(/event: delta/g)).toHaveLength(3);
    await expect.poll(() => t.of('net.request').filter((e) => e.data.path === '/v1/messages')).toHaveLength(1);
    expect(t.of('net.request').find((e) => e.data.path === '/v1/messages')!.data.status).toBe(200);
    expect(crashes.failures).toEqual([]);
  });

  it('a stream silent for longer than the upstream idle limit is cut, and logged', async () => {
    let stream: Duplex | undefined;
    attack.upstream.hostile = (socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
      stream = socket;
    };
    const t = await attack.task({ grants: [{ credential: 'hostile-api' }] });
    const secure = await tlsThrough(attack.port, t.auth, 'hostile.vendor.test', t.ca);
    let closed = false;
    const req = http.request({ method: 'GET', path: '/v1/stream', headers: { Host: 'hostile.vendor.test', Authorization: `Bearer ${t.env.VENDOR_TOKEN}` }, createConnection: () => secure }, (res) => {
      res.on('data', () => undefined);
      res.on('error', () => undefined);
      res.on('close', () => (closed = true));
    });
    req.on('error', () => (closed = true));
    req.end();
    await until(() => stream !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    attack.clock.advance(DEFAULT_TIMEOUTS.upstreamIdleMs + 2_000);
    await until(() => closed);
    await expect.poll(() => t.of('net.request').find((e) => e.data.path === '/v1/stream')?.data.error).toMatch(/stopped sending/);
  });
});
