import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTLP_JSON_FORM } from '../../main/core/forward/otlp-encode.js';
import { checkForwarderUrl, transportFactory } from '../../main/core/forward/transports.js';
import type { ForwarderConfig, SendOutcome } from '../../main/core/forward/types.js';
import { REPO, tempDir } from '../helpers/env.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { fixedBatch, rehashes } from '../helpers/forward-batch.js';
import { forwarder, loopbackLookup } from '../helpers/forward-collector.js';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';

const SECRET = 'sk-collector-7f3a9c';
type Handler = (req: import('node:http').IncomingMessage, body: Buffer, res: import('node:http').ServerResponse) => void;

let ca: TestCa;
let server: https.Server;
let port: number;
let handler: Handler;
const received: Array<{ headers: import('node:http').IncomingHttpHeaders; body: Buffer; url: string }> = [];
let requestArrived: (() => void) | undefined;

beforeAll(async () => {
  ca = makeTestCa('Forward Test CA');
  const leaf = ca.leaf(['collector.test']);
  server = https.createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({ headers: req.headers, body, url: req.url ?? '' });
      requestArrived?.();
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function send(config: Partial<ForwarderConfig> & { url?: string } = {}, options: { clock?: FakeClock; secret?: string | undefined; signal?: AbortSignal } = {}): Promise<SendOutcome> {
  const factory = transportFactory({ lookup: loopbackLookup, ...(options.clock ? { clock: options.clock } : {}) });
  const transport = factory(forwarder(config.kind ?? 'otlp-http', config.url ?? `https://collector.test:${port}/v1/logs`, { caFile: ca.file, ...config }), 'secret' in options ? options.secret : SECRET);
  return transport.send(fixedBatch(), options.signal ?? new AbortController().signal);
}

function requestType(): protobuf.Type {
  const root = new protobuf.Root();
  root.resolvePath = (_o, target) => path.join(REPO, 'assets', 'otlp', target);
  return root.loadSync(['opentelemetry/proto/collector/logs/v1/logs_service.proto']).lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
}

/** Every reason is one printable line, bounded, and never holds the secret. */
function expectPrintable(outcome: SendOutcome): string {
  if (outcome.ok) throw new Error('expected a refusal');
  // eslint-disable-next-line no-control-regex -- what must not be there
  expect(outcome.reason).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  expect(outcome.reason.length).toBeLessThan(400);
  expect(outcome.reason).not.toContain(SECRET);
  return outcome.reason;
}

describe('OTLP/HTTP and webhook transport (a real HTTPS collector on loopback)', () => {
  it('2xx with an empty ExportLogsServiceResponse acknowledges; the body is protobuf of the batch, the secret goes in Authorization: Bearer', async () => {
    handler = (_req, _body, res) => res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end();
    received.length = 0;
    expect(await send()).toEqual({ ok: true });
    expect(received[0]!.url).toBe('/v1/logs');
    expect(received[0]!.headers['content-type']).toBe('application/x-protobuf');
    expect(received[0]!.headers.authorization).toBe(`Bearer ${SECRET}`);
    const type = requestType();
    const request = type.toObject(type.decode(received[0]!.body), OTLP_JSON_FORM) as { resourceLogs: Array<{ scopeLogs: Array<{ logRecords: unknown[] }> }> };
    expect(request.resourceLogs[0]!.scopeLogs[0]!.logRecords).toHaveLength(6);
  });

  it('JSON encoding, a custom auth header with no scheme, and `{}` acknowledges', async () => {
    handler = (_req, _body, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    received.length = 0;
    expect(await send({ encoding: 'json', auth: { header: 'X-Api-Key', scheme: '' } })).toEqual({ ok: true });
    expect(received[0]!.headers['content-type']).toBe('application/json');
    expect(received[0]!.headers['x-api-key']).toBe(SECRET);
    expect(received[0]!.headers.authorization).toBeUndefined();
    expect(JSON.parse(received[0]!.body.toString()).resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano).toBe('1741064767891000000');
  });

  it('a rejected count is not an acknowledgement; the collector\'s message is made inert', async () => {
    handler = (_req, _body, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ partialSuccess: { rejectedLogRecords: '2', errorMessage: 'quota\u001b[2J\nexceeded' } }));
    const reason = expectPrintable(await send({ encoding: 'json' }));
    expect(reason).toBe('the collector rejected 2 of the batch\'s log records: quota [2J exceeded');
  });

  it('a 2xx whose body is not an ExportLogsServiceResponse (garbage, or past 64 KiB) is not acknowledged', async () => {
    handler = (_req, _body, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>welcome to the proxy</html>');
    expect(expectPrintable(await send())).toMatch(/^the collector's 2xx answer is not an OTLP ExportLogsServiceResponse \(text\/html\)/);
    handler = (_req, _body, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(`{"x":"${'a'.repeat(200_000)}"}`);
    expect(expectPrintable(await send({ encoding: 'json' }))).toMatch(/longer than 64 KiB/);
  });

  it('503 with Retry-After is retried after it, capped at 10 minutes; 429 too', async () => {
    handler = (_req, _body, res) => res.writeHead(503, { 'Retry-After': '120' }).end('busy');
    const busy = await send();
    expect(busy).toMatchObject({ ok: false, retryAfterMs: 120_000 });
    expect(expectPrintable(busy)).toBe('the collector answered 503 Service Unavailable, try later: busy');
    handler = (_req, _body, res) => res.writeHead(429, { 'Retry-After': '86400' }).end();
    expect(await send()).toMatchObject({ ok: false, retryAfterMs: 600_000 });
  });

  it('400 is not acknowledged and has no retry hint; a hostile body is one bounded line without the echoed secret', async () => {
    handler = (req, _body, res) => res.writeHead(400).end(`bad request\r\n\u001b]0;pwned\u0007 you sent ${req.headers.authorization} ${'x'.repeat(5000)}`);
    const outcome = await send();
    expect(outcome).not.toHaveProperty('retryAfterMs');
    const reason = expectPrintable(outcome);
    expect(reason).toMatch(/^the collector answered 400 Bad Request: bad request ]0;pwned you sent Bearer \[secret\] x+…$/);
  });

  it('a webhook acknowledges any 2xx and sends NDJSON whose records re-hash', async () => {
    handler = (_req, _body, res) => res.writeHead(204).end();
    received.length = 0;
    expect(await send({ kind: 'webhook', url: `https://collector.test:${port}/hook` })).toEqual({ ok: true });
    expect(received[0]!.headers['content-type']).toBe('application/x-ndjson');
    const lines = received[0]!.body.toString().trim().split('\n').map((l) => JSON.parse(l) as { airlock: string });
    expect(lines.map((l) => l.airlock)).toEqual(['record', 'record', 'record', 'skipped', 'record', 'head']);
    const raw = received[0]!.body.toString().split('\n')[0]!;
    expect(rehashes(raw.slice(raw.indexOf(',"record":') + 10, -1))).toBe(true);
  });

  it('a reset before the answer is not acknowledged', async () => {
    handler = (req) => req.socket.destroy();
    expect(expectPrintable(await send())).toMatch(/closed the connection before answering \(ECONNRESET\)|socket hang up/);
  });

  it('no answer within the timeout (fake clock): not acknowledged, and the request is torn down', async () => {
    const clock = new FakeClock();
    let hung: import('node:http').ServerResponse | undefined;
    handler = (_req, _body, res) => (hung = res);
    const arrived = new Promise<void>((resolve) => (requestArrived = resolve));
    const pending = send({}, { clock });
    await arrived;
    requestArrived = undefined;
    clock.advance(29_999);
    clock.advance(1);
    expect(expectPrintable(await pending)).toBe('the collector did not answer within 30 s');
    await new Promise<void>((resolve) => (hung!.socket?.destroyed ? resolve() : hung!.socket!.once('close', () => resolve())));
  });

  it('a collector whose certificate another CA signed is refused, and nothing is sent', async () => {
    const other = makeTestCa('Someone Else');
    received.length = 0;
    handler = (_req, _body, res) => res.writeHead(200).end();
    expect(expectPrintable(await send({ caFile: other.file }))).toMatch(/not signed by a CA Airlock trusts \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\); give the CA that signed it as the forwarder's caFile/);
    expect(received).toHaveLength(0);
  });

  it('a certificate for another name is refused (the URL\'s host is checked)', async () => {
    received.length = 0;
    expect(expectPrintable(await send({ url: `https://wrong.test:${port}/v1/logs` }))).toMatch(/not for the name in the forwarder's URL \(ERR_TLS_CERT_ALTNAME_INVALID\)/);
    expect(received).toHaveLength(0);
  });

  it('caFile a FIFO is refused at once (never opened for a blocking read); a non-PEM caFile is refused', async () => {
    const dir = tempDir('airlock-fifo-');
    const fifo = path.join(dir, 'ca.pem');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    expect(expectPrintable(await send({ caFile: fifo }))).toMatch(/is not a regular file/);
    expect(Date.now() - started).toBeLessThan(2000);
    const junk = path.join(dir, 'junk.pem');
    fs.writeFileSync(junk, 'not a certificate');
    expect(expectPrintable(await send({ caFile: junk }))).toMatch(/holds no PEM certificate/);
  });

  it('cancelled by its signal: not acknowledged', async () => {
    handler = () => undefined;
    const controller = new AbortController();
    const arrived = new Promise<void>((resolve) => (requestArrived = resolve));
    const pending = send({}, { signal: controller.signal });
    await arrived;
    requestArrived = undefined;
    controller.abort();
    expect(expectPrintable(await pending)).toBe('sending was cancelled');
  });

  it('a secret with a line break is never sent as a header (no header injection), and not shown', async () => {
    received.length = 0;
    expect(expectPrintable(await send({}, { secret: `${SECRET}\r\nX-Injected: 1` }))).toMatch(/holds a control character/);
    expect(received).toHaveLength(0);
  });
});

describe('checkForwarderUrl', () => {
  it('refuses plain http://, credentials in the URL, and the wrong scheme for the kind, in one line with the fix', () => {
    expect(() => checkForwarderUrl('otlp-http', 'http://collector.test:4318/v1/logs')).toThrow(/plain http:\/\/: Airlock sends the audit trail only over verified TLS/);
    let error: { message: string; hint?: string } | undefined;
    try {
      checkForwarderUrl('webhook', 'https://admin:hunter2@collector.test/hook');
    } catch (caught) {
      error = caught as typeof error;
    }
    expect(error!.message).toBe('the forwarder URL https://collector.test/hook holds a user name or password');
    expect(`${error!.message} ${error!.hint}`).not.toContain('hunter2');
    expect(() => checkForwarderUrl('syslog-tls', 'tcp://syslog.test:514')).toThrow(/must be tls:\/\/host:port/);
    expect(() => checkForwarderUrl('otlp-http', 'https://collector.test/v1/logs\n')).toThrow(/control character/);
    expect(() => checkForwarderUrl('otlp-http', 'tls://collector.test')).toThrow(/must be https:\/\//);
  });

  it('accepts https:// and tls:// (6514 by default), IPv6 literals without brackets', () => {
    expect(checkForwarderUrl('otlp-http', 'https://collector.test:4318/v1/logs')).toMatchObject({ host: 'collector.test', port: 4318 });
    expect(checkForwarderUrl('webhook', 'https://hooks.test/in?k=1')).toMatchObject({ host: 'hooks.test', port: 443 });
    expect(checkForwarderUrl('syslog-tls', 'tls://syslog.test')).toMatchObject({ host: 'syslog.test', port: 6514 });
    expect(checkForwarderUrl('syslog-tls', 'tls://[::1]:6515')).toMatchObject({ host: '::1', port: 6515 });
  });
});
