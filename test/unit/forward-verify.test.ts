/**
 * The collector's continuity check (verify-stream.ts) against streams made by hand from a real
 * trail (a real AuditStore, its lines and signed heads) in the three collected forms — webhook
 * lines, OTLP/JSON requests, `{"syslog":…}` — written here, not by the forwarder's encoders, so a
 * mistake in those cannot hide the same mistake here. Each break names the record it is at; a
 * hostile file is problems in the report, never an exception.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../main/core/audit/handover.js';
import { ephemeralHeadSigner, readHead } from '../../main/core/audit/head.js';
import { formatStreamReport, verifyForwardedStream, type StreamReport } from '../../main/core/forward/verify-stream.js';
import { freshKeychainSigner, readLinesOf, segmentFiles, writeEvents } from '../helpers/audit.js';
import { attr, otlpRequest, parsed, source, str, syslogRecord, trailId, trailOf, webhookHead, webhookRecord, webhookSkipped, type Trail } from '../helpers/collected-forms.js';
import { tempDir } from '../helpers/env.js';

async function verify(lines: string[], options: Parameters<typeof verifyForwardedStream>[1] = {}): Promise<StreamReport> {
  const file = path.join(tempDir('airlock-stream-'), 'collected.jsonl');
  fs.writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
  return verifyForwardedStream(file, options);
}

const messages = (report: StreamReport) => [...report.problems, ...report.trails.flatMap((t) => t.problems)].map((p) => p.message);

/** Every record as a webhook line, then its head. */
const asWebhook = (trail: Trail, lines = trail.lines) => [...lines.map((l) => webhookRecord(trail.id, l)), webhookHead(trail.id, trail.heads[0]!.signed, trail.heads[0]!.pem)];

let trail: Trail;
const trailSigner = ephemeralHeadSigner();
beforeAll(async () => {
  trail = await trailOf(45, trailSigner);
});

describe('a complete stream passes', () => {
  it('in the three forms mixed, out of order across batches, with a skipped range and a redelivered batch', async () => {
    const { id, lines, heads } = trail;
    const r = lines.map(parsed);
    const stream = [
      otlpRequest(id, lines.slice(20, 30)), // a later batch stored first (concurrent requests)
      ...lines.slice(0, 10).map((l) => webhookRecord(id, l)),
      webhookSkipped(id, 11, 15, r[10]!.prev, r[14]!.hash), // filtered out, summarised
      ...lines.slice(15, 20).map((l) => syslogRecord(id, l)),
      otlpRequest(id, lines.slice(20, 30), { redelivery: true }), // sent again after a lost acknowledgement
      otlpRequest(id, lines.slice(30), { head: heads[0] }),
    ];
    const report = await verify(stream);
    expect(messages(report)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.trails).toHaveLength(1);
    expect(report.trails[0]).toMatchObject({ trailId: id, ok: true, first: 1, last: 45, records: 40, skipped: { ranges: 1, records: 5 }, duplicates: 10, source, head: { n: 45, hash: r[44]!.hash, fingerprint: fingerprint(heads[0]!.pem) }, keys: [fingerprint(heads[0]!.pem)] });
    const text = formatStreamReport(report);
    expect(text).toContain(`trail ${id} (host laptop-1, user ana, Airlock 0.19.0): continuous`);
    expect(text.at(-1)).toBe('ok: every trail is continuous');
  });

  it('an original a collector stored after its redelivery (concurrent requests) passes', async () => {
    const stream = [webhookRecord(trail.id, trail.lines[2]!, true), ...asWebhook(trail)];
    expect(await verify(stream)).toMatchObject({ ok: true, trails: [{ duplicates: 1 }] });
  });

  it('a stream that starts at record 40 passes, and says where it starts', async () => {
    // The head the forwarder found when it was added may name a record before its first.
    const early = trailSigner.sign({ ...trail.heads[0]!.signed.head, n: 30, hash: parsed(trail.lines[29]!).hash });
    const report = await verify([webhookHead(trail.id, early, trail.heads[0]!.pem), ...asWebhook(trail, trail.lines.slice(39))]);
    expect(report.ok).toBe(true);
    expect(report.trails[0]).toMatchObject({ first: 40, last: 45, records: 6 });
    expect(report.trails[0]!.notes).toEqual(expect.arrayContaining([expect.stringMatching(/starts at record 40/), expect.stringMatching(/head at 30 names a record before the stream starts/)]));
  });

  it('a pinned key (--public-key or --fingerprint) that signed the heads passes', async () => {
    const pem = trail.heads[0]!.pem;
    expect((await verify(asWebhook(trail), { publicKeys: [pem] })).ok).toBe(true);
    expect((await verify(asWebhook(trail), { fingerprints: [fingerprint(pem)] })).ok).toBe(true);
  });
});

