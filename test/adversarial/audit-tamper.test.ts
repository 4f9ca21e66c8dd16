/**
 * The audit trail against a hostile local writer: a process that can write AIRLOCK_HOME/audit but
 * cannot use the keychain (where the head-signing key and the record of the last signed head
 * live). It appends forged records with a correct hash chain, cuts the tail, puts back an older
 * copy of the files and head, deletes a segment, deletes the whole trail, and removes old history
 * behind a forged retention record. Each time `audit verify` must fail naming the first bad
 * record, and the next Airlock writer must record `audit.tamper` instead of signing over what it
 * cannot vouch for. The keychain here is in memory (it is not what is attacked); the last test
 * runs the CLI against the real OS keychain (gnome-keyring over D-Bus).
 * On the code before: verify said `intact` after the forged append, the rollback, the forged
 * retention record and the wipe, and the writer adopted the forged or cut tip and signed over it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { keychainHeadSigner, readHead, type HeadSigner } from '../../main/core/audit/head.js';
import { queryAuditTrail } from '../../main/core/audit/query.js';
import { sealRecord, type AuditRecord } from '../../main/core/audit/record.js';
import { pruneAuditTrail } from '../../main/core/audit/retention.js';
import { AuditStore, TAMPERED_DIR } from '../../main/core/audit/store.js';
import { trailEndAccount } from '../../main/core/audit/trail-end.js';
import { verifyAuditTrail } from '../../main/core/audit/verify.js';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { event, readLinesOf, segmentFiles, writeLinesOf } from '../helpers/audit.js';
import { approve, runCli, tempDir } from '../helpers/env.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { MemorySecrets } from '../helpers/memory-secrets.js';

const DAYS = ['2026-11-26', '2026-11-27', '2026-11-28'];

/** Records 1–120 in three segments (one a day), written and closed by a real store. */
async function signedTrail(records = 120, from = 0, fixture?: { dir: string; signer: HeadSigner }) {
  const dir = fixture?.dir ?? path.join(tempDir('airlock-tamper-'), 'audit');
  const signer = fixture?.signer ?? keychainHeadSigner(new MemorySecrets());
  const store = new AuditStore({ dir, signer });
  for (let i = from; i < from + records; i++) store.append(event({ time: `${DAYS[Math.min(2, Math.floor(i / 40))]}T10:00:${String(i % 60).padStart(2, '0')}.000Z` }));
  await store.close();
  return { dir, signer };
}

async function recordsOf(dir: string): Promise<AuditRecord[]> {
  const all: AuditRecord[] = [];
  for await (const record of queryAuditTrail(dir)) all.push(record);
  return all;
}

/** What a hostile writer appends: records that chain correctly from the last one (the format is public). */
function forgedAfter(last: AuditRecord, count: number): string[] {
  const lines: string[] = [];
  let previous = { n: last.n, hash: last.hash };
  for (let i = 0; i < count; i++) {
    const sealed = sealRecord(event({ time: last.time, kind: 'agent.action', data: { type: 'note', text: `forged ${i}: nothing happened here` } }), previous.n + 1, previous.hash);
    lines.push(sealed.line);
    previous = { n: previous.n + 1, hash: sealed.hash };
  }
  return lines;
}

/** The next Airlock writer: appends one event as a task would, and closes. */
async function nextWriter(fixture: { dir: string; signer: HeadSigner }) {
  const store = new AuditStore({ dir: fixture.dir, signer: fixture.signer });
  store.append(event({ data: { line: 'the next task runs' } }));
  await store.close();
  return recordsOf(fixture.dir);
}

