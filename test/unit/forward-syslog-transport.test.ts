import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syslogFrames } from '../../main/core/forward/syslog.js';
import { transportFactory } from '../../main/core/forward/transports.js';
import type { ForwardBatch, SendOutcome } from '../../main/core/forward/types.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { fixedBatch } from '../helpers/forward-batch.js';
import { forwarder, loopbackLookup } from '../helpers/forward-collector.js';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';

type Behaviour = (socket: tls.TLSSocket, done: (bytes: Buffer) => void) => void;

let ca: TestCa;
let server: tls.Server;
let port: number;
let behaviour: Behaviour;
let connections = 0;
const closed: Array<Promise<void>> = [];

/** A receiver that reads to the end of the stream, then closes its side: what RFC 5425 receivers do. */
const readsToEnd: Behaviour = (socket, done) => {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('end', () => {
    done(Buffer.concat(chunks));
    socket.end();
  });
};

let lastBytes: Buffer | undefined;

beforeAll(async () => {
  ca = makeTestCa('Syslog Test CA');
  const leaf = ca.leaf(['syslog.test']);
  server = tls.createServer({ cert: leaf.cert, key: leaf.key }, (socket) => {
    connections += 1;
    closed.push(new Promise((resolve) => socket.on('close', () => resolve())));
    socket.on('error', () => undefined);
    behaviour(socket, (bytes) => (lastBytes = bytes));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function send(batch: ForwardBatch, options: { clock?: FakeClock; caFile?: string; host?: string } = {}): Promise<SendOutcome> {
  const transport = transportFactory({ lookup: loopbackLookup, ...(options.clock ? { clock: options.clock } : {}) })(
    forwarder('syslog-tls', `tls://${options.host ?? 'syslog.test'}:${port}`, { caFile: options.caFile ?? ca.file }), undefined);
  return transport.send(batch, new AbortController().signal);
}

/** A batch of many records: more than the socket buffers hold, so a receiver that stops reading is noticed. */
function largeBatch(): ForwardBatch {
  const batch = fixedBatch({ data: { blob: 'y'.repeat(64 * 1024) } });
  return { ...batch, items: Array.from({ length: 40 }, () => batch.items[0]!) };
}

describe('syslog over TLS (a real RFC 5425 receiver on loopback)', () => {
  it('acknowledged once the receiver read every frame and closed its side; it received exactly the frames', async () => {
    behaviour = readsToEnd;
    const batch = fixedBatch();
    expect(await send(batch)).toEqual({ ok: true });
    expect(lastBytes!.equals(syslogFrames(batch))).toBe(true);
    await Promise.all(closed);
  });

  it('a receiver that drops the connection before reading everything: not acknowledged', async () => {
    behaviour = (socket) => socket.once('data', () => socket.destroy());
    const outcome = await send(largeBatch());
    expect(outcome.ok).toBe(false);
    expect(outcome.ok === false && outcome.reason).toMatch(/^the collector closed the connection|^the connection closed without the collector closing its side cleanly/);
    await Promise.all(closed);
  });

  it('a receiver that never closes: not acknowledged after 30 s (fake clock), and the socket is closed', async () => {
    const clock = new FakeClock();
    let arrived: () => void;
    const reading = new Promise<void>((resolve) => (arrived = resolve));
    behaviour = (socket) => socket.on('data', () => arrived());
    const before = connections;
    const pending = send(fixedBatch(), { clock });
    await reading;
    expect(connections).toBe(before + 1);
    clock.advance(30_000);
    expect(await pending).toEqual({ ok: false, reason: 'the collector did not answer within 30 s' });
    await Promise.all(closed); // the receiver saw the connection go: nothing left open
  });

  it('a receiver whose certificate another CA signed, or for another name, is refused', async () => {
    behaviour = readsToEnd;
    const other = makeTestCa('Other Syslog CA');
    const wrongCa = await send(fixedBatch(), { caFile: other.file });
    expect(wrongCa).toMatchObject({ ok: false, reason: expect.stringMatching(/not signed by a CA Airlock trusts/) });
    const wrongName = await send(fixedBatch(), { host: 'elsewhere.test' });
    expect(wrongName).toMatchObject({ ok: false, reason: expect.stringMatching(/ERR_TLS_CERT_ALTNAME_INVALID/) });
  });

  it('nobody listening: not acknowledged, one line', async () => {
    const transport = transportFactory({ lookup: loopbackLookup })(forwarder('syslog-tls', 'tls://syslog.test:1', { caFile: ca.file }), undefined);
    expect(await transport.send(fixedBatch(), new AbortController().signal)).toEqual({ ok: false, reason: 'the collector refused the connection (ECONNREFUSED): is it listening on that port?' });
  });
});
