/**
 * The test collectors themselves (test/helpers/collectors.ts), over real TLS on loopback: what they
 * store is what they acknowledged, their faults do what the forwarding tests rely on, and what they
 * store is what `airlock audit verify --from-export` reads. Requests are made here by hand from
 * real trail lines (a protobuf request with protobufjs from our copy of the official schema).
 */
import fs from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyForwardedStream } from '../../main/core/forward/verify-stream.js';
import { otlpRequestObject, syslogMessage, trailOf, webhookHead, webhookRecord, type Trail } from '../helpers/collected-forms.js';
import { otlpSchema, startCollector, OctetCountingParser, type Collector } from '../helpers/collectors.js';

type Answer = { status: number; headers: Record<string, unknown>; body: Buffer } | { error: string };

function post(collector: Collector, body: Buffer | string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve) => {
    const req = https.request(collector.url, { method: 'POST', headers, ca: fs.readFileSync(collector.caFile), agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end(body);
  });
}

/** Sends frames over one TLS connection, one byte per write, ends it, and says how the collector closed. */
async function sendSyslog(collector: Collector, messages: string[], oneByteWrites = true): Promise<'clean' | string> {
  const socket = tls.connect({ host: 'localhost', port: collector.port, ca: fs.readFileSync(collector.caFile) });
  socket.setNoDelay(true);
  const outcome = new Promise<string>((resolve) => {
    let ended = false;
    socket.on('end', () => (ended = true));
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.on('close', () => resolve(ended ? 'clean' : 'closed'));
  });
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  const bytes = Buffer.concat(messages.map((message) => {
    const msg = Buffer.from(message, 'utf8');
    return Buffer.concat([Buffer.from(`${msg.length} `), msg]);
  }));
  const chunks = oneByteWrites ? [...bytes].map((byte) => Buffer.from([byte])) : [bytes];
  for (const chunk of chunks) await new Promise<void>((resolve) => socket.write(chunk, () => resolve()));
  socket.end();
  return outcome;
}

const PROTOBUF = { 'Content-Type': 'application/x-protobuf' };
const protobufBody = (object: unknown) => Buffer.from(otlpSchema().request.encode(otlpSchema().request.fromObject(object as Record<string, unknown>)).finish());

let trail: Trail;
const collectors: Collector[] = [];
const start = async (...args: Parameters<typeof startCollector>) => {
  const collector = await startCollector(...args);
  collectors.push(collector);
  return collector;
};

beforeAll(async () => {
  trail = await trailOf(12);
});
afterAll(async () => {
  for (const collector of collectors) await collector.stop();
});

