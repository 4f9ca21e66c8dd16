/**
 * The audit trail when the keychain loses its head-signing key (a reboot with the kernel keyring,
 * a new machine): the next writer makes a new key and hands the chain over with a record signed by
 * it, and `verify` names the change. And against a hostile writer of the files (no key, or only
 * keys of its own): a forged hand-over must not pass off a rewritten log. The keychain is in
 * memory here (a fresh MemorySecrets is a lost store); audit-handover-cli.test.ts runs the real CLI
 * against a real keyring. On the code before: the whole trail was set aside as tampered and
 * `verify` failed for good after a lost key.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../main/core/audit/handover.js';
import { HEAD_FILE, PUBLIC_KEY_FILE, type HeadSigner } from '../../main/core/audit/head.js';
import { queryAuditTrail } from '../../main/core/audit/query.js';
import { sealRecord, type AuditRecord } from '../../main/core/audit/record.js';
import { AuditStore, SEGMENTS_DIR, TAMPERED_DIR, TORN_DIR } from '../../main/core/audit/store.js';
import { verifyAuditTrail } from '../../main/core/audit/verify.js';
import { event, forgedHandedOverTrail, freshKeychainSigner, readLinesOf, segmentFiles, writeEvents, writeLinesOf } from '../helpers/audit.js';
import { tempDir } from '../helpers/env.js';

const write = writeEvents;

async function recordsOf(dir: string): Promise<AuditRecord[]> {
  const all: AuditRecord[] = [];
  for await (const record of queryAuditTrail(dir)) all.push(record);
  return all;
}

const keptKey = (dir: string) => fingerprint(fs.readFileSync(path.join(dir, PUBLIC_KEY_FILE), 'utf8'));

/** Puts someone else's trail (segments, head, intent, public key) in place of the real one's files. */
function replaceFiles(dir: string, forged: string): void {
  fs.rmSync(dir, { recursive: true });
  fs.cpSync(forged, dir, { recursive: true });
}

const trailDir = () => path.join(tempDir('airlock-handover-'), 'audit');

describe('a lost signing key: the chain is handed over, and verify says so', () => {
  it('the next writer hands over to a new key; verify passes and names the record, the time and both keys', async () => {
    const dir = trailDir();
    await write(dir, freshKeychainSigner(), 30);
    const oldKey = keptKey(dir);
    const after = freshKeychainSigner(); // the keychain came back empty

    const pending = await verifyAuditTrail(dir, after);
    expect(pending.ok).toBe(false);
    expect(pending.problem!.message).toMatch(new RegExp(`signed by the key kept beside the trail \\(${oldKey.replace(/[+/]/g, '\\$&')}\\).*never signed this trail.*the next write hands the trail over`));

    await write(dir, after, 2, 'after the reboot');
    const records = await recordsOf(dir);
    expect(records.map((r) => r.kind).slice(29, 31)).toEqual(['proc.stdout', 'audit.handover']);
    expect(records[30]).toMatchObject({ n: 31, data: { fingerprint: fingerprint(after.publicKeyPem()), previous: { fingerprint: oldKey, head: { head: { n: 30, hash: records[29]!.hash } } } } });
    expect(records.some((r) => r.kind === 'audit.tamper')).toBe(false);
    expect(fs.existsSync(path.join(dir, TAMPERED_DIR))).toBe(false);

    const verified = await verifyAuditTrail(dir, after);
    expect(verified).toMatchObject({ ok: true, records: 33, headSigned: true, key: fingerprint(after.publicKeyPem()) });
    expect(verified.keyChanges).toEqual([{ record: 31, time: records[30]!.time, from: oldKey, to: fingerprint(after.publicKeyPem()), reason: expect.stringMatching(/keychain holds no signing key/) }]);
    expect(keptKey(dir)).toBe(fingerprint(after.publicKeyPem())); // the new key is kept beside the trail now
  });

  it('`audit verify` alone hands over (the engine syncs its writer first): no event needed', async () => {
    const dir = trailDir();
    await write(dir, freshKeychainSigner(), 5);
    const after = freshKeychainSigner();
    const store = new AuditStore({ dir, signer: after });
    await store.sync();
    await store.close();
    expect(await verifyAuditTrail(dir, after)).toMatchObject({ ok: true, records: 6, keyChanges: [{ record: 6 }] });
  });

  it('lost twice: two hand-overs, each from the key the one before handed over to', async () => {
    const dir = trailDir();
    const first = freshKeychainSigner();
    const second = freshKeychainSigner();
    const third = freshKeychainSigner();
    await write(dir, first, 3);
    await write(dir, second, 3);
    await write(dir, third, 3);
    const verified = await verifyAuditTrail(dir, third);
    expect(verified.ok).toBe(true);
    expect(verified.keyChanges.map(({ record, from, to }) => ({ record, from, to }))).toEqual([
      { record: 4, from: fingerprint(first.publicKeyPem()), to: fingerprint(second.publicKeyPem()) },
      { record: 8, from: fingerprint(second.publicKeyPem()), to: fingerprint(third.publicKeyPem()) },
    ]);
  });
});

