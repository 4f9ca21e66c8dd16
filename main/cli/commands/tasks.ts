import type { Command } from 'commander';
import { isAirlockError } from '../../core/errors.js';
import { formatDuration } from '../../core/policy/units.js';
import { engine } from '../context.js';
import { out, outJsonLines } from '../stdout.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { inert } from '../terminal-text.js';

export function registerTaskCommands(program: Command, setExit: (code: ExitCode) => void): void {
  program
    .command('ps')
    .description('list running tasks, whichever client started them')
    .option('--json', 'one JSON object per task')
    .action(async (opts: { json?: boolean }) => {
      // Only tasks Airlock made (its audit trail says so): a container with forged labels is no task.
      const tasks = await (await engine()).call('tasks.running');
      if (opts.json) {
        outJsonLines(tasks);
        return;
      }
      if (tasks.length === 0) {
        out('no tasks running\n');
        return;
      }
      const rows = tasks.map((t) => {
        const pid = t.owner?.split(':')[1] ?? '?';
        return [t.task, t.agent, t.state, t.created !== undefined ? formatDuration(Date.now() - t.created * 1000) : '-', pid];
      });
      out(table(['TASK', 'AGENT', 'STATE', 'UP', 'OWNER PID'], rows));
    });

  program
    .command('stop')
    .description('stop a task and destroy its sandbox')
    .argument('<task>', 'task id (see airlock ps)')
    .action(async (task: string) => {
      const client = await engine();
      await client.call('tasks.stop', task);
      // The engine's own task: wait until its sandbox is gone. Another process's was killed and is torn down by it.
      await client.call('tasks.wait', task).catch((error: unknown) => {
        if (!isAirlockError(error) || error.code !== 'not_found') throw error;
      });
      out(`stopped ${task}\n`);
      setExit(EXIT.ok);
    });

  program
    .command('resume')
    .description('resume a task frozen by a violation (its grants stay revoked)')
    .argument('<task>', 'task id (see airlock ps)')
    .action(async (task: string) => {
      await (await engine()).call('tasks.resume', task);
      out(`asked to resume ${task}\n`);
    });

  program
    .command('gc')
    .description('remove what crashed or killed Airlock processes left on the engine')
    .action(async () => {
      const { reaped, leftAlone } = await (await engine()).call('tasks.gc');
      if (reaped.length === 0) out('nothing to clean up\n');
      for (const r of reaped) {
        out(`removed ${inert(r.task)} (${inert(r.agent)}): ${r.removed.containers} container(s), ${r.removed.volumes} volume(s), ${r.removed.networks} network(s)\n`);
      }
      for (const claim of leftAlone) {
        out(`left alone ${claim.kind} ${inert(claim.name)}: it carries Airlock's labels (task ${inert(claim.claimedTask)}), but ${inert(claim.reason)}\n`);
      }
    });
}

/**
 * Columns for listings. Every cell is made inert: names, images and labels of containers on the
 * engine (`ps`, `agents ls --shadow`) are anyone's text, not Airlock's.
 */
export function table(header: string[], rawRows: string[][]): string {
  const rows = rawRows.map((row) => row.map(inert));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const format = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return `${[format(header), ...rows.map(format)].join('\n')}\n`;
}
