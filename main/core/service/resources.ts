import type { EventBus } from '../audit/bus.js';
import type { AgentRef } from '../audit/events.js';
import type { ContainerStats } from '../engine/backend.js';
import type { Engine } from '../engine/engine.js';
import { taskBackend } from '../engine/task-backend.js';

/** One reading of a container's stats, as the engine reports it (the fields used here). */
export interface ResourceReading {
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes?: number;
}

/**
 * CPU in % of one CPU (100 = one full core) between two readings, and memory in use without the
 * page cache (what `docker stats` shows). Undefined until two readings exist.
 */
export function readingFrom(current: ContainerStats, previous: ContainerStats | undefined): ResourceReading | undefined {
  const cpu = current.cpu_stats;
  const before = previous?.cpu_stats;
  const memory = current.memory_stats;
  if (!cpu?.cpu_usage?.total_usage || memory?.usage === undefined) return undefined;
  const stats = memory.stats ?? {};
  const cache = stats.inactive_file ?? stats.total_inactive_file ?? stats.cache ?? 0;
  const memoryBytes = Math.max(0, memory.usage - cache);
  if (!before?.cpu_usage?.total_usage || !cpu.system_cpu_usage || !before.system_cpu_usage) return undefined;
  const cpuDelta = cpu.cpu_usage.total_usage - before.cpu_usage.total_usage;
  const systemDelta = cpu.system_cpu_usage - before.system_cpu_usage;
  const cpus = cpu.online_cpus ?? cpu.cpu_usage.percpu_usage?.length ?? 1;
  const cpuPercent = systemDelta > 0 && cpuDelta >= 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
  return {
    cpuPercent: Math.round(cpuPercent * 10) / 10,
    memoryBytes,
    ...(memory.limit ? { memoryLimitBytes: memory.limit } : {}),
  };
}

interface Sampling {
  agent: AgentRef;
  timer: ReturnType<typeof setInterval>;
  previous: ContainerStats | undefined;
  busy: boolean;
  stopped: boolean;
}

/**
 * Reads each running task's container stats every `intervalMs` and records a `resource.sample`
 * event (cpuPercent, memoryBytes, memoryLimitBytes) on the bus, so the UI can chart it and the
 * audit trail keeps it.
 */
export class ResourceSampler {
  readonly #engine: () => Engine;
  readonly #bus: EventBus;
  readonly #intervalMs: number;
  readonly #tasks = new Map<string, Sampling>();

  constructor(engine: () => Engine, bus: EventBus, intervalMs = 2000) {
    this.#engine = engine;
    this.#bus = bus;
    this.#intervalMs = intervalMs;
  }

  start(task: string, agent: AgentRef): void {
    if (this.#tasks.has(task)) return;
    const sampling: Sampling = { agent, previous: undefined, busy: false, stopped: false, timer: setInterval(() => void this.#sample(task, sampling), this.#intervalMs) };
    this.#tasks.set(task, sampling);
    void this.#sample(task, sampling);
  }

  /** No sample of this task is recorded after stop() returns. */
  stop(task: string): void {
    const sampling = this.#tasks.get(task);
    if (!sampling) return;
    sampling.stopped = true;
    clearInterval(sampling.timer);
    this.#tasks.delete(task);
  }

  stopAll(): void {
    for (const task of [...this.#tasks.keys()]) this.stop(task);
  }

  async #sample(task: string, sampling: Sampling): Promise<void> {
    if (sampling.busy || sampling.stopped) return;
    sampling.busy = true;
    try {
      const stats = await taskBackend(this.#engine()).container(`airlock-${task}`).stats();
      if (sampling.stopped) return;
      const reading = readingFrom(stats, sampling.previous);
      sampling.previous = stats;
      if (reading) this.#bus.emit({ task, agent: sampling.agent, actor: 'airlock', kind: 'resource.sample', data: { ...reading } });
    } catch {
      // not created yet, or already gone: the next tick tries again, or stop() ends it
    } finally {
      sampling.busy = false;
    }
  }
}
