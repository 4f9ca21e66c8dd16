import type { EventBus } from '../audit/bus.js';
import type { AgentRef } from '../audit/events.js';
import { MAX_RELAYED_CONNECTIONS } from '../engine/relay-mux.js';

/**
 * Turns what a task's sidecar reports into events: the workspace full (a resource limit the agent
 * hit: its writes now fail with ENOSPC) and connections over the relay's limit (a violation, once
 * per task: onViolation applies).
 */
export function sidecarReporter(options: { bus: EventBus; task: string; agent: AgentRef; diskBytes: number }) {
  const { bus, task, agent } = options;
  let connectionsReported = false;
  const connectionsRefused = () => {
    if (connectionsReported) return;
    connectionsReported = true;
    bus.emit({
      task, agent, actor: 'airlock', kind: 'policy.violation', decision: { allow: false, rule: 'limits.connections', by: 'policy' },
      data: { rule: 'limits.connections', reason: `more than ${MAX_RELAYED_CONNECTIONS} connections at once through the task's proxy: further ones were refused` },
    });
  };
  return {
    connectionsRefused,
    status(status: Record<string, unknown>): void {
      const disk = status.disk as { full?: unknown; usedBytes?: unknown } | undefined;
      if (disk && disk.full === true) {
        bus.emit({
          task, agent, actor: 'airlock', kind: 'resource.limit',
          data: { resource: 'disk', limitBytes: options.diskBytes, usedBytes: Number(disk.usedBytes) || 0, reason: 'the workspace is full: further writes fail inside the sandbox (ENOSPC)' },
        });
      }
      if (typeof status.refusedConnections === 'number') connectionsRefused();
    },
  };
}
