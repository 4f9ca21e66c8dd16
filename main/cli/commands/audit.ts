import fs from 'node:fs';
import type { Command } from 'commander';
import type { AirlockEvent } from '../../core/audit/events.js';
import { exportAuditTrail, type ExportFormat } from '../../core/audit/export.js';
import { followAuditTrail } from '../../core/audit/follow.js';
import { queryAuditPage, queryAuditTrail, type AuditQuery } from '../../core/audit/query.js';
import { pruneAuditTrail } from '../../core/audit/retention.js';
import { openHeadSigner } from '../../core/audit/trail.js';
import { verifyAuditTrail } from '../../core/audit/verify.js';
import { AirlockError } from '../../core/errors.js';
import { createContext } from '../context.js';
import { err, out, outExact, outJson, stdoutClosed, whenDrained } from '../stdout.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { EventRenderer } from '../render.js';

const ENDS_A_TASK = new Set(['task.destroyed', 'task.aborted']);

export function registerAuditCommands(program: Command, setExit: (code: ExitCode) => void): void {
  program
    .command('log')
    .description('replay what a task did, or with --follow watch every task live')
    .argument('[task]', 'a task id (see airlock ps); without it, every task')
    .option('--follow', 'keep printing new events as they happen (until the task ends, when one is named)')
    .option('--limit <n>', 'without a task: how many of the newest events to show first', '200')
    .option('--json', 'one JSON record per line, as stored')
    .action(async (task: string | undefined, opts: { follow?: boolean; limit: string; json?: boolean }) => {
      const ctx = createContext();
      const renderer = new EventRenderer({ color: !opts.json && process.stdout.isTTY === true && !process.env.NO_COLOR, showTask: task === undefined });
      const print = (event: AirlockEvent) => {
        if (opts.json) outJson(event);
        else {
          const text = renderer.render(event);
          if (text !== undefined) out(`${text}\n`);
        }
        return !stdoutClosed();
      };
      let ended = false;
      if (task) {
        for await (const record of queryAuditTrail(ctx.home.audit, { task })) {
          if (!print(record)) return;
          ended ||= ENDS_A_TASK.has(record.kind);
        }
      } else {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 0) throw new AirlockError('bad_argument', `--limit: '${opts.limit}' is not a whole number`, 'write e.g. --limit 50');
        const page = await queryAuditPage(ctx.home.audit, { order: 'desc' }, limit);
        for (const record of page.records.reverse()) if (!print(record)) return;
      }
      if (!opts.follow) {
        if (task && !ended && (await isEmpty(ctx.home.audit, task))) throw new AirlockError('not_found', `no events for task ${task}`, 'see `airlock log` for recent tasks');
        return;
      }
      if (task && ended) return;
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      for await (const record of followAuditTrail(ctx.home.audit, { signal: controller.signal })) {
        if (task && record.task !== task) continue;
        if (!print(record)) break;
        if (task && ENDS_A_TASK.has(record.kind)) break;
      }
    });

  const audit = program.command('audit').description('verify, export and prune the tamper-evident audit trail');
  audit
    .command('verify')
    .description('check every record, the chain and the signed head')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { json?: boolean }) => {
      const ctx = createContext();
      const result = await verifyAuditTrail(ctx.home.audit, openHeadSigner(ctx.keychain));
      if (opts.json) {
        outJson(result);
      } else if (result.ok) {
        out(`intact, ${result.records} records, ${result.headSigned ? 'head signed' : 'no head yet'}\n`);
        for (const note of result.notes) out(`note: ${note}\n`);
      } else {
        const p = result.problem!;
        out(`NOT INTACT at record ${p.record}${p.segment ? ` (${p.segment}${p.line ? `, line ${p.line}` : ''})` : ''}: ${p.message}\n`);
        out(`${result.records} records verified before it\n`);
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
      if (opts.format !== 'jsonl' && opts.format !== 'csv') throw new AirlockError('bad_argument', `--format: '${opts.format}' is not jsonl or csv`, 'write --format jsonl or --format csv');
      const ctx = createContext();
      const query: AuditQuery = opts.task ? { task: opts.task } : {};
      const file = opts.output ? fs.createWriteStream(opts.output, { mode: 0o600 }) : undefined;
      const write = file
        ? (chunk: string) => (file.write(chunk) ? undefined : new Promise<void>((resolve) => file.once('drain', () => resolve())))
        : (chunk: string) => {
          if (!outExact(chunk)) throw new StdoutClosed();
          return whenDrained();
        };
      try {
        const count = await exportAuditTrail(ctx.home.audit, opts.format as ExportFormat, query, write);
        if (file) {
          await new Promise<void>((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())));
          err(`exported ${count} records to ${opts.output}\n`);
        }
      } catch (error) {
        if (!(error instanceof StdoutClosed)) throw error;
      }
    });

  audit
    .command('prune')
    .description('remove whole segments older than N days; the trail records it and still verifies')
    .requiredOption('--keep-days <n>', 'keep this many days of records')
    .action(async (opts: { keepDays: string }) => {
      const days = Number(opts.keepDays);
      if (!Number.isFinite(days) || days < 0) throw new AirlockError('bad_argument', `--keep-days: '${opts.keepDays}' is not a number of days`, 'write e.g. --keep-days 90');
      const ctx = createContext();
      const result = await pruneAuditTrail(ctx.audit(), days);
      out(result.removedSegments.length === 0
        ? `nothing older than ${days} days\n`
        : `removed ${result.removedSegments.length} segment(s), ${result.removedRecords} records older than ${days} days\n`);
    });
}

async function isEmpty(dir: string, task: string): Promise<boolean> {
  for await (const _ of queryAuditTrail(dir, { task })) return false;
  return true;
}

class StdoutClosed extends Error {}
