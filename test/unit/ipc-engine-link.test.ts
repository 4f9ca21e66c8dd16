/**
 * The app's engine connections (main/ipc/engine-link.ts): one per page, opened on its first call and
 * closed when it goes; an engine lost under a page fails its call (or its next one) with
 * engine_unavailable and a hint, and the call after that connects again; a connect that fails is the same one-line refusal, never an
 * exception. The engine's own answers (error envelopes) reach the page unchanged.
 */
import { describe, expect, it } from 'vitest';
import { AirlockError } from '../../main/core/errors.js';
import type { EngineClient } from '../../main/core/server/client.js';
import type { Caller } from '../../main/core/server/dispatch.js';
import { EngineConnections } from '../../main/ipc/engine-link.js';

/** An engine client whose engine the test can take away; it answers tasks.list with its number. */
function fakeEngine() {
  const made: { n: number; closed: boolean; gone: string | undefined; lose(reason: string): void; push(topic: string, payload: unknown): void }[] = [];
  let refuse: Error | undefined;
  const connect = (): Promise<EngineClient> => {
    if (refuse) return Promise.reject(refuse);
    const lost = new Set<(reason: string) => void>();
    const subscribers = new Map<string, (payload: unknown) => void>();
    const state = {
      n: made.length + 1, closed: false, gone: undefined as string | undefined,
      lose(reason: string) {
        this.gone = reason;
        for (const listener of lost) listener(reason);
      },
      push: (topic: string, payload: unknown) => subscribers.get(topic)?.(payload),
    };
    made.push(state);
    return Promise.resolve({
      mode: 'engine',
      call: (channel: string) => {
        if (state.gone) return Promise.reject(new AirlockError('engine_unavailable', `lost: ${state.gone}`));
        if (channel === 'tasks.stop') return Promise.reject(new AirlockError('not_found', 'no such task', 'airlock ps lists them'));
        if (channel === 'doctor.run') return Promise.reject(new TypeError('socket hang up'));
        return Promise.resolve(state.n);
      },
      subscribe: (topic: string, listener: (payload: unknown) => void) => (subscribers.set(topic, listener), () => subscribers.delete(topic)),
      onLost: (listener: (reason: string) => void) => (lost.add(listener), () => lost.delete(listener)),
      close: () => ((state.closed = true), Promise.resolve()),
    } as unknown as EngineClient);
  };
  return { made, connect, refuseWith: (error: Error | undefined) => (refuse = error) };
}

function page() {
  const gone = new Set<() => void>();
  const pushes: [string, unknown][] = [];
  const caller: Caller = { push: (topic, payload) => pushes.push([topic, payload]), onGone: (listener) => (gone.add(listener), () => gone.delete(listener)) };
  return { caller, pushes, leave: () => [...gone].forEach((listener) => listener()) };
}

const TASK = 't_01jz0000000000000000000000';

