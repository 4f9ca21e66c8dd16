// The chain's tree model (main/core/audit/chain-tree.ts) and its text (main/cli/tree-text.ts):
// events in any order make the same tree; a trail that claims a loop still makes a forest.
import { describe, expect, it } from 'vitest';
import { ChainForest, chainNodes, chainTotal, chainTree, stateText, type ChainEvent } from '../../main/core/audit/chain-tree.js';
import { treeText } from '../../main/cli/tree-text.js';
import { RAW_CONTROL } from '../adversarial/hostile-agent.js';

const id = (n: number) => `t_${String(n).padStart(26, '0')}`;
const [ROOT, CHILD, GRANDCHILD, SIBLING] = [id(1), id(2), id(3), id(4)];
let clock = 0;
const at = () => new Date(Date.UTC(2025, 0, 1) + (clock += 1000)).toISOString();

function ev(task: string, agent: string, kind: string, data: Record<string, unknown> = {}, more: Partial<ChainEvent> = {}, chain: string[] = []): ChainEvent {
  return { task, time: at(), kind, agent: { name: agent }, data, ...(chain.length > 0 ? { parent: chain.at(-1), chain } : {}), ...more };
}

/** support → billing → compliance, and a second child of support; grants, tool calls, spend and a violation. */
function chainEvents(): ChainEvent[] {
  clock = 0;
  return [
    ev(ROOT, 'support', 'task.created', { budget: { usd: 2, tokens: 200_000 } }),
    ev(ROOT, 'support', 'task.started'),
    ev(ROOT, 'support', 'cred.granted', { expiresAt: '2025-01-01T01:00:00.000Z' }, { identity: { grant: 'g1', credential: 'billing-api' } }),
    ev(CHILD, 'billing', 'task.created', {}, {}, [ROOT]),
    ev(CHILD, 'billing', 'task.started', {}, {}, [ROOT]),
    ev(CHILD, 'billing', 'mcp.call', { server: 'files', tool: 'read' }, { decision: { allow: true, rule: 'mcp:files:read' } }, [ROOT]),
    ev(CHILD, 'billing', 'mcp.call', { server: 'files', tool: 'rm' }, { decision: { allow: false, rule: 'mcp:files:rm' } }, [ROOT]),
    ev(CHILD, 'billing', 'model.usage', { totals: { task: { tokens: 1200, usd: 0.12, requests: 2 }, chain: { tokens: 1500, usd: 0.15, requests: 3 } } }, {}, [ROOT]),
    ev(GRANDCHILD, 'compliance', 'task.created', {}, {}, [ROOT, CHILD]),
    ev(GRANDCHILD, 'compliance', 'policy.violation', { rule: 'delegate.cycle', reason: 'support is already on the chain' }, {}, [ROOT, CHILD]),
    ev(GRANDCHILD, 'compliance', 'task.exited', { exitCode: 0 }, {}, [ROOT, CHILD]),
    ev(SIBLING, 'ledger', 'task.created', {}, {}, [ROOT]),
    ev(CHILD, 'billing', 'task.frozen', { reason: 'budget.usd' }, {}, [ROOT]),
    ev(ROOT, 'support', 'cred.revoked', {}, { identity: { grant: 'g1', credential: 'billing-api' } }),
    ev(ROOT, 'support', 'task.exited', { exitCode: 3 }),
  ];
}

const shape = (node: ReturnType<typeof chainTree>): unknown => node && { task: node.task, agent: node.agent, children: node.children.map(shape) };

