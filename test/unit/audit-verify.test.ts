import fs from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { ephemeralHeadSigner, HEAD_FILE, readHead } from '../../main/core/audit/head.js';
import { verifyAuditTrail } from '../../main/core/audit/verify.js';
import { event, freshStore, readLinesOf, segmentFiles, writeLinesOf } from '../helpers/audit.js';

// Three segments of 40 records each (records 1–40, 41–80, 81–120), one per day, written through the store.
async function trail() {
  const fixture = freshStore();
  const days = ['2026-11-26', '2026-11-27', '2026-11-28'];
  for (let i = 0; i < 120; i++) fixture.store.append(event({ time: `${days[Math.floor(i / 40)]}T10:00:${String(i % 60).padStart(2, '0')}.000Z` }));
  await fixture.store.close();
  return fixture;
}

describe('audit verify', () => {
  let t: Awaited<ReturnType<typeof trail>>;
  beforeEach(async () => {
    t = await trail();
  });

  it('an untouched trail verifies: intact, every record, head signed', async () => {
    expect(segmentFiles(t.dir)).toHaveLength(3);
    expect(await verifyAuditTrail(t.dir, t.signer)).toEqual({ ok: true, records: 120, headSigned: true, keychain: { n: 120, hash: expect.stringMatching(/^[0-9a-f]{64}$/) }, notes: [], key: expect.stringMatching(/^SHA256:[A-Za-z0-9+/]{43}$/), keyChanges: [] });
  });

  it('one flipped byte is reported at its record', async () => {
    const file = segmentFiles(t.dir)[1]!;
    const bytes = fs.readFileSync(file);
    const lines = readLinesOf(file);
    const offset = lines.slice(0, 9).reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0) + 60; // inside record 50
    bytes[offset] = bytes[offset]! ^ 0x01;
    fs.writeFileSync(file, bytes);
    const result = await verifyAuditTrail(t.dir, t.signer);
    expect(result.ok).toBe(false);
    expect(result.problem).toMatchObject({ record: 50, line: 10 });
    expect(result.problem?.message).toMatch(/altered/);
  });

  it('a deleted record is reported where it is missing', async () => {
    const file = segmentFiles(t.dir)[0]!;
    const lines = readLinesOf(file);
    lines.splice(14, 1); // record 15
    writeLinesOf(file, lines);
    const result = await verifyAuditTrail(t.dir, t.signer);
    expect(result.problem).toMatchObject({ record: 15 });
    expect(result.problem?.message).toMatch(/record 15 is missing/);
  });

  it('two swapped records are reported at the first of them', async () => {
    const file = segmentFiles(t.dir)[2]!;
    const lines = readLinesOf(file);
    [lines[4], lines[5]] = [lines[5]!, lines[4]!]; // records 85 and 86
    writeLinesOf(file, lines);
    const result = await verifyAuditTrail(t.dir, t.signer);
    expect(result.problem).toMatchObject({ record: 85 });
  });

  it('a record re-chained after a deletion (rehashed by hand) still breaks the chain', async () => {
    const file = segmentFiles(t.dir)[0]!;
    const lines = readLinesOf(file);
    const forged = JSON.parse(lines[20]!); // record 21
    forged.data = { line: 'nothing to see here' };
    lines[20] = JSON.stringify(forged);
    writeLinesOf(file, lines);
    expect((await verifyAuditTrail(t.dir, t.signer)).problem).toMatchObject({ record: 21 });
  });

  it('a cut tail is reported: the signed head names records that are gone', async () => {
    const file = segmentFiles(t.dir)[2]!;
    writeLinesOf(file, readLinesOf(file).slice(0, 30)); // records 81–110 remain
    const result = await verifyAuditTrail(t.dir, t.signer);
    expect(result.problem).toMatchObject({ record: 111 });
    expect(result.problem?.message).toMatch(/cut off: the signed head says 120 records, found 110/);
  });

  it('a deleted middle segment is reported at its first record', async () => {
    fs.rmSync(segmentFiles(t.dir)[1]!);
    const result = await verifyAuditTrail(t.dir, t.signer);
    expect(result.problem).toMatchObject({ record: 41 });
    expect(result.problem?.message).toMatch(/records 41–80 are missing/);
  });

  it('a deleted first segment is reported: nothing explains the gap', async () => {
    fs.rmSync(segmentFiles(t.dir)[0]!);
    const result = await verifyAuditTrail(t.dir, t.signer);
    expect(result.problem).toMatchObject({ record: 1 });
    expect(result.problem?.message).toMatch(/records 1–40 are missing and no signed retention record explains it/);
  });

  it('a replaced head (signed with another key) is reported', async () => {
    const impostor = ephemeralHeadSigner();
    const signed = (await readHead(t.dir))!;
    fs.writeFileSync(path.join(t.dir, HEAD_FILE), JSON.stringify(impostor.sign(signed.head)));
    const result = await verifyAuditTrail(t.dir, t.signer);
    expect(result.ok).toBe(false);
    expect(result.problem?.message).toMatch(/signature is not valid/);
  });

  it('a head edited to match a shortened trail is reported', async () => {
    const signed = (await readHead(t.dir))!;
    signed.head.n = 100;
    fs.writeFileSync(path.join(t.dir, HEAD_FILE), JSON.stringify(signed));
    expect((await verifyAuditTrail(t.dir, t.signer)).problem?.message).toMatch(/signature is not valid/);
  });

  it('a wholesale rewrite with a fresh chain fails on the head', async () => {
    const rewritten = freshStore();
    for (let i = 0; i < 120; i++) rewritten.store.append(event());
    await rewritten.store.close();
    for (const f of segmentFiles(t.dir)) fs.rmSync(f);
    for (const f of segmentFiles(rewritten.dir)) fs.copyFileSync(f, path.join(path.dirname(segmentFiles(t.dir)[0] ?? path.join(t.dir, 'segments', 'x')), path.basename(f)));
    fs.copyFileSync(path.join(rewritten.dir, HEAD_FILE), path.join(t.dir, HEAD_FILE));
    expect((await verifyAuditTrail(t.dir, t.signer)).problem?.message).toMatch(/signature is not valid/);
  });
});
