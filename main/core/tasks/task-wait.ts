import type { Clock } from '../clock.js';
import type { Actor, EventKind } from '../audit/events.js';
import type { ExitState, Sandbox } from '../engine/sandbox.js';
import type { TaskSpec } from './spec.js';

/** How a running task ended, as far as waiting for it goes. */
export type WaitResult = { status: 'exited' | 'timeout' | 'cancelled' } | { status: 'stopped'; reason: string };

/**
 * Waits for the agent to exit, the deadline (wall clock: see systemClock), a cancel (a person), or
 * a stop by Airlock (a violation, the audit trail failing, the sidecar gone, the parent ended).
 * An exit at or after the deadline is a timeout: the sidecar enforces the same deadline on its own.
 */
export function waitForExit(options: {
  sandbox: Sandbox;
  clock: Clock;
  deadline: number;
  cancel: AbortSignal | undefined;
  stop: AbortSignal;
}): Promise<WaitResult> {
  const { sandbox, clock, deadline, cancel, stop } = options;
  return new Promise<WaitResult>((resolve, reject) => {
    let settled = false;
    const finish = (result: WaitResult) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      cancel?.removeEventListener('abort', onCancel);
      stop.removeEventListener('abort', onStop);
      resolve(result);
    };
    const timer = clock.setTimeout(() => finish({ status: 'timeout' }), Math.max(0, deadline - clock.now()));
    const onCancel = () => finish({ status: 'cancelled' });
    const onStop = () => finish({ status: 'stopped', reason: String(stop.reason) });
    if (stop.aborted) return onStop();
    if (cancel?.aborted) return onCancel();
    cancel?.addEventListener('abort', onCancel, { once: true });
    stop.addEventListener('abort', onStop, { once: true });
    sandbox.wait().then(() => finish(clock.now() >= deadline ? { status: 'timeout' } : { status: 'exited' }), (error: unknown) => {
      if (!settled) reject(error as Error);
    });
  });
}

/** The record of how a task ended: task.timeout, task.cancelled (by a person), task.stopped (by Airlock) or task.exited. */
export function recordTaskEnd(emit: (kind: EventKind, data: Record<string, unknown>, actor?: Actor) => void, end: {
  status: 'exited' | 'timeout' | 'cancelled' | 'stopped'; result: WaitResult; state: ExitState; spec: TaskSpec; durationMs: number; expiredGrant?: string;
}): void {
  const { status, result, state, spec, durationMs, expiredGrant } = end;
  if (status === 'timeout') emit('task.timeout', { timeoutMs: spec.timeoutMs, durationMs, ...(expiredGrant ? { reason: `the env grant of ${expiredGrant} expired` } : {}) });
  else if (status === 'cancelled') emit('task.cancelled', { durationMs }, 'user');
  else if (status === 'stopped') emit('task.stopped', { durationMs, reason: result.status === 'stopped' ? result.reason : 'stopped by Airlock' });
  else emit('task.exited', { exitCode: state.exitCode, oomKilled: state.oomKilled, durationMs, ...(state.oomKilled ? { memoryBytes: spec.limits.memoryBytes } : {}) });
}

/** `stopped`: by Airlock (a violation with onViolation: stop, the audit trail failing, its sidecar gone, its parent ended). */
export type TaskStatus = 'exited' | 'timeout' | 'cancelled' | 'stopped';

/** What a task's run comes to: how it ended, and what it left. */
export interface TaskOutcome {
  task: string;
  status: TaskStatus;
  exitCode: number | undefined;
  oomKilled: boolean;
  artifactsDir: string;
  artifacts: number;
  durationMs: number;
}
