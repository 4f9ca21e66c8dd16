// A strict, bounded reader of the first thing a TLS client sends: its ClientHello, possibly split
// over several TLS records and TCP segments. The gateway reads only the server name (SNI) and
// whether Encrypted ClientHello is offered; anything it cannot read exactly is malformed, never
// guessed at. Incremental: each byte is looked at once, however the sender slices them.

export type ClientHelloReading =
  | { kind: 'incomplete' }
  /** A complete ClientHello: its server name (undefined: none sent) and whether it offers ECH. */
  | { kind: 'hello'; serverName: string | undefined; encryptedClientHello: boolean }
  /** The first byte is not a TLS handshake record. */
  | { kind: 'not-tls' }
  | { kind: 'malformed'; reason: string };

const HANDSHAKE_RECORD = 0x16;
const CLIENT_HELLO = 0x01;
const RECORD_HEADER = 5;
const MAX_RECORD = 16_384;
const EXTENSION_SERVER_NAME = 0x0000;
/** encrypted_client_hello (RFC 9849): the real server name travels encrypted inside it. */
export const EXTENSION_ECH = 0xfe0d;
const HOST_NAME = 0x00;

/** The most bytes (records and their headers) read before the ClientHello must be complete. */
export const MAX_CLIENT_HELLO_BYTES = 32 * 1024;

export class ClientHelloReader {
  readonly #maxBytes: number;
  /** Bytes of the record being read (header included), not yet complete. */
  #record: Buffer = Buffer.alloc(0);
  /** Handshake bytes gathered from complete records. */
  readonly #handshake: Buffer[] = [];
  #handshakeLength = 0;
  #seen = 0;
  #result: ClientHelloReading = { kind: 'incomplete' };

