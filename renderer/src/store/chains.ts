import { create } from 'zustand';
import type { WireEvent } from '../../../preload/contract';
import { CHAIN_KINDS, ChainForest, isChainKind } from '../../../main/core/audit/chain-tree';
import { api } from '../lib/api';

/** Tasks the chain view keeps in memory; beyond it the oldest finished chains are forgotten whole. */
const MAX_TASKS = 5000;
/** Pages of the trail read for one chain (5,000 records each). */
const MAX_PAGES = 40;

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
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await api.audit.query({ text: root, kinds: [...CHAIN_KINDS], order: 'asc', limit: 5000, ...(cursor ? { cursor } : {}) });
      // What arrived live is in the forest already: a record added twice would be a tool call or violation counted twice.
      forest.add(result.records.filter((r) => r.seq < (firstLive.get(r.task) ?? Number.POSITIVE_INFINITY)));
      if (!result.next) break;
      cursor = result.next;
    }
    set({ version: get().version + 1 });
  },
}));
