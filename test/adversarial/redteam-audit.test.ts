/**
 * Red team: the audit trail. A hostile agent in a real sandbox, run through the built CLI, sends
 * one action record that is valid JSON but that the trail's canonical JSON (RFC 8785, which the
 * record hashes are made over) refuses to serialise: a lone surrogate ("\ud800") or a number
 * that parses as Infinity (1e999). Expected: the record is refused (400) or stored in a form the
 * trail can hold; the task carries on; every event of it is in the trail. Fails on issue 12's
 * code: the poisoned record stays in the writer's queue, every commit fails with it, Airlock
 * stops the task for an "unwritable" trail, and the events queued with it are never written.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { approve, runCli, tempDir, type CliResult } from '../helpers/env.js';
import { hostileAgent } from './hostile-agent.js';

const dir = tempDir('airlock-redteam-audit-');
const home = path.join(dir, 'home');
let run: CliResult;
let live: AirlockEvent[];

beforeAll(async () => {
  const manifest = hostileAgent(dir, { name: 'audit-poisoner', script: 'audit-poison.mjs', more: ['network: { mode: allowlist, allow: [nothing.test] }'] });
  approve(manifest, home);
  run = await runCli(['run', manifest, '--json'], { env: { AIRLOCK_HOME: home } });
  live = run.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as AirlockEvent);
}, 120_000);

describe('red team: an action record the trail cannot serialise', () => {
  it('does not stop the task: the agent runs to its end and exits 0', () => {
    const lines = live.filter((e) => e.kind === 'proc.stdout').map((e) => String(e.data.line));
    expect(lines).toContain('still here');
    expect(live.find((e) => e.kind === 'policy.violation')?.data).toBeUndefined();
    expect(run.stderr).not.toMatch(/could not be written/);
    expect(run.code).toBe(0);
  });

  it('does not make the task run unrecorded: everything shown live is in the trail', async () => {
    const task = live[0]!.task;
    const log = await runCli(['log', task, '--json'], { env: { AIRLOCK_HOME: home } });
    const stored = log.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as AirlockEvent);
    expect(stored.map((e) => e.kind)).toContain('task.started');
    expect(stored.filter((e) => e.kind === 'proc.stdout').map((e) => e.data.line)).toContain('before the poison');
    expect(stored.at(-1)?.kind).toBe('task.destroyed');
    expect(stored.length).toBe(live.length);
  });
});
