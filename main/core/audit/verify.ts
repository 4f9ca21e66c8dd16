import path from 'node:path';
import { checkHandOver, dueHandOver, fingerprint, type KeyChange } from './handover.js';
import { readSignedHead, type HeadSigner } from './head.js';
import { intentExplains, readIntent } from './intent.js';
import { GENESIS, hashBody, openLine } from './record.js';
import { listSegments, readLines } from './segments.js';
import { SEGMENTS_DIR } from './store.js';
import type { TrailEnd } from './trail-end.js';

export interface VerifyProblem {
  /** The record where the chain first goes wrong (its expected number). */
  record: number;
  segment?: string;
  line?: number;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  records: number;
  headSigned: boolean;
  /** The last record this machine's keychain says was signed (absent before any head was). */
  keychain?: TrailEnd;
  /** The first problem that breaks the trail; verification stops there. */
  problem?: VerifyProblem;
  /** Things that are not tampering but worth knowing: a torn last write, a group a crash left unsigned. */
  notes: string[];
  /** The fingerprint of this machine's head-signing key (`SHA256:…`): note it elsewhere to check a later hand-over. */
  key: string;
  /** Each hand-over to a new signing key, oldest first (handover.ts). */
  keyChanges: KeyChange[];
}

interface Where {
  segment: string;
  line: number;
}

/**
 * Re-hashes every record and checks the chain from the first record to the signed head, and the
 * head against the keychain's record of the last head this machine signed: a changed byte, a
 * removed, reordered or inserted record, a removed segment, history removed without a signed
 * retention record, a cut tail, records nobody signed after the head, a replaced, rolled-back or
 * missing head, a wiped trail, and Airlock's own `audit.tamper` reports are each reported at the
 * first record where they show. Streams: memory does not grow with the log.
 */
