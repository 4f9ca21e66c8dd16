import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Caller } from '../../main/core/server/dispatch.js';
import { registerContextHandlers } from '../../main/ipc/contexts.js';
import type { EngineCalls } from '../../main/ipc/engine-link.js';
import { invokeChecked, type Handle, type Handler } from '../../main/ipc/register.js';
import type { Channel, TaskInfo } from '../../preload/contract.js';
import { dockerConfig } from '../helpers/docker-config.js';

const page: Caller = { push: () => undefined, onGone: () => () => undefined };

/** The switch's handlers over a real docker config folder; the engine answers tasks.list with `tasks`. */
function contextSwitch(env: NodeJS.ProcessEnv, tasks: Pick<TaskInfo, 'agent' | 'state'>[]) {
  const handlers = new Map<Channel, Handler<Channel>>();
  const handle: Handle = (channel, handler) => void handlers.set(channel, handler as unknown as Handler<Channel>);
  const reconnected: Caller[] = [];
  const engine: EngineCalls = {
    call: (async (_caller: Caller, channel: string) => {
      if (channel !== 'tasks.list') throw new Error(`unexpected ${channel}`);
      return tasks;
    }) as EngineCalls['call'],
    reconnect: (caller) => {
      reconnected.push(caller);
      return Promise.resolve();
    },
  };
  registerContextHandlers(handle, { engine, env });
  const invoke = (channel: Channel, ...args: unknown[]) => invokeChecked(channel, handlers.get(channel)!, args, page, () => undefined);
  return { invoke, reconnected };
}

const configOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;

describe('the app\'s engine switch', () => {
  it('lists the contexts with the one in use, and switches as `docker context use` does, then reconnects the page', async () => {
    const DOCKER_CONFIG = dockerConfig({ build: { host: 'ssh://ada@build.test' } });
    const { invoke, reconnected } = contextSwitch({ DOCKER_CONFIG }, [{ agent: 'done', state: 'exited' }]);
    expect(await invoke('engine.contexts')).toEqual({ ok: true, value: { current: 'default', contexts: [{ name: 'default', current: true }, { name: 'build', host: 'ssh://ada@build.test', description: 'the build box', current: false }] } });
    const switched = await invoke('engine.useContext', 'build');
    expect(switched).toMatchObject({ ok: true, value: { current: 'build' } });
    expect(configOf(DOCKER_CONFIG)).toEqual({ currentContext: 'build' });
    expect(reconnected).toEqual([page]);
  });

  it('is refused while a task runs: the docker config is left as it was and the engine kept', async () => {
    const DOCKER_CONFIG = dockerConfig({ build: { host: 'ssh://ada@build.test' } }, 'default');
    const before = fs.readFileSync(path.join(DOCKER_CONFIG, 'config.json'), 'utf8');
    const { invoke, reconnected } = contextSwitch({ DOCKER_CONFIG }, [{ agent: 'crawler', state: 'running' }, { agent: 'old', state: 'exited' }]);
    expect(await invoke('engine.useContext', 'build')).toEqual({ ok: false, error: { code: 'policy_refused', message: 'cannot switch the Docker engine while 1 task runs on it (crawler)', hint: 'stop them in Tasks, or wait for them to end, then switch' } });
    expect(fs.readFileSync(path.join(DOCKER_CONFIG, 'config.json'), 'utf8')).toBe(before);
    expect(reconnected).toEqual([]);
  });

  it('is refused when DOCKER_HOST decides the engine, and for a name that is no context', async () => {
    const DOCKER_CONFIG = dockerConfig({ build: { host: 'ssh://ada@build.test' } });
    const pinned = contextSwitch({ DOCKER_CONFIG, DOCKER_HOST: 'unix:///var/run/docker.sock' }, []);
    expect(await pinned.invoke('engine.contexts')).toMatchObject({ ok: true, value: { overriddenBy: 'DOCKER_HOST' } });
    expect(await pinned.invoke('engine.useContext', 'build')).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^DOCKER_HOST is set in Airlock's environment/) } });
    const free = contextSwitch({ DOCKER_CONFIG }, []);
    expect(await free.invoke('engine.useContext', '../../etc')).toMatchObject({ ok: false, error: { code: 'bad_argument' } });
    expect(await free.invoke('engine.useContext', 'nope')).toMatchObject({ ok: false, error: { message: expect.stringMatching(/the Docker context "nope" does not exist/) } });
    expect(fs.existsSync(path.join(DOCKER_CONFIG, 'config.json'))).toBe(false);
  });
});
