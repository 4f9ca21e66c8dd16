import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../main/core/audit/bus.js';
import { systemClock } from '../../main/core/clock.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { buildPolicy } from '../../main/core/gateway/policy.js';
import { RelayMux } from '../../main/core/engine/relay-mux.js';
import { REPO } from '../helpers/env.js';

// A far end that sends its answer and closes at once: what is still on its way to the sandbox
// (in the gateway, in the relay's flow-control window, in the sidecar) must all arrive. (A tunnel
// used to be torn down the moment the far end closed, cutting the tail of a big answer off.)

const SIZE = 20 * 1024 * 1024;
const payload = Buffer.alloc(SIZE, 9);
let server: net.Server;
let serverPort: number;
let relay: ChildProcessWithoutNullStreams;
let gateway: Gateway;
let relayPort: number;
let auth: string;

beforeAll(async () => {
  server = net.createServer((socket) => {
    socket.once('data', () => socket.end(payload)); // answer and close
    socket.on('error', () => undefined);
  });
  serverPort = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  gateway = new Gateway({
    bus: new EventBus(systemClock), clock: systemClock,
    resolve: async () => ['34.120.0.20'],
    dial: (_address, _port) => new Promise((resolve, reject) => {
      const socket = net.connect(serverPort, '127.0.0.1', () => resolve(socket));
      socket.once('error', reject);
    }),
  });
  const credential = gateway.addTask({ task: 't_tunnel', agent: { name: 'tunnel', digest: '' }, policy: buildPolicy({ mode: 'allowlist', allow: ['closer.test:9000'], local: [], onUnknownHost: 'deny' }) });
  auth = `Basic ${Buffer.from(`${credential.user}:${credential.password}`).toString('base64')}`;
  relay = spawn(process.execPath, [path.join(REPO, 'assets/sidecar/sidecar.cjs'), JSON.stringify({ proxyPort: 0 })]);
  const mux = new RelayMux(relay.stdin, { onConnection: (stream) => gateway.acceptConnection('t_tunnel', stream) });
  relay.stdout.on('data', (chunk: Buffer) => mux.input(chunk));
  relayPort = (await mux.ready).port!;
});

afterAll(async () => {
  relay.stdin.end();
  await gateway.close();
  await new Promise((resolve) => server.close(resolve));
});

/** CONNECT through the relay, send one byte, read everything back slowly; resolves with what arrived. */
function slowTunnel(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(relayPort, '127.0.0.1');
    const chunks: Buffer[] = [];
    let head = '';
    let open = false;
    socket.on('error', reject);
    socket.write(`CONNECT closer.test:9000 HTTP/1.1\r\nHost: closer.test:9000\r\nProxy-Authorization: ${auth}\r\n\r\n`);
    socket.on('data', (chunk: Buffer) => {
      if (!open) {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        expect(head).toMatch(/^HTTP\/1\.1 200/);
        open = true;
        const rest = Buffer.from(head.slice(end + 4), 'latin1');
        if (rest.length) chunks.push(rest);
        socket.write('x');
        return;
      }
      chunks.push(chunk);
      // A slow reader: the far end has long closed while most of the answer is still on its way.
      socket.pause();
      setTimeout(() => socket.resume(), 1);
    });
    socket.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

describe('a relayed CONNECT tunnel', () => {
  it('delivers every byte of an answer whose far end closed at once, to a slow reader', async () => {
    for (let i = 0; i < 3; i++) {
      const received = await slowTunnel();
      expect(received.length).toBe(SIZE);
      expect(createHash('sha256').update(received).digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
    }
  }, 60_000);
});
