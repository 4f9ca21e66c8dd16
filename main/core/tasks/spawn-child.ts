import fs from 'node:fs';
import path from 'node:path';
import type { EventBus } from '../audit/bus.js';
import type { Clock } from '../clock.js';
import { DEFAULT_TTL_MS, type Grant } from '../credentials/grants.js';
import { AirlockError } from '../errors.js';
import type { HomeLayout } from '../home.js';
import { loadManifestFile } from '../policy/manifest.js';
import type { AgentRegistry } from '../policy/registry.js';
import type { DelegationTree } from './delegation.js';
import { newTaskId } from './ids.js';
import type { ChildResult } from './sandbox-api.js';
import { resolveTaskSpec, type TaskSpec } from './spec.js';

/**
 * Prepares and runs a child task for a parent's `POST /v1/tasks`: the child agent must be approved;
 * it gets only credentials its parent holds, for no longer than the parent has left; the request's
 * input arrives as /workspace/in/request.json; its `result.json` output and last lines go back.
 */
export async function spawnChild(options: {
  parent: { task: string; grants: Grant[] };
  request: { agent: string; input: unknown; credentials: string[] | undefined };
  registry: AgentRegistry | undefined;
  tree: DelegationTree;
  bus: EventBus;
  clock: Clock;
  home: HomeLayout;
  run: (spec: TaskSpec, taskId: string) => Promise<{ status: string; exitCode: number | undefined; artifactsDir: string }>;
}): Promise<ChildResult> {
  const { parent, request, registry } = options;
  if (!registry) throw new AirlockError('internal', 'this process has no agent registry to start children from');
  const loaded = loadManifestFile(registry.fileOf(request.agent));
  const state = registry.stateOf(loaded);
  if (state !== 'approved' && state !== 'built-in') throw new AirlockError('policy_refused', `agent ${request.agent} is ${state === 'changed' ? 'changed since its approval' : 'not approved'}`, `approve it: airlock agents approve ${loaded.file}`);
  const spec = resolveTaskSpec(loaded, {});

  // Child grants ⊆ parent grants, and never longer than the parent's.
  const now = options.clock.now();
  const wanted = request.credentials ?? spec.credentials.map((c) => c.credential);
  spec.credentials = spec.credentials.filter((c) => wanted.includes(c.credential)).map((c) => {
    const held = parent.grants.find((g) => g.credential === c.credential && g.state === 'active');
    if (!held) throw new AirlockError('policy_refused', `${request.agent} asks for ${c.credential}, which its parent does not hold`, 'a child only gets credentials its parent holds');
    const left = held.expiresAt - now;
    return { ...c, ttlMs: Math.min(c.ttlMs ?? DEFAULT_TTL_MS, left) };
  });
  for (const name of wanted) {
    if (!spec.credentials.some((c) => c.credential === name)) throw new AirlockError('policy_refused', `${request.agent}'s manifest does not take credential ${name}`, 'list it in the child manifest\'s credentials');
  }

  const task = newTaskId();
  if (request.input !== undefined) {
    fs.mkdirSync(options.home.task(task), { recursive: true });
    const file = path.join(options.home.task(task), 'request.json');
    fs.writeFileSync(file, JSON.stringify(request.input, null, 2));
    spec.inputs.push({ from: file, to: path.posix.join(spec.workdir, 'in', 'request.json') });
  }
  options.bus.setLineage(task, parent.task, [...options.tree.chain(parent.task), parent.task]);
  const output: string[] = [];
  const stop = options.bus.subscribe((event) => {
    if (event.task === task && event.kind === 'proc.stdout') {
      output.push(String(event.data.line));
      if (output.length > 50) output.shift();
    }
  });
  try {
    const outcome = await options.run(spec, task);
    return { task, status: outcome.status, exitCode: outcome.exitCode, result: readResult(outcome.artifactsDir), output };
  } finally {
    stop();
  }
}

function readResult(dir: string): unknown {
  const file = path.join(dir, 'result.json');
  try {
    if (fs.statSync(file).size > 256 * 1024) return { error: 'result.json is over 256 KiB' };
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}
