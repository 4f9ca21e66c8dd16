import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { exportAuditTrail } from '../../main/core/audit/export.js';
import { followAuditTrail } from '../../main/core/audit/follow.js';
import { queryAuditPage, queryAuditTrail } from '../../main/core/audit/query.js';
import type { AuditRecord } from '../../main/core/audit/record.js';
import { GENESIS } from '../../main/core/audit/record.js';
import { pruneAuditTrail } from '../../main/core/audit/retention.js';
import { AuditStore, TORN_DIR } from '../../main/core/audit/store.js';
import { HEAD_FILE, type HeadSigner } from '../../main/core/audit/head.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { verifyAuditTrail } from '../../main/core/audit/verify.js';
import { event, freshStore, readLinesOf, segmentFiles, writeLinesOf } from '../helpers/audit.js';

async function all(dir: string): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  for await (const r of queryAuditTrail(dir)) records.push(r);
  return records;
}

describe('the audit store', () => {
  it('numbers records contiguously and chains each to the one before', async () => {
    const { dir, store } = freshStore();
    for (let i = 0; i < 50; i++) store.append(event());
    await store.close();
    const records = await all(dir);
    expect(records.map((r) => r.n)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(records[0]!.prev).toBe(GENESIS);
    for (let i = 1; i < records.length; i++) expect(records[i]!.prev).toBe(records[i - 1]!.hash);
  });

  it('keeps writing when an event holds what canonical JSON refuses (a lone surrogate, Infinity): replaced, and said so', async () => {
    const { dir, store, signer } = freshStore();
    store.append(event());
    store.append(event({ kind: 'agent.action', data: { type: 'note', text: 'a\ud800b', ['k\udc00']: 1, n: Infinity } }));
    store.append(event());
    await store.close();
    const records = await all(dir);
    expect(records).toHaveLength(3);
    expect(records[1]!.data).toEqual({ type: 'note', text: 'a\ufffdb', ['k\ufffd']: 1, n: 'Infinity', unrecordableReplaced: true });
    expect(await verifyAuditTrail(dir, signer)).toMatchObject({ ok: true, records: 3 });
  });

  it('makes records durable within 100 ms of append without being asked, in groups', async () => {
    const { dir, store } = freshStore();
    for (let i = 0; i < 500; i++) store.append(event());
    await sleep(100);
    const lines = segmentFiles(dir).flatMap(readLinesOf);
    expect(lines).toHaveLength(500);
    expect(store.stats.commits).toBeLessThanOrEqual(2); // one write+fsync per group, not per record
    await store.close();
  });

  it('starts a new segment when the day changes or the segment is full, chaining across', async () => {
    const { dir, signer, store } = freshStore({ segmentMaxBytes: 4096 });
    for (let i = 0; i < 30; i++) store.append(event({ time: `2026-11-27T23:59:${String(i).padStart(2, '0')}.000Z` }));
    for (let i = 0; i < 5; i++) store.append(event({ time: '2026-11-28T00:00:01.000Z' }));
    await store.close();
    const names = segmentFiles(dir).map((f) => path.basename(f));
    expect(names.length).toBeGreaterThanOrEqual(3);
    expect(names[0]).toBe('000000000001-20261127.jsonl');
    expect(names.at(-1)).toMatch(/^000000000031-20261128\.jsonl$/);
    expect(fs.statSync(segmentFiles(dir)[0]!).size).toBeLessThanOrEqual(4096 + 1024);
    expect(await verifyAuditTrail(dir, signer)).toMatchObject({ ok: true, records: 35 });
  });

  it('sets aside a write torn by a crash and continues the chain from the last good record', async () => {
    const { dir, signer, store } = freshStore();
    for (let i = 0; i < 10; i++) store.append(event());
    await store.close();
    const file = segmentFiles(dir)[0]!;
    const partial = readLinesOf(file)[9]!.slice(0, 70);
    fs.appendFileSync(file, `${readLinesOf(file)[9]!.replace('"n":10', '"n":11').slice(0, 40)}`); // half a record, no newline
    const torn = await verifyAuditTrail(dir, signer);
    expect(torn).toMatchObject({ ok: true, records: 10 });
    expect(torn.notes[0]).toMatch(/cut short by a crash at the end of 000000000001-\d{8}\.jsonl \(line 11\)/);
    expect(partial.length).toBe(70);

    const next = new AuditStore({ dir, signer });
    next.append(event({ data: { line: 'after the crash' } }));
    await next.close();
    const records = await all(dir);
    expect(records.map((r) => r.n)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(records[10]).toMatchObject({ kind: 'audit.recovered', actor: 'airlock' });
    expect(records[11]!.data).toEqual({ line: 'after the crash' });
    const kept = fs.readdirSync(path.join(dir, TORN_DIR));
    expect(kept).toHaveLength(1);
    expect(await verifyAuditTrail(dir, signer)).toMatchObject({ ok: true, records: 12, notes: [] });
  });

  /** A crash after a group's records were written, before its head: the head as it was before the group. */
  async function crashBeforeHead(cut = 0) {
    const clock = new FakeClock(Date.parse('2026-11-28T10:00:00Z'));
    const fixture = freshStore();
    const store = new AuditStore({ dir: fixture.dir, signer: fixture.signer, clock });
    for (let i = 0; i < 10; i++) store.append(event());
    await store.flush();
    const headBefore = fs.readFileSync(path.join(fixture.dir, HEAD_FILE));
    for (let i = 0; i < 5; i++) store.append(event());
    await store.flush(); // records 11–15 and their head; the keychain is raised at most once a second
    fs.writeFileSync(path.join(fixture.dir, HEAD_FILE), headBefore);
    const file = segmentFiles(fixture.dir)[0]!;
    if (cut) writeLinesOf(file, readLinesOf(file).slice(0, -cut));
    return fixture;
  }

  it('a group written just before a crash, before its head: verify notes it; the next writer adopts it (its signed intent pins it)', async () => {
    const { dir, signer } = await crashBeforeHead();
    const verified = await verifyAuditTrail(dir, signer);
    expect(verified).toMatchObject({ ok: true, records: 15, keychain: { n: 10 } });
    expect(verified.notes[0]).toMatch(/records 11–15 are after the signed head: written just before a crash.*adopts them/);
    const next = new AuditStore({ dir, signer });
    next.append(event({ data: { line: 'after the crash' } }));
    await next.close();
    const records = await all(dir);
    expect(records.slice(15).map((r) => [r.n, r.kind])).toEqual([[16, 'audit.recovered'], [17, 'proc.stdout']]);
    expect(records[15]!.data).toMatchObject({ records: { from: 11, to: 15 } });
    expect(await verifyAuditTrail(dir, signer)).toMatchObject({ ok: true, records: 17, notes: [] });
  });

  it('part of a group a crash cut short is not signed over: set aside in torn/ and said so', async () => {
    const { dir, signer } = await crashBeforeHead(2); // records 11–13 of 11–15 made it to disk
    expect((await verifyAuditTrail(dir, signer)).notes[0]).toMatch(/records 11–13 are after the signed head.*sets aside them/);
    const next = new AuditStore({ dir, signer });
    next.append(event({ data: { line: 'after the crash' } }));
    await next.close();
    const records = await all(dir);
    expect(records.slice(10).map((r) => [r.n, r.kind])).toEqual([[11, 'audit.recovered'], [12, 'proc.stdout']]);
    expect(records[10]!.data).toMatchObject({ records: { from: 11, to: 13 } });
    expect(fs.readdirSync(path.join(dir, TORN_DIR))).toHaveLength(1);
    expect(await verifyAuditTrail(dir, signer)).toMatchObject({ ok: true, records: 12, notes: [] });
  });

  it('a group on disk whose head could not be signed is not written twice: the retry adopts it and signs', async () => {
    const { dir, signer } = freshStore();
    let failNextHead = false;
    const flaky: HeadSigner = {
      ...signer,
      sign: (head) => {
        if (failNextHead && head.from === undefined) {
          failNextHead = false;
          throw new Error('the keychain went away for a moment');
        }
        return signer.sign(head);
      },
    };
    const store = new AuditStore({ dir, signer: flaky });
    store.append(event());
    await store.flush();
    failNextHead = true;
    store.append(event({ data: { line: 'once' } }));
    await expect(store.flush()).rejects.toThrow(/went away/);
    await store.close();
    const records = await all(dir);
    expect(records.filter((r) => r.data.line === 'once')).toHaveLength(1);
    expect(records.map((r) => r.kind)).toEqual(['proc.stdout', 'proc.stdout', 'audit.recovered']);
    expect(await verifyAuditTrail(dir, signer)).toMatchObject({ ok: true, records: 3, notes: [] });
  });

  it('raises the keychain\'s record of the last signed head at most once a second, and when it closes', async () => {
    const clock = new FakeClock(Date.parse('2026-11-28T10:00:00Z'));
    const { dir, signer } = freshStore();
    const store = new AuditStore({ dir, signer, clock });
    store.append(event());
    await store.flush();
    expect(signer.lastSigned(dir)?.n).toBe(1);
    for (let i = 0; i < 3; i++) {
      store.append(event());
      await store.flush();
    }
    expect(signer.lastSigned(dir)?.n).toBe(1);
    clock.advance(1000);
    store.append(event());
    await store.flush();
    expect(signer.lastSigned(dir)?.n).toBe(5);
    store.append(event());
    await store.close();
    expect(signer.lastSigned(dir)).toEqual({ n: 6, hash: (await all(dir)).at(-1)!.hash });
  });

  it('keeps what it could not write and reports it, rather than losing it', async () => {
    const { dir, store } = freshStore();
    store.append(event());
    fs.rmSync(dir, { recursive: true });
    fs.writeFileSync(dir, 'not a folder'); // the trail's folder is gone and in the way
    await expect(store.flush()).rejects.toThrow(/could not be written/);
    fs.rmSync(dir);
    fs.mkdirSync(path.join(dir, 'segments'), { recursive: true });
    await store.flush();
    expect(await all(dir)).toHaveLength(1);
  });
});

describe('querying the audit trail', () => {
  async function mixed() {
    const fixture = freshStore({ segmentMaxBytes: 2048 });
    const days = ['2026-11-26', '2026-11-27', '2026-11-28'];
    for (let i = 0; i < 60; i++) {
      fixture.store.append(event({
        time: `${days[i % 3]}T12:00:00.000Z`.replace('12:00:00', `12:${String(Math.floor(i / 3)).padStart(2, '0')}:00`),
        task: i % 2 ? 't_01odd000000000000000000000' : 't_01even00000000000000000000',
        agent: { name: i % 4 === 0 ? 'billing' : 'demo', digest: 'sha256:x' },
        kind: i % 5 === 0 ? 'net.denied' : i % 5 === 1 ? 'net.request' : 'proc.stdout',
        ...(i % 5 < 2 ? { decision: { allow: i % 5 === 1, rule: 'allow:api.vendor.test', by: 'policy' as const } } : {}),
        data: { line: i === 42 ? 'The Needle in the haystack' : `line ${i}` },
      }));
    }
    await fixture.store.close();
    return fixture.dir;
  }

  it('filters by task, agent, kind family, decision, time and text, across segments', async () => {
    const dir = await mixed();
    const collect = async (q: Parameters<typeof queryAuditTrail>[1]) => {
      const ns: number[] = [];
      for await (const r of queryAuditTrail(dir, q)) ns.push(r.n);
      return ns;
    };
    expect(segmentFiles(dir).length).toBeGreaterThan(3);
    expect(await collect({ task: 't_01odd000000000000000000000' })).toEqual(Array.from({ length: 30 }, (_, i) => 2 * i + 2));
    expect((await collect({ agent: 'billing' })).length).toBe(15);
    expect(await collect({ kinds: ['net.*'], decision: 'deny' })).toEqual(Array.from({ length: 12 }, (_, i) => 5 * i + 1));
    expect((await collect({ kinds: ['net.request'] })).length).toBe(12);
    expect(await collect({ text: 'needle' })).toEqual([43]);
    // events were appended out of time order on purpose: the range filter is on time, not position
    const day = await collect({ since: '2026-11-27T00:00:00.000Z', until: '2026-11-27T23:59:59.999Z' });
    expect(day).toEqual(Array.from({ length: 20 }, (_, i) => 3 * i + 2));
  });

  it('pages newest first with a cursor, without repeating or skipping', async () => {
    const dir = await mixed();
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await queryAuditPage(dir, { order: 'desc', ...(cursor ? { cursor } : {}) }, 7);
      seen.push(...page.records.map((r) => r.n));
      cursor = page.next;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => 60 - i));
    const asc = await queryAuditPage(dir, { cursor: '55' }, 10);
    expect(asc.records.map((r) => r.n)).toEqual([56, 57, 58, 59, 60]);
    expect(asc.next).toBeUndefined();
  });

  it('exports JSONL as stored and CSV with one flat row per record', async () => {
    const dir = await mixed();
    let jsonl = '';
    expect(await exportAuditTrail(dir, 'jsonl', { task: 't_01even00000000000000000000' }, (c) => void (jsonl += c))).toBe(30);
    expect(jsonl.trim().split('\n').map((l) => JSON.parse(l).n).slice(0, 3)).toEqual([1, 3, 5]);
    let csv = '';
    await exportAuditTrail(dir, 'csv', { kinds: ['net.denied'] }, (c) => void (csv += c));
    const rows = csv.trim().split('\n');
    expect(rows[0]).toBe('n,time,task,parent,agent,agent_digest,actor,kind,decision,rule,decided_by,grant,credential,data,hash,prev');
    expect(rows).toHaveLength(13);
    expect(rows[1]).toMatch(/^1,2026-11-26T12:00:00\.000Z,t_01even00000000000000000000,,billing,sha256:x,agent,net\.denied,deny,allow:api\.vendor\.test,policy,,,"\{""line"":""line 0""\}",[0-9a-f]{64},0{64}$/);
  });
});