describe('engine connections', () => {
  it('keep one connection per page, whose pushes go to that page alone, until the page goes', async () => {
    const engine = fakeEngine();
    const connections = new EngineConnections(engine.connect);
    const first = page();
    const second = page();
    await expect(Promise.all([connections.call(first.caller, 'tasks.list'), connections.call(first.caller, 'tasks.list')])).resolves.toEqual([1, 1]);
    await expect(connections.call(second.caller, 'tasks.list')).resolves.toBe(2);
    engine.made[0]!.push('screen', { task: TASK });
    expect(first.pushes).toEqual([['screen', { task: TASK }]]);
    expect(second.pushes).toEqual([]);
    first.leave();
    await expect.poll(() => engine.made[0]!.closed).toBe(true);
    engine.made[0]!.push('screen', { task: TASK });
    expect(first.pushes).toHaveLength(1);
    // The same page again (a reload): a new connection.
    await expect(connections.call(first.caller, 'tasks.list')).resolves.toBe(3);
    await connections.closeAll();
    expect(engine.made.map((m) => m.closed)).toEqual([true, true, true]);
    await expect(connections.call(second.caller, 'tasks.list')).rejects.toMatchObject({ code: 'engine_unavailable' });
  });

  it('pass the engine\'s refusals through as they are', async () => {
    const connections = new EngineConnections(fakeEngine().connect);
    await expect(connections.call(page().caller, 'tasks.stop', TASK)).rejects.toMatchObject({ code: 'not_found', message: 'no such task', hint: 'airlock ps lists them' });
  });

  it('fail a call with engine_unavailable and a hint when the engine is lost, and connect again on the call after', async () => {
    const engine = fakeEngine();
    const connections = new EngineConnections(engine.connect);
    const window = page();
    await connections.call(window.caller, 'tasks.list');
    engine.made[0]!.lose('airlock: the Airlock engine stopped: the engine exited (signal SIGKILL)');
    await expect.poll(() => engine.made[0]!.closed).toBe(true);
    // Told once, with what to do; then connected again.
    await expect(connections.call(window.caller, 'tasks.list')).rejects.toMatchObject({ code: 'engine_unavailable', message: 'the Airlock engine stopped: the engine exited (signal SIGKILL)', hint: expect.stringContaining('try again') as unknown });
    await expect(connections.call(window.caller, 'tasks.list')).resolves.toBe(2);
    // Lost while the call is under way.
    const made = engine.made[1]!;
    made.gone = 'the engine exited (signal SIGKILL)';
    const failing = connections.call(window.caller, 'tasks.list');
    made.lose('the engine exited (signal SIGKILL)');
    await expect(failing).rejects.toMatchObject({ code: 'engine_unavailable', message: 'the Airlock engine stopped: the engine exited (signal SIGKILL)', hint: expect.stringContaining('try again') as unknown });
    await expect(connections.call(window.caller, 'tasks.list')).resolves.toBe(3);
    // A transport failure (not the engine's answer) is the same, and the connection is dropped.
    await expect(connections.call(window.caller, 'doctor.run')).rejects.toMatchObject({ code: 'engine_unavailable', message: 'the Airlock engine stopped: socket hang up' });
    expect(engine.made[2]!.closed).toBe(true);
    await expect(connections.call(window.caller, 'tasks.list')).resolves.toBe(4);
  });

  it('refuse with engine_unavailable when the engine cannot be reached, then try again on the next call', async () => {
    const engine = fakeEngine();
    const connections = new EngineConnections(engine.connect);
    const window = page();
    engine.refuseWith(new Error('connect ENOENT /home/me/.airlock/engine.sock\n    at stack'));
    await expect(connections.call(window.caller, 'tasks.list')).rejects.toMatchObject({ code: 'engine_unavailable', message: 'cannot reach the Airlock engine: connect ENOENT /home/me/.airlock/engine.sock', hint: expect.any(String) as unknown });
    const throwing = new EngineConnections(() => {
      throw new Error('spawn EACCES');
    });
    await expect(throwing.call(window.caller, 'tasks.list')).rejects.toMatchObject({ code: 'engine_unavailable' });
    // An engine that went while it was being reached says so; the hint says what to do.
    engine.refuseWith(new AirlockError('engine_unavailable', 'the Airlock engine stopped: its connection closed'));
    await expect(connections.call(window.caller, 'tasks.list')).rejects.toMatchObject({ code: 'engine_unavailable', message: 'the Airlock engine stopped: its connection closed', hint: expect.stringContaining('try again') as unknown });
    engine.refuseWith(undefined);
    await expect(connections.call(window.caller, 'tasks.list')).resolves.toBe(1);
  });

  it('close a connection that was still opening when its page went', async () => {
    const engine = fakeEngine();
    const connections = new EngineConnections(engine.connect);
    const window = page();
    const call = connections.call(window.caller, 'tasks.list');
    window.leave();
    await call.catch(() => undefined);
    await expect.poll(() => engine.made[0]?.closed).toBe(true);
    engine.made[0]!.push('tasks', []);
    expect(window.pushes).toEqual([]);
    expect(connections.size).toBe(0);
  });
});
