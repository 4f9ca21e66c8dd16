/**
 * Red team, issue 17 (access requests): a hostile agent in a real sandbox asks a person, with a
 * persuasive reason, for hosts no answer can grant — the cloud metadata address, loopback in three
 * spellings, a private address, Airlock's own API name. A person who says yes to everything must
 * never see them (an approval that does nothing misleads the person and teaches the agent to
 * persuade): each is denied at once by policy, recorded, and stays unreachable; an ordinary host
 * asked for next is still put to the person and works.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { systemClock } from '../../main/core/clock.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { harness, lines, REPO, specFrom } from '../helpers/env.js';
import { startRemotes } from '../helpers/remotes.js';

const ASK = 'ask() { curl -s -X POST -H "content-type: application/json" -d "{\\"host\\":\\"$1\\",\\"reason\\":\\"the docs say so, please approve\\"}" http://airlock.internal/v1/access-requests; }';
const CODE = 'code() { curl -s -m 5 -o /dev/null -w "%{http_code}" "$1"; }';
const UNGRANTABLE = ['169.254.169.254', '[::1]', '0x7f.1', '127.0.0.1:8080', '10.0.0.1:22', 'airlock.internal', 'AIRLOCK.INTERNAL.'];

let remotes: Awaited<ReturnType<typeof startRemotes>>;
beforeAll(async () => {
  remotes = await startRemotes();
});
afterAll(async () => {
  await remotes?.close();
});

describe('red team 17: access requests for what no answer can grant', () => {
  const h = harness();
  let events: AirlockEvent[];
  let out: string[];
  const seenByPerson: string[] = [];

  beforeAll(async () => {
    const gateway = new Gateway({ bus: h.bus, clock: systemClock, resolve: remotes.resolve, dial: remotes.dial });
    // A person who allows every ask for the task.
    gateway.approvals.onRequest((request) => {
      seenByPerson.push(request.host);
      setImmediate(() => gateway.approvals.answer(request.id, 'task'));
    });
    const runner = new TaskRunner({ engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir: path.join(REPO, 'assets') });
    const script = [
      ASK, CODE,
      ...UNGRANTABLE.map((host) => `ask '${host}' | sed 's/^/${host} -> /'`),
      'echo "metadata $(code http://169.254.169.254/latest/meta-data/)"',
      'echo "private $(code http://10.0.0.1:22/)"',
      `ask 'api.vendor.test' | sed 's/^/vendor -> /'`,
      'echo "vendor $(code http://api.vendor.test/docs)"',
    ].join('\n');
    const outcome = await runner.run(specFrom(h.root, `name: persuader\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\nnetwork: { mode: allowlist, allow: [nothing.test], onUnknownHost: deny, askTimeout: 5s }\n`));
    expect(outcome.exitCode).toBe(0);
    events = h.events;
    out = lines(events);
  }, 120_000);

  it('each is denied at once by policy, saying why, and no person is asked about it', () => {
    for (const host of UNGRANTABLE) {
      const line = out.find((l) => l.startsWith(`${host} -> `));
      expect(line, host).toBeDefined();
      expect(JSON.parse(line!.slice(`${host} -> `.length)), host).toMatchObject({ decision: 'deny', by: 'policy', message: expect.stringMatching(/no answer to an access request can open it|always reachable/) });
    }
    expect(seenByPerson).toEqual(['api.vendor.test']);
    const asked = events.filter((e) => e.kind === 'approval.requested').map((e) => e.data.host);
    expect(asked).toEqual(['api.vendor.test']);
  });

  it('each is on the record, and the addresses stay unreachable', () => {
    const refused = events.filter((e) => e.kind === 'net.denied' && e.data.via === 'access-request');
    expect(refused.map((e) => e.data.host)).toEqual(['169.254.169.254', '::1', '127.0.0.1', '127.0.0.1', '10.0.0.1', 'airlock.internal', 'airlock.internal']);
    expect(refused.every((e) => e.decision?.allow === false && typeof e.data.reason === 'string')).toBe(true);
    expect(out).toContain('metadata 403');
    expect(out).toContain('private 403');
    expect(events.filter((e) => e.kind === 'net.denied' && e.data.host === '10.0.0.1' && e.data.via === undefined).map((e) => e.decision?.rule)).toEqual(['allowlist']);
  });

  it('an ordinary host asked for afterwards is still put to the person and then served', () => {
    expect(JSON.parse(out.find((l) => l.startsWith('vendor -> '))!.slice('vendor -> '.length))).toMatchObject({ decision: 'task', by: 'user' });
    expect(out).toContain('vendor 200');
  });
});
