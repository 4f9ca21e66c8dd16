import type { AgentRef } from '../audit/events.js';
import type { Clock } from '../clock.js';

/** Limits on delegation across the whole process (beside each manifest's own). */
export interface DelegationLimits {
  concurrentTasks: number;
  spawnsPerMinute: number;
}

export const DEFAULT_DELEGATION_LIMITS: DelegationLimits = { concurrentTasks: 8, spawnsPerMinute: 30 };

interface Node {
  task: string;
  agent: AgentRef;
  parent: Node | undefined;
  /** Deepest a descendant may be (absolute depth, the root is 0). */
  depthLimit: number;
  depth: number;
  /** Descendants this task may still have, counting all below it. */
  maxDescendants: number;
  descendants: number;
  allow: string[];
  freeze?: () => void;
}

export type SpawnVerdict = { ok: true } | { ok: false; rule: string; reason: string };

/**
 * The family tree of running tasks and the rules of delegation: a task may start only the agents
 * its manifest lists (`delegate.allow`), no agent already on its chain (no loops), no deeper than
 * `delegate.maxDepth` allows and no more descendants than `delegate.maxTasks` — each ancestor's
 * limits apply too — and no more than the process-wide concurrency and spawn rate.
 */
export class DelegationTree {
  readonly #nodes = new Map<string, Node>();
  readonly #clock: Clock;
  readonly #limits: DelegationLimits;
  readonly #spawns: number[] = [];

  constructor(clock: Clock, limits: DelegationLimits = DEFAULT_DELEGATION_LIMITS) {
    this.#clock = clock;
    this.#limits = limits;
  }

  /** Registers a task as it starts (a root when it has no parent). */
  enter(task: string, agent: AgentRef, delegate: { allow: string[]; maxDepth: number; maxTasks: number }, parent: string | undefined): void {
    const up = parent ? this.#nodes.get(parent) : undefined;
    const depth = up ? up.depth + 1 : 0;
    const ownDepth = depth + delegate.maxDepth;
    const ownTasks = delegate.maxTasks;
    this.#nodes.set(task, {
      task, agent, parent: up, depth,
      depthLimit: up ? Math.min(up.depthLimit, ownDepth) : ownDepth,
      maxDescendants: ownTasks, descendants: 0,
      allow: delegate.allow,
    });
  }

  leave(task: string): void {
    this.#nodes.delete(task);
  }

  /** The ids above a task, root first. */
  chain(task: string): string[] {
    const ids: string[] = [];
    for (let n = this.#nodes.get(task)?.parent; n; n = n.parent) ids.unshift(n.task);
    return ids;
  }

  /** The agents above a task, root first. */
  chainAgents(task: string): string[] {
    const names: string[] = [];
    for (let n = this.#nodes.get(task)?.parent; n; n = n.parent) names.unshift(n.agent.name);
    return names;
  }

  onFreeze(task: string, freeze: () => void): void {
    const node = this.#nodes.get(task);
    if (node) node.freeze = freeze;
  }

  /** Freezing a task freezes every running descendant too. */
  freezeDescendants(task: string): void {
    for (const node of this.#nodes.values()) {
      for (let up = node.parent; up; up = up.parent) {
        if (up.task === task) {
          node.freeze?.();
          break;
        }
      }
    }
  }

  /** May `parent` start agent `child` now? Counts the spawn when it may. */
  admit(parent: string, child: string): SpawnVerdict {
    const node = this.#nodes.get(parent);
    if (!node) return { ok: false, rule: 'delegate.parent', reason: 'the parent task is not running' };
    if (!node.allow.includes(child)) return { ok: false, rule: 'delegate.allow', reason: `${node.agent.name} may not start ${child} (its delegate.allow: ${node.allow.join(', ') || 'none'})` };
    const names: string[] = [];
    for (let n: Node | undefined = node; n; n = n.parent) names.unshift(n.agent.name);
    if (names.includes(child)) return { ok: false, rule: 'delegate.cycle', reason: `${child} is already on the chain ${[...names, child].join(' → ')}: a loop` };
    if (node.depth + 1 > node.depthLimit) return { ok: false, rule: 'delegate.maxDepth', reason: `a child of ${node.agent.name} would be ${node.depth + 1} deep; the chain allows ${node.depthLimit}` };
    for (let n: Node | undefined = node; n; n = n.parent) {
      if (n.descendants + 1 > n.maxDescendants) return { ok: false, rule: 'delegate.maxTasks', reason: `${n.agent.name} (${n.task}) may have at most ${n.maxDescendants} descendant task(s)` };
    }
    if (this.#nodes.size + 1 > this.#limits.concurrentTasks) return { ok: false, rule: 'global.concurrentTasks', reason: `at most ${this.#limits.concurrentTasks} tasks may run at once` };
    const now = this.#clock.now();
    while (this.#spawns.length > 0 && this.#spawns[0]! <= now - 60_000) this.#spawns.shift();
    if (this.#spawns.length + 1 > this.#limits.spawnsPerMinute) return { ok: false, rule: 'global.spawnsPerMinute', reason: `at most ${this.#limits.spawnsPerMinute} delegated tasks may start in a minute` };
    this.#spawns.push(now);
    for (let n: Node | undefined = node; n; n = n.parent) n.descendants += 1;
    return { ok: true };
  }
}
