import { styleText } from 'node:util';
import type { Command } from 'commander';
import type { TaskChange } from '../../core/service/changes.js';
import { engine } from '../context.js';
import { err, out, outJson } from '../stdout.js';
import { inert } from '../terminal-text.js';

/** `airlock diff`, `apply`, `discard`: the engine does the work; here it is only shown. */
export function registerChangeCommands(program: Command): void {
  program
    .command('diff')
    .description("show the change a task made to its project (coloured on a terminal)")
    .argument('<task>', 'task id (see airlock history)')
    .option('--stat', 'files changed with lines added and removed')
    .option('--json', 'the change as one JSON object (files, counts, patch)')
    .action(async (task: string, opts: { stat?: boolean; json?: boolean }) => {
      const change = await (await engine()).call('changes.get', task);
      if (opts.json) {
        outJson(change);
        return;
      }
      const color = useColor();
      if (opts.stat) out(statText(change));
      else out(patchText(change.patch, color));
      if (change.appliedAt) err(`applied ${change.appliedAt}\n`);
    });

  program
    .command('apply')
    .description("apply a task's change to its project: all of it or nothing")
    .argument('<task>', 'task id (see airlock history)')
    .option('--3way', 'merge with your own edits to the same files since the task started')
    .action(async (task: string, opts: { '3way'?: boolean }) => {
      const result = await (await engine()).call('changes.apply', { task, threeWay: opts['3way'] === true });
      for (const notice of result.notices) err(`${inert(notice.path)}: ${notice.dropped} bit not set (you did not have it)\n`);
      for (const file of result.merged) err(`merged with your edits: ${inert(file)}\n`);
      out(`applied ${result.files.length} file(s) to ${inert(result.project)}\n`);
    });

  program
    .command('discard')
    .description("drop a task's stored change without applying it")
    .argument('<task>', 'task id (see airlock history)')
    .action(async (task: string) => {
      await (await engine()).call('changes.discard', task);
      out(`discarded the change of ${task}\n`);
    });
}

function useColor(): boolean {
  return process.stdout.isTTY === true && !process.env.NO_COLOR;
}

export function statText(change: TaskChange): string {
  const width = Math.min(60, Math.max(0, ...change.files.map((f) => inert(f.path).length)));
  const lines = change.files.map((f) => {
    const name = f.status === 'renamed' && f.oldPath ? `${inert(f.oldPath)} => ${inert(f.path)}` : inert(f.path);
    const counts = f.binary ? 'binary' : `+${f.added} -${f.removed}`;
    const link = f.symlinkTarget !== undefined ? ` -> ${inert(f.symlinkTarget)}` : '';
    return ` ${name.padEnd(width)} | ${f.status.padEnd(8)} ${counts}${link}\n`;
  });
  return `${lines.join('')} ${change.files.length} file(s) changed, ${change.added} insertion(s)(+), ${change.removed} deletion(s)(-)\n`;
}

/** The patch, every line made inert (agent text) before Airlock's own colours are put around it. */
export function patchText(patch: string, color: boolean): string {
  const paint = (style: Parameters<typeof styleText>[0], text: string) => (color ? styleText(style, text, { validateStream: false }) : text);
  return patch.split('\n').map((raw, i, all) => {
    if (i === all.length - 1 && raw === '') return '';
    const line = inert(raw);
    if (raw.startsWith('diff --git') || raw.startsWith('+++ ') || raw.startsWith('--- ')) return `${paint('bold', line)}\n`;
    if (raw.startsWith('@@')) return `${paint('cyan', line)}\n`;
    if (raw.startsWith('+')) return `${paint('green', line)}\n`;
    if (raw.startsWith('-')) return `${paint('red', line)}\n`;
    return `${line}\n`;
  }).join('');
}
