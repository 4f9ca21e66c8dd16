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
import { contract, type AgentSummary, type AuditExportResult, type Returns } from '../../../preload/contract.js';
import type { ArgsOf, ContractHandler, ResultOf } from './dispatch.js';

function returns<T>(): Returns<T> {
  return {};
}

// The channels a window has and the engine has not.
const { 'app.version': _appVersion, 'agents.open': _agentsOpen, 'audit.export': _auditExport, ...shared } = contract;

/** The renderer's channels the engine answers as they are. */
export const sharedContract = shared;
export type SharedContract = typeof sharedContract;
export type SharedChannel = keyof SharedContract & string;

const absolutePath = z.string().min(2).max(4096).refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), { error: 'must be an absolute path' });
const taskId = z.string().regex(/^t_[0-9a-hjkmnp-tv-z]{26}$/, { error: 'must be a task id (t_…)' });

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
} as const;

export const engineContract = { ...sharedContract, ...engineOnlyContract } as const;
export type EngineContract = typeof engineContract;
export type EngineChannel = keyof EngineContract & string;
export type EngineArgs<C extends EngineChannel> = ArgsOf<EngineContract, C>;
export type EngineResult<C extends EngineChannel> = ResultOf<EngineContract, C>;

/** One handler per shared channel (the app's main process and the engine register the same ones). */
export type SharedHandlers = { [C in SharedChannel]: ContractHandler<SharedContract, C> };
export type EngineHandlers = { [C in EngineChannel]: ContractHandler<EngineContract, C> };