export async function verifyAuditTrail(dir: string, signer: HeadSigner): Promise<VerifyResult> {
  const notes: string[] = [];
  const head = await readSignedHead(dir, signer);
  const headSigned = head.state === 'valid';
  const signedN = head.state === 'valid' ? head.head.n : 0;
  const keychain = signer.lastSigned(dir);
  const key = fingerprint(signer.publicKeyPem());
  const keyChanges: KeyChange[] = [];
  const result = (problem?: VerifyProblem): VerifyResult => ({ ok: !problem, records: count, headSigned, ...(keychain ? { keychain } : {}), ...(problem ? { problem } : {}), notes, key, keyChanges });
  const segments = await listSegments(path.join(dir, SEGMENTS_DIR));

  let expected = 1;
  let prev = GENESIS;
  let count = 0;
  let hashAtHead: string | undefined;
  let hashAtKeychain: string | undefined;
  let firstAfterHead: Where | undefined;
  let firstTamper: (Where & { n: number; findings: string }) | undefined;
  // After retention removed old segments, the first kept record chains to a removed one; a signed
  // `audit.retention` record later in the trail must vouch for exactly that link.
  let unexplainedStart: { n: number; prev: string } | undefined;

  for (const [index, segment] of segments.entries()) {
    let firstInSegment = true;
    for await (const line of readLines(segment.path)) {
      const where = { segment: segment.name, line: line.lineNo };
      if (line.torn) {
        if (index === segments.length - 1) {
          notes.push(`a write cut short by a crash at the end of ${segment.name} (line ${line.lineNo}); the next write sets it aside`);
          break;
        }
        return result({ record: expected, ...where, message: `record ${expected} is cut off in the middle of ${segment.name}` });
      }
      const opened = openLine(line.text);
      if (!opened) return result({ record: expected, ...where, message: `record ${expected} was altered: the line is not a sealed record` });
      if (hashBody(opened.body) !== opened.claimed) return result({ record: expected, ...where, message: `record ${expected} was altered: its content does not match its hash` });
      let n: number;
      let recordPrev: string;
      let kind: string;
      let time: unknown;
      let data: { firstKept?: { n: number; prev: string }; findings?: unknown } | undefined;
      try {
        ({ n, prev: recordPrev, kind, time, data } = JSON.parse(opened.body) as { n: number; prev: string; kind: string; time: unknown; data?: { firstKept?: { n: number; prev: string } } });
      } catch {
        return result({ record: expected, ...where, message: `record ${expected} was altered: not valid JSON` });
      }
      if (count === 0 && n !== 1) {
        unexplainedStart = { n, prev: recordPrev };
        expected = n;
        prev = recordPrev;
      }
      if (firstInSegment && n !== segment.firstN && n === expected) {
        return result({ record: expected, ...where, message: `segment ${segment.name} should start with record ${segment.firstN} but starts with record ${n}` });
      }
      firstInSegment = false;
      if (n > expected) {
        const which = n - 1 > expected ? `records ${expected}–${n - 1} are` : `record ${expected} is`;
        return result({ record: expected, ...where, message: `${which} missing here (removed or moved${segment.firstN === n ? ', or a whole segment was deleted' : ''})` });
      }
      if (n < expected) return result({ record: expected, ...where, message: `record ${n} appears again or out of order where record ${expected} should be` });
      if (recordPrev !== prev) return result({ record: n, ...where, message: `record ${n} does not follow record ${n - 1}: the chain is broken (reordered or replaced)` });
      // Only a retention record the signed head covers explains removed history: anyone can append one.
      if (kind === 'audit.retention' && n <= signedN && unexplainedStart && data?.firstKept?.n === unexplainedStart.n && data.firstKept.prev === unexplainedStart.prev) unexplainedStart = undefined;
      if (kind === 'audit.handover') {
        const checked = checkHandOver({ n, prev: recordPrev, time, data }, keyChanges.at(-1)?.to);
        if ('problem' in checked) return result({ record: n, ...where, message: `record ${n} is a hand-over to a new signing key that does not hold: ${checked.problem}` });
        keyChanges.push(checked.change);
      }
      if (kind === 'audit.tamper' && !firstTamper) firstTamper = { n, ...where, findings: Array.isArray(data?.findings) ? data.findings.map(String).join('; ') : 'tampering' };
      if (n > signedN && !firstAfterHead) firstAfterHead = where;
      prev = opened.claimed;
      if (n === signedN) hashAtHead = opened.claimed;
      if (n === keychain?.n) hashAtKeychain = opened.claimed;
      expected = n + 1;
      count += 1;
    }
  }

  const last = expected - 1;
  if (unexplainedStart) return result({ record: 1, message: `records 1–${unexplainedStart.n - 1} are missing and no signed retention record explains it` });
  if (head.state === 'invalid') {
    const previous = await dueHandOver(dir, signer, keychain).catch(() => undefined);
    if (previous) return result({ record: last, message: `the head is signed by the key kept beside the trail (${fingerprint(previous.publicKey)}), not by this machine's key (${key}), and this machine's keychain never signed this trail: its key was lost (a reboot with the kernel keyring, a new machine) or the head was replaced; the next write hands the trail over to this machine's key, and verify then names both keys` });
    return result({ record: last, message: 'the head\'s signature is not valid: the head was replaced or the trail rewritten' });
  }
  if (count === 0 && head.state === 'absent') {
    // A key that signed a head, without a trail: wiped, not new.
    if (keychain && keychain.n > 0) return result({ record: 1, message: `the trail is gone: this machine's keychain says ${keychain.n} records were signed, none are here` });
    return result();
  }

  const problems: VerifyProblem[] = [];
  // A hand-over the head covers, to another key than the one that signed the head: only the head's key could have written it.
  const handedTo = keyChanges.at(-1);
  if (handedTo && handedTo.to !== key) problems.push({ record: handedTo.record, message: `record ${handedTo.record} hands the trail over to key ${handedTo.to}, but the head is signed by this machine's key ${key}` });
  if (keychain && keychain.n > signedN) {
    problems.push({ record: signedN + 1, message: head.state === 'absent'
      ? `the signed head is missing, and this machine's keychain says ${keychain.n} records were signed`
      : `the head was rolled back: it names record ${signedN}, but this machine's keychain says ${keychain.n} records were signed` });
  }
  if (keychain && hashAtKeychain !== undefined && hashAtKeychain !== keychain.hash) problems.push({ record: keychain.n, message: `record ${keychain.n} is not the one this machine's keychain says was signed` });
  if (signedN > last) problems.push({ record: last + 1, message: `the trail is cut off: the signed head says ${signedN} records, found ${last}` });
  else if (head.state === 'valid' && hashAtHead !== head.head.hash) problems.push({ record: signedN, message: `record ${signedN} is not the one the signed head names` });
  if (last > signedN) {
    const explained = intentExplains(await readIntent(dir, signer), { n: signedN, hash: head.state === 'valid' ? head.head.hash : GENESIS }, { n: last, hash: prev });
    const range = last > signedN + 1 ? `records ${signedN + 1}–${last} are` : `record ${last} is`;
    if (explained) notes.push(`${range} after the signed head: written just before a crash, before the head was signed (the writer's signed intent covers them; the next write ${explained === 'whole' ? 'adopts' : 'sets aside'} them)`);
    else if (head.state === 'absent') problems.push({ record: 1, ...firstAfterHead, message: 'the signed head is missing: the end of the trail cannot be checked' });
    else problems.push({ record: signedN + 1, ...firstAfterHead, message: `${range} after the signed head, and no signed intent of Airlock's explains ${last > signedN + 1 ? 'them' : 'it'}: written by someone without the signing key` });
  }
  if (firstTamper) problems.push({ record: firstTamper.n, segment: firstTamper.segment, line: firstTamper.line, message: `Airlock found the trail tampered with and recorded it here: ${firstTamper.findings}` });
  const first = problems.reduce<VerifyProblem | undefined>((a, b) => (a && a.record <= b.record ? a : b), undefined);
  return result(first);
}
