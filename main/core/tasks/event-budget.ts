import type { EventBus } from '../audit/bus.js';

/**
 * Events a task may cause besides its output lines (which have a budget of their own): every
 * request, refusal, action and credential use is a record in the audit trail, on the host's disk.
 * An agent in a tight loop of refused requests would otherwise fill that disk.
 */
export const MAX_TASK_EVENTS = 200_000;

/** Calls `onExceeded` once, when the task's events (output lines aside) pass the budget. */
export function watchEventBudget(bus: EventBus, task: string, onExceeded: (reason: string) => void, budget = MAX_TASK_EVENTS): () => void {
  let count = 0;
  let exceeded = false;
  return bus.subscribe((event) => {
    if (event.task !== task || exceeded || event.kind === 'proc.stdout' || event.kind === 'proc.stderr') return;
    count += 1;
    if (count > budget) {
      exceeded = true;
      queueMicrotask(() => onExceeded(`the task caused more than ${budget} events (requests, refusals, actions): the audit trail's disk is not the agent's to fill`));
    }
  });
}

/** The event budget broken is a violation like any other: recorded, then acted on as the manifest's onViolation says (freeze, else stop). */
export function enforceEventBudget(options: {
  bus: EventBus; task: string; action: 'log' | 'stop' | 'freeze'; budget: number | undefined;
  record: (data: Record<string, unknown>) => void; freeze: (reason: string) => void; stop: (reason: string) => void;
}): () => void {
  return watchEventBudget(options.bus, options.task, (reason) => {
    const freezes = options.action === 'freeze';
    options.record({ rule: 'limits.events', reason, action: freezes ? 'freeze' : 'stop' });
    if (freezes) options.freeze(reason);
    else options.stop(reason);
  }, options.budget);
}