describe('the OTLP/HTTP receiver', () => {
  it('decodes a protobuf request built from the official schema, stores it as OTLP/JSON, and answers an ExportLogsServiceResponse', async () => {
    const otlp = await start('otlp-http', { token: 's3cret' });
    expect(otlp.url).toMatch(/^https:\/\/localhost:\d+\/v1\/logs$/);
    const unauthorised = await post(otlp, protobufBody(otlpRequestObject(trail.id, trail.lines.slice(0, 6))), PROTOBUF);
    expect(unauthorised).toMatchObject({ status: 401 });
    expect(otlp.lines()).toEqual([]);

    const auth = { Authorization: 'Bearer s3cret' };
    const first = await post(otlp, protobufBody(otlpRequestObject(trail.id, trail.lines.slice(0, 6))), { ...PROTOBUF, ...auth });
    expect(first).toMatchObject({ status: 200, headers: { 'content-type': 'application/x-protobuf' } });
    expect(otlpSchema().response.toObject(otlpSchema().response.decode((first as { body: Buffer }).body))).toEqual({});
    const json = await post(otlp, JSON.stringify(otlpRequestObject(trail.id, trail.lines.slice(6), { head: trail.heads[0] })), { 'Content-Type': 'application/json', ...auth });
    expect(json).toMatchObject({ status: 200, body: Buffer.from('{}') });

    const stored = JSON.parse(otlp.lines()[0]!) as { resourceLogs: Array<{ scopeLogs: Array<{ logRecords: Array<Record<string, unknown>> }> }> };
    expect(stored.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]).toMatchObject({ eventName: 'airlock.proc.stdout', severityNumber: 9, timeUnixNano: expect.stringMatching(/^\d+$/) });
    expect(otlp.items().map((item) => (item.type === 'record' ? item.n : item.type))).toEqual([...Array.from({ length: 12 }, (_, i) => i + 1), 'head']);
    expect(otlp.received.map((r) => [r.status, r.contentType, r.stored])).toEqual([[401, 'application/x-protobuf', 0], [200, 'application/x-protobuf', 1], [200, 'application/json', 1]]);
    expect(await verifyForwardedStream(otlp.file)).toMatchObject({ ok: true, trails: [{ first: 1, last: 12, head: { n: 12 } }] });
  });

  it('faults: a status with Retry-After stores nothing; corrupt stores, then answers garbage or cuts; down refuses; a marked redelivery verifies', async () => {
    const otlp = await start('otlp-http');
    const batch = (lines: string[], redelivery = false) => protobufBody(otlpRequestObject(trail.id, lines, { redelivery }));

    await otlp.fault({ mode: 'status', status: 503, retryAfter: '7' });
    expect(await post(otlp, batch(trail.lines.slice(0, 4)), PROTOBUF)).toMatchObject({ status: 503, headers: { 'retry-after': '7' } });
    expect(otlp.lines()).toHaveLength(0);

    await otlp.fault({ mode: 'corrupt', how: 'garbage' });
    const garbage = await post(otlp, batch(trail.lines.slice(0, 4)), PROTOBUF);
    expect(garbage).toMatchObject({ status: 200 });
    expect(() => otlpSchema().response.decode((garbage as { body: Buffer }).body)).toThrow();
    expect(otlp.lines()).toHaveLength(1); // stored before answering

    await otlp.fault({ mode: 'corrupt', how: 'cut' });
    expect(await post(otlp, batch(trail.lines.slice(4, 8)), PROTOBUF)).toEqual({ error: 'ECONNRESET' });
    expect(otlp.lines()).toHaveLength(2);

    await otlp.fault({ mode: 'down' });
    expect(await post(otlp, batch(trail.lines.slice(0, 4), true), PROTOBUF)).toEqual({ error: 'ECONNREFUSED' });
    await otlp.fault({ mode: 'none' });
    // The sender never heard, so it sends again, marked: the stream holds both copies and verifies.
    expect(await post(otlp, batch(trail.lines.slice(0, 8), true), PROTOBUF)).toMatchObject({ status: 200 });
    expect(await post(otlp, batch(trail.lines.slice(8)), PROTOBUF)).toMatchObject({ status: 200 });
    expect(await verifyForwardedStream(otlp.file)).toMatchObject({ ok: true, trails: [{ records: 12, duplicates: 8 }] });
  });

  it('restart keeps the port and the file; a stopped collector refuses', async () => {
    const otlp = await start('otlp-http');
    const { port } = otlp;
    expect(await post(otlp, JSON.stringify(otlpRequestObject(trail.id, trail.lines.slice(0, 3))), { 'Content-Type': 'application/json' })).toMatchObject({ status: 200 });
    await otlp.stop();
    expect(await post(otlp, '{}', { 'Content-Type': 'application/json' })).toEqual({ error: 'ECONNREFUSED' });
    await otlp.restart();
    expect(otlp.port).toBe(port);
    expect(await post(otlp, JSON.stringify(otlpRequestObject(trail.id, trail.lines.slice(3))), { 'Content-Type': 'application/json' })).toMatchObject({ status: 200 });
    expect(otlp.items()).toHaveLength(12);
  });

  it('slow: stores first, answers late', async () => {
    const otlp = await start('otlp-http');
    await otlp.fault({ mode: 'slow', delayMs: 300 });
    const answer = post(otlp, JSON.stringify(otlpRequestObject(trail.id, trail.lines)), { 'Content-Type': 'application/json' });
    await expect.poll(() => otlp.lines().length).toBe(1);
    expect(otlp.received.at(-1)!.status).toBe(0); // stored, not yet answered
    expect(await answer).toMatchObject({ status: 200 });
  });
});

