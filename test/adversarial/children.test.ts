import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../main/core/clock.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { loadManifestFile } from '../../main/core/policy/manifest.js';
import { AgentRegistry } from '../../main/core/policy/registry.js';
import { DelegationTree } from '../../main/core/tasks/delegation.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { harness, REPO, specFrom } from '../helpers/env.js';

// A child task never outlives its parent: a parent that starts a long child and then exits (or
// times out, or is stopped) takes the child down with it, before its own sandbox is gone.

function setup(child: string) {
  const h = harness();
  const registry = new AgentRegistry(h.home.root, path.join(REPO, 'assets'));
  const file = path.join(h.root, 'lingerer.yaml');
  fs.writeFileSync(file, child);
  registry.approve(loadManifestFile(file), 'test');
  const gateway = new Gateway({ bus: h.bus, clock: systemClock, resolve: async () => { throw new Error('no DNS in tests'); } });
  const runner = new TaskRunner({
    engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir: path.join(REPO, 'assets'),
    agents: registry, delegation: new DelegationTree(systemClock),
  });
  return { ...h, runner, gateway, registry };
}

const start = `curl -s -X POST -H 'content-type: application/json' -d '{"agent":"lingerer"}' http://airlock.internal/v1/tasks >/dev/null &`;

describe('children end with their parent', () => {
  it.each([
    ['exits', `${start} sleep 3; echo parent done`, ''],
    ['times out', `${start} sleep 120`, 'timeout: 3s\n'],
  ])('a parent that %s while its child runs stops the child first, with the reason', async (_how, parentScript, extra) => {
    const s = setup('name: lingerer\ncommand: ["sh", "-c", "echo child up; sleep 120; echo child never"]\n');
    const started = Date.now();
    const spec = specFrom(s.root, `name: parent\ncommand: ["sh", "-c", ${JSON.stringify(parentScript)}]\nnetwork: { mode: allowlist }\ndelegate: { allow: [lingerer] }\n${extra}`);
    s.registry.approve(loadManifestFile(path.join(s.root, 'agent.yaml')), 'test'); // pins lingerer, approved above
    const outcome = await s.runner.run(spec);
    expect(Date.now() - started).toBeLessThan(30_000);
    const child = s.events.find((e) => e.kind === 'task.created' && e.agent.name === 'lingerer')!.task;
    const childEnd = s.events.find((e) => e.task === child && e.kind === 'task.stopped');
    expect(childEnd?.data.reason).toBe('its parent task ended');
    expect(s.events.filter((e) => e.task === child && e.kind === 'proc.stdout').map((e) => e.data.line)).toEqual(['child up']);
    // The child was gone before the parent's own sandbox was.
    const childDestroyed = s.events.findIndex((e) => e.task === child && e.kind === 'task.destroyed');
    const parentDestroyed = s.events.findIndex((e) => e.task === outcome.task && e.kind === 'task.destroyed');
    expect(childDestroyed).toBeGreaterThan(-1);
    expect(childDestroyed).toBeLessThan(parentDestroyed);
    const left = await listTaskObjects(s.engine);
    expect(left.find((t) => t.task === child || t.task === outcome.task)).toBeUndefined();
    await s.gateway.close();
  }, 60_000);
});
