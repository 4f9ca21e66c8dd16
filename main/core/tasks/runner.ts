import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { EventBus } from '../audit/bus.js';
import type { Actor, EventKind } from '../audit/events.js';
import type { Clock } from '../clock.js';
import { AirlockError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { isNotFound } from '../engine/engine.js';
import { sandboxLabels } from '../engine/hardening.js';
import { BoundedOutput, DEFAULT_OUTPUT_LIMITS, type OutputLimits } from '../engine/output.js';
import { Sandbox } from '../engine/sandbox.js';
import { extractOutputs, packWorkspace, type ExtractLimits } from '../engine/workspace-archive.js';
import type { HomeLayout } from '../home.js';
import { newTaskId } from './ids.js';
import { currentOwner } from './owner.js';
import type { TaskSpec } from './spec.js';
import { stopRequested } from './stop.js';
import { openTaskNetwork } from './task-network.js';
import { enforceViolations } from './enforcement.js';
import { sandboxApi } from './sandbox-api.js';
import { spawnChild } from './spawn-child.js';
import { plantDecoys } from './decoy-planting.js';
import type { DelegationTree } from './delegation.js';
import type { AgentRegistry } from '../policy/registry.js';
import { CA_BUNDLE, checkGrantRequests, openTaskCredentials, TASK_CA_FILE } from './task-credentials.js';
import type { CredentialStore } from '../credentials/store.js';
import type { Gateway } from '../gateway/gateway.js';
import type { ScreenRegistry } from '../desktop/screen-registry.js';
import { desktopCommand, desktopEnv, startTaskDesktop, type TaskDesktop } from './task-desktop.js';

export interface TaskRunnerDeps {
  engine: Engine;
  bus: EventBus;
  clock: Clock;
  home: HomeLayout;
  owner?: string;
  outputLimits?: OutputLimits;
  extractLimits?: ExtractLimits;
  /** The egress proxy, for tasks whose network is not `none`. */
  gateway?: Gateway;
  /** Where assets/ is (the gateway endpoint's relay lives there). */
  assetsDir?: string;
  /** Credentials a task may be lent. */
  credentials?: CredentialStore;
  /** Agents by name, for delegation (and their approvals). */
  agents?: AgentRegistry;
  /** Who started whom: the delegation rules. */
  delegation?: DelegationTree;
  /** Where a display task's live screen is registered while it runs (the app's live view). */
  screens?: ScreenRegistry;
}

export interface RunOptions {
  signal?: AbortSignal;
  taskId?: string;
  /** A person allowed a host "always": the caller confirms and adds it to the manifest. */
  onAlways?: (host: string) => void;
  /** Set for a child task started through the in-sandbox API. */
  parentTask?: string;
}

/** `stopped`: by Airlock, on a violation (onViolation: stop). */
export type TaskStatus = 'exited' | 'timeout' | 'cancelled' | 'stopped';

export interface TaskOutcome {
  task: string;
  status: TaskStatus;
  exitCode: number | undefined;
  oomKilled: boolean;
  artifactsDir: string;
  artifacts: number;
  durationMs: number;
}

type Emit = (kind: EventKind, data: Record<string, unknown>, actor?: Actor) => void;

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = { maxBytes: 2 * 1024 ** 3, maxFiles: 100_000 };

/**
 * Runs one task from start to finish: create → copy inputs → start → stream output → wait →
 * collect outputs → destroy. Whatever happens (exit, timeout, cancel, an engine error), the
 * sandbox is destroyed before run() settles.
 */
export class TaskRunner {
  readonly #deps: TaskRunnerDeps;

  constructor(deps: TaskRunnerDeps) {
    this.#deps = deps;
  }

  async run(spec: TaskSpec, options: RunOptions = {}): Promise<TaskOutcome> {
    const task = options.taskId ?? newTaskId();
    const emit = (kind: EventKind, data: Record<string, unknown>, actor: Actor = 'airlock') =>
      this.#deps.bus.emit({ task, agent: spec.agent, actor, kind, data });
    try {
      return await this.#run(task, spec, options, emit);
    } catch (caught) {
      const error = explainEngineError(caught);
      emit('task.aborted', { reason: (error as Error).message, ...(error instanceof AirlockError ? { code: error.code } : {}) });
      this.#deps.delegation?.leave(task);
      this.#deps.bus.release(task);
      throw error;
    }
  }

  async #run(task: string, spec: TaskSpec, options: RunOptions, emit: Emit): Promise<TaskOutcome> {
    const { engine, bus, clock, home } = this.#deps;
    const began = clock.now();
    const artifactsDir = spec.outputDir ?? home.artifacts(task);

    emit('task.created', {
      image: spec.image, command: spec.command ?? null, workdir: spec.workdir, network: spec.network.mode, networkPolicy: spec.network,
      limits: spec.limits, timeoutMs: spec.timeoutMs, inputs: spec.inputs, outputs: spec.outputs, display: spec.display ?? null,
    });
    await fs.promises.mkdir(home.task(task), { recursive: true });

    const labels = sandboxLabels(task, spec.agent, this.#deps.owner ?? currentOwner());
    // Grants first: a refused credential stops the task before anything is created.
    checkGrantRequests(spec.credentials, this.#deps.credentials, spec.network, spec.agent.name);
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
    const envSecrets = lent?.credentials.envSecrets() ?? [];
    if (envSecrets.length > 0 && !spec.command) throw new AirlockError('bad_manifest', `${spec.agent.name}: command: is required with env delivery (secrets are handed to the command itself)`, 'give the manifest a command');
    if (lent) bus.redact(task, lent.credentials.grants().map((g, i) => ({ value: lent.credentials.secrets()[i]!, label: g.credential })));
    const decoys = plantDecoys(spec, home.task(task));
    const tree = this.#deps.delegation;
    tree?.enter(task, spec.agent, spec.delegate, options.parentTask);
    const api = sandboxApi({
      task, agent: spec.agent, bus, tree,
      spawn: tree ? (request) => spawnChild({
        parent: { task, agent: spec.agent, credentials: lent?.credentials, network: spec.network }, request, registry: this.#deps.agents, tree, bus, clock, home,
        run: async (childSpec, taskId) => this.run(childSpec, { taskId, parentTask: task, ...(options.signal ? { signal: options.signal } : {}) }),
      }) : undefined,
    });
    let desktop: TaskDesktop | undefined;
    const network = await openTaskNetwork({
      engine, gateway: this.#deps.gateway, assetsDir: this.#deps.assetsDir, task, agent: spec.agent, spec: spec.network, labels, sandboxApi: api, decoys: decoys.values,
      ...(options.onAlways ? { onAlways: options.onAlways } : {}), ...(lent ? { credentials: lent.credentials } : {}),
      ...(spec.display ? { browser: { onNavigation: (url: string) => desktop?.navigated(url) } } : {}),
    }).catch((error: unknown) => {
      lent?.credentials.revokeAll();
      throw error;
    });
    // The inputs are read (and hashed) only now that nothing else can refuse the task.
    const seeded = spec.inputs.length > 0 || spec.outputs.length > 0;
    const workspace = seeded || decoys.inputs.length > 0 ? packWorkspace(spec.workdir, [...spec.inputs, ...decoys.inputs], spec.outputs, (file) =>
      emit('fs.input', { path: file.path, size: file.size, sha256: file.sha256 })) : undefined;
    // No separate image check: creating the container answers 404 when the image is missing.
    const sandbox = await Sandbox.create(engine, {
      name: `airlock-${task}`, labels, image: spec.image, command: spec.display ? desktopCommand(spec.command) : spec.command, workdir: spec.workdir,
      env: { ...spec.env, ...decoys.env, ...network.env, ...lent?.env, ...(spec.display ? desktopEnv(spec.display) : {}) }, display: spec.display !== undefined, workspaceVolume: `airlock-${task}-workspace`, limits: spec.limits, network: network.plan,
      ...(lent?.credentials.ca ? { certsVolume: `airlock-${task}-certs` } : {}), secretsOnStdin: envSecrets.length > 0,
    }, workspace).then(async (created) => {
      if (lent?.credentials.ca) await created.trustCa(lent.credentials.ca.certificatePem, CA_BUNDLE, TASK_CA_FILE).catch(async (error: unknown) => {
        await created.destroy();
        throw error;
      });
      return created;
    }).catch(async (error: unknown) => {
      await network.close().catch(() => undefined);
      lent?.credentials.revokeAll();
      throw isNotFound(error) && /image/i.test(engineMessage(error)) ? imageMissing(spec.image) : error;
    });

    let status: TaskStatus;
    let exit: { exitCode: number | undefined; oomKilled: boolean };
    let artifacts: number;
    try {
      const output = new BoundedOutput({
        line: (stream, line, cut) => emit(stream === 'stdout' ? 'proc.stdout' : 'proc.stderr', cut ? { line, cutBytes: cut } : { line }, 'agent'),
        budgetExceeded: () => emit('output.truncated', {
          reason: 'output budget reached: further output is counted, not recorded',
          maxLines: output.limits.maxLines, maxBytes: output.limits.maxBytes,
        }),
      }, this.#deps.outputLimits ?? DEFAULT_OUTPUT_LIMITS);
      // Attached before start so no output is missed; read only after `task.started` is recorded,
      // so the log shows the start before the first line (until then the engine holds the bytes).
      const attached = await sandbox.attach(envSecrets.length > 0);
      let pumping: Promise<void> = Promise.resolve();
      // Watching for violations starts before the agent does: its first request may be one.
      const policyStop = new AbortController();
      const enforcement = enforceViolations({
        bus, home, clock, task, agent: spec.agent, policy: spec.violations,
        stop: () => policyStop.abort(),
        freeze: async () => {
          await Promise.all([sandbox.pause(), network.pause()]);
          lent?.credentials.revokeAll();
          tree?.freezeDescendants(task);
        },
        unfreeze: () => Promise.all([sandbox.unpause(), network.unpause()]).then(() => undefined),
      });
      // A frozen parent freezes its running children too (see freeze above).
      tree?.onFreeze(task, () => enforcement.freeze('its parent task was frozen'));

      if (options.signal?.aborted) {
        status = 'cancelled';
      } else {
        await startOrExplain(sandbox, spec);
        if (envSecrets.length > 0) {
          // env delivery: the wrapper reads NAME=base64 lines, exports them and execs the command
          attached.end(`${envSecrets.map((e) => `${e.name}=${Buffer.from(e.value).toString('base64')}`).join('\n')}\n\n`);
        }
        emit('task.started', { container: sandbox.container.id.slice(0, 12), timeoutMs: spec.timeoutMs });
        if (spec.display) {
          desktop = startTaskDesktop({
            container: sandbox.container, task, agent: spec.agent, display: spec.display, taskDir: home.task(task), clock, screens: this.#deps.screens,
            emit: (kind, data) => emit(kind, data),
          });
        }
        pumping = pipeline(attached, output);
        const stop = AbortSignal.any([expiry.signal, policyStop.signal, ...(options.signal ? [options.signal] : [])]);
        status = await this.#waitForExit(sandbox, spec.timeoutMs, stop);
        if (expiredGrant) status = 'timeout';
        if (policyStop.signal.aborted) status = 'stopped';
      }
      enforcement.end();
      await desktop?.stop();
      await sandbox.kill();
      await pumping.catch(() => undefined);
      (attached as unknown as { destroy?: () => void }).destroy?.();
      if (output.totals.droppedBytes > 0) {
        emit('output.truncated', { droppedBytes: output.totals.droppedBytes, recordedLines: output.totals.lines, recordedBytes: output.totals.bytes });
      }

      const state = await sandbox.wait();
      if (status === 'exited' && stopRequested(home, task)) status = 'cancelled';
      exit = { exitCode: status === 'exited' ? state.exitCode : undefined, oomKilled: state.oomKilled };
      const durationMs = clock.now() - began;
      if (status === 'timeout') emit('task.timeout', { timeoutMs: spec.timeoutMs, durationMs, ...(expiredGrant ? { reason: `the env grant of ${expiredGrant} expired` } : {}) });
      else if (status === 'cancelled') emit('task.cancelled', { durationMs }, 'user');
      else if (status === 'stopped') emit('task.stopped', { durationMs, reason: 'a policy violation (onViolation: stop)' });
      else emit('task.exited', { exitCode: state.exitCode, oomKilled: state.oomKilled, durationMs, ...(state.oomKilled ? { memoryBytes: spec.limits.memoryBytes } : {}) });

      artifacts = await this.#collect(sandbox, spec, artifactsDir, emit);
    } finally {
      const tearingDown = clock.now();
      const removed = await sandbox.destroy();
      removed.containers += await network.close();
      lent?.credentials.revokeAll();
      tree?.leave(task);
      emit('task.destroyed', { removed, teardownMs: clock.now() - tearingDown });
      bus.release(task);
    }
    return { task, status, exitCode: exit.exitCode, oomKilled: exit.oomKilled, artifactsDir, artifacts, durationMs: clock.now() - began };
  }

  #waitForExit(sandbox: Sandbox, timeoutMs: number, signal: AbortSignal | undefined): Promise<TaskStatus> {
    return new Promise<TaskStatus>((resolve, reject) => {
      const timer = this.#deps.clock.setTimeout(() => finish('timeout'), timeoutMs);
      const onAbort = () => finish('cancelled');
      signal?.addEventListener('abort', onAbort, { once: true });
      let settled = false;
      function finish(status: TaskStatus) {
        if (settled) return;
        settled = true;
        timer.cancel();
        signal?.removeEventListener('abort', onAbort);
        resolve(status);
      }
      if (signal?.aborted) {
        finish('cancelled');
        return;
      }
      sandbox.wait().then(() => finish('exited'), (error: unknown) => {
        if (!settled) reject(error as Error);
      });
    });
  }

  async #collect(sandbox: Sandbox, spec: TaskSpec, artifactsDir: string, emit: Emit): Promise<number> {
    const limits = this.#deps.extractLimits ?? DEFAULT_EXTRACT_LIMITS;
    const totals = { bytes: 0, files: 0 };
    let count = 0;
    for (const output of spec.outputs) {
      const archive = await sandbox.archive(output);
      if (!archive) {
        emit('fs.output', { path: output, missing: true });
        continue;
      }
      // One output folder lands straight in the artifacts folder; several keep their workspace paths apart.
      const dest = spec.outputs.length === 1 ? artifactsDir : path.join(artifactsDir, path.posix.relative(spec.workdir, output));
      const result = await extractOutputs(archive, output, dest, limits, totals);
      for (const file of result.files) emit('fs.output', { path: file.path, file: file.file, size: file.size, sha256: file.sha256 });
      for (const skipped of result.skipped) emit('fs.output', { path: skipped.path, skipped: skipped.reason });
      if (result.truncated) emit('output.truncated', { reason: result.truncated.reason, path: output });
      count += result.files.length;
    }
    return count;
  }
}

/** The engine refuses to start a command that is not in the image: say which field to fix. */
async function startOrExplain(sandbox: Sandbox, spec: TaskSpec): Promise<void> {
  try {
    await sandbox.start();
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 400 || status === 500) {
      const detail = engineMessage(error);
      throw new AirlockError('bad_manifest', `command: the engine could not start ${JSON.stringify(spec.command ?? '(image default)')} in ${spec.image}: ${detail}`,
        'check that the program exists in the image and is executable by an unprivileged user');
    }
    throw error;
  }
}

/** Engine HTTP errors are not Airlock bugs: report them as one line, not a stack. */
function explainEngineError(error: unknown): unknown {
  if (error instanceof AirlockError) return error;
  if (typeof (error as { statusCode?: unknown }).statusCode === 'number') {
    return new AirlockError('internal', `the engine refused: ${engineMessage(error)}`, 'see `airlock doctor`', { cause: error });
  }
  return error;
}

function engineMessage(error: unknown): string {
  const json = (error as { json?: { message?: string } }).json;
  return (json?.message ?? (error as Error).message).trim();
}

function imageMissing(image: string): AirlockError {
  return new AirlockError('image_missing', `image ${image} is not on the engine`,
    image.startsWith('airlock/agent-base')
      ? 'build it with `airlock image build` (or `airlock image build --offline` where no registry is reachable)'
      : `pull or build ${image} first (docker pull ${image})`);
}