describe('the webhook receiver', () => {
  it('stores each line of an x-ndjson body verbatim; refuses other content; cut stores, then closes unanswered', async () => {
    const hook = await start('webhook', { token: 'tok' });
    const auth = { Authorization: 'Bearer tok', 'Content-Type': 'application/x-ndjson' };
    const lines = trail.lines.map((line) => webhookRecord(trail.id, line));
    expect(await post(hook, lines.slice(0, 5).join('\n'), { ...auth, 'Content-Type': 'application/json' })).toMatchObject({ status: 415 });
    await hook.fault({ mode: 'corrupt', how: 'cut' });
    expect(await post(hook, `${lines.slice(0, 5).join('\n')}\n`, auth)).toEqual({ error: 'ECONNRESET' });
    await hook.fault({ mode: 'none' });
    expect(await post(hook, `${[...lines, webhookHead(trail.id, trail.heads[0]!.signed, trail.heads[0]!.pem)].join('\n')}\n`, auth)).toMatchObject({ status: 200 });
    expect(hook.lines()).toEqual([...lines.slice(0, 5), ...lines, expect.stringMatching(/^\{"airlock":"head"/)]);
    // The first five reached the collector twice, the second time unmarked: the verifier says so.
    const report = await verifyForwardedStream(hook.file);
    expect(report.trails[0]!.problems.map((p) => p.message)).toEqual([1, 2, 3, 4, 5].map((n) => expect.stringMatching(new RegExp(`^unmarked duplicate at ${n}:`))));
  });
});

describe('the syslog receiver (RFC 5425 over TLS)', () => {
  it('parses frames sent one byte per write, stores them, and closes cleanly after the sender\'s end', async () => {
    const syslog = await start('syslog-tls');
    expect(syslog.url).toMatch(/^tls:\/\/localhost:\d+$/);
    expect(await sendSyslog(syslog, trail.lines.slice(0, 3).map((line) => syslogMessage(trail.id, line)))).toBe('clean');
    expect(await sendSyslog(syslog, trail.lines.slice(3).map((line) => syslogMessage(trail.id, line)), false)).toBe('clean');
    expect(syslog.items().map((item) => (item.type === 'record' ? item.n : 0))).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(JSON.parse(syslog.lines()[0]!)).toEqual({ syslog: syslogMessage(trail.id, trail.lines[0]!) });
    expect(await verifyForwardedStream(syslog.file)).toMatchObject({ ok: true, trails: [{ records: 12 }] });
  });

  it('corrupt: reads and stores everything, then never closes; status: closed before the handshake; a frame without a count is dropped', async () => {
    const syslog = await start('syslog-tls');
    await syslog.fault({ mode: 'corrupt', how: 'cut' });
    // No clean close comes (the sender's own timeout would end it): after a second, still none.
    const silent = await Promise.race([sendSyslog(syslog, trail.lines.slice(0, 2).map((line) => syslogMessage(trail.id, line)), false), sleep(1000).then(() => 'silent')]);
    expect(silent).toBe('silent');
    expect(syslog.lines()).toHaveLength(2);
    await syslog.fault({ mode: 'status', status: 0 });
    await expect(sendSyslog(syslog, trail.lines.slice(2, 3).map((line) => syslogMessage(trail.id, line)))).rejects.toThrow(/before secure TLS connection was established/);
    expect(syslog.lines()).toHaveLength(2);
    await syslog.fault({ mode: 'none' });
    const bad = tls.connect({ host: 'localhost', port: syslog.port, ca: fs.readFileSync(syslog.caFile) });
    const closed = new Promise<string>((resolve) => {
      bad.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      bad.on('close', () => resolve('closed'));
    });
    bad.write('hello there\n');
    await closed;
    expect(syslog.lines()).toHaveLength(2);
  });

  it('the octet-counting parser: split anywhere, several frames in one piece, and a count that is not one', () => {
    const parser = new OctetCountingParser();
    const frames = Buffer.from('5 hello3 abc11 héllo wörl');
    const out: string[] = [];
    for (const byte of frames) out.push(...parser.push(Buffer.from([byte])));
    expect(out).toEqual(['hello', 'abc', 'héllo wör']);
    expect(parser.clean).toBe(false);
    expect(new OctetCountingParser().push(Buffer.from('05 hello'))).toEqual([]);
    const broken = new OctetCountingParser();
    broken.push(Buffer.from('x'));
    expect(broken.broken).toBe('a frame without an octet count');
  });
});
