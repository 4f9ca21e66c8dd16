// TLS ClientHello bytes built by hand (RFC 8446 4.1.2), for attacking the gateway's reader of them:
// any server name, extensions of the test's choosing, split over as many records as it likes.

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const vector16 = (data: Buffer) => Buffer.concat([u16(data.length), data]);

/** The server_name extension's body for one host name (as raw bytes: hostile names welcome). */
export function serverNameExtension(name: string | Buffer): Buffer {
  const bytes = typeof name === 'string' ? Buffer.from(name, 'latin1') : name;
  return vector16(Buffer.concat([Buffer.from([0]), vector16(bytes)]));
}

/** A ClientHello handshake message (with its 4-byte header). */
export function clientHelloMessage(options: { serverName?: string | Buffer; extensions?: [number, Buffer][] } = {}): Buffer {
  const extensions: [number, Buffer][] = [
    ...(options.serverName !== undefined ? [[0x0000, serverNameExtension(options.serverName)] as [number, Buffer]] : []),
    [0x002b, Buffer.from([2, 3, 4])], // supported_versions: TLS 1.3
    ...(options.extensions ?? []),
  ];
  const body = Buffer.concat([
    Buffer.from([3, 3]), Buffer.alloc(32, 7), Buffer.from([0]), vector16(Buffer.from([0x13, 0x01])), Buffer.from([1, 0]),
    vector16(Buffer.concat(extensions.map(([type, data]) => Buffer.concat([u16(type), vector16(data)])))),
  ]);
  return Buffer.concat([Buffer.from([1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
}

/** Handshake bytes as TLS records of at most `recordSize` bytes each. */
export function inRecords(handshake: Buffer, recordSize = 16_384): Buffer {
  const records: Buffer[] = [];
  for (let i = 0; i < handshake.length; i += recordSize) {
    const fragment = handshake.subarray(i, i + recordSize);
    records.push(Buffer.concat([Buffer.from([0x16, 3, 1]), u16(fragment.length), fragment]));
  }
  return Buffer.concat(records);
}
