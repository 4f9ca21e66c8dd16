/**
 * Real collectors on loopback for the forwarding tests, each over TLS with a certificate for
 * `localhost` from a CA made per run: an OTLP/HTTP logs receiver (protobuf decoded with protobufjs
 * from the official .proto text in assets/otlp, parsed at run time — not Airlock's encoder and its
 * compiled descriptor — and JSON), an RFC 5425 syslog receiver, and an HTTPS webhook of JSON lines.
 * Each appends what it received to its collected-stream file, fsynced BEFORE it answers (what a
 * collector acknowledged is what it stored), in the forms `airlock audit verify --from-export`
 * reads. A test switches faults at run time: down, an error status, a corrupt answer or a cut
 * connection after storing (the redelivery case), slow.
 */
import fs from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import zlib from 'node:zlib';
import protobuf from 'protobufjs';
import { parseStreamLine, type StreamItem } from '../../main/core/forward/stream-parse.js';
import { REPO, tempDir } from './env.js';
import { makeTestCa, type TestCa } from './test-ca.js';

export type CollectorKind = 'otlp-http' | 'syslog-tls' | 'webhook';

export type CollectorFault =
  | { mode: 'none' }
  /** The port is closed: connections are refused. */
  | { mode: 'down' }
  /** HTTP: this status (e.g. 503 with Retry-After), nothing stored. syslog: the TCP connection is closed before the TLS handshake (the sender gets an error). */
  | { mode: 'status'; status: number; retryAfter?: string }
  /** Stored and fsynced, then `garbage`: a 200 whose body is not an ExportLogsServiceResponse (OTLP; a webhook's body is ignored), or `cut`: the connection destroyed unanswered (syslog: stored, then never closed: the sender's own timeout ends it). */
  | { mode: 'corrupt'; how: 'garbage' | 'cut' }
  /** Stored, then answered after `delayMs`. */
  | { mode: 'slow'; delayMs: number };

/** One request (or syslog connection) as it reached the collector. */
export interface Received {
  contentType?: string;
  authorization?: string;
  /** The HTTP status answered; 0 for a cut connection; for syslog 200 for a clean close. */
  status: number;
  stored: number;
  /** Date.now() once what it carried was stored and fsynced (the forwarding benchmark's arrival time). */
  storedAt?: number;
}

/** An item as the collector holds it, read back with the verifier's parser. */
export type CollectedItem =
  | { type: 'record'; trail: string; n: number; hash: string; redelivery: boolean; line: string }
  | { type: 'skipped'; trail: string; from: number; to: number; redelivery: boolean }
  | { type: 'head'; trail: string; n: number };

export interface Collector {
  kind: CollectorKind;
  /** What a forwarder is configured with: https://localhost:PORT/v1/logs, https://localhost:PORT/hook or tls://localhost:PORT. */
  url: string;
  port: number;
  /** The CA's certificate file (a forwarder's caFile). */
  caFile: string;
  /** The collected-stream file. */
  file: string;
  received: Received[];
  start(): Promise<void>;
  /** Kill: the port closed and every connection destroyed. */
  stop(): Promise<void>;
  /** stop, then start on the same port; the file is kept. */
  restart(): Promise<void>;
  fault(fault: CollectorFault): Promise<void>;
  lines(): string[];
  items(): CollectedItem[];
}

export interface CollectorOptions {
  /** Required `Authorization: Bearer <token>` (HTTP kinds): else 401 and nothing stored. */
  token?: string;
  ca?: TestCa;
}

const MAX_BODY = 64 * 1024 * 1024;
const MAX_FRAME = 64 * 1024 * 1024;
const PROTO_ROOT = path.join(REPO, 'assets', 'otlp');

let sharedCa: TestCa | undefined;
const caOf = (options: CollectorOptions) => options.ca ?? (sharedCa ??= makeTestCa('airlock test collectors'));

let otlpTypes: { request: protobuf.Type; response: protobuf.Type } | undefined;
/** The official ExportLogsService messages (opentelemetry-proto v1.9.0), loaded from our own copy. */
export function otlpSchema(): { request: protobuf.Type; response: protobuf.Type } {
  if (!otlpTypes) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.join(PROTO_ROOT, target);
    root.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto', { keepCase: false });
    otlpTypes = { request: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'), response: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse') };
  }
  return otlpTypes;
}

/** A protobuf request in the OTLP/JSON form (lowerCamelCase, int64 as strings, enums as numbers, ids as hex). */
function otlpJsonOf(body: Buffer): unknown {
  const { request } = otlpSchema();
  const object = request.toObject(request.decode(body), { longs: String, enums: Number, bytes: String });
  const hex = (value: unknown) => (typeof value === 'string' ? Buffer.from(value, 'base64').toString('hex') : value);
  for (const resourceLog of (object.resourceLogs ?? []) as Array<{ scopeLogs?: Array<{ logRecords?: Array<Record<string, unknown>> }> }>) {
    for (const scope of resourceLog.scopeLogs ?? []) {
      for (const record of scope.logRecords ?? []) {
        if ('traceId' in record) record.traceId = hex(record.traceId);
        if ('spanId' in record) record.spanId = hex(record.spanId);
      }
    }
  }
  return object;
}

