/**
 * The collector's side of forwarding (`airlock audit verify --from-export FILE`): reads what a
 * collector stored — webhook lines, OTLP/JSON requests, `{"syslog":…}` messages, in any mix and
 * order — and checks each trail's continuity from `n`/`prev`/`hash` alone, and its signed heads.
 * Streams the file with a bounded line length; keeps per item only its numbers and hashes.
 */
import { createPublicKey } from 'node:crypto';
import fs from 'node:fs';
import { fingerprint } from '../audit/handover.js';
import { readLines } from '../audit/segments.js';
import { toWellFormed } from '../audit/well-formed.js';
import { AirlockError } from '../errors.js';
import { visibleText } from '../text/visible.js';
import { parseStreamLine } from './stream-parse.js';
import { MAX_PROBLEMS, TrailCheck, type StreamProblem, type TrailReport } from './stream-trail.js';

export type { StreamProblem, TrailReport } from './stream-trail.js';

export interface StreamReport {
  /** Every trail continuous with good hashes and heads, and every line of the file an item. */
  ok: boolean;
  file: string;
  lines: number;
  items: number;
  /** OTLP log records of other services in the same file (a shared collector's): ignored. */
  foreign: number;
  trails: TrailReport[];
  /** Lines that are not items (not JSON, too long, malformed), each named by its line. */
  problems: StreamProblem[];
  moreProblems: number;
}

export interface StreamVerifyOptions {
  /** Public keys (PEM text) the heads must be signed by (or handed over from, by a hand-over the key signed). */
  publicKeys?: string[];
  /** The same, as `SHA256:…` fingerprints. */
  fingerprints?: string[];
  /** Longest line read (default 16 MiB); a longer one is a problem, never held in memory. */
  maxLineBytes?: number;
}

const MAX_LINE_BYTES = 16 * 1024 * 1024;
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

