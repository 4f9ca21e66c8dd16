/**
 * THE contract of Airlock's engine: what its clients (the CLI, the app's main process, the e2e
 * harness) may ask of it over its socket, or of a core running in their own process
 * (AIRLOCK_ENGINE=inprocess). It is the renderer's contract (preload/contract.ts: the same
 * channels, schemas, envelopes and pushes) without the channels only a window has (the app's
 * version, the OS file dialogs, which the app's main process shows before it asks the engine),
 * plus channels for clients that are the user's own programs (they may name files: a CLI's
 * `--input`, the file a dialog chose). The renderer never sees the engine-only channels.
 */
import { z } from 'zod';
import { artifactRef, contract, forwarderSecretSchema, forwarderSettingsSchema, kitName, kitVersion, runRequestSchema, runSettingsSchema, type AgentSummary, type AuditExportResult, type ImageBuildState, type Returns } from '../../../preload/contract.js';
import type { SavedArtifact } from '../service/artifacts.js';
import type { ApplyResult, TaskChange } from '../service/changes.js';
import type { AgentInspection, GcResult, PruneSummary, RunningTask, TaskEnd } from '../service/types.js';
import type { RegisteredAgent } from '../policy/registry.js';
import type { ShadowAgent } from '../tasks/shadow.js';
import type { ForwarderStatus } from '../forward/types.js';
import type { ArgsOf, ContractHandler, ResultOf } from './dispatch.js';

function returns<T>(): Returns<T> {
  return {};
}

// The channels a window has and the engine has not (the Docker context switch is the app's: an
// engine keeps its settings for life, so a switch means another engine); a window's `review.*` are the engine's `changes.*`
// (below) with host paths left out by the app's main process (main/ipc/changes.ts); a window's
// `tasks.run` names host files by tokens (run.pick*, run.drop), which main swaps for the engine's
// `tasks.run` with host paths (main/ipc/run-files.ts); so does a window's `audit.forward.create` (its CA file
// by token) for the engine's `audit.forward.add` (main/ipc/forwarders.ts).
const {
  'app.version': _appVersion, 'engine.contexts': _contexts, 'engine.useContext': _useContext, 'agents.open': _agentsOpen, 'audit.export': _auditExport,
  'review.get': _reviewGet, 'review.apply': _reviewApply, 'review.discard': _reviewDiscard,
  'artifacts.save': _artifactsSave, 'artifacts.reveal': _artifactsReveal,
  'run.start': _windowRun, 'run.pickProject': _pickProject, 'run.pickInputs': _pickInputs, 'run.pickOutput': _pickOutput, 'run.drop': _drop,
  'audit.forward.create': _windowForwarder,
  ...shared
} = contract;

/** The renderer's channels the engine answers as they are. */
export const sharedContract = shared;
export type SharedContract = typeof sharedContract;
export type SharedChannel = keyof SharedContract & string;

const absolutePath = z.string().min(2).max(4096).refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), { error: 'must be an absolute path' });
const taskId = z.string().regex(/^t_[0-9a-hjkmnp-tv-z]{26}$/, { error: 'must be a task id (t_…)' });
/** A host file a client names: absolute, and no NUL (which would cut the path short in the OS). */
const hostPath = absolutePath.refine((p) => !p.includes('\0'), { error: 'must not contain NUL' });
/** A built-in or approved agent's name (as manifests name them), or a manifest's absolute path. */
const agentRef = z.union([z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: 'must be an agent name or an absolute manifest path' }), hostPath]);
const MAX_TIMEOUT_MS = 365 * 24 * 3_600_000;

