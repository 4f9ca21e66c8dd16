import { useEffect, useState } from 'react';
import { chainTotal, isEnded, spendText, stateText, type ChainNode } from '../../../main/core/audit/chain-tree';
import type { IpcError } from '../../../preload/contract';
import { Badge, ErrorPanel, type BadgeTone } from '../components/common';
import { Grants } from '../components/Grants';
import { useNow } from '../components/useNow';
import { describeError } from '../lib/api';
import { navigate } from '../lib/route';
import { useChainsStore } from '../store/chains';

/**
 * The delegation chain this task is on, as a live tree: who started whom, each task's state, its
 * grants counting down, its tool calls, its spend against its budget and its violations. Clicking
 * a task opens it. Everything shown came through api.ts (made visible) and React (never markup).
 */
export function ChainTab({ task }: { task: string }) {
  const version = useChainsStore((s) => s.version);
  const forest = useChainsStore((s) => s.forest);
  const load = useChainsStore((s) => s.load);
  const [error, setError] = useState<IpcError | null>(null);
  useEffect(() => {
    load(task).catch((e: unknown) => setError(describeError(e)));
  }, [task, load]);
  void version; // re-rendered by the store on every change of the forest
  const tree = forest.chainOf(task);
  const running = tree !== undefined && hasRunning(tree);
  const now = useNow(1000, running);
  const total = tree && tree.children.some((child) => child.mcpServer === undefined) ? chainTotal(tree) : undefined;
  const totalText = total && spendText(total, tree?.budget);
  return (
    <div className="chain-view" data-chain>
      {error && <ErrorPanel error={error} title="Could not read the chain from the audit trail" />}
      {totalText && <p className="chain-total">The whole chain spent <span data-chain-total>{totalText}</span></p>}
      {tree ? (
        <ul className="chain-tree" role="tree" aria-label="Delegation chain">
          <ChainItem node={tree} current={task} now={now} />
        </ul>
      ) : <p className="muted">Reading the chain from the audit trail…</p>}
    </div>
  );
}

function ChainItem({ node, current, now }: { node: ChainNode; current: string; now: number }) {
  const spend = spendText(node.spend, node.budget);
  const over = node.budget?.usd !== undefined && (node.spend?.usd ?? 0) >= node.budget.usd;
  return (
    <li role="treeitem" aria-expanded={node.children.length > 0 ? true : undefined} aria-selected={node.task === current} data-chain-task={node.task}>
      <button type="button" className={node.task === current ? 'chain-node current' : 'chain-node'} aria-current={node.task === current ? 'page' : undefined}
        onClick={() => navigate({ screen: 'task', task: node.task })}>
        <strong>{node.agent}</strong>
        {node.mcpServer !== undefined && <span className="muted small" data-mcp-server>MCP server {node.mcpServer}</span>}
        <code className="muted small">{node.task}</code>
        <Badge tone={stateTone(node)}><span data-chain-state>{stateText(node)}</span></Badge>
        {node.toolCalls > 0 && <span className="muted small" data-tool-calls>{node.toolCalls} tool call{node.toolCalls === 1 ? '' : 's'}{node.toolCallsRefused > 0 ? ` (${node.toolCallsRefused} refused)` : ''}</span>}
        {spend && <span className={over ? 'chain-spend over' : 'chain-spend'} data-spend>{spend}</span>}
        {node.violationCount > 0 && <Badge tone="bad">{node.violationCount} violation{node.violationCount === 1 ? '' : 's'}</Badge>}
      </button>
      {node.grants.length > 0 && <div className="chain-detail"><Grants grants={node.grants} now={now} /></div>}
      {node.violations.length > 0 && (
        <ul className="chain-violations">
          {node.violations.map((v, i) => <li key={`${v.time}-${i}`} className="small"><span className="mono">{v.rule}</span>{v.reason ? `: ${v.reason}` : ''}</li>)}
        </ul>
      )}
      {node.children.length > 0 && (
        <ul role="group">
          {node.children.map((child) => <ChainItem key={child.task} node={child} current={current} now={now} />)}
        </ul>
      )}
    </li>
  );
}

function stateTone(node: ChainNode): BadgeTone {
  if (node.state === 'frozen' || node.state === 'stopped' || node.state === 'aborted' || node.state === 'timeout') return 'bad';
  if (node.state === 'exited') return node.exitCode === 0 ? 'ok' : 'bad';
  if (node.state === 'cancelled') return 'warn';
  return node.state === 'unknown' || node.state === 'ended' ? 'muted' : 'info';
}

function hasRunning(node: ChainNode): boolean {
  const stack = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (!isEnded(n.state) || n.grants.some((g) => g.state === 'active')) return true;
    stack.push(...n.children);
  }
  return false;
}
