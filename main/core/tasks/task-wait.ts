import type { Clock } from '../clock.js';
import type { Sandbox } from '../engine/sandbox.js';

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