/** `airlock run`'s request: typed (ms, bytes, a parsed network), with host files the CLI names. */
export const startRequestSchema = z.strictObject({
  agent: agentRef,
  network: runRequestSchema.shape.network,
  env: runRequestSchema.shape.env,
  timeoutMs: z.number().int().positive().max(MAX_TIMEOUT_MS).optional(),
  cpus: runRequestSchema.shape.cpus,
  memoryBytes: z.number().int().positive().max(2 ** 50).optional(),
  credentials: z.array(z.strictObject({
    name: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, { error: 'must be 1-64 characters of a-z, 0-9 and -' }),
    ttlMs: z.number().int().positive().max(30 * 24 * 3_600_000).optional(),
  })).max(50).optional(),
  inputs: z.array(z.strictObject({ hostPath, containerPath: z.string().startsWith('/').max(4096).optional() })).max(100).optional(),
  outputDir: hostPath.optional(),
  /** The project folder the agent gets a working copy of (the manifest must take one: `project:`). */
  project: z.strictObject({ hostPath }).optional(),
  attached: z.boolean(),
  terminal: runRequestSchema.shape.terminal,
  args: runRequestSchema.shape.args,
  endpoint: runRequestSchema.shape.endpoint,
  registries: runRequestSchema.shape.registries,
  budget: runRequestSchema.shape.budget,
  /** The caller answers this run's asks while it is connected (said with the start, so no ask comes before it). */
  answersAsks: z.boolean().optional(),
});

/** The app's run (an agent of agents.list): its settings, with the host files the person chose in the app's OS dialogs. */
export const engineRunRequestSchema = runSettingsSchema.extend({
  inputs: startRequestSchema.shape.inputs,
  outputDir: startRequestSchema.shape.outputDir,
  project: startRequestSchema.shape.project,
});

/** A forwarder as `airlock audit forward add` gives it: its CA file by path. */
export const forwarderInputSchema = forwarderSettingsSchema.extend({ caFile: hostPath.optional() });
/** The longest `audit forward flush` waits. */
export const MAX_FLUSH_MS = 10 * 60_000;

/** What `engine.status` says of the running engine. */
export interface EngineStatus {
  /** The engine's build (package version + bundle digest): a client of another build says so. */
  version: string;
  /** The wire protocol's version: a client speaking another one refuses to go on. */
  protocol: number;
  pid: number;
  startedAt: string;
  /** Clients connected now (the caller included). */
  clients: number;
  /** Tasks running now. */
  tasks: number;
  /** How long the engine stays up with no client and no task; 0 = until stopped. */
  idleMs: number;
  /** Where the engine's own log is. */
  log: string;
  /** Where the engine listens. */
  socket: string;
  /** The warm pool: prepared sandboxes ready for a run, and whether one is being prepared now. */
  pool: { size: number; ready: number; filling: number };
}