describe('what lies after the lost key\'s head', () => {
  it('a group the old key announced but never signed a head for (a crash, then the loss) is set aside as torn; the hand-over follows the head', async () => {
    const dir = trailDir();
    const before = freshKeychainSigner();
    await write(dir, before, 10);
    const head = fs.readFileSync(path.join(dir, HEAD_FILE));
    await write(dir, before, 5); // its intent (signed by the old key) announces records 11–15
    fs.writeFileSync(path.join(dir, HEAD_FILE), head); // the crash came before their head

    const after = freshKeychainSigner();
    await write(dir, after, 1, 'after the reboot');
    const records = await recordsOf(dir);
    expect(records.slice(10).map((r) => [r.n, r.kind])).toEqual([[11, 'audit.handover'], [12, 'audit.recovered'], [13, 'proc.stdout']]);
    expect(fs.readdirSync(path.join(dir, TORN_DIR)).length).toBeGreaterThan(0);
    expect(await verifyAuditTrail(dir, after)).toMatchObject({ ok: true, records: 13, keyChanges: [{ record: 11 }] });
  });

  it('records someone appended after the lost key\'s head are set aside as tampering, and verify says so', async () => {
    const dir = trailDir();
    await write(dir, freshKeychainSigner(), 10);
    const file = segmentFiles(dir)[0]!;
    const last = JSON.parse(readLinesOf(file).at(-1)!) as AuditRecord;
    const forged = sealRecord(event({ data: { line: 'forged' } }), 11, last.hash).line;
    fs.appendFileSync(file, `${forged}\n`);

    const after = freshKeychainSigner();
    await write(dir, after, 1, 'after the reboot');
    const records = await recordsOf(dir);
    expect(records.slice(10).map((r) => [r.n, r.kind])).toEqual([[11, 'audit.handover'], [12, 'audit.tamper'], [13, 'proc.stdout']]);
    const verified = await verifyAuditTrail(dir, after);
    expect(verified).toMatchObject({ ok: false, problem: { record: 12, message: expect.stringMatching(/never signed by it/) }, keyChanges: [{ record: 11 }] });
  });
});