/** After the attack: the writer wrote `audit.tamper` first, then carried on; its head covers only what it vouches for. */
async function expectTamperRecorded(fixture: { dir: string; signer: HeadSigner }, continuesAt: number, finding: RegExp) {
  const records = await nextWriter(fixture);
  const tamper = records.find((r) => r.kind === 'audit.tamper');
  expect(tamper).toMatchObject({ n: continuesAt, actor: 'airlock', data: { continuesAt } });
  expect((tamper!.data.findings as string[]).join('\n')).toMatch(finding);
  const after = records.find((r) => r.data.line === 'the next task runs')!;
  expect(after.n).toBe(continuesAt + 1);
  expect(after.prev).toBe(tamper!.hash);
  const head = (await readHead(fixture.dir))!;
  expect(head.head).toMatchObject({ n: after.n, hash: after.hash });
  // Nothing forged is left in the chain the head signs.
  for (const file of segmentFiles(fixture.dir)) expect(fs.readFileSync(file, 'utf8')).not.toContain('forged');
  return tamper!;
}

describe('the audit trail against someone who can write its files but lacks the key', () => {
  it('records appended after the signed head with a correct chain: verify names the first; the writer sets them aside instead of signing over', async () => {
    const fixture = await signedTrail();
    const last = segmentFiles(fixture.dir).at(-1)!;
    const lines = readLinesOf(last);
    writeLinesOf(last, [...lines, ...forgedAfter(JSON.parse(lines.at(-1)!) as AuditRecord, 3)]);

    const verified = await verifyAuditTrail(fixture.dir, fixture.signer);
    expect(verified.ok).toBe(false);
    expect(verified.problem).toMatchObject({ record: 121, segment: path.basename(last), line: 41 });
    expect(verified.problem!.message).toMatch(/records 121–123 are after the signed head.*without the signing key/);

    const tamper = await expectTamperRecorded(fixture, 121, /3 record\(s\) after the signed head \(records 121–123\)/);
    const kept = (tamper.data.setAside as { keptAs: string }[])[0]!.keptAs;
    expect(kept.startsWith(`${TAMPERED_DIR}/`)).toBe(true);
    expect(fs.readFileSync(path.join(fixture.dir, kept), 'utf8')).toContain('forged 0'); // the evidence is kept, out of the chain
    const after = await verifyAuditTrail(fixture.dir, fixture.signer);
    expect(after.problem).toMatchObject({ record: 121 });
    expect(after.problem!.message).toMatch(/tampered with/);
  });

  it('forged records in a new segment of their own are set aside the same way', async () => {
    const fixture = await signedTrail();
    const lastRecord = JSON.parse(readLinesOf(segmentFiles(fixture.dir).at(-1)!).at(-1)!) as AuditRecord;
    const forged = path.join(fixture.dir, 'segments', '000000000121-20261129.jsonl');
    writeLinesOf(forged, forgedAfter(lastRecord, 2));
    expect((await verifyAuditTrail(fixture.dir, fixture.signer)).problem).toMatchObject({ record: 121, segment: path.basename(forged), line: 1 });
    await expectTamperRecorded(fixture, 121, /records 121–122/);
    expect(fs.existsSync(forged)).toBe(false);
  });

  it('a cut tail: verify names the first missing record; the writer does not adopt the shorter chain', async () => {
    const fixture = await signedTrail();
    const last = segmentFiles(fixture.dir).at(-1)!;
    writeLinesOf(last, readLinesOf(last).slice(0, 30)); // records 111–120 gone
    expect((await verifyAuditTrail(fixture.dir, fixture.signer)).problem).toMatchObject({ record: 111 });
    await expectTamperRecorded(fixture, 121, /record 120, which the signed head vouches for, is not in the trail/);
    const after = await verifyAuditTrail(fixture.dir, fixture.signer);
    expect(after.problem).toMatchObject({ record: 111 });
    expect(after.problem!.message).toMatch(/records 111–120 are missing/);
  });

  it('the last segment deleted: the same', async () => {
    const fixture = await signedTrail();
    fs.rmSync(segmentFiles(fixture.dir).at(-1)!);
    expect((await verifyAuditTrail(fixture.dir, fixture.signer)).problem).toMatchObject({ record: 81 });
    await expectTamperRecorded(fixture, 121, /record 120, which the signed head vouches for, is not in the trail/);
    expect((await verifyAuditTrail(fixture.dir, fixture.signer)).problem).toMatchObject({ record: 81 });
  });

  it('an older copy of the files and the head put back: verify fails on the rolled-back head; the writer goes on from what the keychain says was signed', async () => {
    const fixture = await signedTrail(100);
    const copy = path.join(path.dirname(fixture.dir), 'copy');
    fs.cpSync(fixture.dir, copy, { recursive: true });
    await signedTrail(20, 100, fixture); // records 101–120, signed
    fs.rmSync(fixture.dir, { recursive: true });
    fs.cpSync(copy, fixture.dir, { recursive: true });

    const verified = await verifyAuditTrail(fixture.dir, fixture.signer);
    expect(verified).toMatchObject({ ok: false, headSigned: true, keychain: { n: 120 } });
    expect(verified.problem).toMatchObject({ record: 101 });
    expect(verified.problem!.message).toMatch(/rolled back: it names record 100, but this machine's keychain says 120 records were signed/);

    await expectTamperRecorded(fixture, 121, /names record 100, but this machine signed up to record 120.*rolled back/);
    const after = await verifyAuditTrail(fixture.dir, fixture.signer);
    expect(after.problem).toMatchObject({ record: 101 });
    expect(after.problem!.message).toMatch(/records 101–120 are missing/);
  });

  it('a writer that stays open (the engine): its last records are marked in the keychain without another group, so putting back an older copy is caught', async () => {
    const clock = new FakeClock();
    const dir = path.join(tempDir('airlock-tamper-'), 'audit');
    const signer = keychainHeadSigner(new MemorySecrets());
    const store = new AuditStore({ dir, signer, clock, rememberIntervalMs: 1000 });
    try {
      for (let i = 0; i < 10; i++) store.append(event({ data: { line: `first ${i}` } }));
      await store.flush(); // the first group: marked in the keychain at once
      const older = path.join(path.dirname(dir), 'older');
      fs.cpSync(dir, older, { recursive: true });
      clock.advance(100);
      for (let i = 0; i < 10; i++) store.append(event({ data: { line: `second ${i}` } }));
      await store.flush(); // within the interval: not marked yet, and no further group comes
      expect(signer.lastSigned(dir)?.n).toBe(10);
      clock.advance(1000); // the trailing mark is due: no new record needed
      await store.flush();
      expect(signer.lastSigned(dir)?.n).toBe(20);
      // Someone puts the older copy back while the engine runs: verify is not fooled.
      fs.rmSync(dir, { recursive: true });
      fs.cpSync(older, dir, { recursive: true });
      const verified = await verifyAuditTrail(dir, signer);
      expect(verified).toMatchObject({ ok: false, keychain: { n: 20 } });
      expect(verified.problem!.message).toMatch(/rolled back: it names record 10, but this machine's keychain says 20 records were signed/);
    } finally {
      await store.close();
    }
  });

  it('the whole trail deleted: "gone", never "intact, 0 records"; the writer does not start a fresh chain', async () => {
    const fixture = await signedTrail();
    fs.rmSync(fixture.dir, { recursive: true });
    const verified = await verifyAuditTrail(fixture.dir, fixture.signer);
    expect(verified).toMatchObject({ ok: false, records: 0, problem: { record: 1 } });
    expect(verified.problem!.message).toMatch(/the trail is gone: this machine's keychain says 120 records were signed/);

    const records = await nextWriter(fixture);
    expect(records.map((r) => [r.n, r.kind])).toEqual([[121, 'audit.tamper'], [122, 'proc.stdout']]);
    expect((records[0]!.data.findings as string[])[0]).toMatch(/the trail is gone/);
    expect((await verifyAuditTrail(fixture.dir, fixture.signer)).problem).toMatchObject({ record: 1, message: expect.stringMatching(/records 1–120 are missing/) });
  });

  it('old history removed behind a forged retention record: only a retention record the signed head covers explains a gap', async () => {
    const fixture = await signedTrail();
    const [first, , last] = segmentFiles(fixture.dir);
    const firstKept = JSON.parse(readLinesOf(segmentFiles(fixture.dir)[1]!)[0]!) as AuditRecord;
    fs.rmSync(first!);
    const tail = JSON.parse(readLinesOf(last!).at(-1)!) as AuditRecord;
    const retention = sealRecord({
      v: 1, seq: 0, time: tail.time, task: '-', agent: { name: 'airlock', digest: '' }, actor: 'airlock', kind: 'audit.retention',
      data: { keepDays: 1, removedSegments: [path.basename(first!)], removedRecords: { from: 1, to: 40 }, firstKept: { n: firstKept.n, prev: firstKept.prev } },
    }, 121, tail.hash);
    fs.appendFileSync(last!, `${retention.line}\n`);
    const verified = await verifyAuditTrail(fixture.dir, fixture.signer);
    expect(verified.ok).toBe(false);
    expect(verified.problem).toMatchObject({ record: 1 });
    expect(verified.problem!.message).toMatch(/records 1–40 are missing and no signed retention record explains it/);
  });

  it('airlock audit prune records what it removes under a signed head before the files go, and the trail still verifies', async () => {
    const fixture = await signedTrail();
    const store = new AuditStore({ dir: fixture.dir, signer: fixture.signer });
    expect(await pruneAuditTrail(store, 0, new Date('2026-11-28T12:00:00Z'))).toMatchObject({ removedRecords: 80 });
    await store.close();
    const retention = (await recordsOf(fixture.dir)).find((r) => r.kind === 'audit.retention')!;
    expect(retention.data).toMatchObject({ removedRecords: { from: 1, to: 80, lastHash: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect((await readHead(fixture.dir))!.head.n).toBeGreaterThanOrEqual(retention.n);
    expect(await verifyAuditTrail(fixture.dir, fixture.signer)).toMatchObject({ ok: true, records: 41 });
  });
});

describe('with the real OS keychain, through the CLI', () => {
  it('a wiped trail fails `airlock audit verify --json` (exit 1); the next `airlock run` records audit.tamper first, says so, and the task still runs', { timeout: 90_000 }, async () => {
    const dir = tempDir('airlock-tamper-cli-');
    const home = path.join(dir, 'home');
    const env = { AIRLOCK_HOME: home };
    const manifest = path.join(dir, 'tiny.yaml');
    fs.writeFileSync(manifest, 'name: tiny\ncommand: ["sh", "-c", "echo reviewing; echo done"]\n');
    approve(manifest, home);
    expect((await runCli(['run', manifest, '--json'], { env })).code).toBe(0);
    const intact = JSON.parse((await runCli(['audit', 'verify', '--json'], { env })).stdout) as { ok: boolean; records: number; keychain: { n: number } };
    expect(intact).toMatchObject({ ok: true, keychain: { n: intact.records } });
    expect(new Keychain().get(trailEndAccount(path.join(home, 'audit')))).toContain(`"n":${intact.records}`);

    fs.rmSync(path.join(home, 'audit'), { recursive: true });
    const wiped = await runCli(['audit', 'verify', '--json'], { env });
    expect(wiped.code).toBe(1);
    expect(JSON.parse(wiped.stdout)).toMatchObject({ ok: false, records: 0, problem: { record: 1, message: expect.stringMatching(/the trail is gone/) } });
    expect((await runCli(['audit', 'verify'], { env })).stdout).toMatch(/^NOT INTACT at record 1: the trail is gone/);

    const next = await runCli(['run', manifest, '--json'], { env });
    expect(next.code).toBe(0);
    expect(next.stderr).toMatch(/the audit trail was changed by someone without its key: the trail is gone/);
    const records = await recordsOf(path.join(home, 'audit'));
    expect(records[0]).toMatchObject({ n: intact.records + 1, kind: 'audit.tamper' });
    expect(records.at(-1)?.kind).toBe('task.destroyed');
    const after = await runCli(['audit', 'verify', '--json'], { env });
    expect(after.code).toBe(1);
    expect(JSON.parse(after.stdout).problem.message).toMatch(new RegExp(`records 1–${intact.records} are missing`));
  });
});