describe('events → chain tree', () => {
  it('makes who started whom, with each task state, grants, tool calls, spend, budget and violations', () => {
    const tree = chainTree(chainEvents(), GRANDCHILD)!;
    expect(shape(tree)).toEqual({ task: ROOT, agent: 'support', children: [
      { task: CHILD, agent: 'billing', children: [{ task: GRANDCHILD, agent: 'compliance', children: [] }] },
      { task: SIBLING, agent: 'ledger', children: [] },
    ] });
    expect(tree).toMatchObject({ state: 'exited', exitCode: 3, budget: { usd: 2, tokens: 200_000 }, grants: [{ credential: 'billing-api', state: 'revoked' }] });
    const [billing, ledger] = tree.children;
    expect(billing).toMatchObject({ state: 'frozen', note: 'budget.usd', toolCalls: 2, toolCallsRefused: 1, spend: { tokens: 1200, usd: 0.12, requests: 2 }, chainSpend: { usd: 0.15 } });
    expect(billing!.children[0]).toMatchObject({ state: 'exited', exitCode: 0, violationCount: 1, violations: [{ rule: 'delegate.cycle', reason: 'support is already on the chain' }] });
    expect(ledger).toMatchObject({ state: 'starting', seen: true });
  });

  it('makes the same tree whatever order the events arrive in (a child before its parent is read)', () => {
    const events = chainEvents();
    const expected = chainTree(events, ROOT);
    expect(chainTree([...events].reverse(), ROOT)).toEqual(expected);
    // Live pushes first (the child's), then a backfill of the parent's trail.
    const forest = new ChainForest();
    forest.add(events.filter((e) => e.task === GRANDCHILD));
    expect(forest.chainOf(GRANDCHILD)).toMatchObject({ task: ROOT, seen: false, state: 'unknown', children: [{ task: CHILD, seen: false }] });
    forest.add(events.filter((e) => e.task !== GRANDCHILD));
    expect(forest.chainOf(GRANDCHILD)).toEqual(expected);
  });

  it('an end stays an end: a late task.started or task.resumed does not bring a task back', () => {
    const tree = chainTree([ev(ROOT, 'a', 'task.exited', { exitCode: 1 }), ev(ROOT, 'a', 'task.started'), ev(ROOT, 'a', 'task.resumed'), ev(ROOT, 'a', 'task.frozen', { reason: 'x' })], ROOT);
    expect(tree).toMatchObject({ state: 'exited', exitCode: 1 });
  });

  it('a trail that claims a loop (A under B, B under A) still makes a tree: the later claim is ignored', () => {
    const loop = [ev(CHILD, 'b', 'task.created', {}, {}, [ROOT]), ev(ROOT, 'a', 'task.created', {}, {}, [CHILD]), ev(ROOT, 'a', 'task.created', {}, {}, [GRANDCHILD, CHILD]), ev(ROOT, 'a', 'task.started', {}, { parent: ROOT, chain: [ROOT] })];
    const forest = new ChainForest();
    forest.add(loop);
    expect(forest.rootOf(CHILD)).toBe(forest.rootOf(ROOT));
    const tree = forest.chainOf(ROOT)!;
    expect(chainNodes(tree).map((n) => n.task).sort()).toEqual([ROOT, CHILD].sort());
    expect(treeText(tree, 0).split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('ignores what is not a task of a chain: engine-wide records, pool slots, other kinds, junk fields', () => {
    const forest = new ChainForest();
    forest.add([
      ev('-', 'airlock', 'audit.tamper'), ev(ROOT, 'a', 'proc.stdout', { line: 'x' }), ev(ROOT, 'a', 'task.created', { budget: { usd: -1, tokens: Number.NaN, requests: 'many' } }, { parent: 'not-a-task', chain: ['../x', 7 as unknown as string] }),
      ev(CHILD, 'b', 'model.usage', { totals: { task: { tokens: -5, usd: 'lots' } } }), ev(CHILD, 'b', 'policy.violation', { rule: 'x'.repeat(10_000), reason: { not: 'text' } }),
    ]);
    expect(forest.roots().sort()).toEqual([ROOT, CHILD].sort());
    expect(forest.tree(ROOT)!.parent).toBeUndefined();
    expect(forest.tree(ROOT)!.budget).toBeUndefined();
    const child = forest.tree(CHILD)!;
    expect(child.spend).toBeUndefined();
    expect(child.violations[0]!.rule).toHaveLength(500);
    expect(child.violations[0]!.reason).toBe('');
  });

  it('1000 tasks: a wide and deep chain is built and drawn in well under a second; the forest keeps to its bound', () => {
    const events: ChainEvent[] = [];
    const lineage: string[] = [];
    for (let n = 1; n <= 1000; n++) {
      const task = id(n);
      // Every tenth task goes deeper; the others fan out under the current deepest.
      events.push(ev(task, `agent-${n}`, 'task.created', {}, {}, [...lineage]), ev(task, `agent-${n}`, 'task.started', {}, {}, [...lineage]), ev(task, `agent-${n}`, 'mcp.call', {}, {}, [...lineage]));
      if (n % 10 === 1) lineage.push(task);
    }
    const started = performance.now();
    const tree = chainTree(events, id(1000))!;
    const text = treeText(tree, 0);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(chainNodes(tree)).toHaveLength(1000);
    expect(text.split('\n').filter(Boolean)).toHaveLength(1000);
    expect(text).toContain('… (depth 40)'); // deep guides are cut, not grown

    const bounded = new ChainForest({ maxTasks: 50 });
    for (let n = 2001; n <= 2100; n++) bounded.add([ev(id(n), 'solo', 'task.created'), ev(id(n), 'solo', 'task.exited', { exitCode: 0 })]);
    expect(bounded.size).toBe(50);
    expect(bounded.has(id(2100))).toBe(true);
    expect(bounded.has(id(2001))).toBe(false);
  });
});

describe('the tree as text', () => {
  it('draws ├─ └─ guides, one line per task, violations beneath their task', () => {
    const text = treeText(chainTree(chainEvents(), ROOT)!, Date.parse('2025-01-01T00:30:00.000Z'));
    expect(text).toBe([
      `support ${ROOT} · exited 3 · ⚷ billing-api revoked · 0 of 200k tokens, $0.00 of $2.00`,
      `├─ billing ${CHILD} · frozen: budget.usd · 2 tool calls (1 refused) · 1.2k tokens, $0.12, 2 requests`,
      `│  └─ compliance ${GRANDCHILD} · exited 0 · 1 violation`,
      '│        ⚠ delegate.cycle: support is already on the chain',
      `└─ ledger ${SIBLING} · starting`,
      '',
    ].join('\n'));
  });

  it("an agent's text cannot forge a line of the tree: newlines and controls show as escapes", () => {
    clock = 0;
    const forged = `x\n└─ admin ${SIBLING} · exited 0\u001b[2J\u202e`;
    const text = treeText(chainTree([ev(ROOT, 'a', 'task.created'), ev(ROOT, 'a', 'policy.violation', { rule: 'delegate.allow', reason: forged })], ROOT)!, 0);
    expect(text.split('\n').filter(Boolean)).toHaveLength(2);
    expect(text).toContain('x\\n└─ admin');
    expect(text).not.toMatch(RAW_CONTROL);
  });

  it("an MCP server's task hangs under the task it serves, and is ended when its sandbox is gone", () => {
    clock = 0;
    const [SERVER, OTHER] = [id(8), id(9)];
    const events = [
      ev(SERVER, 'mcp-files', 'task.created', { mcp: { server: 'files', for: CHILD } }),
      ...chainEvents(),
      ev(SERVER, 'mcp-files', 'task.started'),
      // A `for` that is not a task id links nothing.
      ev(OTHER, 'mcp-x', 'task.created', { mcp: { server: 'x', for: '../t_1' } }),
    ];
    const tree = chainTree(events, SERVER)!;
    expect(tree.task).toBe(ROOT);
    const server = chainNodes(tree).find((n) => n.task === SERVER)!;
    expect(server).toMatchObject({ parent: CHILD, mcpServer: 'files', state: 'running' });
    expect(chainTree(events, OTHER)!.task).toBe(OTHER);
    const ended = chainNodes(chainTree([...events, ev(SERVER, 'mcp-files', 'task.destroyed')], ROOT)!).find((n) => n.task === SERVER)!;
    expect(stateText(ended)).toBe('ended');
  });

  it("the chain's total is the largest chain total any of its tasks saw", () => {
    const tree = chainTree(chainEvents(), ROOT)!;
    expect(tree.spend).toBeUndefined();
    expect(chainTotal(tree)).toEqual({ tokens: 1500, usd: 0.15, requests: 3 });
  });
});
