import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fingerprint } from '../../main/core/audit/handover.js';
import { sealRecord } from '../../main/core/audit/record.js';
import { CursorFile } from '../../main/core/forward/cursor.js';
import type { Forwarding } from '../../main/core/forward/forwarding.js';
import type { ForwardItem } from '../../main/core/forward/types.js';
import { event, readLinesOf, segmentFiles } from '../helpers/audit.js';
import { removeTempDirs } from '../helpers/env.js';
import { forwardingHome, scriptedCollector, until } from '../helpers/forward-pump.js';

const open: Forwarding[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
  removeTempDirs();
});

async function write(store: ReturnType<typeof forwardingHome>['store'], count: number, make = (i: number) => event({ data: { line: `line ${i}` } })): Promise<void> {
  for (let i = 0; i < count; i++) store.append(make(i));
  await store.flush();
}

const status = async (f: Forwarding) => (await f.status())[0]!;

describe('a forwarder\'s pump over the real trail', () => {
  it('sends every record once, in order, in bounded batches, then the signed head it is caught up to', async () => {
    const home = forwardingHome();
    await write(home.store, 1200);
    const collector = scriptedCollector();
    const forwarding = home.open(collector);
    open.push(forwarding);
    await forwarding.flush(60_000);

    const records = collector.records();
    expect(records.map((r) => r.n)).toEqual(Array.from({ length: 1200 }, (_, i) => i + 1));
    expect(records.every((r) => !r.redelivery)).toBe(true);
    expect(collector.sent.every((b) => b.items.length <= 500)).toBe(true);
    expect(collector.sent.every((b) => b.source.trailId === fs.readFileSync(path.join(home.auditDir, 'trail-id'), 'utf8').trim())).toBe(true);
    // Each record's line is the stored line, byte for byte.
    const stored = segmentFiles(home.auditDir).flatMap(readLinesOf);
    const lines = collector.sent.flatMap((b) => b.items.flatMap((i) => (i.type === 'record' ? [i.line] : [])));
    expect(lines).toEqual(stored);
    const head = collector.sent.at(-1)!.items[0]!;
    expect(head.type).toBe('head');
    if (head.type !== 'head') return;
    expect(head.signed.head.n).toBe(1200);
    expect(head.fingerprint).toBe(fingerprint(home.signer.publicKeyPem()));
    expect(home.signer.verify(head.signed)).toBe(true);
    const shown = await status(forwarding);
    expect(shown).toMatchObject({ state: 'caught-up', acked: { n: 1200 }, tip: { n: 1200 }, lag: { records: 0, ms: 0 }, headSent: { n: 1200 } });
    expect(new CursorFile(home.auditDir, 'siem').read()).toMatchObject({ acked: { n: 1200 }, sentThrough: 1200 });
  });

  it('keeps each batch under its byte bound; a record larger than the bound goes alone', async () => {
    const home = forwardingHome();
    await write(home.store, 30, (i) => event({ data: { line: i === 10 ? 'x'.repeat(5000) : `line ${i}` } }));
    const collector = scriptedCollector();
    const forwarding = home.open(collector, { limits: { maxItems: 500, maxBytes: 2000, maxScanned: 50_000 } });
    open.push(forwarding);
    await forwarding.flush(60_000);
    const batches = collector.sent.filter((b) => b.items[0]?.type === 'record');
    for (const batch of batches) {
      const bytes = batch.items.reduce((sum, i) => sum + (i.type === 'record' ? Buffer.byteLength(i.line) : 0), 0);
      if (batch.items.length > 1) expect(bytes).toBeLessThanOrEqual(2000);
    }
    expect(batches.some((b) => b.items.length === 1 && b.items[0]!.type === 'record' && b.items[0]!.record.n === 11)).toBe(true);
    expect(collector.records().map((r) => r.n)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('sends nothing past the signed head: a record no head vouches for is never forwarded', async () => {
    const home = forwardingHome();
    await write(home.store, 5);
    // A well-formed, well-chained record appended behind the writer's back: no signed head covers it.
    const file = segmentFiles(home.auditDir).at(-1)!;
    const last = JSON.parse(readLinesOf(file).at(-1)!) as { hash: string };
    fs.appendFileSync(file, `${sealRecord(event(), 6, last.hash).line}\n`);
    const collector = scriptedCollector();
    const forwarding = home.open(collector);
    open.push(forwarding);
    await forwarding.flush(60_000);
    await home.clock.advance(1000); // several polls
    expect(collector.records().map((r) => r.n)).toEqual([1, 2, 3, 4, 5]);
    expect(await status(forwarding)).toMatchObject({ tip: { n: 5 }, lag: { records: 0 } });
  });

  it('marks redelivery only on what was sent without an acknowledgement, and backs off with jitter', async () => {
    const home = forwardingHome();
    await write(home.store, 700);
    const collector = scriptedCollector();
    collector.script.push({ ok: true }, { ok: false, reason: 'HTTP 503' }, { ok: false, reason: 'HTTP 503' });
    const forwarding = home.open(collector, { random: () => 1 });
    open.push(forwarding);
    await until(async () => (await status(forwarding)).state === 'retrying', 'the first failure');
    let shown = await status(forwarding);
    expect(shown.lastError?.message).toBe('HTTP 503');
    expect(Date.parse(shown.nextAttemptAt!) - home.clock.now()).toBe(1000);
    await home.clock.advance(1000);
    await until(async () => collector.sent.length === 3 && (await status(forwarding)).state === 'retrying', 'the second failure');
    shown = await status(forwarding);
    expect(Date.parse(shown.nextAttemptAt!) - home.clock.now()).toBe(2000); // random 1: the ceiling, doubled
    await home.clock.advance(2000);
    await forwarding.flush(60_000);
    const records = collector.records();
    // 1..500 once, unmarked; 501..700 three times, the two resends marked; nothing else.
    expect(records.filter((r) => r.n <= 500).every((r) => !r.redelivery)).toBe(true);
    const second = records.filter((r) => r.n > 500);
    expect(second.map((r) => r.n)).toEqual([...range(501, 700), ...range(501, 700), ...range(501, 700)]);
    expect(second.map((r) => r.redelivery)).toEqual([...Array(200).fill(false), ...Array(400).fill(true)]);
    expect((await status(forwarding)).lastError).toBeUndefined();
  });

  it('after a restart, marks what the last run sent without an acknowledgement, and only that', async () => {
    const home = forwardingHome();
    await write(home.store, 600);
    const first = scriptedCollector();
    first.script.push({ ok: true }, 'hang');
    const before = home.open(first);
    await until(() => first.sent.length === 2, 'the second batch in flight');
    await before.close(); // Airlock stops mid-send
    expect(new CursorFile(home.auditDir, 'siem').read()).toMatchObject({ acked: { n: 500 }, sentThrough: 600 });

    await write(home.store, 50);
    const second = scriptedCollector();
    const after = home.open(second);
    open.push(after);
    await after.flush(60_000);
    const records = second.records();
    expect(records.map((r) => r.n)).toEqual(range(501, 650));
    expect(records.filter((r) => r.redelivery).map((r) => r.n)).toEqual(range(501, 600));
  });

  it('sums up what its filter leaves out as linked skipped ranges, and always sends the trail\'s own records', async () => {
    const home = forwardingHome({ filter: { kinds: ['net.denied'] } });
    const kinds = ['proc.stdout', 'proc.stdout', 'net.denied', 'proc.stdout', 'net.request', 'net.denied', 'net.denied', 'proc.stdout'] as const;
    await write(home.store, kinds.length, (i) => event({ kind: kinds[i]! }));
    home.store.append({ ...event(), task: '-', actor: 'airlock', kind: 'audit.retention', data: {} });
    await write(home.store, 2);
    const collector = scriptedCollector();
    const forwarding = home.open(collector);
    open.push(forwarding);
    await forwarding.flush(60_000);
    const items = collector.sent.flatMap((b) => b.items).filter((i): i is Exclude<ForwardItem, { type: 'head' }> => i.type !== 'head');
    expect(items.map((i) => (i.type === 'record' ? `${i.record.n}` : `${i.from}-${i.to}/${i.count}`))).toEqual(['1-2/2', '3', '4-5/2', '6', '7', '8-8/1', '9', '10-11/2']);
    let prev = '0'.repeat(64);
    for (const item of items) {
      expect(item.type === 'record' ? item.record.prev : item.prev).toBe(prev);
      prev = item.type === 'record' ? item.record.hash : item.lastHash;
    }
    expect(prev).toBe(JSON.parse(readLinesOf(segmentFiles(home.auditDir).at(-1)!).at(-1)!).hash);
  });

  it('refuses a damaged cursor by name: sends nothing and leaves the file as it was', async () => {
    const home = forwardingHome();
    await write(home.store, 3);
    const cursor = new CursorFile(home.auditDir, 'siem');
    fs.mkdirSync(path.dirname(cursor.file), { recursive: true });
    fs.writeFileSync(cursor.file, '{"v":1,"acked":{"n":"two"}');
    const collector = scriptedCollector();
    const forwarding = home.open(collector);
    open.push(forwarding);
    await until(async () => (await status(forwarding)).lastError !== undefined, 'the refusal');
    await home.clock.advance(5000);
    const shown = await status(forwarding);
    expect(shown.state).toBe('stopped');
    expect(shown.lastError?.message).toContain(cursor.file);
    expect(shown.lastError?.message).toContain('damaged');
    expect(collector.sent).toEqual([]);
    expect(fs.readFileSync(cursor.file, 'utf8')).toBe('{"v":1,"acked":{"n":"two"}');
    expect(forwarding.holdBack()).toMatchObject({ keepFrom: 1 }); // unknown progress: retention keeps everything
  });

  it('refuses a damaged forwarders.json by name', async () => {
    const home = forwardingHome();
    fs.writeFileSync(path.join(home.home, 'forwarders.json'), '{"v":1,"forwarders":[{"name":"x","kind":"webhook","url":"http://plain.test"}]}');
    const forwarding = home.open(scriptedCollector());
    open.push(forwarding);
    await expect(forwarding.status()).rejects.toThrow(/forwarders\.json \(the audit forwarders\) is damaged/);
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
