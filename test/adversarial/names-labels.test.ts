import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditStore } from '../../main/core/audit/store.js';
import { openHeadSigner, recordBusInTrail } from '../../main/core/audit/trail.js';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { systemClock } from '../../main/core/clock.js';
import { isAirlockError } from '../../main/core/errors.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { allowHostAlways, approveAgent, type ApprovalRecorder } from '../../main/core/policy/approval.js';
import { loadManifestFile } from '../../main/core/policy/manifest.js';
import { AgentRegistry } from '../../main/core/policy/registry.js';
import { DelegationTree } from '../../main/core/tasks/delegation.js';
import { newTaskId } from '../../main/core/tasks/ids.js';
import { reapLeftovers } from '../../main/core/tasks/reaper.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { AgentRegistry as AppAgents } from '../../main/core/service/agents.js';
import { harness, REPO, runCli, specFrom, waitFor } from '../helpers/env.js';

// Names and labels are claims until Airlock checks them: a third-party manifest cannot take a
// built-in's name or silently take another approved agent's, a file approved later under a
// delegate's name never joins a chain pinned before, and a container with forged airlock.* labels
// is neither removed, nor shown as a task, nor hidden from the shadow scan.

/**
 * A test's AIRLOCK_HOME with a real audit trail on disk that records the bus, signed with the
 * keychain's key as the CLI's is: the CLI processes these tests start write to the same trail.
 */
function recorded() {
  const h = harness();
  const store = new AuditStore({ dir: h.home.audit, signer: openHeadSigner(new Keychain()) });
  recordBusInTrail(h.bus, store);
  const registry = new AgentRegistry(h.home.root, path.join(REPO, 'assets'));
  const recorder: ApprovalRecorder = { registry, bus: h.bus, trail: () => store };
  const write = (name: string, yaml: string) => {
    const file = path.join(h.root, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, yaml);
    return loadManifestFile(file);
  };
  return { ...h, store, registry, recorder, write };
}

async function refusal(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(isAirlockError(error)).toBe(true);
  return error as Error;
}

