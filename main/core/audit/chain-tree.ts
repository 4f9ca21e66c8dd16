/**
 * A delegation chain as a tree, from events alone: who started whom, each task's state, its grants,
 * its tool calls, its spend against its budget and its violations. One model for the app's Chain tab
 * and `airlock log --tree`. Plain TypeScript (no Node): the renderer compiles it too.
 *
 * Events arrive in any order (a child's records before its parent's, a page of the trail at a time,
 * live pushes after a backfill): every event only adds to what is known. Lineage is taken from the
 * `parent`/`chain` fields the bus stamps on a delegated task's events; a link that would close a
 * loop (only a hand-edited trail can hold one) is ignored, so the model is always a forest.
 */

/** An event as the engine sends it (a kind is any string on the wire). */
export interface ChainEvent {
  task: string;
  time: string;
  kind: string;
  agent: { name: string };
  parent?: string | undefined;
  chain?: readonly string[] | undefined;
  decision?: { allow: boolean; rule: string } | undefined;
  identity?: { grant: string; credential: string } | undefined;
  data: Record<string, unknown>;
}

/** The kinds the tree reads; every other event leaves it unchanged (the CLI asks the trail for these only). */
export const CHAIN_KINDS = ['task.*', 'cred.granted', 'cred.expired', 'cred.revoked', 'mcp.call', 'model.usage', 'policy.violation'] as const;

/** `ended`: its sandbox is gone without an exit of its own (an MCP server, ended with the task it served). */
export type ChainState = 'unknown' | 'starting' | 'running' | 'frozen' | 'exited' | 'timeout' | 'cancelled' | 'stopped' | 'aborted' | 'ended';
export interface Spend { tokens: number; usd: number; requests: number }
export interface ChainGrant { grant: string; credential: string; expiresAt: string; state: 'active' | 'expired' | 'revoked' }
export interface ChainViolation { rule: string; reason: string; time: string }

export interface ChainNode {
  task: string;
  agent: string;
  parent?: string;
  /** The MCP server this task runs, for its parent (the task it serves: `task.created` data `mcp.for`). */
  mcpServer?: string;
  /** False while the task is known only from a descendant's lineage (its own records not read yet). */
  seen: boolean;
  state: ChainState;
  exitCode?: number;
  /** Why it was frozen or stopped, as Airlock said. */
  note?: string;
  createdAt?: string;
  endedAt?: string;
  destroyed: boolean;
  grants: ChainGrant[];
  toolCalls: number;
  toolCallsRefused: number;
  /** The task's own model spend so far (the latest `model.usage` totals), and the chain's as of then. */
  spend?: Spend;
  chainSpend?: Spend;
  budget?: Partial<Spend>;
  /** The newest violations (at most MAX_VIOLATIONS) and how many there were in all. */
  violations: ChainViolation[];
  violationCount: number;
  children: ChainNode[];
}

const TASK_ID = /^t_[0-9a-z]{26}$/;
const ENDED: ReadonlySet<ChainState> = new Set(['exited', 'timeout', 'cancelled', 'stopped', 'aborted', 'ended']);
const END_KINDS: Record<string, ChainState> = { 'task.exited': 'exited', 'task.timeout': 'timeout', 'task.cancelled': 'cancelled', 'task.stopped': 'stopped', 'task.aborted': 'aborted' };
const MAX_VIOLATIONS = 20;
const MAX_GRANTS = 100;
/** Agent-made text kept per field: enough to read, never a way to make the model grow. */
const MAX_TEXT = 500;

interface Entry extends Omit<ChainNode, 'children'> {
  /** Insertion order, to list children stably when their times are equal or unknown. */
  order: number;
}

export function isEnded(state: ChainState): boolean {
  return ENDED.has(state);
}

export class ChainForest {
  readonly #nodes = new Map<string, Entry>();
  readonly #children = new Map<string, Set<string>>();
  readonly #maxTasks: number;
  #order = 0;

  /** `maxTasks`: beyond it, the oldest finished chains are forgotten whole. */
  constructor(options: { maxTasks?: number } = {}) {
    this.#maxTasks = options.maxTasks ?? Number.POSITIVE_INFINITY;
  }

  get size(): number {
    return this.#nodes.size;
  }