describe('a forged hand-over does not pass off a rewritten log', () => {
  async function forgedTrail(records: number): Promise<{ dir: string; from: string; to: HeadSigner }> {
    const forged = await forgedHandedOverTrail(records);
    expect((await verifyAuditTrail(forged.dir, forged.to)).keyChanges).toHaveLength(1); // a well-formed hand-over
    return { dir: forged.dir, from: fingerprint(forged.from.publicKeyPem()), to: forged.to };
  }

  it('with the key still in the keychain: verify fails, and the writer sets the forgery aside instead of handing over', async () => {
    const dir = trailDir();
    const signer = freshKeychainSigner();
    await write(dir, signer, 30, 'what really happened');
    const forged = await forgedTrail(30);
    replaceFiles(dir, forged.dir);

    const verified = await verifyAuditTrail(dir, signer);
    expect(verified.ok).toBe(false);
    expect(verified.problem!.message).toMatch(/signature is not valid/);

    await write(dir, signer, 1, 'the next task');
    const records = await recordsOf(dir);
    // Nothing was handed over to this machine's key: the writer goes on from what its keychain says it signed.
    expect(records.filter((r) => r.kind === 'audit.handover' && r.data.fingerprint === fingerprint(signer.publicKeyPem()))).toHaveLength(0);
    expect(records.find((r) => r.kind === 'audit.tamper')).toMatchObject({ n: 31, data: { vouchedFor: { n: 30, by: 'keychain' } } });
    expect(keptKey(dir)).toBe(fingerprint(signer.publicKeyPem()));
    expect((await verifyAuditTrail(dir, signer)).ok).toBe(false);
  });

  it('the key lost, the log rewritten with the kept public key left in place: no hand-over vouches for it', async () => {
    const dir = trailDir();
    await write(dir, freshKeychainSigner(), 30, 'what really happened');
    const file = segmentFiles(dir)[0]!;
    const lines = readLinesOf(file);
    // Record 10 rewritten, and the chain re-sealed from it on: only the old key could sign a head for it.
    let previous = JSON.parse(lines[8]!) as AuditRecord;
    for (let i = 9; i < lines.length; i++) {
      const { n: _n, prev: _prev, hash: _hash, ...original } = JSON.parse(lines[i]!) as AuditRecord;
      const sealed = sealRecord(i === 9 ? { ...original, data: { line: 'nothing happened' } } : original, previous.n + 1, previous.hash);
      lines[i] = sealed.line;
      previous = JSON.parse(sealed.line) as AuditRecord;
    }
    writeLinesOf(file, lines);

    const after = freshKeychainSigner();
    await write(dir, after, 1, 'after the reboot');
    const records = await recordsOf(dir);
    expect(records.some((r) => r.kind === 'audit.handover')).toBe(false);
    expect(records[0]).toMatchObject({ n: 1, kind: 'audit.tamper' });
    expect((await verifyAuditTrail(dir, after)).ok).toBe(false);
  });

  it('the key lost, the log rewritten with a key of the attacker\'s put beside it: the hand-over names the attacker\'s key, not the one the person noted', async () => {
    const dir = trailDir();
    await write(dir, freshKeychainSigner(), 30, 'what really happened');
    const noted = keptKey(dir); // what `verify` printed before (`head signing key: …`)
    const forged = await forgedTrail(30);
    replaceFiles(dir, forged.dir);

    const after = freshKeychainSigner();
    await write(dir, after, 1, 'after the reboot');
    const verified = await verifyAuditTrail(dir, after);
    // What the hand-over cannot prove: whose the previous key was. It says which key that was.
    expect(verified.keyChanges.map((change) => change.from)).toEqual([forged.from, fingerprint(forged.to.publicKeyPem())]);
    expect(verified.keyChanges[0]!.from).not.toBe(noted);
  });

  it('a hand-over record changed afterwards (the previous key and head swapped for the attacker\'s) fails verify at that record', async () => {
    const dir = trailDir();
    await write(dir, freshKeychainSigner(), 10, 'what really happened');
    const after = freshKeychainSigner();
    await write(dir, after, 3, 'after the reboot');
    const forged = await forgedTrail(10);
    const forgedHandOver = (await recordsOf(forged.dir)).find((r) => r.kind === 'audit.handover')!;

    const file = segmentFiles(dir).find((f) => readLinesOf(f).some((l) => l.includes('"audit.handover"')))!;
    const lines = readLinesOf(file);
    const at = lines.findIndex((l) => l.includes('"audit.handover"'));
    const original = JSON.parse(lines[at]!) as AuditRecord & { data: Record<string, unknown> };
    const { n, prev, hash: _hash, ...rest } = original;
    lines[at] = sealRecord({ ...rest, data: { ...original.data, previous: forgedHandOver.data.previous } }, n, prev).line;
    writeLinesOf(file, lines);

    const verified = await verifyAuditTrail(dir, after);
    expect(verified.ok).toBe(false);
    expect(verified.problem).toMatchObject({ record: 11, message: expect.stringMatching(/record 11 is a hand-over to a new signing key that does not hold: it is not signed by the key it hands over to/) });
  });

  it('a head.json or key file that is not a key (garbage, another algorithm) is tampering, never a hand-over', async () => {
    const dir = trailDir();
    await write(dir, freshKeychainSigner(), 5);
    fs.writeFileSync(path.join(dir, PUBLIC_KEY_FILE), '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n');
    fs.writeFileSync(path.join(dir, HEAD_FILE), '{"head":{"n":1e999}}');
    const after = freshKeychainSigner();
    await write(dir, after, 1);
    expect((await recordsOf(dir))[0]).toMatchObject({ n: 1, kind: 'audit.tamper' });
    expect(fs.readdirSync(path.join(dir, SEGMENTS_DIR)).length).toBeGreaterThan(0);
  });
});