describe('agent names', () => {
  it('a manifest named like a built-in cannot be approved, and the name keeps meaning the built-in', async () => {
    const s = recorded();
    const builtIn = s.registry.fileOf('compliance');
    const impostor = s.write('evil/compliance.yaml', 'name: compliance\ncommand: ["sh", "-c", "echo pwned"]\nnetwork: { mode: none }\n');
    expect((await refusal(approveAgent(s.recorder, impostor, 'tester', undefined, { replaces: s.registry.replaced(impostor)?.digest }))).message).toMatch(/name of a built-in agent/);
    expect(() => s.registry.approve(impostor, 'tester')).toThrow(/name of a built-in agent/);
    expect(s.registry.fileOf('compliance')).toBe(builtIn);
    expect(s.registry.stateOf(impostor)).toBe('unapproved');
    // An approvals file from before names were reserved (v1) holding the impostor: it never counts.
    fs.writeFileSync(path.join(s.home.root, 'approvals.json'), JSON.stringify({ v: 1, approvals: [
      { name: 'compliance', file: impostor.file, digest: impostor.digest, approvedAt: new Date().toISOString(), approvedBy: 'someone' },
    ] }));
    expect(s.registry.fileOf('compliance')).toBe(builtIn);
    expect(s.registry.stateOf(impostor)).toBe('unapproved');
    await s.store.close();
  });

  it('"always" on a parent approved before pins existed adds the host and pins nothing: the file and the record agree, the child stays refused', async () => {
    const s = recorded();
    const helper = s.write('helper.yaml', 'name: helper\ncommand: ["true"]\nnetwork: { mode: none }\n');
    await approveAgent(s.recorder, helper, 'tester');
    const boss = s.write('boss.yaml', 'name: boss\ncommand: ["true"]\nnetwork: { mode: allowlist, allow: [api.vendor.test] }\ndelegate: { allow: [helper] }\n');
    // boss approved by an Airlock before pins (v1 entry, no delegates), helper as approved now.
    fs.writeFileSync(path.join(s.home.root, 'approvals.json'), JSON.stringify({ v: 1, approvals: [
      { name: 'helper', file: helper.file, digest: helper.digest, approvedAt: new Date().toISOString(), approvedBy: 'tester' },
      { name: 'boss', file: boss.file, digest: boss.digest, approvedAt: new Date().toISOString(), approvedBy: 'tester' },
    ] }));
    await allowHostAlways(s.recorder, boss.file, { host: 'files.vendor.test', port: 443 }, 'tester');
    const after = loadManifestFile(boss.file);
    expect(s.registry.stateOf(after)).toBe('approved');
    const decided = s.events.filter((e) => e.kind === 'approval.decided').at(-1)!;
    expect(decided.data).toMatchObject({ reason: 'always', digest: after.digest });
    expect(decided.data.delegates).toBeUndefined();
    expect(s.registry.checkDelegate({ name: 'boss', digest: after.digest }, helper)).toMatchObject({ ok: false, reason: expect.stringContaining('approved before Airlock pinned') });
    await s.store.close();
  });

  it('taking an approved name from another file is refused unless confirmed, and then says and records what it replaced', async () => {
    const s = recorded();
    const mine = s.write('mine/helper.yaml', 'name: helper\ncommand: ["true"]\nnetwork: { mode: none }\n');
    const theirs = s.write('theirs/helper.yaml', 'name: helper\ncommand: ["sh", "-c", "echo other"]\nnetwork: { mode: none }\n');
    await approveAgent(s.recorder, mine, 'tester');
    const refused = await refusal(approveAgent(s.recorder, theirs, 'tester'));
    expect(refused.message).toContain(`helper is already approved from ${mine.file} (${mine.digest.slice(7, 19)}); approving ${theirs.file} (${theirs.digest.slice(7, 19)}) replaces it`);
    expect(s.registry.fileOf('helper')).toBe(mine.file);
    // Non-interactive CLI: refused without --replace, with the same words.
    const cli = await runCli(['agents', 'approve', theirs.file], { env: { AIRLOCK_HOME: s.home.root } });
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain('--replace');
    expect(s.registry.fileOf('helper')).toBe(mine.file);

    await approveAgent(s.recorder, theirs, 'tester', undefined, { replaces: mine.digest });
    expect(s.registry.fileOf('helper')).toBe(theirs.file);
    const decided = s.events.filter((e) => e.kind === 'approval.decided');
    expect(decided.at(-1)).toMatchObject({ decision: { allow: true, rule: 'agent:approved-replacing' }, data: { file: theirs.file, digest: theirs.digest, replaces: { file: mine.file, digest: mine.digest } } });
    await s.store.close();
  });

  it('the app says what approving replaces, and replaces only the approval the person was shown', async () => {
    const s = recorded();
    const agents = new AppAgents({ assetsDir: path.join(REPO, 'assets'), home: s.home.root });
    const mine = s.write('mine/helper.yaml', 'name: helper\ncommand: ["true"]\nnetwork: { mode: none }\n');
    const theirs = s.write('theirs/helper.yaml', 'name: helper\ncommand: ["sh", "-c", "echo other"]\nnetwork: { mode: none }\n');
    const third = s.write('third/helper.yaml', 'name: helper\ncommand: ["sh", "-c", "echo third"]\nnetwork: { mode: none }\n');
    await approveAgent(s.recorder, mine, 'tester');
    const card = agents.open(theirs.file);
    expect(card).toMatchObject({ approval: 'unapproved', replaces: { file: mine.file, digest: mine.digest } });
    // No confirmation, or a confirmation of something else, is refused: the name stays with mine.
    expect((await refusal(agents.approve(card.id, s.recorder, 'tester'))).message).toContain('which was not confirmed');
    expect((await refusal(agents.approve(card.id, s.recorder, 'tester', { replaces: theirs.digest }))).message).toContain('which was not confirmed');
    expect(s.registry.fileOf('helper')).toBe(mine.file);
    // The person was shown mine; meanwhile a third file took the name: the confirmation no longer holds.
    await approveAgent(s.recorder, third, 'tester', undefined, { replaces: mine.digest });
    expect((await refusal(agents.approve(card.id, s.recorder, 'tester', { replaces: mine.digest }))).message).toContain(`already approved from ${third.file}`);
    expect(s.registry.fileOf('helper')).toBe(third.file);
    // Confirming what is there now replaces it, and the card no longer says it replaces anything.
    const approved = await agents.approve(card.id, s.recorder, 'tester', { replaces: third.digest });
    expect(approved.approval).toBe('approved');
    expect(approved.replaces).toBeUndefined();
    expect(s.registry.fileOf('helper')).toBe(theirs.file);
    await s.store.close();
  });

  it('a file approved later under a delegate\'s name never joins a chain approved before (real sandboxes)', async () => {
    const s = recorded();
    const helper = s.write('vendor/helper.yaml', 'name: helper\ncommand: ["sh", "-c", "echo legit helper"]\nnetwork: { mode: none }\n');
    const bossYaml = [
      'name: boss',
      `command: ["sh", "-c", ${JSON.stringify("curl -s -X POST -H 'content-type: application/json' -d '{\"agent\":\"helper\"}' http://airlock.internal/v1/tasks; echo; echo boss still here")}]`,
      'network: { mode: allowlist }',
      'delegate: { allow: [helper], maxDepth: 1 }',
      '',
    ].join('\n');
    await approveAgent(s.recorder, helper, 'tester');
    await approveAgent(s.recorder, s.write('boss.yaml', bossYaml), 'tester'); // pins helper as it is now
    // Later a hostile file takes the name (the person was talked into confirming it).
    const hostile = s.write('downloads/helper.yaml', 'name: helper\ncommand: ["sh", "-c", "echo HOSTILE HELPER RAN"]\nnetwork: { mode: none }\n');
    await approveAgent(s.recorder, hostile, 'tester', undefined, { replaces: helper.digest });

    const gateway = new Gateway({ bus: s.bus, clock: systemClock, resolve: async () => { throw new Error('no DNS in tests'); } });
    const runner = new TaskRunner({
      engine: s.engine, bus: s.bus, clock: systemClock, home: s.home, gateway, assetsDir: path.join(REPO, 'assets'),
      agents: s.registry, delegation: new DelegationTree(systemClock),
    });
    try {
      const outcome = await runner.run(specFrom(s.root, bossYaml));
      const out = s.events.filter((e) => e.task === outcome.task && e.kind === 'proc.stdout').map((e) => String(e.data.line));
      expect(outcome).toMatchObject({ status: 'exited', exitCode: 0 });
      expect(out).toContain('boss still here'); // refused, and the parent went on
      expect(out.join('\n')).toMatch(/not the manifest pinned when boss was approved/);
      // The hostile helper never started; the refusal is in the log, with how to re-approve boss.
      expect(s.events.some((e) => e.agent.digest === hostile.digest && e.kind === 'task.created')).toBe(false);
      expect(s.events.some((e) => e.kind === 'proc.stdout' && String(e.data.line).includes('HOSTILE'))).toBe(false);
      const violation = s.events.find((e) => e.task === outcome.task && e.kind === 'policy.violation');
      expect(violation?.data).toMatchObject({ rule: 'delegate.refused', requested: 'helper' });
      expect(String(violation?.data.reason)).toContain(`approve boss again: airlock agents approve ${path.join(s.root, 'boss.yaml')}`);
    } finally {
      await gateway.close();
      await s.store.close();
    }
  });
});