describe('retention', () => {
  it('removes whole old segments, records that it did, and the trail still verifies', async () => {
    const { dir, signer, store } = freshStore();
    for (const day of ['2026-10-01', '2026-10-02', '2026-11-27']) {
      for (let i = 0; i < 5; i++) store.append(event({ time: `${day}T08:00:00.000Z` }));
    }
    await store.close();
    const result = await pruneAuditTrail(store, 30, new Date('2026-11-28T12:00:00Z'));
    expect(result).toEqual({ heldSegments: [], removedSegments: ['000000000001-20261001.jsonl', '000000000006-20261002.jsonl'], removedRecords: 10 });
    expect(segmentFiles(dir).map((f) => path.basename(f))).toEqual(['000000000011-20261127.jsonl', '000000000016-20261128.jsonl']);
    const verified = await verifyAuditTrail(dir, signer);
    expect(verified).toMatchObject({ ok: true, records: 6, headSigned: true });
    const last = (await all(dir)).at(-1)!;
    expect(last).toMatchObject({ kind: 'audit.retention', data: { keepDays: 30, removedRecords: { from: 1, to: 10 } } });
  });
});

describe('following the audit trail', () => {
  it('yields records as another writer appends them', async () => {
    const { dir, signer, store } = freshStore();
    store.append(event({ data: { line: 'before' } }));
    await store.close();
    const controller = new AbortController();
    const seen: string[] = [];
    const following = (async () => {
      for await (const r of followAuditTrail(dir, { signal: controller.signal, pollMs: 20 })) {
        seen.push(String(r.data.line));
        if (seen.length === 3) controller.abort();
      }
    })();
    await sleep(50);
    const other = new AuditStore({ dir, signer });
    for (const line of ['one', 'two', 'three']) other.append(event({ data: { line } }));
    await other.close();
    await following;
    expect(seen).toEqual(['one', 'two', 'three']);
  });
});
