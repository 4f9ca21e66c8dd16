import { Writable, type Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FRAME, MAX_PAYLOAD, WINDOW_BYTES } from '../../main/core/engine/relay-frames.js';
import { RelayMux } from '../../main/core/engine/relay-mux.js';

// Airlock's side of the sidecar's relay treats every frame as hostile: a peer that breaks the
// protocol is cut off (and reported), never trusted with more memory than its windows allow.

function mux(maxConnections = 4) {
  const written: Buffer[] = [];
  const output = new Writable({ write(chunk: Buffer, _e, done) { written.push(chunk); done(); } });
  const seen = { connections: [] as Duplex[], protocolErrors: [] as string[], refused: [] as number[], statuses: [] as Record<string, unknown>[] };
  const relay = new RelayMux(output, {
    onConnection: (stream) => seen.connections.push(stream),
    onProtocolError: (reason) => seen.protocolErrors.push(reason),
    onConnectionRefused: (open) => seen.refused.push(open),
    onStatus: (status) => seen.statuses.push(status),
  }, maxConnections);
  const types = () => written.map((frame) => ({ type: frame[0], id: frame.readUInt32BE(1) }));
  return { relay, seen, types };
}

describe('the relay mux against a hostile sidecar', () => {
  it('cuts off a frame longer than the protocol allows, before buffering it', () => {
    const { relay, seen } = mux();
    const header = Buffer.alloc(9);
    header[0] = FRAME.DATA;
    header.writeUInt32BE(1, 1);
    header.writeUInt32BE(0xffffffff, 5); // 4 GiB announced
    relay.input(header);
    expect(seen.protocolErrors).toEqual([`a frame of ${0xffffffff} bytes (the most is ${MAX_PAYLOAD})`]);
    relay.input(encodeFrame(FRAME.OPEN, 2)); // nothing more is read from it
    expect(seen.connections).toEqual([]);
  });

  it('cuts off unknown frame types, a second OPEN for one id, malformed JSON and WINDOW frames', () => {
    for (const bad of [
      encodeFrame(42, 1),
      Buffer.concat([encodeFrame(FRAME.OPEN, 1), encodeFrame(FRAME.OPEN, 1)]),
      encodeFrame(FRAME.READY, 0, Buffer.from('{not json')),
      encodeFrame(FRAME.STATUS, 0, Buffer.from('[1,2]')),
      Buffer.concat([encodeFrame(FRAME.OPEN, 1), encodeFrame(FRAME.WINDOW, 1, Buffer.from([1]))]),
    ]) {
      const { relay, seen } = mux();
      expect(() => relay.input(bad)).not.toThrow();
      expect(seen.protocolErrors).toHaveLength(1);
    }
  });

  it('refuses connections over the limit, says so once per burst, and serves again after some close', () => {
    const { relay, seen, types } = mux(2);
    for (let id = 1; id <= 5; id++) relay.input(encodeFrame(FRAME.OPEN, id));
    expect(seen.connections).toHaveLength(2);
    expect(seen.refused).toEqual([2]);
    expect(types().filter((f) => f.type === FRAME.CLOSE).map((f) => f.id)).toEqual([3, 4, 5]);
    seen.connections[0]!.destroy();
    seen.connections[1]!.destroy();
    relay.input(encodeFrame(FRAME.OPEN, 6));
    expect(seen.connections).toHaveLength(3);
  });

  it('closes a connection whose sidecar sends past its window (flow control ignored), keeping the rest', () => {
    const { relay, seen, types } = mux();
    relay.input(Buffer.concat([encodeFrame(FRAME.OPEN, 1), encodeFrame(FRAME.OPEN, 2)]));
    const [flooded, quiet] = seen.connections;
    // Nobody reads connection 1: its window fills, and then some.
    for (let sent = 0; sent <= WINDOW_BYTES + 3 * MAX_PAYLOAD; sent += MAX_PAYLOAD) relay.input(encodeFrame(FRAME.DATA, 1, Buffer.alloc(MAX_PAYLOAD)));
    expect(flooded!.destroyed).toBe(true);
    expect(types()).toContainEqual({ type: FRAME.CLOSE, id: 1 });
    expect(quiet!.destroyed).toBe(false);
    expect(seen.protocolErrors).toEqual([]);
  });

  it('passes a status report on as an object', () => {
    const { relay, seen } = mux();
    relay.input(encodeFrame(FRAME.STATUS, 0, Buffer.from(JSON.stringify({ disk: { full: true, usedBytes: 5 } }))));
    expect(seen.statuses).toEqual([{ disk: { full: true, usedBytes: 5 } }]);
  });
});