/** Appends lines and fsyncs, one write at a time, before the caller answers. */
function appender(file: string) {
  let queue = Promise.resolve();
  return (lines: string[]): Promise<void> => {
    const write = queue.then(async () => {
      if (lines.length === 0) return;
      const handle = await fs.promises.open(file, 'a', 0o600);
      try {
        await handle.writeFile(lines.map((line) => `${line}\n`).join(''));
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
    queue = write.catch(() => undefined);
    return write;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve(undefined));
  });
}

/** What an HTTP collector makes of a request: lines to store, or a refusal; then how to answer success. */
type Decoded = { lines: string[]; ok: { type: string; body: Buffer | string } } | { refuse: number; message: string };

function decodeOtlp(contentType: string, body: Buffer): Decoded {
  try {
    if (contentType === 'application/x-protobuf') {
      return { lines: [JSON.stringify(otlpJsonOf(body))], ok: { type: 'application/x-protobuf', body: Buffer.from(otlpSchema().response.encode({}).finish()) } };
    }
    if (contentType === 'application/json') {
      const value: unknown = JSON.parse(body.toString('utf8'));
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return { refuse: 400, message: 'not an ExportLogsServiceRequest' };
      return { lines: [JSON.stringify(value)], ok: { type: 'application/json', body: '{}' } };
    }
  } catch {
    return { refuse: 400, message: 'the body does not decode' };
  }
  return { refuse: 415, message: 'unsupported content type' };
}

function decodeWebhook(contentType: string, body: Buffer): Decoded {
  if (contentType !== 'application/x-ndjson') return { refuse: 415, message: 'unsupported content type' };
  const lines = body.toString('utf8').split('\n').filter((line) => line.trim() !== '');
  for (const line of lines) {
    try {
      JSON.parse(line);
    } catch {
      return { refuse: 400, message: 'a line is not JSON' };
    }
  }
  return { lines, ok: { type: 'application/json', body: '{}' } };
}

/** Reads RFC 5425 frames (`MSG-LEN SP SYSLOG-MSG`) from TCP data in whatever pieces it arrives. */
export class OctetCountingParser {
  private buffer: Buffer = Buffer.alloc(0);
  broken: string | undefined;

  /** The complete messages this data finishes. */
  push(data: Buffer): string[] {
    this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
    const messages: string[] = [];
    while (!this.broken) {
      const space = this.buffer.indexOf(0x20);
      const digits = this.buffer.subarray(0, space === -1 ? Math.min(this.buffer.length, 10) : space).toString('latin1');
      if (!/^([1-9]\d{0,8})?$/.test(digits) || (space === -1 && digits.length >= 10)) this.broken = 'a frame without an octet count';
      else if (space === -1) break;
      else if (Number(digits) > MAX_FRAME) this.broken = 'a frame longer than the collector takes';
      else if (this.buffer.length < space + 1 + Number(digits)) break;
      else {
        const end = space + 1 + Number(digits);
        messages.push(this.buffer.toString('utf8', space + 1, end));
        this.buffer = this.buffer.subarray(end);
      }
    }
    return messages;
  }

  /** Nothing left half-read. */
  get clean(): boolean {
    return !this.broken && this.buffer.length === 0;
  }
}

export async function startCollector(kind: CollectorKind, options: CollectorOptions = {}): Promise<Collector> {
  const ca = caOf(options);
  const { cert, key } = ca.leaf(['localhost']);
  const file = path.join(tempDir(`airlock-collector-${kind}-`), 'collected.jsonl');
  fs.writeFileSync(file, '', { mode: 0o600 });
  const store = appender(file);
  const received: Received[] = [];
  let fault: CollectorFault = { mode: 'none' };
  const sockets = new Set<net.Socket>();

  const httpHandler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const contentType = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase() ?? '';
    const entry: Received = { contentType, ...(req.headers.authorization !== undefined ? { authorization: req.headers.authorization } : {}), status: 0, stored: 0 };
    received.push(entry);
    const answer = (status: number, headers: Record<string, string>, body: Buffer | string) => {
      entry.status = status;
      res.writeHead(status, headers).end(body);
    };
    let body = await readBody(req);
    if (!body) return answer(413, { 'Content-Type': 'text/plain' }, 'too large');
    const wantedPath = kind === 'otlp-http' ? '/v1/logs' : '/hook';
    if (req.method !== 'POST' || req.url !== wantedPath) return answer(404, { 'Content-Type': 'text/plain' }, 'not found');
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) return answer(401, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer' }, 'unauthorized');
    if (fault.mode === 'status') return answer(fault.status, { 'Content-Type': 'text/plain', ...(fault.retryAfter !== undefined ? { 'Retry-After': fault.retryAfter } : {}) }, 'unavailable');
    if (req.headers['content-encoding'] === 'gzip') {
      try {
        body = zlib.gunzipSync(body, { maxOutputLength: MAX_BODY });
      } catch {
        return answer(400, { 'Content-Type': 'text/plain' }, 'bad gzip');
      }
    }
    const decoded = kind === 'otlp-http' ? decodeOtlp(contentType, body) : decodeWebhook(contentType, body);
    if ('refuse' in decoded) return answer(decoded.refuse, { 'Content-Type': 'text/plain' }, decoded.message);
    await store(decoded.lines);
    entry.stored = decoded.lines.length;
    entry.storedAt = Date.now();
    const now = fault;
    if (now.mode === 'corrupt' && now.how === 'cut') {
      req.socket.destroy();
      return;
    }
    if (now.mode === 'corrupt') return answer(200, { 'Content-Type': decoded.ok.type }, kind === 'otlp-http' && decoded.ok.type === 'application/json' ? 'not json {' : Buffer.from([0xff, 0xff, 0xff, 0x0f]));
    if (now.mode === 'slow') await sleep(now.delayMs);
    answer(200, { 'Content-Type': decoded.ok.type }, decoded.ok.body);
  };

  // Under Node's TLS server there is no safe way to reset the TCP connection (resetAndDestroy on the
  // socket under a TLSSocket can crash the process), and a close without close_notify looks like a
  // clean one to the client. So "not taken" is said the two ways a client cannot mistake: the TCP
  // connection closed before the TLS handshake ('status'), or no close at all ('corrupt': the
  // sender's own timeout ends it).
  const held = new Set<tls.TLSSocket>();
  const hold = (socket: tls.TLSSocket) => {
    held.add(socket);
    socket.on('close', () => held.delete(socket));
  };

  const syslogHandler = (socket: tls.TLSSocket) => {
    const entry: Received = { status: 0, stored: 0 };
    received.push(entry);
    const parser = new OctetCountingParser();
    let writes = Promise.resolve();
    socket.on('data', (data: Buffer) => {
      const messages = parser.push(data);
      if (parser.broken) {
        socket.destroy();
        return;
      }
      entry.stored += messages.length;
      const lines = messages.map((message) => JSON.stringify({ syslog: message }));
      writes = writes.then(() => store(lines));
    });
    socket.on('end', () => {
      void writes.then(async () => {
        const now = fault;
        if (!parser.clean) {
          socket.destroy();
          return;
        }
        if (now.mode === 'corrupt') {
          hold(socket);
          return;
        }
        entry.storedAt = Date.now();
        if (now.mode === 'slow') await sleep(now.delayMs);
        entry.status = 200;
        socket.end(); // the acknowledgement: a clean close after everything was read and stored
      });
    });
    socket.on('error', () => socket.destroy());
  };

  const server: net.Server = kind === 'syslog-tls'
    ? tls.createServer({ cert, key, allowHalfOpen: true }, syslogHandler)
    : https.createServer({ cert, key }, (req, res) => void httpHandler(req, res));
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // syslog's 'status': refused before the TLS handshake, so the sender gets an error, never a clean close.
    if (kind === 'syslog-tls' && fault.mode === 'status') {
      received.push({ status: 0, stored: 0 });
      socket.destroy();
    }
  });
  server.on('tlsClientError', () => undefined);

  let port = 0;
  let listening = false;
  const start = async () => {
    if (listening) return;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    port = (server.address() as net.AddressInfo).port;
    listening = true;
  };
  const stop = async () => {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of held) socket.destroy();
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  await start();

  const collector: Collector = {
    kind,
    get url() {
      return kind === 'syslog-tls' ? `tls://localhost:${port}` : `https://localhost:${port}${kind === 'otlp-http' ? '/v1/logs' : '/hook'}`;
    },
    get port() {
      return port;
    },
    caFile: ca.file,
    file,
    received,
    start,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    fault: async (next) => {
      fault = next;
      if (next.mode === 'down') await stop();
      else await start();
    },
    lines: () => fs.readFileSync(file, 'utf8').split('\n').filter((line) => line !== ''),
    items: () => collector.lines().flatMap((line) => parseStreamLine(line).items.flatMap(collected)),
  };
  return collector;
}

function collected(item: StreamItem): CollectedItem[] {
  if (item.type === 'record') {
    try {
      const record = JSON.parse(item.line) as { n: number; hash: string };
      return [{ type: 'record', trail: item.trail, n: record.n, hash: record.hash, redelivery: item.redelivery, line: item.line }];
    } catch {
      return [];
    }
  }
  if (item.type === 'skipped') return [{ type: 'skipped', trail: item.trail, from: item.from as number, to: item.to as number, redelivery: item.redelivery }];
  const n = (item.signed as { head?: { n?: unknown } } | undefined)?.head?.n;
  return typeof n === 'number' ? [{ type: 'head', trail: item.trail, n }] : [];
}
