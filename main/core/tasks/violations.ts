import type { EventBus } from '../audit/bus.js';
import type { AgentRef, AirlockEvent } from '../audit/events.js';

export type ViolationAction = 'log' | 'stop' | 'freeze';

export interface ViolationPolicy {
  action: ViolationAction;
  /** Refused requests a task may make before that itself is a violation. */
  maxRefusedRequests: number;
}

/**
 * Watches one task's events for violations — credential misuse, a rate or byte limit broken, more
 * than N refused requests, a decoy touched — and reports each once to `onViolation`, which applies
 * the manifest's `onViolation` (log, stop or freeze).
 */
export function watchViolations(bus: EventBus, task: string, agent: AgentRef, policy: ViolationPolicy, onViolation: (reason: string, rule: string) => void): () => void {
  let refused = 0;
  let refusedReported = false;
  const report = (reason: string, rule: string, alreadyRecorded: boolean) => {
    if (!alreadyRecorded) {
      bus.emit({ task, agent, actor: 'airlock', kind: 'policy.violation', decision: { allow: false, rule, by: 'policy' }, data: { rule, reason, action: policy.action } });
    }
    // Act after the event that revealed it has reached every listener.
    queueMicrotask(() => onViolation(reason, rule));
  };
  return bus.subscribe((event: AirlockEvent) => {
    if (event.task !== task) return;
    if (event.kind === 'cred.misuse') report(`credential misuse: ${String(event.data.reason)}`, 'credential:misuse', false);
    else if (event.kind === 'policy.violation' && event.data.action === undefined) report(String(event.data.reason ?? event.data.rule), String(event.data.rule), true);
    else if (event.kind === 'net.denied') {
      refused += 1;
      if (refused > policy.maxRefusedRequests && !refusedReported) {
        refusedReported = true;
        report(`more than ${policy.maxRefusedRequests} refused requests`, 'maxRefusedRequests', false);
      }
    }
  });
}
