import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keychainHeadSigner } from '../../main/core/audit/head.js';
import { queryAuditTrail } from '../../main/core/audit/query.js';
import { AuditStore } from '../../main/core/audit/store.js';
import { verifyAuditTrail } from '../../main/core/audit/verify.js';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { REPO, tempDir, waitFor } from '../helpers/env.js';

// Real processes and the real OS keychain: a keychain service of this test file's own.
const service = `airlock-test-${process.pid}`;
const keychain = new Keychain(service);
afterAll(() => {
  keychain.delete('audit-head-signing-key');
});

function writer(dir: string, count: number, tag: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/audit-writer.ts', dir, service, String(count), tag], { cwd: REPO });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const ready = waitFor(async () => (out.includes('ready') ? true : undefined), `writer ${tag} to start`);
  const half = () => waitFor(async () => (out.includes('half') ? true : undefined), `writer ${tag} to write half its records`);
  return { child, exited, ready, half, go: () => child.stdin.write('go\n'), output: () => out, errors: () => err };
}

async function records(dir: string) {
  const all = [];
  for await (const r of queryAuditTrail(dir)) all.push(r);
  return all;
}

describe('the audit trail across processes', () => {
  it('two processes appending 10,000 records each at once make one chain with contiguous numbers', async () => {
    const dir = path.join(tempDir(), 'audit');
    keychainHeadSigner(keychain); // create the key once, before two processes race to create it
    const a = writer(dir, 10_000, 'a');
    const b = writer(dir, 10_000, 'b');
    await Promise.all([a.ready, b.ready]);
    a.go();
    b.go();
    // Both halves are in the chain before either writer goes on: their writes overlap whatever the load.
    await Promise.all([a.half(), b.half()]);
    a.go();
    b.go();
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    const all = await records(dir);
    expect(all).toHaveLength(20_000);
    expect(all.map((r) => r.n)).toEqual(Array.from({ length: 20_000 }, (_, i) => i + 1));
    for (const tag of ['a', 'b']) {
      const own = all.filter((r) => r.data.tag === tag).map((r) => r.data.i);
      expect(own).toEqual(Array.from({ length: 10_000 }, (_, i) => i)); // each writer's order kept
    }
    // they really wrote at the same time: their groups alternate in the chain (at least twice, by the halfway wait)
    const switches = all.filter((r, i) => i > 0 && r.data.tag !== all[i - 1]!.data.tag).length;
    expect(switches).toBeGreaterThanOrEqual(2);
    expect(await verifyAuditTrail(dir, keychainHeadSigner(keychain))).toMatchObject({ ok: true, records: 20_000, headSigned: true });
  }, 120_000);

  it('a writer killed with SIGKILL in a burst: the prefix verifies, a torn line is reported, later appends continue the chain', async () => {
    const dir = path.join(tempDir(), 'audit');
    const signer = keychainHeadSigner(keychain);
    const w = writer(dir, 1_000_000, 'killed');
    await w.ready;
    w.go();
    await waitFor(async () => (fs.existsSync(path.join(dir, 'head.json')) ? true : undefined), 'the first commit', 30_000);
    w.child.kill('SIGKILL');
    await w.exited;

    const afterKill = await verifyAuditTrail(dir, signer);
    expect(afterKill.ok).toBe(true);
    expect(afterKill.records).toBeGreaterThan(0);
    // A crash in the middle of a write leaves half a line; a SIGKILL between writes may not, so
    // leave one the way a crash mid-write would, after whatever the killed writer managed.
    const segment = fs.readdirSync(path.join(dir, 'segments')).sort().at(-1)!;
    fs.appendFileSync(path.join(dir, 'segments', segment), '{"actor":"agent","agent":{"digest":"sha256:test","name":"writer-killed"},"da');
    const torn = await verifyAuditTrail(dir, signer);
    expect(torn).toMatchObject({ ok: true, records: afterKill.records });
    expect(torn.notes.join('\n')).toMatch(/cut short by a crash/);

    const next = new AuditStore({ dir, signer });
    next.append({ v: 1, seq: 1, time: new Date().toISOString(), task: 't_after', agent: { name: 'after', digest: '' }, actor: 'airlock', kind: 'task.created', data: {} });
    await next.close();
    const final = await verifyAuditTrail(dir, signer);
    expect(final).toMatchObject({ ok: true, records: afterKill.records + 2, headSigned: true, notes: [] });
    const tail = (await records(dir)).slice(-2);
    expect(tail.map((r) => r.kind)).toEqual(['audit.recovered', 'task.created']);
  }, 120_000);
});
