/**
 * A hostile or broken syslog-over-TLS collector on loopback (issue 19's red team): RFC 5425 has
 * no acknowledgement, so what the transport can see of a receiver not taking the batch (a reset,
 * its side closed while frames are still to write) must never count as delivery.
 */
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transportFactory } from '../../main/core/forward/transports.js';
import type { SendOutcome } from '../../main/core/forward/types.js';
import { fixedBatch } from '../helpers/forward-batch.js';
import { forwarder, loopbackLookup } from '../helpers/forward-collector.js';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';

let ca: TestCa;
let server: net.Server;
let port: number;
let behaviour: (socket: tls.TLSSocket, raw: net.Socket) => void;

beforeAll(async () => {
  ca = makeTestCa('Syslog Red CA');
  const leaf = ca.leaf(['syslog.test']);
  // TLS over a plain TCP server: the test keeps the TCP socket, to reset it (RST).
  server = net.createServer((raw) => {
    raw.on('error', () => undefined);
    const socket = new tls.TLSSocket(raw, { isServer: true, cert: leaf.cert, key: leaf.key });
    socket.on('error', () => undefined);
    socket.on('secure', () => behaviour(socket, raw));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** A small batch, or one larger than the socket buffers (a receiver that stops reading is then in the way). */
function send(large = false): Promise<SendOutcome> {
  const transport = transportFactory({ lookup: loopbackLookup })(forwarder('syslog-tls', `tls://syslog.test:${port}`, { caFile: ca.file }), undefined);
  const batch = large ? fixedBatch({ data: { blob: 'y'.repeat(1024 * 1024) } }) : fixedBatch();
  return transport.send(batch, new AbortController().signal);
}

describe('a syslog collector that does not take the batch', () => {
  // What RFC 5425 cannot tell: a receiver that closes cleanly (with or without close_notify)
  // without reading looks like one that read everything (README, syslog-tls); the records lost
  // then show at the collector as a gap. What the transport can see, it refuses:
  for (const [what, refuse, large] of [
    ['resets the connection straight after the handshake', (_socket: tls.TLSSocket, raw: net.Socket) => raw.resetAndDestroy(), false],
    ['resets it once the first frame arrives', (socket: tls.TLSSocket, raw: net.Socket) => socket.once('data', () => raw.resetAndDestroy()), false],
    ['closes its side, reading nothing, while a batch larger than the socket buffers is still being written', (socket: tls.TLSSocket, raw: net.Socket) => {
      socket.pause();
      socket.end();
      setTimeout(() => raw.resetAndDestroy(), 20);
    }, true],
  ] as const) {
    it(`${what}: not acknowledged`, async () => {
      behaviour = refuse;
      for (let i = 0; i < 3; i++) expect((await send(large || i === 2)).ok, `attempt ${i}`).toBe(false);
    });
  }
});
