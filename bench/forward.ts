// Audit forwarding: throughput of the real pump and transports to a loopback receiver (in a process
// of its own, fsyncing each request before it answers) for each format, beside plain `audit export`
// of the same records in the same run; then the latency from a record's emission on a live core's
// bus to its arrival at an OTLP receiver, at a steady rate and in a burst.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { EventBus } from '../main/core/audit/bus.js';
import { ephemeralHeadSigner, type HeadSigner } from '../main/core/audit/head.js';
import { AuditStore } from '../main/core/audit/store.js';
import { recordBusInTrail } from '../main/core/audit/trail.js';
import { checkForwarder, forwardersFile } from '../main/core/forward/config.js';
import { CursorFile } from '../main/core/forward/cursor.js';
import type { BatchLimits } from '../main/core/forward/filter.js';
import { Forwarding } from '../main/core/forward/forwarding.js';
import { parseStreamLine } from '../main/core/forward/stream-parse.js';
import { collectorCas, collectorTlsOptions } from '../main/core/forward/tls-options.js';
import { createTransport } from '../main/core/forward/transports.js';
import type { ForwarderInput } from '../main/core/forward/types.js';
import { verifyForwardedStream } from '../main/core/forward/verify-stream.js';
import { exportAuditToFile } from '../main/core/service/audit-files.js';
import { MemorySecrets } from '../test/helpers/memory-secrets.js';
import { makeEvent } from './audit.js';
import { startReceiverProcess, type ReceiverProcess } from './forward-receiver.js';

const RECORDS = Number(process.env.BENCH_FORWARD_RECORDS ?? 50_000);
const RATE = Number(process.env.BENCH_FORWARD_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_FORWARD_SECONDS ?? 20);
const BURST = Number(process.env.BENCH_FORWARD_BURST ?? 1000);
/** Longest a forwarder may take to catch up before the benchmark gives up. */
const CATCH_UP_LIMIT_MS = 15 * 60_000;
const BIG_BATCHES: BatchLimits = { maxItems: 5000, maxBytes: 10 * 1024 * 1024, maxScanned: 50_000 };

interface Home {
  home: string;
  auditDir: string;
  signer: HeadSigner;
}

function makeHome(root: string, name: string): Home {
  const home = path.join(root, name);
  return { home, auditDir: path.join(home, 'audit'), signer: ephemeralHeadSigner() };
}

function forwardingFor(at: Home, forwarder: ForwarderInput, bus?: EventBus, limits?: BatchLimits): Forwarding {
  forwardersFile(at.home).update(() => [checkForwarder(forwarder)]);
  return new Forwarding({
    home: at.home, auditDir: at.auditDir, key: () => at.signer, keychain: new MemorySecrets(),
    transports: createTransport, version: 'bench', ...(bus ? { bus } : {}), ...(limits ? { limits } : {}),
  });
}

/** Resolves once the forwarder's durable cursor says the collector acknowledged record `n`. */
function ackedThrough(forwarding: Forwarding, name: string, n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      void forwarding.status().then((status) => reject(new Error(`${name} did not catch up: ${JSON.stringify(status[0])}`)));
    }, CATCH_UP_LIMIT_MS);
    const check = () => {
      let acked: number;
      try {
        acked = forwarding.cursor(name).read().acked?.n ?? 0;
      } catch {
        return; // not written yet
      }
      if (acked < n) return;
      clearTimeout(timer);
      off();
      resolve();
    };
    const off = forwarding.onChange(check);
    check();
  });
}