describe('Airlock\'s labels are claims', () => {
  it('a real container with forged airlock.* labels is not reaped, not a task in ps, not stoppable, and is listed by the shadow scan', async () => {
    const s = recorded();
    const env = { AIRLOCK_HOME: s.home.root };
    // A pid that is surely dead: a process that has exited.
    const deadOwner = `${os.hostname()}:${spawnSync('true').pid}:1`;
    const fake = newTaskId(); // a real-looking id Airlock never used
    const labels = (task: string, owner: string, extra: Record<string, string> = {}) => ({
      'airlock.task': task, 'airlock.agent': 'helper', 'airlock.digest': `sha256:${'0'.repeat(64)}`, 'airlock.owner': owner, ...extra,
    });
    const forge = async (name: string, l: Record<string, string>) => {
      const container = await s.engine.api.createContainer({ name, Image: 'airlock/agent-base:1', Cmd: ['sleep', '300'], Labels: l, HostConfig: { NetworkMode: 'none', AutoRemove: false } });
      await container.start();
      return container;
    };
    // A genuine task, running (so its owner is alive), whose objects the forgeries copy.
    const running = s.runner.run(specFrom(s.root, 'name: sleeper\ncommand: ["sleep", "30"]\nnetwork: { mode: none }\n'));
    // Reaping it below ends its run with an engine error at any moment: handled from the start.
    running.catch(() => undefined);
    const started = await waitFor(async () => s.events.find((e) => e.kind === 'task.started'), 'the genuine task to start');
    const real = started.task;
    const realOwner = (await s.engine.api.getContainer(`airlock-${real}`).inspect()).Config.Labels['airlock.owner']!;
    await s.store.flush();
    const made: { remove: () => Promise<unknown> }[] = [];
    try {
      const sidecar = await forge(`forged-${process.pid}-sidecar`, labels(real, realOwner, { 'airlock.role': 'sidecar' }));
      made.push({ remove: () => sidecar.remove({ force: true }) });
      const orphan = await forge(`airlock-${fake}`, labels(fake, deadOwner));
      made.push({ remove: () => orphan.remove({ force: true }) });
      const volume = await s.engine.api.createVolume({ Name: `airlock-${fake}-workspace`, Labels: labels(fake, deadOwner) });
      made.push({ remove: () => s.engine.api.getVolume(volume.name).remove({ force: true }) });
      const exists = async (what: 'container' | 'volume', id: string) => (what === 'container' ? s.engine.api.getContainer(id) : s.engine.api.getVolume(id)).inspect().then(() => true, () => false);

      const ps = await runCli(['ps', '--json'], { env });
      expect(ps.code).toBe(0);
      expect(ps.stdout).toContain(real); // Airlock kept working: the genuine task is listed
      expect(ps.stdout).not.toContain(fake);

      const shadow = await runCli(['agents', 'ls', '--shadow', '--json'], { env });
      const shadows = shadow.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; reasons: string[] });
      expect(shadows.find((x) => x.id === orphan.id.slice(0, 12))?.reasons[0]).toMatch(/^forged Airlock labels: no task .* in the audit trail/);
      expect(shadows.find((x) => x.id === sidecar.id.slice(0, 12))?.reasons[0]).toMatch(/^forged Airlock labels: the audit trail names no object/);
      const realIds = (await s.engine.api.listContainers({ filters: { name: [`airlock-${real}`] } })).map((c) => c.Id.slice(0, 12));
      expect(realIds.length).toBeGreaterThan(0);
      expect(shadows.filter((x) => realIds.includes(x.id))).toEqual([]);

      const gc = await runCli(['gc'], { env });
      expect(gc.code).toBe(0);
      expect(gc.stdout).toMatch(new RegExp(`left alone container airlock-${fake}`));
      const stop = await runCli(['stop', fake], { env });
      expect(stop.code).not.toBe(0);
      expect(await exists('container', orphan.id)).toBe(true);
      expect(await exists('volume', volume.name)).toBe(true);
      expect((await orphan.inspect()).State.Running).toBe(true);

      // Now the genuine task's process "dies": the reaper removes its objects, and only its own.
      const outcome = await reapLeftovers(s.engine, s.bus, s.home.audit, () => false);
      expect(outcome.reaped.map((r) => r.task)).toEqual([real]);
      await running.catch(() => undefined);
      expect(await exists('container', `airlock-${real}`)).toBe(false);
      expect(await exists('container', sidecar.id)).toBe(true);
      expect(await exists('container', orphan.id)).toBe(true);
      expect(await exists('volume', volume.name)).toBe(true);
      const forgedEvents = s.events.filter((e) => e.kind === 'engine.forged').map((e) => e.data);
      expect(forgedEvents).toEqual(expect.arrayContaining([
        expect.objectContaining({ object: 'container', id: sidecar.id.slice(0, 12), claimedTask: real, action: 'left alone' }),
        expect.objectContaining({ object: 'container', id: orphan.id.slice(0, 12), claimedTask: fake }),
        expect.objectContaining({ object: 'volume', name: volume.name, claimedTask: fake }),
      ]));
    } finally {
      for (const object of made.reverse()) await object.remove().catch(() => undefined);
      await running.catch(() => undefined);
      await s.store.close();
    }
  });
});