/** Channels only the engine has (clients that are the user's own programs). */
export const engineOnlyContract = {
  'engine.status': { args: z.tuple([]), result: returns<EngineStatus>() },
  /** Stops the engine: running tasks are stopped (like Ctrl-C) and their sandboxes destroyed first. */
  'engine.stop': { args: z.tuple([]), result: returns<void>() },
  /** A client of another build asks a busy engine to exit as soon as no client and no task is left. */
  'engine.retire': { args: z.tuple([]), result: returns<void>() },

  // ── files a client names (the app's dialogs chose them; a CLI's arguments) ──
  /** Opens a manifest file as an agent (what `agents.open` does after the app's dialog). */
  'agents.openFile': { args: z.tuple([absolutePath]), result: returns<AgentSummary>() },
  /** Writes the trail (or one task's records) to a file (what `audit.export` does after the app's dialog). */
  'audit.exportTo': { args: z.tuple([z.strictObject({ file: absolutePath, format: z.enum(['jsonl', 'csv']), task: taskId.optional() })]), result: returns<AuditExportResult>() },

  /** Starts a task of an agent agents.list names (what a window's `tasks.run` does once main has swapped its tokens for paths). */
  'tasks.run': { args: z.tuple([engineRunRequestSchema]), result: returns<{ task: string }>() },

  // ── CLI: what `airlock` asks beyond the window's channels ──
  /** Starts a task (`airlock run`): returns its id at once; with `attached`, it is stopped when this caller goes. */
  'tasks.start': { args: z.tuple([startRequestSchema]), result: returns<{ task: string }>() },
  /** The task no longer ends with this caller (`run -it`, then Ctrl-] d): it runs on in the engine. */
  'tasks.detach': { args: z.tuple([taskId]), result: returns<void>() },
  /** Checks a start request (manifest, settings, credentials; not the approval) without starting anything. */
  'tasks.check': { args: z.tuple([startRequestSchema]), result: returns<void>() },
  /** Waits until a task this engine runs is over and its sandbox gone: how it ended. */
  'tasks.wait': { args: z.tuple([taskId]), result: returns<TaskEnd>() },
  /** Every task of any Airlock process on the Docker engine, from its containers (`airlock ps`). */
  'tasks.running': { args: z.tuple([]), result: returns<RunningTask[]>() },
  /** Removes what crashed or killed Airlock processes left (`airlock gc`). */
  'tasks.gc': { args: z.tuple([]), result: returns<GcResult>() },
  /** A kit's image from a package tarball on this machine (`airlock image build --kit X --package file.tgz`). */
  'images.buildKitFrom': { args: z.tuple([z.strictObject({ kit: kitName, version: kitVersion.optional(), packageFile: hostPath, offline: z.boolean().optional() })]), result: returns<ImageBuildState>() },
  /** An agent by name or manifest path, with what its approval would cover (`run`'s prompt, `agents show`). */
  'agents.inspect': { args: z.tuple([agentRef]), result: returns<AgentInspection>() },
  /** The built-in agents and every approved one, with its state now (`airlock agents ls`). */
  'agents.registered': { args: z.tuple([]), result: returns<RegisteredAgent[]>() },
  /** Containers that look like agents but Airlock did not start (`airlock agents ls --shadow`). */
  'agents.shadow': { args: z.tuple([]), result: returns<ShadowAgent[]>() },
  /** Denies an "ask" as the default (a client with no terminal to ask on), not as a person. */
  'approvals.denyUnasked': { args: z.tuple([z.uuid()]), result: returns<void>() },
  /** Removes whole segments older than `keepDays` (`airlock audit prune`). */
  'audit.prune': { args: z.tuple([z.strictObject({ keepDays: z.number().min(0).max(1_000_000) })]), result: returns<PruneSummary>() },

  /** Adds an audit forwarder (`airlock audit forward add`): the secret goes to the keychain, never into the answer or a log. */
  'audit.forward.add': { args: z.tuple([forwarderInputSchema, forwarderSecretSchema]), result: returns<ForwarderStatus>() },
  /** Sends now and waits until every enabled forwarder is caught up or `timeoutMs` passes (`airlock audit forward flush`). */
  'audit.forward.flush': { args: z.tuple([z.strictObject({ timeoutMs: z.number().int().min(0).max(MAX_FLUSH_MS) })]), result: returns<ForwarderStatus[]>() },

  // ── a task's stored change (`airlock diff/apply/discard`): files named relative to the project ──
  /** The change as stored, its patch checked against the sha256 the trail recorded. */
  'changes.get': { args: z.tuple([taskId]), result: returns<TaskChange>() },
  /** Applies it to the project all or nothing; refuses, naming them, when files changed since the task started. */
  'changes.apply': { args: z.tuple([z.strictObject({ task: taskId, threeWay: z.boolean() })]), result: returns<ApplyResult>() },
  /** Drops the stored change unapplied. */
  'changes.discard': { args: z.tuple([taskId]), result: returns<void>() },

  // ── a task's artifact, for the app's Save (its dialog chose `file`) and Reveal (the file manager) ──
  /** Copies the artifact (still the file the trail recorded) to `file`, whole or not at all; recorded as artifact.saved. */
  'artifacts.saveTo': { args: z.tuple([artifactRef.extend({ file: hostPath })]), result: returns<SavedArtifact>() },
  /** The artifact's host file, checked as a save is (the app's main process shows it in the file manager). */
  'artifacts.locate': { args: z.tuple([artifactRef]), result: returns<{ file: string }>() },
} as const;

export const engineContract = { ...sharedContract, ...engineOnlyContract } as const;
export type EngineContract = typeof engineContract;
export type EngineChannel = keyof EngineContract & string;
export type EngineArgs<C extends EngineChannel> = ArgsOf<EngineContract, C>;
export type EngineResult<C extends EngineChannel> = ResultOf<EngineContract, C>;

/** One handler per shared channel (the app's main process and the engine register the same ones). */
export type SharedHandlers = { [C in SharedChannel]: ContractHandler<SharedContract, C> };
export type EngineHandlers = { [C in EngineChannel]: ContractHandler<EngineContract, C> };
