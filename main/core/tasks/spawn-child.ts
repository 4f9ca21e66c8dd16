import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../clock.js';
import type { AgentRef } from '../audit/events.js';
import type { TaskCredentials } from './grants.js';
import { AirlockError } from '../errors.js';
import type { HomeLayout } from '../home.js';
import { loadManifestFile } from '../policy/manifest.js';
import type { AgentRegistry } from '../policy/registry.js';
import type { DelegationTree } from './delegation.js';
import { newTaskId } from './ids.js';
import type { ChildResult } from './sandbox-api.js';
import { resolveTaskSpec, type TaskSpec } from './spec.js';
import { narrowChildGrants } from './child-grants.js';
import { narrowNetwork } from './network-intersection.js';
import type { NetworkSpec } from './network-spec.js';
import { EventBus } from '../audit/bus.js';

/**
 * Prepares and runs a child task for a parent's `POST /v1/tasks`: the child agent must be approved,
 * and be the very manifest (by digest) pinned when the parent was approved;
 * its grants are its parent's narrowed and its network lies within its parent's (narrowing is an
 * event on the parent's task); the request's input arrives as /workspace/in/request.json; its
 * `result.json` output and last lines go back, redacted of every secret the parent holds.
 */
export async function spawnChild(options: {
  parent: { task: string; agent: AgentRef; credentials: TaskCredentials | undefined; network: NetworkSpec };
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
  // A manifest naming a kit is a person's run of a real tool (its image and key come from the kit): never a child.
  if (loaded.manifest.kit !== undefined) throw new AirlockError('policy_refused', `agent ${request.agent} runs the kit ${loaded.manifest.kit}: only a person starts a kit (airlock run)`);
  const state = registry.stateOf(loaded);
  if (state !== 'approved' && state !== 'built-in') throw new AirlockError('policy_refused', `agent ${request.agent} is ${state === 'changed' ? 'changed since its approval' : 'not approved'}`, `approve it: airlock agents approve ${loaded.file}`);
  // By name AND digest: only the manifest pinned when the parent was approved may join its chain.
  const pinned = registry.checkDelegate(parent.agent, loaded);
  if (!pinned.ok) throw new AirlockError('policy_refused', pinned.reason);
  const spec = resolveTaskSpec(loaded, {});

  // Delegation never widens: the child's grants are the parent's narrowed, its network within the parent's.
  const grants = narrowChildGrants({
    agent: request.agent, requests: spec.credentials, wanted: request.credentials ?? spec.credentials.map((c) => c.credential),
    parent: parent.credentials, now: options.clock.now(),
  });
  spec.credentials = grants.requests;
  const network = narrowNetwork(parent.network, spec.network);
  spec.network = network.network;
  const narrowed = [...grants.narrowed, ...network.narrowed.map((what) => `${request.agent} network: ${what}`)];
  if (narrowed.length > 0) {
    options.bus.emit({ task: parent.task, agent: parent.agent, actor: 'airlock', kind: 'agent.action', data: { type: 'delegate.narrowed', agent: request.agent, narrowed } });
  }
  // Taken now: a parent frozen while its child runs has its grants revoked, and their values wiped.
  const secrets = parent.credentials?.redactions() ?? [];

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
    const answer = redactForParent({ result: readResult(outcome.artifactsDir), output }, secrets, options.clock);
    return { task, status: outcome.status, exitCode: outcome.exitCode, ...answer };
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

/**
 * The answer the parent's sandbox gets, with the secrets the child could have held (they are the
 * parent's, see narrowChildGrants) replaced exactly as in every event: through a bus of its own,
 * so one redaction rule serves the log and the answer. Its rules for the child are gone by now.
 */
function redactForParent(answer: { result: unknown; output: string[] }, secrets: { value: string; label: string }[], clock: Clock): { result: unknown; output: string[] } {
  if (secrets.length === 0) return answer;
  const scrubber = new EventBus(clock);
  scrubber.redact('answer', secrets);
  const event = scrubber.emit({ task: 'answer', agent: { name: 'answer', digest: '' }, actor: 'airlock', kind: 'agent.action', data: answer });
  return event.data as { result: unknown; output: string[] };
}