function pinsFrom(options: StreamVerifyOptions): Set<string> {
  const pins = new Set<string>();
  for (const pem of options.publicKeys ?? []) {
    let key;
    try {
      key = createPublicKey(pem);
    } catch {
      throw new AirlockError('bad_argument', 'the public key given is not a PEM public key', 'give the head-signing key file (head-signing-key.pub.pem beside the trail)');
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new AirlockError('bad_argument', 'the public key given is not an Ed25519 key', 'give the head-signing key file (head-signing-key.pub.pem beside the trail)');
    pins.add(fingerprint(key));
  }
  for (const given of options.fingerprints ?? []) {
    if (!FINGERPRINT.test(given)) throw new AirlockError('bad_argument', `'${visibleText(toWellFormed(given.slice(0, 80)))}' is not a key fingerprint`, 'give it as `airlock audit verify` prints it: SHA256: and 43 base64 characters');
    pins.add(given);
  }
  return pins;
}

/** Each line with whether it was longer than the limit (readLines gives such a line as empty text). */
async function* fileLines(file: string, maxLineBytes: number): AsyncGenerator<{ text: string; lineNo: number; overlong: boolean }> {
  let blank: { lineNo: number; offset: number } | undefined;
  for await (const line of readLines(file, 0, 1, maxLineBytes)) {
    if (blank) yield { text: '', lineNo: blank.lineNo, overlong: line.offset - blank.offset > 1 };
    blank = undefined;
    if (line.text === '' && !line.torn) blank = line;
    else yield { text: line.text, lineNo: line.lineNo, overlong: line.torn && line.text === '' };
  }
  if (blank) yield { text: '', lineNo: blank.lineNo, overlong: (await fs.promises.stat(file)).size - blank.offset > 1 };
}

export async function verifyForwardedStream(file: string, options: StreamVerifyOptions = {}): Promise<StreamReport> {
  const pins = pinsFrom(options);
  try {
    if (!(await fs.promises.stat(file)).isFile()) throw new AirlockError('bad_argument', `${file} is not a file`, 'give the file a collector wrote the forwarded stream to');
  } catch (error) {
    if (error instanceof AirlockError) throw error;
    throw new AirlockError('not_found', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`, 'give the file a collector wrote the forwarded stream to');
  }
  const maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
  const report: StreamReport = { ok: false, file, lines: 0, items: 0, foreign: 0, trails: [], problems: [], moreProblems: 0 };
  const fileProblem = (problem: StreamProblem) => {
    if (report.problems.length < MAX_PROBLEMS) report.problems.push(problem);
    else report.moreProblems += 1;
  };
  const trails = new Map<string, TrailCheck>();
  const trail = (id: string) => trails.get(id) ?? trails.set(id, new TrailCheck(id)).get(id)!;

  for await (const { text, lineNo, overlong } of fileLines(file, maxLineBytes)) {
    report.lines = lineNo;
    if (overlong) {
      fileProblem({ line: lineNo, message: `line ${lineNo} is longer than ${maxLineBytes} bytes: not read` });
      continue;
    }
    if (text.trim() === '') continue;
    const content = parseStreamLine(text);
    report.foreign += content.foreign;
    for (const problem of content.problems) {
      if (problem.trail) trail(problem.trail).problem({ line: lineNo, message: problem.message });
      else fileProblem({ line: lineNo, message: `line ${lineNo}: ${problem.message}` });
    }
    for (const item of content.items) {
      report.items += 1;
      trail(item.trail).add(item, lineNo);
    }
  }
  report.trails = [...trails.values()].map((check) => check.finish(pins)).sort((a, b) => a.trailId.localeCompare(b.trailId));
  if (report.trails.length === 0) fileProblem({ message: 'no forwarded Airlock items in the file' });
  report.ok = report.problems.length === 0 && report.moreProblems === 0 && report.trails.every((t) => t.ok);
  return report;
}

/** Someone else's text as a person should see it: bounded, well-formed, hidden characters shown. */
function inert(value: string | undefined, max = 120): string {
  if (value === undefined) return '?';
  return visibleText(toWellFormed(value.length > max ? `${value.slice(0, max)}…` : value));
}

function range(from: number | undefined, to: number | undefined): string {
  if (from === undefined || to === undefined) return 'none';
  return from === to ? `record ${from}` : `records ${from}–${to}`;
}

/** The report as lines a person reads (the CLI prints them; `--json` prints the report itself). */
export function formatStreamReport(report: StreamReport): string[] {
  const out: string[] = [];
  const trailWord = report.trails.length === 1 ? 'trail' : 'trails';
  out.push(`${inert(report.file, 400)}: ${report.lines} lines, ${report.items} items, ${report.trails.length} ${trailWord}${report.foreign > 0 ? ` (${report.foreign} log records of other services ignored)` : ''}`);
  for (const problem of report.problems) out.push(`  problem: ${inert(problem.message, 400)}`);
  if (report.moreProblems > 0) out.push(`  … and ${report.moreProblems} more problems`);
  for (const trail of report.trails) {
    const who = [trail.source.host !== undefined ? `host ${inert(trail.source.host)}` : '', trail.source.user !== undefined ? `user ${inert(trail.source.user)}` : '', trail.source.version !== undefined ? `Airlock ${inert(trail.source.version, 40)}` : ''].filter(Boolean).join(', ');
    out.push(`trail ${trail.trailId}${who ? ` (${who})` : ''}: ${trail.ok ? 'continuous' : 'NOT continuous'}`);
    const skipped = trail.skipped.ranges > 0 ? `, ${trail.skipped.records} left out by the filter in ${trail.skipped.ranges} skipped range${trail.skipped.ranges === 1 ? '' : 's'}` : '';
    const duplicates = trail.duplicates > 0 ? `, ${trail.duplicates} redelivered duplicate${trail.duplicates === 1 ? '' : 's'}` : '';
    out.push(`  ${range(trail.first, trail.last)}: ${trail.records} held${skipped}${duplicates}`);
    out.push(trail.head ? `  signed head: record ${trail.head.n} (${inert(trail.head.time, 40)}), key ${trail.head.fingerprint}` : '  signed head: none covered');
    for (const change of trail.keyChanges) out.push(`  key handed over at record ${change.record}: ${change.from} → ${change.to}`);
    for (const note of trail.notes) out.push(`  note: ${inert(note, 400)}`);
    for (const problem of trail.problems) out.push(`  problem${problem.line !== undefined ? ` (line ${problem.line})` : ''}: ${inert(problem.message, 400)}`);
    if (trail.moreProblems > 0) out.push(`  … and ${trail.moreProblems} more problems`);
  }
  out.push(report.ok ? 'ok: every trail is continuous' : 'FAILED: the stream is not complete and intact');
  return out;
}
