// `airlock log --tree [<task>]`: a delegation chain as a tree, read from the audit trail.
import { CHAIN_KINDS, ChainForest, type ChainEvent } from '../../core/audit/chain-tree.js';
import { AirlockError } from '../../core/errors.js';
import type { EngineClient } from '../../core/server/client.js';
import type { AuditQueryRequest } from '../../core/service/types.js';
import { out, outJson } from '../stdout.js';
import { treeText } from '../tree-text.js';

/** Records per audit.query page (the engine answers at most 5,000). */
const PAGE = 1000;
/** Without a task: the chains of at most this many of the newest root tasks. */
const MAX_TREES = 20;

type Query = Omit<AuditQueryRequest, 'limit' | 'cursor' | 'order'>;

export async function logTree(client: EngineClient, task: string | undefined, options: { json: boolean; limit: number }): Promise<void> {
  const forest = new ChainForest();
  let roots: string[];
  if (task) {
    // Any of the task's records names the chain above it: its root is the chain's first task.
    const first = (await client.call('audit.query', { task, kinds: [...CHAIN_KINDS], order: 'asc', limit: 1 })).records[0];
    if (!first) throw new AirlockError('not_found', `no events for task ${task}`, 'see `airlock log` for recent tasks');
    const root = first.chain?.[0] ?? task;
    // Every record of the chain names its root: the root's own (its task) and its descendants' (their chain).
    await readAll(client, { text: root, kinds: [...CHAIN_KINDS] }, forest);
    roots = [forest.rootOf(root)];
  } else {
    const created = await client.call('audit.query', { kinds: ['task.created'], order: 'desc', limit: Math.min(5000, Math.max(1, options.limit)) });
    const newest: string[] = [];
    let since: string | undefined;
    for (const record of created.records) {
      const root = record.chain?.[0] ?? record.task;
      if (!newest.includes(root)) {
        if (newest.length === MAX_TREES) break;
        newest.push(root);
      }
      // A root starts before its descendants: from the oldest root's start on, the trail holds them all.
      if (since === undefined || record.time < since) since = record.time;
    }
    if (newest.length === 0) {
      if (!options.json) out('no tasks in the trail yet\n');
      return;
    }
    await readAll(client, { kinds: [...CHAIN_KINDS], ...(since ? { since } : {}) }, forest);
    roots = newest.filter((root) => forest.has(root));
  }
  const now = Date.now();
  for (const root of roots) {
    const tree = forest.tree(root);
    if (!tree) continue;
    if (options.json) outJson(tree);
    else out(treeText(tree, now));
  }
}

async function readAll(client: EngineClient, query: Query, forest: ChainForest): Promise<void> {
  let cursor: string | undefined;
  for (;;) {
    const page = await client.call('audit.query', { ...query, order: 'asc', limit: PAGE, ...(cursor !== undefined ? { cursor } : {}) });
    forest.add(page.records as ChainEvent[]);
    if (!page.next) return;
    cursor = page.next;
  }
}
