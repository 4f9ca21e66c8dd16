import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../main/core/audit/bus.js';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { CredentialStore } from '../../main/core/credentials/store.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { homeLayout } from '../../main/core/home.js';
import { DelegationTree } from '../../main/core/tasks/delegation.js';
import { LiveTasks } from '../../main/core/tasks/live-tasks.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { REPO, specFrom, tempDir } from '../helpers/env.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeEngine, type EngineStep } from '../helpers/fake-engine.js';
import { MemorySecrets } from '../helpers/memory-secrets.js';

// Every phase of a task's start registers its undo as soon as what it made exists; whichever step
// fails, exactly what was made is taken down, newest first, and nothing of the task outlives it
// (no container, no volume, no gateway policy, no delegation node, no decoy file, no grant whose
// timer later fires an event for a task that is gone).

const MANIFEST = `
name: phases
command: ["sh", "-c", "true"]
inputs: [ { from: ./data, to: /workspace/in } ]
outputs: [ /workspace/out ]
network: { mode: allowlist, allow: [api.vendor.test] }
credentials: [ { name: vendor-api, ttl: 5m, env: VENDOR_TOKEN } ]
decoys: { env: [AWS_SECRET_ACCESS_KEY], files: [/workspace/.aws/credentials] }
`;

function setup() {
  const root = tempDir();
  fs.mkdirSync(path.join(root, 'data'));
  fs.writeFileSync(path.join(root, 'data', 'a.txt'), 'a');
  const home = homeLayout(path.join(root, 'home'));
  const clock = new FakeClock();
  const bus = new EventBus(clock);
  const events: AirlockEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const engine = new FakeEngine();
  const gateway = new Gateway({ bus, clock });
  const removeTask = vi.spyOn(gateway, 'removeTask');
  const credentials = new CredentialStore(home.root, new MemorySecrets());
  credentials.add({ name: 'vendor-api', secret: 'teardown-secret', hosts: ['api.vendor.test'] });
  const delegation = new DelegationTree(clock);
  const live = new LiveTasks();
  const runner = new TaskRunner({ engine: engine.asEngine(), bus, clock, home, gateway, credentials, delegation, live, assetsDir: path.join(REPO, 'assets') });
  return { root, home, clock, events, engine, gateway, removeTask, delegation, live, runner };
}

/** After the task: nothing of it is left anywhere, and its timers can fire no event. */
function expectNothingLeft(s: ReturnType<typeof setup>, task: string) {
  expect([...s.engine.containers.keys()]).toEqual([]);
  expect([...s.engine.volumes]).toEqual([]);
  expect(s.delegation.admit(task, 'any')).toMatchObject({ ok: false, rule: 'delegate.parent' });
  expect(s.live.list()).toEqual([]);
  expect(fs.existsSync(path.join(s.home.task(task), 'decoys'))).toBe(false);
  const before = s.events.length;
  s.clock.advance(60 * 60_000); // past every grant's expiry: a leaked grant would say cred.expired now
  expect(s.events.slice(before)).toEqual([]);
  expect(s.clock.pending).toBe(0);
}

const AFTER_AGENT = ['removed agent', 'removed sidecar', 'removed volume workspace', 'removed volume certs'];
const STEPS: [EngineStep, string[]][] = [
  ['create sidecar', []],
  ['attach sidecar', ['removed sidecar', 'removed volume workspace']],
  ['start sidecar', AFTER_AGENT],
  ['create agent', ['removed sidecar', 'removed volume workspace']],
  ['seed workspace', AFTER_AGENT],
  ['trust CA', AFTER_AGENT],
  ['attach agent', AFTER_AGENT],
  ['start agent', AFTER_AGENT],
  ['wait', AFTER_AGENT],
  ['collect', AFTER_AGENT],
];

describe('a task\'s start, undone at every failure point', () => {
  it.each(STEPS)('the engine failing at "%s": the task is aborted and everything made so far is removed, newest first', async (step, removals) => {
    const s = setup();
    s.engine.failing = step;
    await expect(s.runner.run(specFrom(s.root, MANIFEST))).rejects.toThrow(/injected failure/);
    const task = s.events[0]!.task;
    const kinds = s.events.map((e) => e.kind);
    expect(kinds).toContain('task.aborted');
    // Containers and volumes went newest first; then the gateway policy; the grants last of all.
    expect(s.engine.log.filter((l) => l.startsWith('removed'))).toEqual(removals);
    expect(s.removeTask).toHaveBeenCalledWith(task);
    expect(kinds.indexOf('cred.revoked')).toBeGreaterThan(kinds.indexOf('task.aborted'));
    expect(kinds.at(-1)).toBe('task.destroyed');
    expectNothingLeft(s, task);
  });

  it('the sidecar seeing more than loopback refuses the task, and everything is removed', async () => {
    const s = setup();
    s.engine.interfaces = ['eth0', 'lo'];
    await expect(s.runner.run(specFrom(s.root, MANIFEST))).rejects.toMatchObject({ code: 'policy_refused', message: expect.stringMatching(/not isolated.*eth0/) });
    expectNothingLeft(s, s.events[0]!.task);
  });

  it('a refusal after the grants were opened (env delivery without a command) revokes them: no cred.expired later', async () => {
    const s = setup();
    const manifest = MANIFEST.replace('command: ["sh", "-c", "true"]\n', '').replace('{ name: vendor-api, ttl: 5m, env: VENDOR_TOKEN }', '{ name: vendor-api, ttl: 5m, env: VENDOR_TOKEN, delivery: env }');
    await expect(s.runner.run(specFrom(s.root, manifest))).rejects.toMatchObject({ code: 'bad_manifest' });
    const task = s.events[0]!.task;
    expect(s.events.map((e) => e.kind)).toEqual(['task.created', 'cred.granted', 'task.aborted', 'cred.revoked']);
    expect(s.engine.log).toEqual([]);
    expectNothingLeft(s, task);
  });

  it('a task that runs to its end leaves nothing either, and its undo ran in reverse order', async () => {
    const s = setup();
    const outcome = await s.runner.run(specFrom(s.root, MANIFEST));
    expect(outcome).toMatchObject({ status: 'exited', exitCode: 0 });
    expect(s.engine.log).toEqual(['created sidecar', 'created agent', 'removed agent', 'removed sidecar', 'removed volume workspace', 'removed volume certs']);
    const kinds = s.events.map((e) => e.kind);
    expect(kinds.slice(-2)).toEqual(['cred.revoked', 'task.destroyed']);
    expect(s.events.at(-1)?.data.removed).toEqual({ containers: 2, volumes: 2 });
    expectNothingLeft(s, outcome.task);
  });
});
