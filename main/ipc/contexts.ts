/**
 * The Status screen's engine switch, answered in the app's main process: the contexts come from
 * the docker CLI's own store, and switching is what `docker context use` does (so the docker CLI
 * follows too). An engine keeps its settings for life: the page's connection is then dropped, and
 * its next call finds the idle engine on the old context and starts a fresh one (connect.ts).
 */
import { listContexts, resolveContextName, useContext } from '../core/engine/docker-contexts.js';
import { AirlockError } from '../core/errors.js';
import type { Caller } from '../core/server/dispatch.js';
import type { EngineContexts } from '../../preload/contract.js';
import type { EngineCalls } from './engine-link.js';
import type { Handle } from './register.js';

export interface ContextDeps {
  engine: EngineCalls;
  /** The environment the app starts its engine with. */
  env: NodeJS.ProcessEnv;
}

const ACTIVE = new Set(['starting', 'running', 'frozen']);

export function registerContextHandlers(handle: Handle, deps: ContextDeps): void {
  handle('engine.contexts', () => engineContexts(deps.env));
  handle('engine.useContext', async (name, caller) => {
    await switchContext(deps, name, caller);
    return engineContexts(deps.env);
  });
}

export function engineContexts(env: NodeJS.ProcessEnv): EngineContexts {
  const { name, from } = resolveContextName(env);
  const overriddenBy = from === 'DOCKER_HOST' || from === 'DOCKER_CONTEXT' ? from : undefined;
  return {
    current: name,
    ...(overriddenBy ? { overriddenBy } : {}),
    contexts: listContexts(env).map((context) => ({
      name: context.name,
      ...(context.host ? { host: context.host } : {}),
      ...(context.description ? { description: context.description } : {}),
      current: context.name === name,
    })),
  };
}

async function switchContext(deps: ContextDeps, name: string, caller: Caller): Promise<void> {
  const { env, engine } = deps;
  const { from } = resolveContextName(env);
  if (from === 'DOCKER_HOST' || from === 'DOCKER_CONTEXT') {
    throw new AirlockError('bad_argument', `${from} is set in Airlock's environment, and it decides the engine over any switch`, `unset ${from} and start Airlock again to choose the engine here`);
  }
  if (env.AIRLOCK_ENGINE === 'inprocess') {
    throw new AirlockError('bad_argument', 'this Airlock runs its engine in its own process (AIRLOCK_ENGINE=inprocess), which keeps its Docker engine for life', `run \`docker context use ${name}\` and start Airlock again`);
  }
  const active = (await engine.call(caller, 'tasks.list')).filter((task) => ACTIVE.has(task.state));
  if (active.length > 0) {
    throw new AirlockError('policy_refused', `cannot switch the Docker engine while ${active.length} task${active.length === 1 ? '' : 's'} run${active.length === 1 ? 's' : ''} on it (${active.map((task) => task.agent).slice(0, 3).join(', ')})`, 'stop them in Tasks, or wait for them to end, then switch');
  }
  useContext(env, name);
  await engine.reconnect?.(caller);
}