async function writeTrail(at: Home, count: number): Promise<void> {
  const store = new AuditStore({ dir: at.auditDir, signer: at.signer });
  for (let i = 0; i < count; i++) {
    if (!store.append(makeEvent(i))) await store.whenWritable();
    if (i % 20_000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await store.close();
}

interface Run {
  label: string;
  ms: number;
  /** This process's CPU (the forwarder's side only: the receiver runs apart), ms. */
  cpuMs: number;
  requests: number;
  check: string;
}

async function timeExport(at: Home, root: string): Promise<Run> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await exportAuditToFile(at.auditDir, path.join(root, 'export.jsonl'), 'jsonl');
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const check = result.records === RECORDS ? `${result.records.toLocaleString()} records` : `FAILED: ${result.records} records`;
  return { label: 'audit export (jsonl to a file, no fsync)', ms, cpuMs: (used.user + used.system) / 1000, requests: 0, check };
}

async function timeForwarder(at: Home, label: string, forwarder: Omit<ForwarderInput, 'url'>, limits?: BatchLimits): Promise<Run> {
  const receiver = await startReceiverProcess(forwarder.kind);
  const forwarding = forwardingFor(at, { ...forwarder, url: receiver.url, caFile: receiver.caFile }, undefined, limits);
  try {
    const cpu = process.cpuUsage();
    const started = performance.now();
    forwarding.start();
    await ackedThrough(forwarding, forwarder.name, RECORDS);
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    await forwarding.flush(60_000); // the signed head follows the records: the check below covers it
    const report = await verifyForwardedStream(receiver.file, { publicKeys: [at.signer.publicKeyPem()] });
    const trail = report.trails[0];
    const complete = report.ok && report.trails.length === 1 && trail?.first === 1 && trail.last === RECORDS && trail.records === RECORDS;
    const check = complete ? `ok: ${trail.records.toLocaleString()} records${trail.head ? `, signed head ${trail.head.n.toLocaleString()}` : ''}` : `FAILED: ${JSON.stringify({ ok: report.ok, problems: report.problems, trails: report.trails.map((t) => ({ first: t.first, last: t.last, records: t.records, problems: t.problems })) })}`;
    const requests = (await receiver.received()).filter((entry) => entry.storedAt !== undefined).length;
    return { label, ms, cpuMs: (used.user + used.system) / 1000, requests, check };
  } finally {
    await forwarding.close();
    await receiver.stop();
  }
}

/** What one new collector connection costs Airlock: the TLS options (trusted CAs) built per batch, and a whole handshake. */
async function connectionCost(rounds = 20): Promise<{ contextMs: number; handshakeMs: number; reusedContextHandshakeMs: number; cas: number }> {
  const receiver = await startReceiverProcess('otlp-http');
  try {
    const port = Number(new URL(receiver.url).port);
    const handshake = (options: tls.ConnectionOptions) => new Promise<void>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ...options }, () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    });
    const time = async (work: () => unknown) => {
      await work(); // warm
      const started = performance.now();
      for (let i = 0; i < rounds; i++) await work();
      return (performance.now() - started) / rounds;
    };
    const ca = collectorCas(receiver.caFile);
    const contextMs = await time(() => tls.createSecureContext({ ca, minVersion: 'TLSv1.2' }));
    const handshakeMs = await time(() => handshake(collectorTlsOptions('localhost', receiver.caFile)));
    const secureContext = tls.createSecureContext({ ca, minVersion: 'TLSv1.2' });
    const reusedContextHandshakeMs = await time(() => handshake({ servername: 'localhost', rejectUnauthorized: true, checkServerIdentity: tls.checkServerIdentity, secureContext }));
    return { contextMs, handshakeMs, reusedContextHandshakeMs, cas: ca.length };
  } finally {
    await receiver.stop();
  }
}

/** Record time → time the receiver stored (and fsynced) the request carrying it, for records firstN..lastN. */
async function arrivalLatencies(receiver: ReceiverProcess, firstN: number, lastN: number): Promise<{ sorted: number[]; requests: number }> {
  const lines = fs.readFileSync(receiver.file, 'utf8').split('\n').filter((line) => line !== '');
  const latencies = new Map<number, number>();
  let next = 0;
  let requests = 0;
  for (const entry of await receiver.received()) {
    if (entry.storedAt === undefined) continue;
    const before = latencies.size;
    for (const line of lines.slice(next, next + entry.stored)) {
      for (const item of parseStreamLine(line).items) {
        if (item.type !== 'record') continue;
        const record = JSON.parse(item.line) as { n: number; time: string };
        if (record.n >= firstN && record.n <= lastN && !latencies.has(record.n)) latencies.set(record.n, entry.storedAt - Date.parse(record.time));
      }
    }
    next += entry.stored;
    if (latencies.size > before) requests += 1;
  }
  if (latencies.size !== lastN - firstN + 1) throw new Error(`the receiver holds ${latencies.size} of records ${firstN}–${lastN}`);
  return { sorted: [...latencies.values()].sort((a, b) => a - b), requests };
}

