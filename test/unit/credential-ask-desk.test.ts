/**
 * A credential request waiting for a person, as the app and the engine's clients list and answer
 * it: shown as a credential (name, hosts, TTL), never with a manifest to change, and "always" is
 * refused (a credential is lent once or for the task), the ask left waiting for a real answer.
 */
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../main/core/audit/bus.js';
import { systemClock } from '../../main/core/clock.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { ApprovalDesk } from '../../main/core/service/approvals.js';
import type { TaskManager } from '../../main/core/service/tasks.js';
import type { ApprovalRecorder } from '../../main/core/policy/approval.js';

describe('a credential request at the approvals desk', () => {
  it('is listed as a credential, without a manifest; "always" is refused and it keeps waiting; "task" answers it', async () => {
    const gateway = new Gateway({ bus: new EventBus(systemClock), clock: systemClock });
    // The task was started from a manifest file the desk could change for a host's "always".
    const tasks = { agentOf: () => 'borrower', sourceOf: () => ({ agentId: 'file:/x/agent.yaml', file: '/x/agent.yaml' }) } as unknown as TaskManager;
    const desk = new ApprovalDesk({ gateway: () => gateway, tasks, recorder: {} as ApprovalRecorder, user: () => 'tester' });
    const ticket = gateway.approvals.request('t1', 'credential:files-api', 0, 60_000, { credential: { name: 'files-api', hosts: ['files.vendor.test'], ttlMs: 600_000 }, access: { reason: 'upload' } });
    if (ticket.kind !== 'asked') throw new Error(`not asked: ${ticket.kind}`);
    const [listed] = desk.list();
    expect(listed).toMatchObject({ credential: { name: 'files-api', hosts: ['files.vendor.test'], ttlMs: 600_000 }, reason: 'upload' });
    expect(listed!.manifestFile).toBeUndefined();
    await expect(desk.answer(ticket.request.id, 'always')).rejects.toThrow(/lent once or for its task, never always/);
    expect(gateway.approvals.pending()).toHaveLength(1);
    await desk.answer(ticket.request.id, 'task');
    await expect(ticket.answer).resolves.toMatchObject({ answer: 'task', by: 'user' });
    gateway.approvals.cancelTask('t1');
  });
});
