import path from 'node:path';
import type { EventBus } from '../audit/bus.js';
import type { AgentRef, AirlockEvent } from '../audit/events.js';
import type { Clock } from '../clock.js';
import type { Engine } from '../engine/engine.js';
import { AirlockError, isAirlockError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';
import type { HomeLayout } from '../home.js';
import { newTaskId } from '../tasks/ids.js';
import { requestResume } from '../tasks/stop.js';
import { checkGrantRequests } from '../tasks/task-credentials.js';
import { TaskRunner, type TaskRunnerDeps } from '../tasks/runner.js';
import { DelegationTree } from '../tasks/delegation.js';
import { SpendLedger } from '../spend/ledger.js';
import { pricesReader } from '../spend/prices.js';
import { resolveTaskSpec, type RunOverrides, type TaskSpec } from '../tasks/spec.js';
import type { ScreenRegistry } from '../desktop/screen-registry.js';
import type { TerminalRegistry } from '../tasks/terminal-registry.js';
import type { LiveTasks } from '../tasks/live-tasks.js';
import type { WarmPool } from '../tasks/pool.js';
import type { AgentRegistry } from './agents.js';
import type { ResourceSampler } from './resources.js';
import type { LoadedManifest } from '../policy/manifest.js';
import { kitOfManifest } from '../kits/kit.js';
import { applyKit } from '../kits/kit-run.js';
import { KitVersions } from '../kits/kit-versions.js';
import type { ErrorInfo, RunRequest, StartRequest, TaskEnd, TaskInfo } from './types.js';

export interface TaskManagerDeps {
  engine: () => Engine;
  bus: EventBus;
  clock: Clock;
  home: HomeLayout;
  assetsDir: string;
  gateway: () => Gateway;
  /** Opens the audit trail; throws (keychain_unavailable) when it cannot, which refuses the run. */
  audit: () => unknown;
  agents: AgentRegistry;
  sampler: ResourceSampler;
  /** Credentials a task may be lent (main/core/credentials' store); without it a manifest that asks for one is refused. */
  credentialStore?: TaskRunnerDeps['credentials'];
  /** Where display tasks register their live screens (and who has control of each). */
  screens?: ScreenRegistry;
  /** The process's running tasks (stopped together when the audit trail fails, or Airlock does). */
  live?: LiveTasks;
  /** The interactive sessions of tasks run with a terminal (and who may type into each). */
  terminals?: TerminalRegistry;
  /** The warm pool: a task whose spec fits takes a prepared sandbox (and its id) from it. */
  pool?: Pick<WarmPool, 'claim'>;
  onChange: () => void;
}

interface Running {
  info: TaskInfo;
  agent: AgentRef;
  /** The manifest it was started from. */
  file: string;
  controller: AbortController;
  done: Promise<void>;
}

/** Finished tasks kept in the live list (older ones are in the audit trail's history). */
const KEEP_FINISHED = 100;

/**
 * The app's tasks: each runs in-process in the background (TaskRunner, with the gateway when
 * networked); its state follows the bus, its resources are sampled while it runs, and stop()
 * cancels it, which tears the sandbox down.
 */
export class TaskManager {
  readonly #deps: TaskManagerDeps;
  /** One family tree for every task the app runs: delegation rules hold across them. */
  readonly #delegation: DelegationTree;
  /** Model spend of every task the engine runs: a chain's budget holds across its tasks. */
  readonly #spend: SpendLedger;
  readonly #tasks = new Map<string, Running>();

  constructor(deps: TaskManagerDeps) {
    this.#delegation = new DelegationTree(deps.clock);
    // A damaged AIRLOCK_HOME/prices.json: said in the engine's log; the built-in prices are used meanwhile.
    this.#spend = new SpendLedger({ bus: deps.bus, prices: pricesReader(deps.assetsDir, deps.home.root, (message) => console.error(`airlock: ${message}`)) });
    this.#deps = deps;
    deps.bus.subscribe((event) => this.#onEvent(event));
  }

  /** The app's run dialog: an agent of the list, approved as it is now. */
  run(request: RunRequest): { task: string } {
    const loaded = this.#deps.agents.load(request.agentId);
    this.#deps.agents.requireApproved(loaded);
    return this.start(loaded, request.agentId, runOverrides(request), endpointOf(request));
  }

  /**
   * Starts a task of an agent already loaded and approved (`agentId` as agents.list names it), with
   * typed overrides; relative paths in them resolve against the manifest's folder.
   */
  start(loaded: LoadedManifest, agentId: string, overrides: RunOverrides, kit: KitOptions = {}): { task: string } {
    const spec = this.check(loaded, overrides, kit);
    this.#deps.audit(); // no keychain, no audit trail: refuse before anything is created
    const engine = this.#deps.engine();
    const networked = spec.network.mode !== 'none';
    const runner = new TaskRunner({
      engine, bus: this.#deps.bus, clock: this.#deps.clock, home: this.#deps.home, assetsDir: this.#deps.assetsDir,
      ...(networked ? { gateway: this.#deps.gateway() } : {}),
      ...(this.#deps.credentialStore ? { credentials: this.#deps.credentialStore } : {}),
      agents: this.#deps.agents.approvals, delegation: this.#delegation, spend: this.#spend,
      ...(this.#deps.screens ? { screens: this.#deps.screens } : {}),
      ...(this.#deps.live ? { live: this.#deps.live } : {}),
    });
    // A prepared sandbox is made under the id of the task that will take it (never one with a terminal: see fits).
    const slot = this.#deps.pool?.claim(spec);
    const id = slot?.task ?? newTaskId();
    // Opened now, so the client that starts it can watch it and take control before it is up.
    const session = spec.terminal ? this.#openTerminal(id, spec) : undefined;
    const controller = new AbortController();
    const info: TaskInfo = {
      id, agent: spec.agent.name, agentId, network: spec.network.mode, state: 'starting', stopping: false,
      startedAt: new Date(this.#deps.clock.now()).toISOString(), artifactsDir: spec.outputDir ?? this.#deps.home.artifacts(id), artifacts: 0, grants: [],
      ...(spec.display ? { display: { width: spec.display.width, height: spec.display.height } } : {}),
      ...(spec.terminal ? { terminal: { ...spec.terminal } } : {}),
    };
    const done = runner.run(spec, { signal: controller.signal, taskId: id, ...(slot ? { slot } : {}), ...(session ? { terminal: session.terminal } : {}) }).then((outcome) => {
      info.state = outcome.status;
      delete info.frozen;
      if (outcome.exitCode !== undefined) info.exitCode = outcome.exitCode;
      info.artifacts = outcome.artifacts;
    }, (error: unknown) => {
      info.state = 'failed';
      delete info.frozen;
      info.error = describe(error);
      if (!isAirlockError(error)) console.error(`task ${id} failed unexpectedly`, error); // the UI gets no details: they may carry anything
    }).finally(() => {
      session?.close();
      this.#deps.sampler.stop(id);
      info.stopping = false;
      info.endedAt = new Date(this.#deps.clock.now()).toISOString();
      this.#trim();
      this.#deps.onChange();
    });
    this.#tasks.set(id, { info, agent: spec.agent, file: loaded.file, controller, done });
    this.#deps.onChange();
    return { task: id };
  }

  #openTerminal(task: string, spec: TaskSpec): ReturnType<TerminalRegistry['open']> {
    if (!this.#deps.terminals) throw new AirlockError('bad_argument', 'this Airlock cannot run interactive sessions', 'run it without -it');
    return this.#deps.terminals.open(task, spec.agent, spec.terminal!);
  }

  /**
   * The task a run would be, resolved and checked, without starting it: a manifest or setting that
   * is wrong, or a credential that cannot be lent (unknown, TTL over its maximum, a host the
   * network does not allow), is refused here, before a task exists.
   */
  check(loaded: LoadedManifest, overrides: RunOverrides, options: KitOptions = {}): TaskSpec {
    const kit = kitOfManifest(loaded.file, loaded.manifest, this.#deps.assetsDir);
    if (!kit) {
      if (options.endpoint !== undefined) throw new AirlockError('bad_argument', `--endpoint: ${loaded.manifest.name} is not a kit`, 'only kits (claude-code, codex, gemini-cli) take --endpoint; other agents name their hosts in the manifest\'s network');
      const spec = resolveTaskSpec(loaded, overrides, path.dirname(loaded.file));
      if (spec.credentials.length > 0) checkGrantRequests(spec.credentials, this.#deps.credentialStore, spec.network, spec.agent.name);
      return spec;
    }
    if (options.endpoint !== undefined && overrides.registries !== undefined) {
      throw new AirlockError('bad_argument', '--endpoint sets the network of the run (exactly the endpoint\'s host and port), so --registry cannot be given with it', 'leave out --registry');
    }
    const store = this.#deps.credentialStore;
    const run = applyKit(loaded, kit, {
      endpoint: options.endpoint, version: new KitVersions(this.#deps.home.root).versionOf(kit), netOverride: overrides.network !== undefined,
      credentialHosts: (name) => store?.list().find((c) => c.name === name)?.hosts,
    });
    const spec = resolveTaskSpec(run.loaded, overrides, path.dirname(loaded.file));
    spec.image = run.image;
    if (run.grantHosts) for (const request of spec.credentials) if (request.credential === kit.credential) request.hosts = run.grantHosts;
    if (spec.credentials.length > 0) checkGrantRequests(spec.credentials, this.#deps.credentialStore, spec.network, spec.agent.name);
    return spec;
  }

  /** Whether this core runs (or recently ran) the task. */
  has(task: string): boolean {
    return this.#tasks.has(task);
  }

  /** Waits until a task of this core is over and its sandbox gone; not_found for any other. */
  async wait(task: string): Promise<TaskEnd> {
    const running = this.#tasks.get(task);
    if (!running) throw new AirlockError('not_found', `no task ${task} here`, 'see `airlock ps` for running tasks');
    await running.done;
    const { info } = running;
    const state = info.state === 'starting' || info.state === 'running' || info.state === 'frozen' ? 'failed' : info.state;
    return {
      task, state, artifacts: info.artifacts, artifactsDir: info.artifactsDir,
      ...(info.exitCode !== undefined ? { exitCode: info.exitCode } : {}), ...(info.error ? { error: { ...info.error } } : {}),
    };
  }

  list(): TaskInfo[] {
    return [...this.#tasks.values()].map((t) => {
      const control = this.#deps.screens?.controller(t.info.id);
      const terminal = t.info.terminal && this.#deps.terminals?.has(t.info.id) ? this.#deps.terminals.get(t.info.id) : undefined;
      const terminalControl = this.#deps.terminals?.controller(t.info.id);
      return {
        ...t.info, grants: t.info.grants.map((g) => ({ ...g })),
        ...(t.info.error ? { error: { ...t.info.error } } : {}), ...(t.info.frozen ? { frozen: { ...t.info.frozen } } : {}),
        ...(t.info.display ? { display: { ...t.info.display } } : {}), ...(control ? { control } : {}),
        ...(t.info.terminal ? { terminal: { ...(terminal?.size ?? t.info.terminal), ...(terminalControl ? { control: terminalControl } : {}) } } : {}),
      };
    }).reverse();
  }

  /** The agent (as agents.run names it) and manifest file of one of this app's tasks. */
  sourceOf(task: string): { agentId: string; file: string } | undefined {
    const running = this.#tasks.get(task);
    return running ? { agentId: running.info.agentId, file: running.file } : undefined;
  }

  /** Asks the runner to unfreeze a task of this app that a violation froze (it answers with task.resumed). */
  resume(task: string): void {
    const running = this.#tasks.get(task);
    if (!running) throw new AirlockError('not_found', `no task ${task} in this app`, 'tasks started elsewhere are resumed with `airlock resume <task>`');
    if (running.info.endedAt !== undefined) throw new AirlockError('not_found', `no running task ${task}: it has ended`, 'see `airlock ps` for running tasks');
    if (running.info.state !== 'frozen') {
      throw new AirlockError('bad_argument', `task ${task} is not frozen (it is ${running.info.state})`, 'only a task frozen by a violation can be resumed');
    }
    requestResume(this.#deps.home, task);
  }

  agentOf(task: string): string | undefined {
    return this.#tasks.get(task)?.info.agent;
  }

  stop(task: string): void {
    const running = this.#tasks.get(task);
    if (!running) throw new AirlockError('not_found', `no task ${task} in this app`, 'tasks started elsewhere are stopped with `airlock stop <task>`');
    if (running.info.endedAt !== undefined || running.controller.signal.aborted) return;
    running.info.stopping = true;
    running.controller.abort();
    this.#deps.onChange();
  }

  /** Cancels every running task and waits until their sandboxes are gone. */
  async close(): Promise<void> {
    const pending = [...this.#tasks.values()].filter((t) => t.info.endedAt === undefined);
    for (const task of pending) task.controller.abort();
    await Promise.all(pending.map((t) => t.done));
  }

  #onEvent(event: AirlockEvent): void {
    const running = this.#tasks.get(event.task);
    if (!running) return;
    if (event.kind === 'task.started') {
      running.info.state = 'running';
      this.#deps.sampler.start(event.task, running.agent);
      this.#deps.onChange();
    } else if (event.kind === 'task.frozen') {
      running.info.state = 'frozen';
      running.info.frozen = { reason: typeof event.data.reason === 'string' ? event.data.reason : 'a policy violation', at: event.time };
      this.#deps.onChange();
    } else if (event.kind === 'task.resumed') {
      if (running.info.endedAt === undefined) running.info.state = 'running';
      delete running.info.frozen;
      this.#deps.onChange();
    } else if (event.kind === 'cred.granted' && event.identity) {
      const expiresAt = typeof event.data.expiresAt === 'string' ? event.data.expiresAt : event.time;
      running.info.grants.push({ grant: event.identity.grant, credential: event.identity.credential, expiresAt, state: 'active' });
      this.#deps.onChange();
    } else if ((event.kind === 'cred.expired' || event.kind === 'cred.revoked') && event.identity) {
      const grant = running.info.grants.find((g) => g.grant === event.identity!.grant);
      // A late use of an expired grant is another cred.expired: the first one counts.
      if (grant?.state === 'active') {
        grant.state = event.kind === 'cred.expired' ? 'expired' : 'revoked';
        this.#deps.onChange();
      }
    } else if (event.kind === 'task.exited' || event.kind === 'task.timeout' || event.kind === 'task.cancelled' || event.kind === 'task.stopped' || event.kind === 'task.aborted') {
      this.#deps.sampler.stop(event.task);
    }
  }

  #trim(): void {
    const finished = [...this.#tasks.values()].filter((t) => t.info.endedAt !== undefined);
    for (const task of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.#tasks.delete(task.info.id);
  }
}

/** What only a kit's run takes: the endpoint (a company gateway) instead of the provider's. */
export interface KitOptions {
  endpoint?: string | undefined;
}

export function endpointOf(request: { endpoint?: string | undefined }): KitOptions {
  return request.endpoint === undefined ? {} : { endpoint: request.endpoint };
}

/** A run request's settings as the spec's typed overrides (no text is made, none re-parsed). */
export function overridesFor(request: Omit<RunRequest, 'agentId' | 'credentials' | 'endpoint'> & { credentials?: { name: string; ttlMs?: number }[] }): RunOverrides {
  const network = request.network;
  if (network?.mode === 'allowlist' && network.allow.length === 0) {
    throw new AirlockError('bad_argument', 'network: the allowlist is empty, so the agent could reach nothing', 'add at least one host, or choose the network "none"');
  }
  return {
    ...(network ? { network } : {}),
    ...(request.env && request.env.length > 0 ? { env: request.env } : {}),
    ...(request.timeoutMs !== undefined ? { timeoutMs: request.timeoutMs } : {}),
    ...(request.cpus !== undefined ? { cpus: request.cpus } : {}),
    ...(request.memoryBytes !== undefined ? { memoryBytes: request.memoryBytes } : {}),
    ...(request.credentials && request.credentials.length > 0 ? { creds: request.credentials } : {}),
    ...(request.terminal ? { terminal: request.terminal } : {}),
    ...(request.args && request.args.length > 0 ? { args: request.args } : {}),
    ...(request.registries && request.registries.length > 0 ? { registries: request.registries } : {}),
    ...(request.budget && Object.keys(request.budget).length > 0 ? { budget: request.budget } : {}),
  };
}

/** A client's start request (the CLI's) as the spec's typed overrides: its settings, inputs and output folder. */
export function startOverrides(request: StartRequest): RunOverrides {
  const { agent: _agent, attached: _attached, endpoint: _endpoint, ...settings } = request;
  return withFiles(overridesFor(settings), settings);
}

/** The app's run as overrides: its settings and the host files the person chose (main swapped the window's tokens for them). */
function runOverrides(request: RunRequest): RunOverrides {
  const { agentId: _agentId, endpoint: _endpoint, ...settings } = request;
  return withFiles(overridesFor(settings), settings);
}

function withFiles(overrides: RunOverrides, files: Pick<RunRequest, 'inputs' | 'outputDir' | 'project'>): RunOverrides {
  const { inputs, outputDir, project } = files;
  return { ...overrides, ...(inputs?.length ? { inputs } : {}), ...(outputDir !== undefined ? { outputDir } : {}), ...(project ? { project } : {}) };
}

export function describe(error: unknown): ErrorInfo {
  if (isAirlockError(error)) return { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
  return { code: 'internal', message: 'the task failed unexpectedly; details are in the Airlock log' };
}
