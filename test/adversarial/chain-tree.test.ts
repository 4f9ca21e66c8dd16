/**
 * `airlock log --tree` over a real delegation chain, run through the built CLI: chain-boss starts
 * chain-worker, which starts chain-helper. chain-boss is hostile: before its real child it asks to
 * start an "agent" whose name is a newline, a tree guide and a task that never ran, with a
 * clipboard-writing escape and a bidi override. Airlock refuses it (a delegate.allow violation
 * quoting the name); the tree still shows exactly three tasks, the refusal on one line beneath its
 * task with every control shown as an escape, and the same chain from any of its tasks; `--json`
 * keeps the agent's true string.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import type { ChainNode } from '../../main/core/audit/chain-tree.js';
import { approve, runCli, tempDir, type CliResult } from '../helpers/env.js';
import { hostileAgent, RAW_CONTROL } from './hostile-agent.js';

const FORGED = 'x\n└─ admin t_00000000000000000000000000 · exited 0\u001b]52;c;aGk=\u0007\u202e';
const dir = tempDir('airlock-chain-tree-');
const home = path.join(dir, 'home');
const start = (agent: string) => `curl -s -X POST -H 'content-type: application/json' -d '{"agent":"${agent}","input":{}}' http://airlock.internal/v1/tasks`;
let run: CliResult;
let ids: { boss: string; worker: string; helper: string };

function manifest(name: string, yaml: string[]): string {
  const sub = path.join(dir, name);
  fs.mkdirSync(sub, { recursive: true });
  fs.writeFileSync(path.join(sub, 'agent.yaml'), [`name: ${name}`, ...yaml].join('\n'));
  return path.join(sub, 'agent.yaml');
}

beforeAll(async () => {
  const helper = manifest('chain-helper', ['command: ["sh", "-c", "echo helped"]', 'network: { mode: none }']);
  const worker = manifest('chain-worker', [`command: ["sh", "-c", ${JSON.stringify(start('chain-helper'))}]`, 'network: { mode: allowlist }', 'delegate: { allow: [chain-helper], maxDepth: 2 }']);
  fs.mkdirSync(path.join(dir, 'boss'));
  const boss = hostileAgent(path.join(dir, 'boss'), { name: 'chain-boss', script: 'chain-forger.mjs', more: ['network: { mode: allowlist }', 'delegate: { allow: [chain-worker], maxDepth: 3, maxTasks: 4 }'] });
  // Leaves first: an approval pins the agents a manifest may start as they are approved at that moment.
  for (const file of [helper, worker, boss]) approve(file, home);
  run = await runCli(['run', boss, '--json'], { env: { AIRLOCK_HOME: home } });
  const created = run.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as AirlockEvent).filter((e) => e.kind === 'task.created');
  const byAgent = (name: string) => created.find((e) => e.agent.name === name)!.task;
  ids = { boss: byAgent('chain-boss'), worker: byAgent('chain-worker'), helper: byAgent('chain-helper') };
}, 180_000);

describe('airlock log --tree over a real delegation chain with a hostile agent in it', () => {
  it('prints who started whom, one line per task, the refusal on one line beneath its task, escaped', async () => {
    expect(run.code).toBe(0);
    const tree = await runCli(['log', '--tree', ids.boss], { env: { AIRLOCK_HOME: home } });
    expect(tree.code).toBe(0);
    const lines = tree.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe(`chain-boss ${ids.boss} · exited 0 · 1 violation`);
    expect(lines[1]).toBe('│  ⚠ delegate.allow: chain-boss may not start x\\n└─ admin t_00000000000000000000000000 · exited 0\\u001b]52;c;aGk=\\u0007\\u202e (its delegate.allow: chain-worker)');
    expect(lines[2]).toBe(`└─ chain-worker ${ids.worker} · exited 0`);
    expect(lines[3]).toBe(`   └─ chain-helper ${ids.helper} · exited 0`);
    expect(tree.stdout).not.toMatch(RAW_CONTROL);
    // The agent's forged task is text inside the refusal, never a node of its own.
    expect(lines.filter((line) => line.includes('admin'))).toHaveLength(1);
  });

  it('shows the same whole chain from any task on it, and as JSON with the true strings', async () => {
    const fromLeaf = await runCli(['log', '--tree', ids.helper], { env: { AIRLOCK_HOME: home } });
    const fromRoot = await runCli(['log', '--tree', ids.boss], { env: { AIRLOCK_HOME: home } });
    expect(fromLeaf.stdout).toBe(fromRoot.stdout);
    const json = await runCli(['log', '--tree', ids.worker, '--json'], { env: { AIRLOCK_HOME: home } });
    expect(json.stdout).not.toMatch(RAW_CONTROL);
    const tree = JSON.parse(json.stdout) as ChainNode;
    expect(tree).toMatchObject({ task: ids.boss, agent: 'chain-boss', state: 'exited', exitCode: 0, violations: [{ rule: 'delegate.allow', reason: `chain-boss may not start ${FORGED} (its delegate.allow: chain-worker)` }] });
    expect(tree.children.map((c) => [c.agent, c.children.map((g) => g.agent)])).toEqual([['chain-worker', ['chain-helper']]]);
    // Without a task: the newest chains, this one among them, as trees.
    const all = await runCli(['log', '--tree'], { env: { AIRLOCK_HOME: home } });
    expect(all.stdout).toBe(fromRoot.stdout);
    const none = await runCli(['log', '--tree', 't_0000000000000000000000000z'], { env: { AIRLOCK_HOME: home } });
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/no events for task/);
  });
});
