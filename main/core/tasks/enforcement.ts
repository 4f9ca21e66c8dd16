import type { EventBus } from '../audit/bus.js';
import type { AgentRef } from '../audit/events.js';
import type { Clock } from '../clock.js';
import type { HomeLayout } from '../home.js';
import { takeResumeRequest } from './stop.js';
import { watchViolations, type ViolationPolicy } from './violations.js';

/**
 * Applies `onViolation` to a running task. `stop` ends it. `freeze` pauses its containers, revokes
 * every grant, records `task.frozen`, and waits for a person: `airlock resume` (or the app)
 * unpauses it (`task.resumed`, without its grants); `airlock stop` ends it as usual.
 */
export function enforceViolations(options: {
  bus: EventBus; home: HomeLayout; clock: Clock; task: string; agent: AgentRef; policy: ViolationPolicy;
  stop: (reason?: string) => void; freeze: () => Promise<void>; unfreeze: () => Promise<void>;
}): { freeze(reason: string): void; end(): void } {
  const { bus, task, agent, policy } = options;
  let frozen = false;
  let poll: { cancel(): void } | undefined;
  const emit = (kind: 'task.frozen' | 'task.resumed', data: Record<string, unknown>) => bus.emit({ task, agent, actor: kind === 'task.resumed' ? 'user' : 'airlock', kind, data });

  const waitForResume = () => {
    poll = options.clock.setTimeout(() => {
      if (!frozen) return;
      if (!takeResumeRequest(options.home, task)) return waitForResume();
      void options.unfreeze().then(() => {
        frozen = false;
        emit('task.resumed', { note: 'resumed by a person; its grants stay revoked' });
      }, (error: unknown) => {
        // Still paused: it stays frozen, and a person may still stop it.
        emit('task.frozen', { reason: `could not resume: ${(error as Error).message}`, next: `airlock stop ${task}` });
        waitForResume();
      });
    }, 250);
  };

  const freeze = (reason: string) => {
    if (frozen) return;
    frozen = true;
    takeResumeRequest(options.home, task); // an old request does not count
    void options.freeze().then(() => {
      emit('task.frozen', { reason, next: `airlock resume ${task} | airlock stop ${task}` });
      waitForResume();
    }, (error: unknown) => {
      // A task that cannot be frozen is not left running: it is stopped instead.
      frozen = false;
      options.stop(`it could not be frozen (${(error as Error).message}) after ${reason}`);
    });
  };

  const unwatch = watchViolations(bus, task, agent, policy, (reason, rule) => {
    // The stop names the violation and its rule, so the task's end says why (not only the event before it).
    if (policy.action === 'stop') options.stop(`a policy violation (onViolation: stop): ${rule}: ${reason}`);
    if (policy.action === 'freeze') freeze(reason);
  });
  return {
    freeze,
    end() {
      unwatch();
      poll?.cancel();
    },
  };
}
