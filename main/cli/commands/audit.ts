import path from 'node:path';
import type { Command } from 'commander';
import type { AuditRecord } from '../../core/audit/record.js';
import { AirlockError } from '../../core/errors.js';
import type { EngineClient } from '../../core/server/client.js';
import type { AuditQueryRequest, AuditVerifyResult } from '../../core/service/types.js';
import type { WireRecord } from '../../../preload/contract.js';
import { engine } from '../context.js';
import { err, out, outExact, outJson, stdoutClosed, whenDrained } from '../stdout.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { EventRenderer, fromWire } from '../render.js';
import { logTree } from './log-tree.js';
import { inert } from '../terminal-text.js';
import { registerForwardCommands, verifyExport } from './audit-forward.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];
const ENDS_A_TASK = new Set(['task.destroyed', 'task.aborted']);
/** Records per audit.query page (the engine answers at most 5,000). */
const PAGE = 1000;
/** How often `log --follow` asks for what is new. */
const FOLLOW_EVERY_MS = 250;

type Query = Omit<AuditQueryRequest, 'limit' | 'cursor'>;

/**
 * Every matching record after `after`, oldest first, a page at a time; stops early when `take`
 * returns false. Says where it got to (the last record's number) and whether it was stopped.
 */
async function eachRecord(client: EngineClient, query: Query, take: (record: AuditRecord) => boolean | Promise<boolean>, after?: string): Promise<{ cursor: string | undefined; stopped: boolean }> {
  let cursor = after;
  for (;;) {
    const page = await client.call('audit.query', { ...query, order: 'asc', limit: PAGE, ...(cursor !== undefined ? { cursor } : {}) });
    for (const record of page.records.map(fromWire)) {
      cursor = String(record.n);
      if (!(await take(record))) return { cursor, stopped: true };
    }
    if (!page.next) return { cursor, stopped: false };
  }
}

/** Each hand-over (which record, when, the old and new keys' fingerprints), then the key that signs now. */
function printKeys(result: AuditVerifyResult): void {
  for (const change of result.keyChanges ?? []) out(`key changed at record ${change.record} (${inert(change.time)}): ${inert(change.from)} → ${inert(change.to)}: ${inert(change.reason)}\n`);
  if (result.key) out(`head signing key: ${result.key}\n`);
}

