import { create } from 'zustand';
import type { WireEvent } from '../../../preload/contract';
import { CHAIN_KINDS, ChainForest, chainNodes, isChainKind } from '../../../main/core/audit/chain-tree';
import { api } from '../lib/api';

/** Tasks the chain view keeps in memory; beyond it the oldest finished chains are forgotten whole. */
const MAX_TASKS = 5000;
/** Pages of the trail read for one chain (5,000 records each). */
const MAX_PAGES = 40;
/** Tasks of one chain whose MCP servers are looked up in the trail (one query each). */
const MAX_SERVED = 50;

/**
 * Every delegation chain this window has seen: the engine pushes every task's events (children's
 * too), so a chain grows live; a chain from before the window opened is read from the trail once.
 */
const forest = new ChainForest({ maxTasks: MAX_TASKS });
const loaded = new Set<string>();
/** Each task's first event that arrived live: the trail is read only for what came before it (nothing counted twice). */
const firstLive = new Map<string, number>();

interface ChainsState {
  /** Bumped whenever the forest changed: chain views re-read it. */
  version: number;
  forest: ChainForest;
  ingest(events: WireEvent[]): void;
  /** Reads the chain `task` is on from the trail (once per chain). */
  load(task: string): Promise<void>;
}

export const useChainsStore = create<ChainsState>()((set, get) => ({
  version: 0,
  forest,

  ingest(events) {
    const relevant = events.filter((e) => isChainKind(e.kind));
    if (relevant.length === 0) return;
    for (const event of relevant) {
      if (firstLive.has(event.task)) continue;
      firstLive.set(event.task, event.seq);
      if (firstLive.size > 2 * MAX_TASKS) firstLive.delete(firstLive.keys().next().value!);
    }
    forest.add(relevant);
    set({ version: get().version + 1 });
  },

  async load(task) {
    // Any of the task's records names the chain above it; every record of the chain names its root.
    const first = (await api.audit.query({ task, kinds: [...CHAIN_KINDS], order: 'asc', limit: 1 })).records[0];
    const root = first?.chain?.[0] ?? task;
    if (loaded.has(root)) return;
    loaded.add(root);
    let cursor: string | undefined;
    // What arrived live is in the forest already: a record added twice would be a tool call or violation counted twice.
    const addEarlier = (records: WireEvent[]) => forest.add(records.filter((r) => r.seq < (firstLive.get(r.task) ?? Number.POSITIVE_INFINITY)));
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await api.audit.query({ text: root, kinds: [...CHAIN_KINDS], order: 'asc', limit: 5000, ...(cursor ? { cursor } : {}) });
      addEarlier(result.records);
      if (!result.next) break;
      cursor = result.next;
    }
    // An MCP server's task names the task it serves only in its task.created (no chain fields): found by that id, then read whole.
    const tree = forest.chainOf(root);
    const delegated = tree ? chainNodes(tree).filter((n) => n.task !== root && n.mcpServer === undefined).slice(0, MAX_SERVED) : [];
    for (const node of delegated) addEarlier((await api.audit.query({ text: node.task, kinds: ['task.created'], order: 'asc', limit: 100 })).records);
    const servers = forest.chainOf(root);
    for (const node of servers ? chainNodes(servers).filter((n) => n.mcpServer !== undefined).slice(0, MAX_SERVED) : []) {
      addEarlier((await api.audit.query({ task: node.task, kinds: [...CHAIN_KINDS], order: 'asc', limit: 1000 })).records);
    }
    set({ version: get().version + 1 });
  },
}));