describe('each break fails, naming the record', () => {
  const problemsOf = async (stream: string[], options = {}) => {
    const report = await verify(stream, options);
    expect(report.ok).toBe(false);
    expect(formatStreamReport(report).at(-1)).toMatch(/^FAILED/);
    return messages(report);
  };

  it('a gap', async () => {
    const lines = trail.lines.filter((_, i) => i !== 16 && i !== 17);
    expect(await problemsOf(asWebhook(trail, lines))).toEqual(['gap at 17: records 17–18 are missing']);
  });

  it('a broken link: another trail\'s record in place of one', async () => {
    const other = await trailOf(10);
    const lines = trail.lines.map((l, i) => (i === 6 ? other.lines[6]! : l));
    const problems = await problemsOf(asWebhook(trail, lines));
    expect(problems).toContainEqual(expect.stringMatching(/^broken link at 7:/));
    expect(problems).toContainEqual(expect.stringMatching(/^broken link at 8:/));
  });

  it('a changed byte of a line', async () => {
    const lines = trail.lines.map((l, i) => (i === 11 ? l.replace('a task ran', 'a task rAn') : l));
    expect(await problemsOf(asWebhook(trail, lines))).toEqual([expect.stringMatching(/^hash mismatch at 12:/)]);
  });

  it('a duplicate not marked as a redelivery', async () => {
    const stream = asWebhook(trail);
    stream.splice(20, 0, syslogRecord(trail.id, trail.lines[4]!));
    expect(await problemsOf(stream)).toEqual([expect.stringMatching(/^unmarked duplicate at 5:/)]);
  });

  it('a duplicate marked as a redelivery that is not the same record', async () => {
    const other = await trailOf(10);
    const stream = [...asWebhook(trail), webhookRecord(trail.id, other.lines[4]!, true)];
    expect(await problemsOf(stream)).toEqual([expect.stringMatching(/^duplicate at 5 differs:/)]);
  });

  it('a forged head: signed by another key over the real record', async () => {
    const forger = ephemeralHeadSigner();
    const forged = forger.sign({ ...trail.heads[0]!.signed.head, n: 44, hash: parsed(trail.lines[43]!).hash });
    const problems = await problemsOf([...asWebhook(trail), webhookHead(trail.id, forged, forger.publicKeyPem())]);
    // Two keys and no hand-over between them: the stream alone cannot say which is the trail's.
    expect(problems).toEqual([44, 45].map((n) => expect.stringMatching(new RegExp(`^bad head at ${n}: the stream's heads are signed by 2 keys .* give its key`))));
    // Given the trail's key, the forged head is the one named.
    expect(await problemsOf([...asWebhook(trail), webhookHead(trail.id, forged, forger.publicKeyPem())], { publicKeys: [trail.heads[0]!.pem] })).toEqual([`bad head at 44: signed by key ${fingerprint(forger.publicKeyPem())}, but the trail's key there is ${fingerprint(trail.heads[0]!.pem)}`]);
    // Alone it is self-consistent: only the key the person gives tells it apart.
    const alone = [...trail.lines.map((l) => webhookRecord(trail.id, l)), webhookHead(trail.id, forged, forger.publicKeyPem())];
    expect((await verify(alone)).ok).toBe(true);
    expect(await problemsOf(alone, { publicKeys: [trail.heads[0]!.pem] })).toContainEqual(expect.stringMatching(/^none of the trail's signing keys .* is a key you gave/));
  });

  it('a head whose signature does not verify (its n changed)', async () => {
    const signed = trail.heads[0]!.signed;
    const tampered = { ...signed, head: { ...signed.head, n: 44 } };
    expect(await problemsOf([...asWebhook(trail), webhookHead(trail.id, tampered, trail.heads[0]!.pem)])).toEqual([expect.stringMatching(/^bad head at 44: its signature does not verify/)]);
  });

  it('a head by the trail\'s key naming another record than the one held', async () => {
    const signer = ephemeralHeadSigner();
    const own = await trailOf(6, signer);
    const other = await trailOf(6);
    const signed = signer.sign({ ...own.heads[0]!.signed.head, n: 5, hash: parsed(other.lines[4]!).hash });
    expect(await problemsOf([...asWebhook(own), webhookHead(own.id, signed, signer.publicKeyPem())])).toEqual(["bad head at 5: the stream's record 5 is not the one the signed head names"]);
  });

  it('a head beyond the records held', async () => {
    expect(await problemsOf(asWebhook(trail, trail.lines.slice(0, 40)))).toEqual(['bad head at 45: it names record 45, but the stream holds records only up to 40']);
  });

  it('a skipped range with a wrong lastHash', async () => {
    const r = trail.lines.map(parsed);
    const stream = [...trail.lines.slice(0, 10).map((l) => webhookRecord(trail.id, l)), webhookSkipped(trail.id, 11, 20, r[10]!.prev, r[18]!.hash), ...asWebhook(trail, trail.lines.slice(20))];
    expect(await problemsOf(stream)).toEqual([expect.stringMatching(/^broken link at 21:/)]);
  });
});

describe('two machines in one file', () => {
  it('are verified separately: a break in one does not touch the other', async () => {
    const second = await trailOf(12);
    const broken = second.lines.filter((_, i) => i !== 3);
    const stream = [...asWebhook(trail)];
    broken.forEach((line, i) => stream.splice(i * 3, 0, otlpRequest(second.id, [line])));
    const report = await verify(stream);
    expect(report.ok).toBe(false);
    const byId = new Map(report.trails.map((t) => [t.trailId, t]));
    expect(byId.get(trail.id)).toMatchObject({ ok: true, first: 1, last: 45, problems: [] });
    expect(byId.get(second.id)).toMatchObject({ ok: false, problems: [expect.objectContaining({ n: 4, message: 'gap at 4: record 4 is missing' })] });
  });
});

describe('a hostile file', () => {
  it('garbage, a 20 MB line, deep nesting, lone surrogates, huge numbers, wrong types and broken syslog are problems, not crashes', async () => {
    const id = trail.id;
    const hostile = [
      'not json at all',
      `{"airlock":"record","trail":"${id}","record":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`,
      `{"airlock":"head","trail":"${id}","signed":${'{"head":'.repeat(100_000)}1${'}'.repeat(100_000)}}`,
      'x'.repeat(20 * 1024 * 1024),
      '[1,2,3]',
      JSON.stringify({ airlock: 'record', trail: 'not-a-trail', record: {} }),
      `{"airlock":"skipped","trail":"${id}","from":1e400,"to":"2","count":-1,"prev":"\\ud800","lastHash":null}`,
      `{"airlock":"record","trail":"${id}","redelivery":true,"record":{"n":99999999999999999999,"prev":"\\udfff","hash":"${'0'.repeat(64)}"}}`,
      JSON.stringify({ syslog: `<110>1 2026-01-01T00:00:00Z h airlock - proc.stdout [airlock@32473 trail="${id}" n="1 \uFEFFx` }),
      JSON.stringify({ syslog: 42 }),
      JSON.stringify({ resourceLogs: [{ resource: { attributes: [attr('airlock.trail.id', str(id))] }, scopeLogs: [{ logRecords: [{ eventName: 'airlock.proc.stdout', attributes: 'nope' }, null] }] }] }),
      JSON.stringify({ resourceLogs: 'nope' }),
      otlpRequest(id, [trail.lines[0]!.replace('a task ran', '\ud800 task ran')]),
    ];
    const report = await verify([...asWebhook(trail).slice(0, 10), ...hostile, ...asWebhook(trail).slice(10)]);
    expect(report.ok).toBe(false);
    expect(report.trails).toHaveLength(1);
    // The real trail in the same file is still checked, whole.
    expect(report.trails[0]).toMatchObject({ first: 1, last: 45, records: 45, head: { n: 45 } });
    const problems = messages(report);
    expect(problems).toEqual(expect.arrayContaining([
      'line 11: not JSON',
      expect.stringMatching(/^line 14 is longer than 16777216 bytes/),
      'line 15: not a JSON object',
      'line 16: an item without a valid trail id (32 hex characters)',
      'a skipped range whose from, to, count, prev or lastHash is not valid',
      'a record whose n or prev is not valid',
      'a record item whose "record" is not the record\'s line (a JSON object)',
      expect.stringMatching(/^line 19: a syslog message that is not RFC 5424: an SD-PARAM value .* never closed/),
      'line 20: a syslog item that is not a string',
      'an OTLP log record of an Airlock resource with an unknown eventName',
      "an OTLP log record without the record's line (airlock.record)",
      'line 22: an OTLP request whose resourceLogs is not a list',
      expect.stringMatching(/^hash mismatch at 1:/),
    ]));
  });

  it('a sealed hand-over record nested deep enough to overflow a recursive check is a problem', async () => {
    const pem = JSON.stringify(trail.heads[0]!.pem);
    const deep = `${'['.repeat(300_000)}${']'.repeat(300_000)}`;
    const body = `{"data":{"previous":{"head":${deep},"publicKey":${pem}},"publicKey":${pem},"reason":"r","signature":"c2ln"},"kind":"audit.handover","n":1,"prev":"${'0'.repeat(64)}","time":"2026-01-01T00:00:00.000Z"}`;
    const line = `${body.slice(0, -1)},"hash":"${createHash('sha256').update(body).digest('hex')}"}`;
    const report = await verify([webhookRecord(trail.id, line)]);
    expect(messages(report)).toEqual([expect.stringMatching(/^record 1 is a hand-over to a new signing key that does not hold/)]);
  });

  it('an OTLP or syslog item whose stated n, prev or hash is not its record\'s', async () => {
    const lying = otlpRequest(trail.id, [trail.lines[5]!]).replace(`{"intValue":"6"}`, `{"intValue":"7"}`);
    const liar = syslogRecord(trail.id, trail.lines[6]!).replace(`prev=\\"${parsed(trail.lines[6]!).prev}`, `prev=\\"${'1'.repeat(64)}`);
    const lines = asWebhook(trail).filter((_, i) => i !== 5 && i !== 6);
    const problems = messages(await verify([...lines, lying, liar]));
    expect(problems).toEqual([expect.stringMatching(/^record 6: the n, prev or hash its carrier states/), expect.stringMatching(/^record 7: the n, prev or hash its carrier states/)]);
  });

  it('a record item that is not a record', async () => {
    const problems = messages(await verify([`{"airlock":"record","trail":"${trail.id}","record":{"n":1,"prev":"${'0'.repeat(64)}","hash":"x"}}`]));
    expect(problems).toEqual(['a record item whose line is not a sealed audit record', 'no records in the stream for this trail']);
  });

  it('what the items say about their machine is shown inert', async () => {
    const evilSource = { host: 'evil\u202Efdp.exe\u001b[2J', user: 'ana', version: '\ud800' };
    const stream = trail.lines.map((line) => `{"airlock":"record","trail":"${trail.id}","host":${JSON.stringify(evilSource.host)},"user":"ana","version":"\\ud800","redelivery":false,"record":${line}}`);
    const text = formatStreamReport(await verify(stream)).join('\n');
    expect(text).toContain('host evil\\u202efdp.exe\\u001b[2J, user ana, Airlock \uFFFD');
    expect(text.includes('\u202E') || text.includes('\u001B')).toBe(false);
  });

  it('an empty file, or one without Airlock\'s items, is not a verified stream', async () => {
    expect(messages(await verify([]))).toEqual(['no forwarded Airlock items in the file']);
    const foreign = await verify([JSON.stringify({ resourceLogs: [{ resource: { attributes: [attr('service.name', str('web'))] }, scopeLogs: [{ logRecords: [{}, {}] }] }] })]);
    expect(foreign).toMatchObject({ ok: false, foreign: 2 });
  });

  it('a missing file or a bad key is one error with the fix', async () => {
    await expect(verifyForwardedStream('/nonexistent/stream.jsonl')).rejects.toMatchObject({ code: 'not_found', hint: expect.any(String) });
    const file = path.join(tempDir('airlock-stream-'), 'x.jsonl');
    fs.writeFileSync(file, '');
    await expect(verifyForwardedStream(file, { fingerprints: ['SHA256:nope'] })).rejects.toMatchObject({ code: 'bad_argument' });
    await expect(verifyForwardedStream(file, { publicKeys: ['not a pem'] })).rejects.toMatchObject({ code: 'bad_argument' });
  });
});

describe('a key change', () => {
  it('a trail handed over to a new signing key verifies across it; heads of the old key before it and of the new key after', async () => {
    const dir = path.join(tempDir('airlock-audit-'), 'audit');
    const before = freshKeychainSigner();
    await writeEvents(dir, before, 8);
    const oldHead = (await readHead(dir))!;
    const after = freshKeychainSigner(); // the keychain lost the key: the next writer hands over
    await writeEvents(dir, after, 4);
    const lines = segmentFiles(dir).flatMap(readLinesOf);
    expect(parsed(lines[8]!).kind).toBe('audit.handover');
    const id = trailId();
    const stream = [
      ...lines.slice(0, 8).map((l) => webhookRecord(id, l)), webhookHead(id, oldHead, before.publicKeyPem()),
      otlpRequest(id, lines.slice(8), { head: { signed: (await readHead(dir))!, pem: after.publicKeyPem() } }),
    ];
    const report = await verify(stream);
    expect(messages(report)).toEqual([]);
    const [from, to] = [fingerprint(before.publicKeyPem()), fingerprint(after.publicKeyPem())];
    expect(report.trails[0]).toMatchObject({ ok: true, last: 13, keys: [from, to], keyChanges: [{ record: 9, from, to }], head: { n: 13, fingerprint: to } });
    expect(formatStreamReport(report)).toContain(`  key handed over at record 9: ${from} → ${to}`);
    // The new key vouches for the old one's head (the hand-over names it); the old key alone does not vouch for the new.
    expect((await verify(stream, { fingerprints: [to] })).ok).toBe(true);
    expect(messages(await verify(stream, { fingerprints: [from] }))).toEqual([expect.stringMatching(/^bad head at 13: signed by key .* which is not a key you gave nor handed over to one/)]);
    // After the hand-over, a head of the old key is not the trail's.
    const stale = before.sign({ ...oldHead.head, n: 12, hash: parsed(lines[11]!).hash });
    expect(messages(await verify([...stream, webhookHead(id, stale, before.publicKeyPem())]))).toEqual([`bad head at 12: signed by key ${from}, but the trail's key there is ${to}`]);
  });
});
