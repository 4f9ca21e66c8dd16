import type { Command } from 'commander';
import { AirlockError } from '../../core/errors.js';
import { agentContainer, removeTaskObjects } from '../../core/engine/leftovers.js';
import { ownTaskObjects } from '../../core/tasks/own-objects.js';
import { formatDuration } from '../../core/policy/units.js';
import { isOwnerAlive } from '../../core/tasks/owner.js';
import { requestResume, requestStop } from '../../core/tasks/stop.js';
import { createContext } from '../context.js';
import { out, outJsonLines } from '../stdout.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { inert } from '../terminal-text.js';

export function registerTaskCommands(program: Command, setExit: (code: ExitCode) => void): void {
  program
    .command('ps')
    .description('list running tasks')
    .option('--json', 'one JSON object per task')
    .action(async (opts: { json?: boolean }) => {
      const ctx = createContext();
      // Only tasks Airlock made (its audit trail says so): a container with forged labels is no task.
      // The reaper has just sorted them out; should it have failed, they are read again (with the error).
      const tasks = (await ctx.reap()).remaining ?? (await ownTaskObjects(ctx.engine, ctx.home.audit)).tasks;
      if (opts.json) {
        outJsonLines(tasks.map((t) => ({ task: t.task, agent: t.agent, state: agentContainer(t)?.state ?? 'gone', created: agentContainer(t)?.created, owner: t.owner })));
        return;
      }
      if (tasks.length === 0) {
        out('no tasks running\n');
        return;
      }
      const rows = tasks.map((t) => {
        const c = agentContainer(t);
        const pid = t.owner?.split(':')[1] ?? '?';
        return [t.task, t.agent, c?.state ?? 'gone', c ? formatDuration(Date.now() - c.created * 1000) : '-', pid];
      });
      out(table(['TASK', 'AGENT', 'STATE', 'UP', 'OWNER PID'], rows));
    });

  program
    .command('stop')
    .description('stop a task and destroy its sandbox')
    .argument('<task>', 'task id (see airlock ps)')
    .action(async (task: string) => {
      const ctx = createContext();
      void ctx.reap();
      const objects = (await ownTaskObjects(ctx.engine, ctx.home.audit)).tasks.find((t) => t.task === task);
      if (!objects) throw new AirlockError('not_found', `no running task ${task}`, 'see `airlock ps` for running tasks');
      requestStop(ctx.home, task);
      for (const c of objects.containers) {
        const container = ctx.engine.api.getContainer(c.id);
        await container.unpause().catch(() => undefined); // a frozen task is paused; the engine will not kill it so
        await container.kill().catch(() => undefined);
      }
      // The owning `airlock run` tears the sandbox down itself; if it is gone, do it here.
      if (!isOwnerAlive(objects.owner)) await removeTaskObjects(ctx.engine, objects);
      out(`stopped ${task}\n`);
      setExit(EXIT.ok);
    });

  program
    .command('resume')
    .description('resume a task frozen by a violation (its grants stay revoked)')
    .argument('<task>', 'task id (see airlock ps)')
    .action(async (task: string) => {
      const ctx = createContext();
      const objects = (await ownTaskObjects(ctx.engine, ctx.home.audit)).tasks.find((t) => t.task === task);
      if (!objects) throw new AirlockError('not_found', `no running task ${task}`, 'see `airlock ps` for running tasks');
      if (!objects.containers.some((c) => c.state === 'paused')) throw new AirlockError('bad_argument', `${task} is not frozen`, 'only a task frozen by a violation can be resumed');
      if (!isOwnerAlive(objects.owner)) throw new AirlockError('not_found', `the Airlock process that ran ${task} is gone`, `remove it with \`airlock stop ${task}\``);
      requestResume(ctx.home, task);
      out(`asked to resume ${task}\n`);
    });

  program
    .command('gc')
    .description('remove what crashed or killed Airlock processes left on the engine')
    .action(async () => {
      const ctx = createContext();
      await ctx.engine.info(); // an unreachable engine is an error here, not "nothing to clean up"
      const { reaped, leftAlone } = await ctx.reap();
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