  has(task: string): boolean {
    return this.#nodes.has(task);
  }

  add(events: Iterable<ChainEvent>): void {
    for (const event of events) this.#add(event);
    if (this.#nodes.size > this.#maxTasks) this.#trim();
  }

  /** The task at the top of `task`'s chain (itself when it has no parent). */
  rootOf(task: string): string {
    let at = task;
    for (let up = this.#nodes.get(at)?.parent; up !== undefined; up = this.#nodes.get(at)?.parent) at = up;
    return at;
  }

  /** The whole chain `task` is on, from its root down; undefined for a task never seen. */
  chainOf(task: string): ChainNode | undefined {
    return this.#nodes.has(task) ? this.tree(this.rootOf(task)) : undefined;
  }

  /** How many tasks are on `task`'s chain (0 for a task never seen). */
  chainSize(task: string): number {
    return this.#nodes.has(task) ? this.#subtree(this.rootOf(task)).length : 0;
  }

  /** The subtree under `task`, children in the order they were started. */
  tree(task: string): ChainNode | undefined {
    const top = this.#nodes.get(task);
    if (!top) return undefined;
    const build = (entry: Entry): ChainNode => {
      const { order: _order, ...fields } = entry;
      return { ...fields, grants: entry.grants.map((g) => ({ ...g })), violations: [...entry.violations], children: [] };
    };
    const root = build(top);
    // Iterative, so no trail makes it recurse deeply; the forest has no loops (link guards it).
    const stack: ChainNode[] = [root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      const kids = [...(this.#children.get(node.task) ?? [])].map((id) => this.#nodes.get(id)!).sort(byStart);
      node.children = kids.map(build);
      stack.push(...node.children);
    }
    return root;
  }

  /** Every root, newest first. */
  roots(): string[] {
    return [...this.#nodes.values()].filter((e) => e.parent === undefined).sort(byStart).reverse().map((e) => e.task);
  }

  #add(event: ChainEvent): void {
    if (typeof event.task !== 'string' || !TASK_ID.test(event.task)) return; // engine-wide records, pool slots
    if (!isChainKind(event.kind)) return;
    const entry = this.#entry(event.task);
    if (!entry.seen) {
      entry.seen = true;
      entry.agent = text(event.agent?.name, 'unknown agent');
    }
    this.#lineage(event);
    const d = event.data ?? {};
    switch (event.kind) {
      case 'task.created':
        entry.createdAt = event.time;
        if (entry.state === 'unknown') entry.state = 'starting';
        entry.budget = budgetOf(d.budget);
        this.#serves(event.task, d.mcp);
        break;
      case 'task.started':
        if (entry.state === 'unknown' || entry.state === 'starting') entry.state = 'running';
        break;
      case 'task.frozen':
        if (!isEnded(entry.state)) {
          entry.state = 'frozen';
          entry.note = text(d.reason, 'a policy violation');
        }
        break;
      case 'task.resumed':
        if (entry.state === 'frozen') {
          entry.state = 'running';
          delete entry.note;
        }
        break;
      case 'task.destroyed':
        entry.destroyed = true;
        // An MCP server's task records no exit of its own: gone is ended.
        if (entry.mcpServer !== undefined && !isEnded(entry.state)) {
          entry.state = 'ended';
          entry.endedAt = event.time;
        }
        break;
      case 'cred.granted':
      case 'cred.expired':
      case 'cred.revoked': {
        if (!event.identity) break;
        let grant = entry.grants.find((g) => g.grant === event.identity!.grant);
        if (!grant) {
          if (entry.grants.length >= MAX_GRANTS) break;
          grant = { grant: text(event.identity.grant, '?'), credential: text(event.identity.credential, '?'), expiresAt: event.time, state: 'active' };
          entry.grants.push(grant);
        }
        if (event.kind === 'cred.granted') grant.expiresAt = typeof d.expiresAt === 'string' ? d.expiresAt : event.time;
        // A late use of an expired grant is another cred.expired: the first end counts (whichever arrives first here).
        else if (grant.state === 'active') grant.state = event.kind === 'cred.expired' ? 'expired' : 'revoked';
        break;
      }
      case 'mcp.call':
        entry.toolCalls += 1;
        if (event.decision?.allow === false) entry.toolCallsRefused += 1;
        break;
      case 'model.usage': {
        const totals = (typeof d.totals === 'object' && d.totals !== null ? d.totals : {}) as Record<string, unknown>;
        // Totals only grow: the largest seen is the newest, in whatever order the records came.
        const own = larger(entry.spend, spendOf(totals.task));
        if (own) entry.spend = own;
        const chain = larger(entry.chainSpend, spendOf(totals.chain));
        if (chain) entry.chainSpend = chain;
        break;
      }
      case 'policy.violation':
        entry.violationCount += 1;
        entry.violations.push({ rule: text(d.rule ?? event.decision?.rule, 'policy'), reason: text(d.reason, ''), time: event.time });
        entry.violations.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
        if (entry.violations.length > MAX_VIOLATIONS) entry.violations.shift();
        break;
      default: {
        const ended = END_KINDS[event.kind];
        if (ended && !isEnded(entry.state)) {
          entry.state = ended;
          entry.endedAt = event.time;
          if (event.kind === 'task.exited' && typeof d.exitCode === 'number') entry.exitCode = d.exitCode;
          if (event.kind === 'task.stopped') entry.note = text(d.reason, 'stopped by Airlock');
          else if (entry.state !== 'stopped') delete entry.note;
        }
      }
    }
  }

  #entry(task: string): Entry {
    let entry = this.#nodes.get(task);
    if (!entry) {
      entry = { task, agent: 'unknown agent', seen: false, state: 'unknown', destroyed: false, grants: [], toolCalls: 0, toolCallsRefused: 0, violations: [], violationCount: 0, order: this.#order++ };
      this.#nodes.set(task, entry);
    }
    return entry;
  }

  /** Links the task under its parent, and each task of its chain under the one before it. */
  #lineage(event: ChainEvent): void {
    const chain = Array.isArray(event.chain) ? event.chain.filter((id): id is string => typeof id === 'string' && TASK_ID.test(id)) : [];
    const parent = typeof event.parent === 'string' && TASK_ID.test(event.parent) ? event.parent : chain.at(-1);
    if (parent === undefined) return;
    const line = chain.at(-1) === parent ? chain : [...chain, parent];
    for (let i = 1; i < line.length; i++) this.#link(line[i]!, line[i - 1]!);
    this.#link(event.task, parent);
  }

  /** An MCP server's task (`task.created` data `mcp: { server, for }`) hangs under the task it serves. */
  #serves(task: string, mcp: unknown): void {
    if (typeof mcp !== 'object' || mcp === null) return;
    const { server, for: served } = mcp as Record<string, unknown>;
    if (typeof served !== 'string' || !TASK_ID.test(served)) return;
    this.#entry(task).mcpServer = text(server, '?');
    this.#link(task, served);
  }

  #link(child: string, parent: string): void {
    const entry = this.#entry(child);
    if (entry.parent !== undefined || child === parent) return; // the first word on a task's parent stands
    for (let up: string | undefined = parent; up !== undefined; up = this.#nodes.get(up)?.parent) if (up === child) return; // would close a loop
    this.#entry(parent);
    entry.parent = parent;
    let kids = this.#children.get(parent);
    if (!kids) this.#children.set(parent, (kids = new Set()));
    kids.add(child);
  }

  /** Forgets the oldest chains, finished ones first, until the forest is within its bound. */
  #trim(): void {
    const roots = [...this.#nodes.values()].filter((e) => e.parent === undefined).sort(byStart);
    const finished = roots.filter((r) => this.#allEnded(r.task));
    for (const root of [...finished, ...roots.filter((r) => !finished.includes(r))]) {
      if (this.#nodes.size <= this.#maxTasks) return;
      this.#forget(root.task);
    }
  }

  #allEnded(task: string): boolean {
    return this.#subtree(task).every((id) => isEnded(this.#nodes.get(id)!.state));
  }

  #subtree(task: string): string[] {
    const ids = [task];
    for (let i = 0; i < ids.length; i++) ids.push(...(this.#children.get(ids[i]!) ?? []));
    return ids;
  }

  #forget(root: string): void {
    for (const id of this.#subtree(root)) {
      this.#nodes.delete(id);
      this.#children.delete(id);
    }
  }
}

/** The chain `task` is on, from these events (pure: a fresh forest each call). */
export function chainTree(events: Iterable<ChainEvent>, task: string): ChainNode | undefined {
  const forest = new ChainForest();
  forest.add(events);
  return forest.chainOf(task);
}

/**
 * What the whole chain has spent: every `model.usage` names its chain's total as of then, and totals
 * only grow, so the largest any task of the tree saw is the newest. MCP servers' tasks spend nothing.
 */
export function chainTotal(root: ChainNode): Spend | undefined {
  let total: Spend | undefined;
  for (const node of chainNodes(root)) total = larger(total, node.chainSpend ?? node.spend);
  return total;
}

/** Every node of a tree, parents before children. */
export function chainNodes(root: ChainNode): ChainNode[] {
  const all = [root];
  for (let i = 0; i < all.length; i++) all.push(...all[i]!.children);
  return all;
}

export function isChainKind(kind: string): boolean {
  return kind.startsWith('task.') || CHAIN_KINDS.includes(kind as (typeof CHAIN_KINDS)[number]);
}

function byStart(a: Entry | ChainNode, b: Entry | ChainNode): number {
  const at = a.createdAt ?? '';
  const bt = b.createdAt ?? '';
  if (at !== bt) return at < bt ? -1 : 1;
  return a.task < b.task ? -1 : a.task > b.task ? 1 : 0;
}

function text(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value.slice(0, MAX_TEXT) : fallback;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function spendOf(value: unknown): Spend | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const tokens = count(v.tokens);
  const usd = count(v.usd);
  const requests = count(v.requests);
  return tokens === undefined && usd === undefined && requests === undefined ? undefined : { tokens: tokens ?? 0, usd: usd ?? 0, requests: requests ?? 0 };
}

function larger(known: Spend | undefined, next: Spend | undefined): Spend | undefined {
  if (!known || !next) return known ?? next;
  return { tokens: Math.max(known.tokens, next.tokens), usd: Math.max(known.usd, next.usd), requests: Math.max(known.requests, next.requests) };
}

function budgetOf(value: unknown): Partial<Spend> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const budget: Partial<Spend> = {};
  for (const key of ['tokens', 'usd', 'requests'] as const) {
    const n = count(v[key]);
    if (n !== undefined) budget[key] = n;
  }
  return Object.keys(budget).length > 0 ? budget : undefined;
}

// ── As text, for the app and the CLI alike ──────────────────────────────────────────────────

/** A task's state in a word or two (`exited 0`, `stopped by policy: …`). */
export function stateText(node: ChainNode): string {
  switch (node.state) {
    case 'unknown': return 'not in the trail';
    case 'ended': return 'ended';
    case 'exited': return `exited ${node.exitCode ?? ''}`.trim();
    case 'cancelled': return 'stopped';
    case 'stopped': return `stopped by policy${node.note ? `: ${node.note}` : ''}`;
    case 'frozen': return `frozen${node.note ? `: ${node.note}` : ''}`;
    default: return node.state;
  }
}

/** Spend against the budget, only for what was spent or budgeted: `12.3k of 200k tokens, $0.12 of $2.00, 5 requests`. */
export function spendText(spend: Spend | undefined, budget: Partial<Spend> | undefined): string | undefined {
  if (!spend && !budget) return undefined;
  const of = (shown: string, limit: string | undefined) => (limit === undefined ? shown : `${shown} of ${limit}`);
  const parts = [
    of(`${compact(spend?.tokens ?? 0)}`, budget?.tokens !== undefined ? compact(budget.tokens) : undefined) + ' tokens',
    of(dollars(spend?.usd ?? 0), budget?.usd !== undefined ? dollars(budget.usd) : undefined),
  ];
  if (spend?.requests || budget?.requests !== undefined) parts.push(`${of(String(spend?.requests ?? 0), budget?.requests !== undefined ? String(budget.requests) : undefined)} requests`);
  return parts.join(', ');
}

function compact(n: number): string {
  return n >= 1_000_000 ? `${+(n / 1_000_000).toFixed(1)}M` : n >= 1000 ? `${+(n / 1000).toFixed(1)}k` : String(n);
}

function dollars(usd: number): string {
  return `$${usd.toFixed(2)}`;
}
