// Red team 17b: a credential lent on request must never outlive the task's CA (whose certificates
// are what make its placeholder usable) nor the task: the time left is what is left when the person
// answers, not when the agent asked. Driven through the real lending code, CA, approvals and store.
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../main/core/audit/bus.js';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { systemClock } from '../../main/core/clock.js';
import { CredentialStore } from '../../main/core/credentials/store.js';
import { Approvals } from '../../main/core/gateway/approvals.js';
import { lendCredential } from '../../main/core/tasks/credential-requests.js';
import { TaskCredentials } from '../../main/core/tasks/grants.js';
import type { NetworkSpec } from '../../main/core/tasks/network-spec.js';
import { tempDir } from '../helpers/env.js';
import { MemorySecrets } from '../helpers/memory-secrets.js';

const SECRET = 'sk-redteam-17b-secret-value';
const agent = { name: 'hostile', digest: 'sha256:0' };
const network = { mode: 'allowlist', allow: ['api.vendor.test', 'start.vendor.test'], local: [], onUnknownHost: 'deny', askTimeoutMs: 600_000, rate: {} } as unknown as NetworkSpec;

afterEach(() => {
  vi.useRealTimers();
});

async function lentTask(options: { deadlineInMs: number }) {
  vi.useFakeTimers({ toFake: ['Date'] });
  const bus = new EventBus(systemClock);
  const events: AirlockEvent[] = [];
  bus.subscribe((event) => events.push(event));
  const store = new CredentialStore(path.join(tempDir(), 'home'), new MemorySecrets());
  store.add({ name: 'vendor', secret: SECRET, hosts: ['api.vendor.test'], maxTtlMs: 3_600_000 });
  store.add({ name: 'starter', secret: 'sk-starter', hosts: ['start.vendor.test'], maxTtlMs: 3_600_000 });
  // A start-time grant of 3 minutes: the task's CA lives that long (less a minute of slack), the task an hour.
  const credentials = await TaskCredentials.open({ task: 't_red17b', agent, requests: [{ credential: 'starter', ttlMs: 180_000, delivery: 'proxy', env: 'STARTER' }], store, bus, clock: systemClock });
  const approvals = new Approvals(systemClock, 600_000);
  const answer = lendCredential('vendor', 'need it', {
    task: 't_red17b', agent, bus, clock: systemClock, store, credentials, network, approvals, askTimeoutMs: 600_000, deadline: Date.now() + options.deadlineInMs,
  });
  await vi.waitFor(() => expect(approvals.pending('t_red17b')).toHaveLength(1));
  return { answer, approvals, credentials, events };
}

describe('red team 17b: a credential lent after a slow answer', () => {
  it('never outlives the task CA: a person answering after the CA has expired lends nothing', async () => {
    const { answer, approvals, credentials, events } = await lentTask({ deadlineInMs: 3_600_000 });
    // The person takes three minutes; the CA (2 minutes usable) is gone by then.
    vi.setSystemTime(Date.now() + 180_000);
    expect(approvals.answer(approvals.pending('t_red17b')[0]!.id, 'task')).toBe(true);
    const reply = await answer;
    expect(reply.body).toMatchObject({ decision: 'deny' });
    expect(credentials.grants().filter((g) => g.credential === 'vendor')).toHaveLength(0);
    expect(events.some((e) => e.kind === 'cred.denied' && (e.data as { credential?: string }).credential === 'vendor')).toBe(true);
    expect(JSON.stringify(events)).not.toContain(SECRET);
    expect(JSON.stringify(reply)).not.toContain(SECRET);
    credentials.revokeAll();
  });

  it('a grant lent near the end of the CA is cut to what the CA has left at the answer', async () => {
    const { answer, approvals, credentials } = await lentTask({ deadlineInMs: 3_600_000 });
    vi.setSystemTime(Date.now() + 60_000);
    const caLeft = credentials.ca!.remainingMs();
    const answeredAt = Date.now();
    approvals.answer(approvals.pending('t_red17b')[0]!.id, 'task');
    const reply = await answer;
    expect(reply.body).toMatchObject({ decision: 'task' });
    const lent = credentials.grants().find((g) => g.credential === 'vendor')!;
    expect(lent.expiresAt).toBeLessThanOrEqual(answeredAt + caLeft);
    credentials.revokeAll();
  });

  it('a person answering after the task\'s deadline lends nothing (no grant born expired)', async () => {
    const { answer, approvals, credentials, events } = await lentTask({ deadlineInMs: 30_000 });
    vi.setSystemTime(Date.now() + 40_000);
    approvals.answer(approvals.pending('t_red17b')[0]!.id, 'task');
    const reply = await answer;
    expect(reply.body).toMatchObject({ decision: 'deny' });
    expect(credentials.grants().filter((g) => g.credential === 'vendor')).toHaveLength(0);
    expect(events.filter((e) => e.kind === 'cred.granted' && (e.data as { credential?: string }).credential === 'vendor')).toHaveLength(0);
    credentials.revokeAll();
  });
});
