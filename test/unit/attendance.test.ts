import { describe, expect, it } from 'vitest';
import { EventBus } from '../../main/core/audit/bus.js';
import { Attendance } from '../../main/core/service/attendance.js';

const agent = { name: 'a', digest: 'sha256:0' };

describe('who answers asks (Attendance)', () => {
  it('a run answers for its task and the tasks under it, not for others; a window for all; gone when it goes', () => {
    const bus = new EventBus();
    const attendance = new Attendance(bus);
    bus.emit({ task: 'root', agent, actor: 'airlock', kind: 'task.created', data: {} });
    bus.emit({ task: 'child', agent, actor: 'airlock', kind: 'task.created', parent: 'root', chain: ['root'], data: {} });
    bus.emit({ task: 'grandchild', agent, actor: 'airlock', kind: 'task.created', parent: 'child', chain: ['root', 'child'], data: {} });
    bus.emit({ task: 'other', agent, actor: 'airlock', kind: 'task.created', data: {} });
    expect(['root', 'child', 'grandchild', 'other'].map((t) => attendance.covers(t))).toEqual([false, false, false, false]);

    const cli = attendance.attend({ task: 'root' });
    expect(['root', 'child', 'grandchild', 'other'].map((t) => attendance.covers(t))).toEqual([true, true, true, false]);
    // Later events cannot move a task under another run: its chain is Airlock's task.created, taken once.
    bus.emit({ task: 'other', agent, actor: 'agent', kind: 'task.created', chain: ['root'], data: {} });
    bus.emit({ task: 'other', agent, actor: 'airlock', kind: 'task.created', chain: ['root'], data: {} });
    bus.emit({ task: 'other', agent, actor: 'agent', kind: 'agent.action', chain: ['root'], data: {} });
    expect(attendance.covers('other')).toBe(false);

    const window = attendance.attend({});
    expect(attendance.covers('other')).toBe(true);
    window();
    cli();
    expect(['root', 'child', 'other'].map((t) => attendance.covers(t))).toEqual([false, false, false]);
  });
});
