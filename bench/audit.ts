// Audit trail throughput: sustained append rate (hash chain + group commit + fsync + signed head),
// verify rate, and memory growth over 1,000,000 events — each beside the same events written as
// plain unhashed JSON lines with fs.appendFile, in the same run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventBus } from '../main/core/audit/bus.js';
import type { AirlockEvent } from '../main/core/audit/events.js';
import { ephemeralHeadSigner } from '../main/core/audit/head.js';
import { AuditStore } from '../main/core/audit/store.js';
import { verifyAuditTrail } from '../main/core/audit/verify.js';
import { readLines } from '../main/core/audit/segments.js';

const APPEND_EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 200_000);
const MEMORY_EVENTS = Number(process.env.BENCH_AUDIT_MEMORY_EVENTS ?? 1_000_000);
const GROUP = 10_000;

export function makeEvent(i: number): AirlockEvent {
  return {
    v: 1, seq: i, time: new Date().toISOString(), task: 't_01m8gqj6mh7cg7crh08gd8pkkp', agent: { name: 'demo', digest: 'sha256:c0ad32db342badaef29716afa52b95492693d293bc8f2e90bf414739f3bb0853' },
    actor: i % 3 ? 'agent' : 'airlock', kind: i % 3 ? 'proc.stdout' : 'net.request',
    ...(i % 3 ? {} : { decision: { allow: true, rule: 'allow:api.vendor.test', by: 'policy' as const } }),
    data: { line: `INV-${1000 + (i % 900)}: checking 2 line(s) from Northwind Office Supplies Ltd, total EUR 639.36` },
  };
}

async function appendThroughStore(dir: string, count: number, onTick?: () => void): Promise<number> {
  const store = new AuditStore({ dir, signer: ephemeralHeadSigner() });
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    if (!store.append(makeEvent(i))) await store.whenWritable();
    if (i % 20_000 === 0) {
      onTick?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  await store.close();
  return performance.now() - started;
}

/** The same events emitted on a bus that redacts an env-delivered secret (one line in 100 holds it, JSON-escaped), into the store. */
async function appendThroughRedactingBus(dir: string, count: number): Promise<number> {
  const store = new AuditStore({ dir, signer: ephemeralHeadSigner() });
  const bus = new EventBus();
  let writable = true;
  bus.subscribe((event) => {
    writable = store.append(event);
  });
  const secret = 'pg-pa55"w0rd\\9f8e7d6c5b4a';
  const task = makeEvent(0).task;
  bus.redact(task, [{ value: secret, label: 'db-password' }]);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const { v: _v, seq: _seq, time: _time, ...input } = makeEvent(i);
    bus.emit(i % 100 === 0 ? { ...input, data: { line: `connecting with ${JSON.stringify({ password: secret })}` } } : input);
    if (!writable) await store.whenWritable();
    if (i % 20_000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await store.close();
  return performance.now() - started;
}

async function appendPlain(file: string, count: number, onTick?: () => void): Promise<number> {
  const started = performance.now();
  let lines: string[] = [];
  for (let i = 0; i < count; i++) {
    lines.push(`${JSON.stringify(makeEvent(i))}\n`);
    if (lines.length === GROUP) {
      await fs.promises.appendFile(file, lines.join(''));
      lines = [];
      onTick?.();
    }
  }
  if (lines.length) await fs.promises.appendFile(file, lines.join(''));
  return performance.now() - started;
}

async function readPlain(file: string): Promise<number> {
  const started = performance.now();
  let n = 0;
  for await (const line of readLines(file)) {
    JSON.parse(line.text);
    n += 1;
  }
  if (n === 0) throw new Error('nothing read');
  return performance.now() - started;
}

interface MemoryGrowth {
  /** Largest growth of live memory (heap + external, measured after a full GC). */
  retained: number;
  /** Largest growth of the process's resident size (includes garbage not yet collected). */
  rss: number;
}

/** Needs --expose-gc (npm run bench passes it): live memory is what the store keeps, not garbage. */
async function memoryGrowth(work: (tick: () => void) => Promise<unknown>): Promise<MemoryGrowth> {
  const gc = global.gc ?? (() => undefined);
  gc();
  const live = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  const before = { live: live(), rss: process.memoryUsage().rss };
  const peak = { live: before.live, rss: before.rss };
  const tick = () => {
    peak.rss = Math.max(peak.rss, process.memoryUsage().rss);
    gc();
    peak.live = Math.max(peak.live, live());
  };
  await work(tick);
  tick();
  return { retained: peak.live - before.live, rss: peak.rss - before.rss };
}

const perSecond = (count: number, ms: number) => Math.round(count / (ms / 1000));
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export async function benchAudit(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-audit-'));
  process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  // Memory first, in a fresh heap, for both.
  if (!global.gc) console.warn('run with node --expose-gc for the retained-memory figures');
  const memStore = await memoryGrowth((tick) => appendThroughStore(path.join(root, 'mem-store'), MEMORY_EVENTS, tick));
  const memPlain = await memoryGrowth((tick) => appendPlain(path.join(root, 'mem-plain.jsonl'), MEMORY_EVENTS, tick));
  fs.rmSync(path.join(root, 'mem-store'), { recursive: true });
  fs.rmSync(path.join(root, 'mem-plain.jsonl'));

  const storeDir = path.join(root, 'store');
  const plainFile = path.join(root, 'plain.jsonl');
  const storeMs = await appendThroughStore(storeDir, APPEND_EVENTS);
  const plainMs = await appendPlain(plainFile, APPEND_EVENTS);
  const redactingMs = await appendThroughRedactingBus(path.join(root, 'redacting'), APPEND_EVENTS);

  const verifySigner = ephemeralHeadSigner();
  const verifyStarted = performance.now();
  const verified = await verifyAuditTrail(storeDir, verifySigner); // a different key: the chain is checked in full, the head fails last
  const verifyMs = performance.now() - verifyStarted;
  if (verified.records !== APPEND_EVENTS) throw new Error(`verify read ${verified.records} records`);
  const readMs = await readPlain(plainFile);

  console.log(`\nAudit trail (${APPEND_EVENTS.toLocaleString()} events; memory over ${MEMORY_EVENTS.toLocaleString()})`);
  console.log('                                    airlock store                 plain appendFile, no hash     ratio   target');
  console.log(`append rate (events/s)              ${String(perSecond(APPEND_EVENTS, storeMs).toLocaleString()).padEnd(30)}${String(perSecond(APPEND_EVENTS, plainMs).toLocaleString()).padEnd(30)}${(plainMs / storeMs).toFixed(2)}x   >= 50,000`);
  console.log(`  via a bus redacting a secret      ${String(perSecond(APPEND_EVENTS, redactingMs).toLocaleString()).padEnd(30)}${''.padEnd(30)}        >= 50,000`);
  console.log(`verify / read rate (records/s)      ${String(perSecond(APPEND_EVENTS, verifyMs).toLocaleString()).padEnd(30)}${String(perSecond(APPEND_EVENTS, readMs).toLocaleString()).padEnd(30)}${(readMs / verifyMs).toFixed(2)}x   >= 200,000`);
  console.log(`live memory growth (after GC)       ${mb(memStore.retained).padEnd(30)}${mb(memPlain.retained).padEnd(30)}        <= 100 MB`);
  console.log(`resident size growth (peak RSS)     ${mb(memStore.rss).padEnd(30)}${mb(memPlain.rss).padEnd(30)}`);
}