/** Median time of one cursor write (temp file, fsync, rename, folder fsync): the pump makes two per batch. */
async function cursorWriteMs(root: string, rounds = 20): Promise<number> {
  const cursor = new CursorFile(path.join(root, 'probe'), 'probe');
  const times: number[] = [];
  for (let n = 1; n <= rounds; n++) {
    const started = performance.now();
    await cursor.write({ v: 1, acked: { n, hash: '0'.repeat(64), time: new Date().toISOString() }, sentThrough: n, headSent: null });
    times.push(performance.now() - started);
  }
  return percentile(times.sort((a, b) => a - b), 0.5);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Latencies = Awaited<ReturnType<typeof arrivalLatencies>>;

async function measureLatency(root: string): Promise<{ steady: Latencies; burst: Latencies }> {
  const at = makeHome(root, 'live');
  const receiver = await startReceiverProcess('otlp-http');
  // Wired as createAirlock wires the engine's: the bus into the trail, each group commit waking the pumps.
  const bus = new EventBus();
  const store = new AuditStore({ dir: at.auditDir, signer: at.signer });
  const forwarding = forwardingFor(at, { name: 'siem', kind: 'otlp-http', url: receiver.url, caFile: receiver.caFile }, bus);
  store.onCommit(() => forwarding.wake());
  recordBusInTrail(bus, store);
  forwarding.start();
  const emit = (i: number) => {
    const { v: _v, seq: _seq, time: _time, ...input } = makeEvent(i);
    bus.emit(input);
  };
  try {
    const steady = RATE * SECONDS;
    const started = performance.now();
    for (let i = 0; i < steady; i++) {
      const wait = started + (i * 1000) / RATE - performance.now();
      if (wait > 0) await sleep(wait);
      emit(i);
    }
    await ackedThrough(forwarding, 'siem', steady);
    await sleep(500); // the head that follows catching up is sent before the burst
    for (let i = 0; i < BURST; i++) emit(steady + i);
    await ackedThrough(forwarding, 'siem', steady + BURST);
    return { steady: await arrivalLatencies(receiver, 1, steady), burst: await arrivalLatencies(receiver, steady + 1, steady + BURST) };
  } finally {
    await forwarding.close();
    await store.close();
    await receiver.stop();
  }
}

const perSecond = (count: number, ms: number) => Math.round(count / (ms / 1000)).toLocaleString();
const percentile = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
const msText = (ms: number) => `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;

export async function benchForward(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-forward-'));
  process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  const trail = makeHome(root, 'trail');
  await writeTrail(trail, RECORDS);

  const runs: Run[] = [await timeExport(trail, root)];
  runs.push(await timeForwarder(trail, 'otlp-http, protobuf', { name: 'otlp-protobuf', kind: 'otlp-http', encoding: 'protobuf' }));
  runs.push(await timeForwarder(trail, 'otlp-http, json', { name: 'otlp-json', kind: 'otlp-http', encoding: 'json' }));
  runs.push(await timeForwarder(trail, 'webhook (JSON lines)', { name: 'webhook', kind: 'webhook' }));
  runs.push(await timeForwarder(trail, 'syslog-tls (RFC 5425)', { name: 'syslog', kind: 'syslog-tls' }));
  runs.push(await timeForwarder(trail, 'otlp-http, protobuf, 5,000-item batches *', { name: 'otlp-big-batches', kind: 'otlp-http' }, BIG_BATCHES));
  const cost = await connectionCost();

  console.log(`\nAudit forwarding throughput (${RECORDS.toLocaleString()} records; receivers on loopback over TLS, in a process of their own, fsync each request before answering)`);
  console.log('                                              records/s     time        Airlock CPU   requests   receiver holds (verifyForwardedStream)');
  for (const run of runs) {
    console.log(`${run.label.padEnd(46)}${perSecond(RECORDS, run.ms).padEnd(14)}${`${(run.ms / 1000).toFixed(2)} s`.padEnd(12)}${`${(run.cpuMs / 1000).toFixed(2)} s`.padEnd(14)}${String(run.requests || '-').padEnd(11)}${run.check}`);
  }
  console.log('* not the default (500 items, 1 MiB per batch): BatchLimits given to Forwarding, to show what a batch\'s fixed cost is');
  console.log(`per batch, a new TLS connection: building its trusted CAs (${cost.cas} certificates) ${msText(cost.contextMs)}; a whole handshake ${msText(cost.handshakeMs)}, ${msText(cost.reusedContextHandshakeMs)} with a secure context built once`);

  const latency = await measureLatency(root);
  const cursorMs = await cursorWriteMs(root);
  console.log(`\nAudit forwarding latency: record time (emitted on a live core's bus) → stored and fsynced by an OTLP/protobuf receiver, same clock`);
  console.log('                                              p50           p99           max           requests');
  const row = (label: string, { sorted, requests }: Latencies) => console.log(`${label.padEnd(46)}${msText(percentile(sorted, 0.5)).padEnd(14)}${msText(percentile(sorted, 0.99)).padEnd(14)}${msText(sorted.at(-1)!).padEnd(14)}${requests}`);
  row(`steady ${RATE}/s for ${SECONDS} s (${(RATE * SECONDS).toLocaleString()} records)`, latency.steady);
  row(`burst of ${BURST.toLocaleString()} at once`, latency.burst);
  console.log(`a cursor write (temp file, fsync, rename, folder fsync), twice per batch: ${msText(cursorMs)} (median); the trail's group commit is at most 25 ms after an event`);
}
