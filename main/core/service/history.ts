import { queryAuditTrail } from '../audit/query.js';
import type { PastTask } from './types.js';

const OUTCOMES = { 'task.exited': 'exited', 'task.timeout': 'timeout', 'task.cancelled': 'cancelled', 'task.stopped': 'stopped', 'task.aborted': 'aborted' } as const;

/**
 * The newest `limit` tasks in the audit trail (any process's: the app's, the CLI's), newest first,
 * read backwards from the end of the trail so it costs the same however long the trail is.
 */
export async function taskHistory(auditDir: string, limit: number, scanLimit = 200_000): Promise<PastTask[]> {
  const tasks = new Map<string, PastTask>();
  let complete = 0;
  let scanned = 0;
  for await (const record of queryAuditTrail(auditDir, { kinds: ['task.*'], order: 'desc' })) {
    scanned += 1;
    let task = tasks.get(record.task);
    if (!task) {
      if (tasks.size >= limit * 2) {
        if (scanned > scanLimit) break;
        continue;
      }
      task = { id: record.task, agent: record.agent.name };
      tasks.set(record.task, task);
    }
    if (record.kind === 'task.created') {
      if (task.startedAt === undefined) complete += 1;
      task.startedAt = record.time;
      const display = record.data.display as { width?: unknown; height?: unknown } | null | undefined;
      if (display && typeof display.width === 'number' && typeof display.height === 'number') task.display = { width: display.width, height: display.height };
    } else if (record.kind in OUTCOMES && task.outcome === undefined) {
      task.outcome = OUTCOMES[record.kind as keyof typeof OUTCOMES];
      task.endedAt = record.time;
      if (record.kind === 'task.exited' && typeof record.data.exitCode === 'number') task.exitCode = record.data.exitCode;
    }
    if (complete >= limit || scanned > scanLimit) break;
  }
  return [...tasks.values()].filter((t) => t.startedAt !== undefined || t.outcome === 'aborted').slice(0, limit);
}