  constructor(maxBytes = MAX_CLIENT_HELLO_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /** Reads more of what the client sent; the answer once known stays the answer. */
  push(chunk: Buffer): ClientHelloReading {
    if (this.#result.kind !== 'incomplete' || chunk.length === 0) return this.#result;
    if (this.#seen === 0 && chunk[0] !== HANDSHAKE_RECORD) return (this.#result = { kind: 'not-tls' });
    const room = this.#maxBytes - this.#seen;
    this.#seen += chunk.length;
    let bytes = Buffer.concat([this.#record, chunk.subarray(0, Math.max(0, room))]);
    while (bytes.length >= RECORD_HEADER) {
      if (bytes[0] !== HANDSHAKE_RECORD) return this.#fail('a record other than a handshake before the ClientHello was complete');
      if (bytes[1] !== 0x03) return this.#fail('a record of an unknown TLS version');
      const length = bytes.readUInt16BE(3);
      if (length === 0 || length > MAX_RECORD) return this.#fail(`a handshake record of ${length} bytes`);
      if (bytes.length < RECORD_HEADER + length) break;
      this.#handshake.push(bytes.subarray(RECORD_HEADER, RECORD_HEADER + length));
      this.#handshakeLength += length;
      bytes = bytes.subarray(RECORD_HEADER + length);
      const done = this.#readHandshake();
      if (done) return done;
    }
    this.#record = Buffer.from(bytes);
    if (this.#seen >= this.#maxBytes) return this.#fail(`the ClientHello was not complete within ${this.#maxBytes} bytes`);
    return this.#result;
  }

  #readHandshake(): ClientHelloReading | undefined {
    if (this.#handshakeLength < 4) return undefined;
    const handshake = Buffer.concat(this.#handshake);
    if (handshake[0] !== CLIENT_HELLO) return this.#fail('the first handshake message is not a ClientHello');
    const length = handshake.readUIntBE(1, 3);
    if (length > this.#maxBytes) return this.#fail(`a ClientHello of ${length} bytes (at most ${this.#maxBytes})`);
    if (handshake.length < 4 + length) return undefined;
    const parsed = parseClientHelloBody(handshake.subarray(4, 4 + length));
    return (this.#result = typeof parsed === 'string' ? { kind: 'malformed', reason: parsed } : { kind: 'hello', ...parsed });
  }

  #fail(reason: string): ClientHelloReading {
    return (this.#result = { kind: 'malformed', reason });
  }
}

/** Reads everything at once (tests, fuzzing): the same as pushing it in any slices. */
export function readClientHello(bytes: Buffer, maxBytes = MAX_CLIENT_HELLO_BYTES): ClientHelloReading {
  return new ClientHelloReader(maxBytes).push(bytes);
}

/** A cursor that never reads past its end: each read says whether it could. */
class Cursor {
  readonly bytes: Buffer;
  #offset = 0;
  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }
  get left(): number {
    return this.bytes.length - this.#offset;
  }
  take(count: number): Buffer | undefined {
    if (count > this.left) return undefined;
    const slice = this.bytes.subarray(this.#offset, this.#offset + count);
    this.#offset += count;
    return slice;
  }
  /** A length-prefixed field (`size` bytes of length). */
  vector(size: 1 | 2): Buffer | undefined {
    const prefix = this.take(size);
    return prefix === undefined ? undefined : this.take(prefix.readUIntBE(0, size));
  }
}

/** The ClientHello body (RFC 8446 4.1.2): its server name and ECH, or why it is malformed. */
function parseClientHelloBody(body: Buffer): { serverName: string | undefined; encryptedClientHello: boolean } | string {
  const cursor = new Cursor(body);
  const version = cursor.take(2);
  if (version?.[0] !== 0x03) return 'a ClientHello of an unknown TLS version';
  if (!cursor.take(32)) return 'a truncated ClientHello';
  const sessionId = cursor.vector(1);
  if (!sessionId || sessionId.length > 32) return 'a ClientHello with a malformed session id';
  const suites = cursor.vector(2);
  if (!suites || suites.length === 0 || suites.length % 2 !== 0) return 'a ClientHello with malformed cipher suites';
  const compression = cursor.vector(1);
  if (!compression || compression.length === 0) return 'a ClientHello with malformed compression methods';
  if (cursor.left === 0) return { serverName: undefined, encryptedClientHello: false };
  const extensions = cursor.vector(2);
  if (!extensions || cursor.left !== 0) return 'a ClientHello with malformed extensions';
  const list = new Cursor(extensions);
  const seen = new Set<number>();
  let serverName: string | undefined;
  while (list.left > 0) {
    const type = list.take(2)?.readUInt16BE(0);
    const data = list.vector(2);
    if (type === undefined || !data) return 'a ClientHello with a truncated extension';
    if (seen.has(type)) return `a ClientHello with extension ${type} twice`;
    seen.add(type);
    if (type === EXTENSION_SERVER_NAME) {
      const name = parseServerName(data);
      if (name.startsWith('!')) return name.slice(1);
      serverName = name;
    }
  }
  return { serverName, encryptedClientHello: seen.has(EXTENSION_ECH) };
}

/** The server_name extension (RFC 6066 3): exactly one host_name of printable ASCII; else `!reason`. */
function parseServerName(data: Buffer): string {
  const outer = new Cursor(data);
  const list = outer.vector(2);
  if (!list || outer.left !== 0 || list.length === 0) return '!a malformed server_name extension';
  const entries = new Cursor(list);
  let name: string | undefined;
  while (entries.left > 0) {
    const type = entries.take(1)?.[0];
    const value = entries.vector(2);
    if (type !== HOST_NAME || !value || value.length === 0 || value.length > 255) return '!a malformed server_name entry';
    if (name !== undefined) return '!more than one server name';
    if (value.some((byte) => byte < 0x21 || byte > 0x7e)) return '!a server name with bytes that are not printable ASCII';
    name = value.toString('latin1');
  }
  return name ?? '!a malformed server_name extension';
}
