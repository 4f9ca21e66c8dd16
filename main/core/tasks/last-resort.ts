import type { LiveTasks } from './live-tasks.js';

/** How long the last resort waits for tasks to be torn down and events to be written. */
const GRACE_MS = 15_000;
/** How many internal errors are reported at most. */
const MAX_REPORTS = 10;

/**
 * The process-level handlers of last resort: an exception or a rejection that nothing handled
 * means Airlock's own state can no longer be trusted. Every running task is stopped with an event
 * (task.stopped, its sandbox torn down), the audit trail is flushed, and the process exits — never
 * left running half-broken. (Were this process to die outright instead, each task's sidecar would
 * end the task on its own.)
 */
export function installLastResort(options: {
  process: NodeJS.Process;
  live: LiveTasks;
  /** Makes every recorded event durable. */
  flush: () => Promise<void>;
  exit: (code: number) => void;
  report?: (text: string) => void;
}): () => void {
  const report = options.report ?? ((text) => options.process.stderr.write(text));
  let handling = false;
  let reports = 0;
  const handle = (kind: string) => (error: unknown) => {
    // A bounded number of reports: should reporting itself fail (a closed stderr), reporting each
    // failure again would feed on itself and starve the teardown below.
    if (reports < MAX_REPORTS) {
      reports += 1;
      try {
        report(`airlock: internal error (${kind}): ${(error as Error)?.stack ?? String(error)}\n`);
      } catch {
        // nowhere left to say it: the teardown still runs
      }
    }
    if (handling) return; // already tearing down: the first one decides
    handling = true;
    const reason = `Airlock hit an internal error and stopped its tasks: ${(error as Error)?.message ?? String(error)}`;
    const deadline = new Promise((resolve) => setTimeout(resolve, GRACE_MS).unref());
    void Promise.race([
      options.live.stopAll('airlock.internal', reason, GRACE_MS).then(() => options.flush()),
      deadline,
    ]).catch(() => undefined).finally(() => options.exit(70));
  };
  const onException = handle('uncaught exception');
  const onRejection = handle('unhandled rejection');
  options.process.on('uncaughtException', onException);
  options.process.on('unhandledRejection', onRejection);
  return () => {
    options.process.off('uncaughtException', onException);
    options.process.off('unhandledRejection', onRejection);
  };
}