export function registerAuditCommands(program: Command, setExit: (code: ExitCode) => void): void {
  program
    .command('log')
    .description('replay what a task did, or with --follow watch every task live')
    .argument('[task]', 'a task id (see airlock ps); without it, every task')
    .option('--follow', 'keep printing new events as they happen (until the task ends, when one is named)')
    .option('--limit <n>', 'without a task: how many of the newest events to show first', '200')
    .option('--json', 'one JSON record per line, as stored (with --tree: one JSON tree per line)')
    .option('--tree', "the task's delegation chain as a tree (without a task: the newest chains)")
    .action(async (task: string | undefined, opts: { follow?: boolean; limit: string; json?: boolean; tree?: boolean }) => {
      const client = await engine();
      if (opts.tree) {
        if (opts.follow) throw new AirlockError('bad_argument', '--tree prints the chain as it is now; it does not follow', 'leave out --follow, or watch the chain live in the app');
        await logTree(client, task, { json: opts.json === true, limit: Number(opts.limit) || 200 });
        return;
      }
      const renderer = new EventRenderer({ color: !opts.json && process.stdout.isTTY === true && !process.env.NO_COLOR, showTask: task === undefined });
      let ended = false;
      let shown = 0;
      const print = (record: AuditRecord) => {
        if (opts.json) outJson(record);
        else {
          const text = renderer.render(record);
          if (text !== undefined) out(`${text}\n`);
        }
        shown += 1;
        if (task && ENDS_A_TASK.has(record.kind)) ended = true;
        return !stdoutClosed() && !(opts.follow && ended);
      };
      const query: Query = task ? { task } : {};
      let cursor: string | undefined;
      if (task) {
        const replayed = await eachRecord(client, query, print);
        if (replayed.stopped) return;
        cursor = replayed.cursor ?? await lastRecordNumber(client);
      } else {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 0) throw new AirlockError('bad_argument', `--limit: '${opts.limit}' is not a whole number`, 'write e.g. --limit 50');
        const newest = await newestRecords(client, limit);
        for (const record of newest) if (!print(record)) return;
        cursor = newest.length > 0 ? String(newest.at(-1)!.n) : await lastRecordNumber(client);
      }
      if (!opts.follow) {
        if (task && shown === 0) throw new AirlockError('not_found', `no events for task ${task}`, 'see `airlock log` for recent tasks');
        return;
      }
      if (task && ended) return;
      // Follows the trail itself (not only this engine's events): a task another Airlock process runs shows too.
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      while (!controller.signal.aborted) {
        const next = await eachRecord(client, query, print, cursor);
        if (next.stopped) return;
        cursor = next.cursor;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, FOLLOW_EVERY_MS);
          controller.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          }, { once: true });
        });
      }
    });

  const audit = program.command('audit').description('verify, export, prune and forward the tamper-evident audit trail');
  audit
    .command('verify')
    .description('check every record, the chain and the signed head; with --from-export, a stream a collector received')
    .option('--json', 'print the result as JSON')
    .option('--from-export <file>', 'check a forwarded stream a collector wrote (one JSON object per line) for gaps and breaks, here, without the engine')
    .option('--public-key <file>', 'with --from-export: a PEM public key the signed heads must verify with (repeatable)', collect)
    .option('--fingerprint <SHA256:…>', "with --from-export: the signing key's fingerprint the heads must match (repeatable)", collect)
    .action(async (opts: { json?: boolean; fromExport?: string; publicKey?: string[]; fingerprint?: string[] }) => {
      if (opts.fromExport !== undefined) {
        await verifyExport({ ...opts, fromExport: opts.fromExport }, setExit);
        return;
      }
      if (opts.publicKey || opts.fingerprint) throw new AirlockError('bad_argument', '--public-key and --fingerprint check a collected stream', 'add --from-export FILE');
      const result = await (await engine()).call('audit.verify');
      if (opts.json) {
        outJson(result);
      } else if (result.ok) {
        out(`intact, ${result.records} records, ${result.headSigned ? 'head signed' : 'no head yet'}\n`);
        for (const note of result.notes) out(`note: ${note}\n`);
        printKeys(result);
      } else {
        const p = result.problem!;
        out(`NOT INTACT at record ${p.record}${p.segment ? ` (${p.segment}${p.line ? `, line ${p.line}` : ''})` : ''}: ${p.message}\n`);
        out(`${result.records} records verified before it\n`);
        printKeys(result);
      }
      setExit(result.ok ? EXIT.ok : 1);
    });

  audit
    .command('export')
    .description('write the audit trail (oldest first) for a security team')
    .option('--format <format>', 'jsonl | csv', 'jsonl')
    .option('--task <id>', 'only this task')
    .option('--output <file>', 'write to a file instead of standard output')
    .action(async (opts: { format: string; task?: string; output?: string }) => {
      const format = opts.format;
      if (format !== 'jsonl' && format !== 'csv') throw new AirlockError('bad_argument', `--format: '${opts.format}' is not jsonl or csv`, 'write --format jsonl or --format csv');
      const client = await engine();
      if (opts.output) {
        const result = await client.call('audit.exportTo', { file: path.resolve(opts.output), format, ...(opts.task ? { task: opts.task } : {}) });
        err(`exported ${result.records} records to ${opts.output}\n`);
        return;
      }
      const write = async (chunk: string) => {
        if (!outExact(chunk)) return false;
        await whenDrained();
        return true;
      };
      const { exportHeader, exportLine } = await import('../../core/audit/export.js'); // loaded when used
      if (!(await write(exportHeader(format)))) return;
      await eachRecord(client, opts.task ? { task: opts.task } : {}, (record) => write(exportLine(record, format)));
    });

  audit
    .command('prune')
    .description('remove whole segments older than N days; the trail records it and still verifies')
    .requiredOption('--keep-days <n>', 'keep this many days of records')
    .action(async (opts: { keepDays: string }) => {
      const days = Number(opts.keepDays);
      if (!Number.isFinite(days) || days < 0) throw new AirlockError('bad_argument', `--keep-days: '${opts.keepDays}' is not a number of days`, 'write e.g. --keep-days 90');
      const result = await (await engine()).call('audit.prune', { keepDays: days });
      out(result.removedSegments === 0
        ? `nothing older than ${days} days\n`
        : `removed ${result.removedSegments} segment(s), ${result.removedRecords} records older than ${days} days\n`);
    });

  registerForwardCommands(audit, setExit);
}

/** The newest `limit` records, oldest first. */
async function newestRecords(client: EngineClient, limit: number): Promise<AuditRecord[]> {
  const records: WireRecord[] = [];
  let cursor: string | undefined;
  while (records.length < limit) {
    const page = await client.call('audit.query', { order: 'desc', limit: Math.min(5000, limit - records.length), ...(cursor !== undefined ? { cursor } : {}) });
    records.push(...page.records);
    if (!page.next) break;
    cursor = page.next;
  }
  return records.reverse().map(fromWire);
}

/** The number of the trail's newest record (where a follow starts when nothing was shown), or none. */
async function lastRecordNumber(client: EngineClient): Promise<string | undefined> {
  const page = await client.call('audit.query', { order: 'desc', limit: 1 });
  return page.records[0] ? String(page.records[0].n) : undefined;
}
