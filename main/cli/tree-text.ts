// `airlock log --tree` as text: one line per task under ├─ └─ guides, its violations beneath it.
// Every string of the tree is made inert first: a reason an agent wrote (a delegation request names
// any agent it likes) can carry no newline to forge a line of the tree, and no control character.
import { spendText, stateText, type ChainGrant, type ChainNode } from '../core/audit/chain-tree.js';
import { inertDeep } from './terminal-text.js';

/** Deeper than this, a node's guides are cut to `… (depth N)`: a hand-edited trail cannot make lines grow with depth. */
const MAX_GUIDES = 32;

export function treeText(tree: ChainNode, now: number): string {
  const root = inertDeep(tree);
  const lines: string[] = [];
  // Iterative (no recursion): each entry carries the guides drawn to its left.
  const stack: { node: ChainNode; guides: string; last: boolean; depth: number }[] = [{ node: root, guides: '', last: true, depth: 0 }];
  while (stack.length > 0) {
    const { node, guides, last, depth } = stack.pop()!;
    const deep = depth > MAX_GUIDES;
    const branch = depth === 0 ? '' : deep ? `… (depth ${depth}) ${last ? '└─ ' : '├─ '}` : `${guides}${last ? '└─ ' : '├─ '}`;
    const below = depth === 0 ? '' : deep ? '… ' : `${guides}${last ? '   ' : '│  '}`;
    lines.push(`${branch}${nodeLine(node, now)}`);
    const detail = `${below}${node.children.length > 0 ? '│  ' : '   '}`;
    if (node.violationCount > node.violations.length) lines.push(`${detail}⚠ … ${node.violationCount - node.violations.length} earlier violation(s)`);
    for (const v of node.violations) lines.push(`${detail}⚠ ${v.rule}${v.reason ? `: ${v.reason}` : ''}`);
    for (let i = node.children.length - 1; i >= 0; i--) stack.push({ node: node.children[i]!, guides: below, last: i === node.children.length - 1, depth: depth + 1 });
  }
  return `${lines.join('\n')}\n`;
}

/** `support t_… · exited 0 · ⚷ billing-api revoked · 3 tool calls · 1.2k tokens, $0.12 of $2 · 1 violation` */
export function nodeLine(node: ChainNode, now: number): string {
  const parts = [`${node.agent} ${node.task}`, stateText(node)];
  if (node.grants.length > 0) parts.push(node.grants.map((g) => `⚷ ${g.credential} ${grantText(g, now)}`).join(', '));
  if (node.toolCalls > 0) parts.push(`${node.toolCalls} tool call${node.toolCalls === 1 ? '' : 's'}${node.toolCallsRefused > 0 ? ` (${node.toolCallsRefused} refused)` : ''}`);
  const spend = spendText(node.spend, node.budget);
  if (spend) parts.push(spend);
  if (node.violationCount > 0) parts.push(`${node.violationCount} violation${node.violationCount === 1 ? '' : 's'}`);
  return parts.join(' · ');
}

function grantText(grant: ChainGrant, now: number): string {
  if (grant.state !== 'active') return grant.state;
  const left = Date.parse(grant.expiresAt) - now;
  if (!(left > 0)) return 'expired';
  const minutes = Math.floor(left / 60_000);
  return minutes >= 60 ? `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m left` : `${minutes}m${String(Math.floor((left % 60_000) / 1000)).padStart(2, '0')}s left`;
}
