import fs from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { EventBus } from '../audit/bus.js';
import type { Clock } from '../clock.js';
import { AirlockError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { sandboxLabels } from '../engine/hardening.js';
import type { OutputLimits } from '../engine/output.js';
import { recordedOutput, type Emit } from './task-output.js';
import { taskObjectNames } from '../engine/leftovers.js';
import { packWorkspace, type ExtractLimits } from '../engine/workspace-archive.js';
import type { HomeLayout } from '../home.js';
import { newTaskId } from './ids.js';
import { POOL_AGENT, type PoolSlot } from './pool-slot.js';
import type { WarmPool } from './pool.js';
import { openTaskSandbox } from './task-sandbox.js';
import { currentOwner } from './owner.js';
import type { TaskSpec } from './spec.js';
import { stopRequested } from './stop.js';
import { openTaskNetwork } from './task-network.js';
import { enforceViolations } from './enforcement.js';
import { openTaskApi } from './task-api.js';
import { copyProject } from './project-copy.js';
import { plantDecoys } from './decoy-planting.js';
import type { DelegationTree } from './delegation.js';
import type { SpendLedger } from '../spend/ledger.js';
import type { AgentRegistry } from '../policy/registry.js';
import { CA_BUNDLE, checkGrantRequests, openTaskCredentials, TASK_CA_FILE } from './task-credentials.js';
import type { CredentialStore } from '../credentials/store.js';
import type { Gateway } from '../gateway/gateway.js';
import type { ScreenRegistry } from '../desktop/screen-registry.js';
import { desktopEnv, startTaskDesktop, type TaskDesktop } from './task-desktop.js';
import { Teardown } from './teardown.js';
import type { LiveTasks } from './live-tasks.js';
import { explainEngineError, startOrExplain } from './engine-errors.js';
import { recordTaskEnd, waitForExit, type TaskOutcome, type TaskStatus, type WaitResult } from './task-wait.js';
import { collectOutputs, DEFAULT_EXTRACT_LIMITS } from './task-collect.js';
import { TaskChangeCollector } from './task-changes.js';
import type { WorkingCopyLimits } from '../changes/working-copy.js';
import { sidecarReporter } from './sidecar-events.js';
import { findAssetsDir } from '../assets.js';
import { enforceEventBudget } from './event-budget.js';
import { pumpTerminal, type TaskTerminal } from './task-terminal.js';
import { openTaskMcp } from './task-mcp.js';
import type { StdioBounds } from '../mcp/stdio-channel.js';

export { DEFAULT_EXTRACT_LIMITS } from './task-collect.js';

export interface TaskRunnerDeps {
  engine: Engine;
  bus: EventBus;
  clock: Clock;
  home: HomeLayout;
  owner?: string;
  outputLimits?: OutputLimits;
  extractLimits?: ExtractLimits;
  /** Bounds on reading a project's working copy back (the change). */
  changeLimits?: WorkingCopyLimits;
  /** The egress proxy, for tasks whose network is not `none`. */
  gateway?: Gateway;
  /** Where assets/ is (the sidecar's program lives there); found beside the program when not given. */
  assetsDir?: string;
  /** Credentials a task may be lent. */
  credentials?: CredentialStore;
  /** Agents by name, for delegation (and their approvals). */
  agents?: AgentRegistry;
  /** Who started whom: the delegation rules. */
  delegation?: DelegationTree;
  /** Model spend per task and chain, against budgets (main/core/spend). */
  spend?: SpendLedger;
  /** Where a display task's live screen is registered while it runs (the app's live view). */
  screens?: ScreenRegistry;
  /** This process's running tasks, for the controls that stop them all (audit trail failing, last resort). */
  live?: LiveTasks;
  /** How long after a task's deadline its sidecar ends it on its own (default SIDECAR_GRACE_MS). */
  sidecarGraceMs?: number;
  /** Events a task may cause besides its output (default MAX_TASK_EVENTS); past it, it is stopped. */
  eventBudget?: number;
  /** The warm pool: a run given no task id takes a prepared sandbox when its spec fits one. */
  pool?: Pick<WarmPool, 'claim'>;
  /** Bounds on a stdio MCP server's lines (tests make them small). */
  mcpStdioBounds?: Partial<StdioBounds>;
}

export interface RunOptions {
  signal?: AbortSignal;
  taskId?: string;
  /** A person allowed a host "always": the caller confirms and adds it to the manifest. */
  onAlways?: (host: string) => void;
  /** Set for a child task started through the in-sandbox API. */
  parentTask?: string;
  /** A child ends when its parent does: aborted (with the reason) when the parent is over. */
  parentEnded?: AbortSignal;
  /** A prepared sandbox of the warm pool, claimed for this task (whose id is the slot's). */
  slot?: PoolSlot;
  /** The interactive session of a task run with a terminal (spec.terminal), opened by its starter. */
  terminal?: TaskTerminal;
}

export type { TaskOutcome, TaskStatus } from './task-wait.js';

/**
 * How long after the task's deadline its sidecar ends it on its own. Airlock stops a task at the
 * deadline itself (and collects its outputs); the sidecar's own deadline only matters when
 * Airlock could not (hung, or asleep with the laptop).
 */
export const SIDECAR_GRACE_MS = 15_000;

/**
 * Runs one task from start to finish: grants → sidecar and container → copy inputs → start →
 * stream output → wait → collect outputs → destroy. Every phase registers its undo as soon as what
 * it made exists, so whatever happens (exit, timeout, cancel, an engine error, a refusal half-way),
 * exactly what was made is taken down in reverse order before run() settles.
 */
export class TaskRunner {
  readonly #deps: TaskRunnerDeps;

  constructor(deps: TaskRunnerDeps) {
    this.#deps = deps;
  }

  async run(spec: TaskSpec, given: RunOptions = {}): Promise<TaskOutcome> {
    // A prepared sandbox is made under the id of the task that takes it: only a run whose id is not chosen yet can.
    const claimed = given.slot ?? (given.taskId === undefined ? this.#deps.pool?.claim(spec) : undefined);
    const slot = claimed && (await this.#stillCurrent(claimed)) ? claimed : undefined;
    // A stale slot is gone; the task keeps its id (already given to its client) and makes its own sandbox.
    const options: RunOptions = slot ? { ...given, slot } : { ...given, ...(claimed ? { taskId: claimed.task } : {}) };
    if (!slot) delete options.slot;
    if (slot && options.taskId !== undefined && options.taskId !== slot.task) {
      void slot.destroy().catch(() => undefined); // claimed: it serves no other task
      throw new AirlockError('internal', `pool slot ${slot.task} given for task ${options.taskId}`);
    }
    const task = slot?.task ?? options.taskId ?? newTaskId();
    const { bus, clock } = this.#deps;
    const emit: Emit = (kind, data, actor = 'airlock') => bus.emit({ task, agent: spec.agent, actor, kind, data });
    const teardown = new Teardown();
    const made = { containers: 0, volumes: 0, engineObjects: false };
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    let outcome: TaskOutcome | undefined;
    let failure: unknown;
    try {
      outcome = await this.#run(task, spec, options, emit, teardown, made, done);
    } catch (caught) {
      failure = explainEngineError(caught);
      emit('task.aborted', { reason: (failure as Error).message, ...(failure instanceof AirlockError ? { code: failure.code } : {}) });
    }
    const tearingDown = clock.now();
    const failed = await teardown.run();
    if (made.engineObjects) {
      emit('task.destroyed', {
        removed: { containers: made.containers, volumes: made.volumes }, teardownMs: clock.now() - tearingDown,
        ...(failed.length > 0 ? { failed: failed.map((f) => `${f.name}: ${(f.error as Error).message}`) } : {}),
      });
    }
    bus.release(task);
    finished();
    if (failure !== undefined) throw failure;
    return outcome!;
  }

  /** A slot whose image name points elsewhere now (rebuilt, pulled) is destroyed unused (`pool.discarded`). */
  async #stillCurrent(slot: PoolSlot): Promise<boolean> {
    if (await slot.imageCurrent()) return true;
    const removed = await slot.destroy().catch((error: unknown) => ({ failed: (error as Error).message }));
    this.#deps.bus.emit({
      task: slot.task, agent: POOL_AGENT, actor: 'airlock', kind: 'pool.discarded',
      data: { reason: `the image ${slot.shape.image} changed since the slot was made: the task makes a sandbox of its own`, removed },
    });
    return false;
  }

  async #run(task: string, spec: TaskSpec, options: RunOptions, emit: Emit, teardown: Teardown, made: { containers: number; volumes: number; engineObjects: boolean }, done: Promise<void>): Promise<TaskOutcome> {
    const { engine, bus, clock, home } = this.#deps;
    const began = clock.now();
    const artifactsDir = spec.outputDir ?? home.artifacts(task);

    // The owner and the names of what it will make are on the record: the labels on the engine are
    // only claims, and the reaper, `ps` and the shadow scan believe them only when they match this.
    const slot = options.slot;
    const owner = slot?.owner ?? this.#deps.owner ?? currentOwner();
    const names = taskObjectNames(task);
    emit('task.created', {
      image: spec.image, command: spec.command ?? null, workdir: spec.workdir, network: spec.network.mode, networkPolicy: spec.network,
      limits: spec.limits, timeoutMs: spec.timeoutMs, inputs: spec.inputs, outputs: spec.outputs, display: spec.display ?? null,
      ...(spec.project ? { project: spec.project } : {}),
      // Where outputs are collected: what the app's Save and Reveal keep an artifact inside (service/artifacts.ts).
      artifactsDir,
      ...(Object.keys(spec.budget).length > 0 ? { budget: spec.budget } : {}),
      owner, objects: { containers: [names.container, names.sidecar], volumes: [names.workspace, names.certs] },
      // The sandbox this task takes from the warm pool (its pool.prepared record, under this id, made it).
      ...(slot ? { pool: { slot: task, preparedAt: new Date(slot.preparedAt).toISOString() } } : {}),
    });
    if (slot) {
      // Destroyed with the task whatever ends it, even before it is bound (destroy() runs once).
      made.engineObjects = true;
      teardown.add('claimed pool slot', async () => {
        const removed = await slot.destroy();
        made.containers += removed.containers;
        made.volumes += removed.volumes;
      });
    }
    await fs.promises.mkdir(home.task(task), { recursive: true });
    const labels = sandboxLabels(task, spec.agent, owner);
    // Grants first: a refused credential stops the task before anything is created.
    checkGrantRequests(spec.credentials, this.#deps.credentials, spec.network, spec.agent.name);

    // Airlock's own reasons to end the task early; the abort's reason is the one recorded.
    const airlockStop = new AbortController();
    const stopTask = (reason: string) => {
      if (!airlockStop.signal.aborted) airlockStop.abort(reason);
    };
    const parentEnded = options.parentEnded;
    if (parentEnded) {
      const onParentEnded = () => stopTask(String(parentEnded.reason ?? 'its parent task ended'));
      if (parentEnded.aborted) onParentEnded();
      parentEnded.addEventListener('abort', onParentEnded, { once: true });
      teardown.add('parent link', () => parentEnded.removeEventListener('abort', onParentEnded));
    }

    const expiry = new AbortController(); // an env grant that lapses stops the task
    let expiredGrant: string | undefined;
    // A display task's browser traffic is opened with a CA of the task's own (refusal pages, page loads).
    const browserCa = spec.display !== undefined && spec.network.mode !== 'none';
    const lent = spec.credentials.length > 0 || browserCa ? await openTaskCredentials({
      task, agent: spec.agent, requests: spec.credentials, store: this.#deps.credentials, bus, clock,
      ...(browserCa ? { caLifetimeMs: spec.timeoutMs } : {}),
      onExpired: (grant) => {
        if (grant.delivery !== 'env') return;
        expiredGrant = grant.credential;
        expiry.abort();
      },
    }) : undefined;
    if (lent) teardown.add('grants', () => lent.credentials.revokeAll());
    const envSecrets = lent?.credentials.envSecrets() ?? [];
    if (envSecrets.length > 0 && !spec.command) throw new AirlockError('bad_manifest', `${spec.agent.name}: command: is required with env delivery (secrets are handed to the command itself)`, 'give the manifest a command');
    if (lent) bus.redact(task, lent.credentials.grants().map((g, i) => ({ value: lent.credentials.secrets()[i]!, label: g.credential })));

    const decoys = plantDecoys(spec, home.task(task));
    teardown.add('decoys', () => fs.rmSync(path.join(home.task(task), 'decoys'), { recursive: true, force: true }));
    const tree = this.#deps.delegation;
    if (tree) {
      tree.enter(task, spec.agent, spec.delegate, options.parentTask);
      teardown.add('delegation node', () => tree.leave(task));
    }
    const spend = this.#deps.spend?.open({ task, agent: spec.agent, parent: options.parentTask, budget: spec.budget, maxRepeats: spec.maxRepeats });
    if (spend) teardown.add('spend account', () => spend.close());
    const mcp = openTaskMcp({ task, spec, bus, clock, home, engine, gateway: this.#deps.gateway, assetsDir: this.#deps.assetsDir ?? findAssetsDir(), owner, sidecarGraceMs: this.#deps.sidecarGraceMs ?? SIDECAR_GRACE_MS, teardown, credentials: this.#deps.credentials, ...(this.#deps.mcpStdioBounds ? { stdioBounds: this.#deps.mcpStdioBounds } : {}) });
    const { api, childrenEnd } = openTaskApi({
      task, spec, bus, clock, home, teardown, tree, registry: this.#deps.agents, gateway: this.#deps.gateway, mcp, credentials: lent?.credentials, store: this.#deps.credentials,
      runChild: (childSpec, taskId, parentEnded) => this.run(childSpec, { taskId, parentTask: task, parentEnded, ...(options.signal ? { signal: options.signal } : {}) }),
    });

    let desktop: TaskDesktop | undefined;
    const network = openTaskNetwork({
      gateway: this.#deps.gateway, task, agent: spec.agent, spec: spec.network, sandboxApi: api, decoys: decoys.values,
      ...(options.onAlways ? { onAlways: options.onAlways } : {}), ...(lent ? { credentials: lent.credentials } : {}), ...(spend ? { spend } : {}),
      ...(spec.display ? { browser: { onNavigation: (url: string) => desktop?.navigated(url) } } : {}),
    });
    teardown.add('network', () => network.close());

    const report = sidecarReporter({ bus, task, agent: spec.agent, diskBytes: spec.limits.diskBytes });
    const env = { ...spec.env, ...decoys.env, ...network.env, ...lent?.env, ...(spec.display ? desktopEnv(spec.display) : {}) };
    const { sidecar, sandbox } = await openTaskSandbox({
      engine, spec, names, labels, assetsDir: this.#deps.assetsDir ?? findAssetsDir(), network, report, env,
      certsVolume: Boolean(lent?.credentials.ca), secretsOnStdin: envSecrets.length > 0, teardown, made, ...(slot ? { slot } : {}),
    });

    // The inputs are read (and hashed) only now that nothing else can refuse the task.
    if (spec.inputs.length > 0 || spec.outputs.length > 0 || decoys.inputs.length > 0) {
      await sandbox.seed(spec.workdir, packWorkspace(spec.workdir, [...spec.inputs, ...decoys.inputs], spec.outputs, (file) =>
        emit('fs.input', { path: file.path, from: file.from, size: file.size, sha256: file.sha256 })));
    }
    if (spec.project) {
      await copyProject({
        project: spec.project, workdir: spec.workdir, diskBytes: spec.limits.diskBytes, taskDir: home.task(task),
        seed: (workdir, archive) => sandbox.seed(workdir, archive), record: (data) => emit('task.project', data), airlockHome: home.root,
        progress: { now: () => clock.now(), emit: (data) => emit('project.progress', data) },
      });
    }
    if (lent?.credentials.ca) await sandbox.trustCa(lent.credentials.ca.certificatePem, CA_BUNDLE, TASK_CA_FILE);
    await mcp?.start();

    const output = recordedOutput(emit, this.#deps.outputLimits);
    // Attached before start so no output is missed; read only after `task.started` is recorded,
    // so the log shows the start before the first line (until then the engine holds the bytes).
    const terminal = spec.terminal ? options.terminal : undefined;
    if (spec.terminal && !terminal) throw new AirlockError('internal', `task ${task} has a terminal spec but no session`);
    const attached = slot ? slot.attached : await sandbox.attach(envSecrets.length > 0 || terminal !== undefined);
    teardown.add('output stream', () => (attached as unknown as { destroy?: () => void }).destroy?.());
    // Watching for violations starts before the agent does: its first request may be one.
    const enforcement = enforceViolations({
      bus, home, clock, task, agent: spec.agent, policy: spec.violations,
      stop: (reason) => stopTask(reason ?? 'a policy violation (onViolation: stop)'),
      freeze: async () => {
        await Promise.all([sandbox.pause(), sidecar.pause()]);
        lent?.credentials.revokeAll();
        tree?.freezeDescendants(task);
      },
      unfreeze: () => Promise.all([sandbox.unpause(), sidecar.unpause()]).then(() => undefined),
    });
    teardown.add('violation watch', () => enforcement.end());
    teardown.add('event budget', enforceEventBudget({
      bus, task, action: spec.violations.action, budget: this.#deps.eventBudget, record: (data) => emit('policy.violation', data), freeze: (reason) => enforcement.freeze(reason), stop: stopTask,
    }));
    // A frozen parent freezes its running children too (see freeze above).
    tree?.onFreeze(task, () => enforcement.freeze('its parent task was frozen'));
    // The change to its project (nothing without a base snapshot): live on demand, and at the end, one at a time.
    const changes = new TaskChangeCollector({ sandbox, spec, taskDir: home.task(task), emit, branch: { engine, task, labels }, ...(this.#deps.changeLimits ? { limits: this.#deps.changeLimits } : {}) });
    teardown.add('listed as live', this.#deps.live?.add({
      task, agent: spec.agent, onViolation: spec.violations.action, done,
      ...(spec.project ? { collectChange: () => changes.live() } : {}),
      stop: (rule, reason) => {
        emit('policy.violation', { rule, reason, action: 'stop' });
        stopTask(reason);
      },
      freeze: (rule, reason) => {
        emit('policy.violation', { rule, reason, action: 'freeze' });
        enforcement.freeze(reason);
      },
    }) ?? (() => undefined));

    let result: WaitResult;
    let pumping: Promise<void> = Promise.resolve();
    if (options.signal?.aborted) {
      result = { status: 'cancelled' };
    } else {
      if (!slot) await startOrExplain(sandbox, spec);
      const deadline = clock.now() + spec.timeoutMs;
      await sidecar.arm((spec.timeoutMs + (this.#deps.sidecarGraceMs ?? SIDECAR_GRACE_MS)) / 1000);
      if (slot) {
        // The pooled sandbox runs only its launcher: the deadline is armed, now the task's command and environment go in.
        slot.launch(spec.command ?? slot.imageCommand, { ...env, ...Object.fromEntries(envSecrets.map((e) => [e.name, e.value])) });
      } else if (envSecrets.length > 0) {
        // env delivery: the wrapper reads NAME=base64 lines, exports them and execs the command
        attached.end(`${envSecrets.map((e) => `${e.name}=${Buffer.from(e.value).toString('base64')}`).join('\n')}\n\n`);
      }
      emit('task.started', { container: sandbox.container.id.slice(0, 12), timeoutMs: spec.timeoutMs, containers: [sandbox.container.id, sidecar.container.id] });
      if (spec.display) {
        const started = startTaskDesktop({
          container: sandbox.container, task, agent: spec.agent, display: spec.display, taskDir: home.task(task), clock, screens: this.#deps.screens,
          emit: (kind, data) => emit(kind, data),
        });
        desktop = started;
        teardown.add('desktop', () => started.stop());
      }
      // Handled at once: on an early exit (an engine error) the stream is destroyed by the teardown.
      // A terminal's output is never recorded as lines: echoed keystrokes may be secrets.
      pumping = terminal ? pumpTerminal(terminal, attached as Duplex, sandbox, emit) : pipeline(attached, output).catch(() => undefined);
      // The sidecar holds the task's life: if it ends, the kernel has ended the agent too.
      let running = true;
      void sidecar.lost.then((reason) => {
        // `airlock stop` kills the task's containers, the sidecar too: that is a person's stop.
        if (!running || stopRequested(home, task)) return;
        emit('policy.violation', { rule: 'sidecar.lost', reason, action: 'stop' });
        stopTask(reason);
      });
      const cancel = AbortSignal.any([expiry.signal, ...(options.signal ? [options.signal] : [])]);
      result = await waitForExit({ sandbox, clock, deadline, cancel, stop: airlockStop.signal });
      if (result.status === 'exited' && clock.now() < deadline && !stopRequested(home, task) && !(await sidecar.alive())) {
        // The agent died with its sidecar: that is not the agent's own exit.
        const reason = await Promise.race([sidecar.lost, new Promise<string>((resolve) => setTimeout(() => resolve('the task\'s sidecar ended'), 1000))]);
        result = { status: 'stopped', reason };
      }
      running = false;
      if (expiredGrant) result = { status: 'timeout' };
      childrenEnd.abort('its parent task ended');
    }
    enforcement.end();
    await desktop?.stop();
    await sandbox.kill();
    await pumping;
    (attached as unknown as { destroy?: () => void }).destroy?.();
    if (output.totals.droppedBytes > 0) {
      emit('output.truncated', { droppedBytes: output.totals.droppedBytes, recordedLines: output.totals.lines, recordedBytes: output.totals.bytes });
    }

    const state = await sandbox.wait();
    // What the sidecar checks every second (the workspace full) is checked once more now.
    await sidecar.flushReports().catch(() => undefined);
    let status: TaskStatus = result.status;
    if (status === 'exited' && stopRequested(home, task)) status = 'cancelled';
    recordTaskEnd(emit, { status, result, state, spec, durationMs: clock.now() - began, ...(expiredGrant ? { expiredGrant } : {}) });

    const artifacts = await collectOutputs({ sandbox, spec, artifactsDir, limits: this.#deps.extractLimits ?? DEFAULT_EXTRACT_LIMITS, emit });
    await changes.final();
    return { task, status, exitCode: status === 'exited' ? state.exitCode : undefined, oomKilled: state.oomKilled, artifactsDir, artifacts, durationMs: clock.now() - began };
  }
}
