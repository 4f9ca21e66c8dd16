/**
 * THE typed IPC contract between the renderer and the main process.
 *
 * Each channel declares the runtime schema of its arguments (checked in the main process before
 * any core code runs) and, as a type only, what it returns. The preload exposes exactly one
 * function per channel and main/ipc registers exactly one handler per channel.
 *
 * This file is compiled by both the Node and the web tsconfig, so it must not import anything
 * from main/ at runtime. Result types are declared here, as the wire shape the renderer may see,
 * rather than imported from main/core: that keeps Node types out of the renderer program, and
 * main/ipc checks at compile time that the core's types match them.
 */
import { z } from 'zod';

/** Phantom marker carrying a channel's result type; it holds no value at runtime. */
export interface Returns<T> {
  readonly __result?: T;
}

function returns<T>(): Returns<T> {
  return {};
}

// ── Wire types ──────────────────────────────────────────────────────────────────────────────

/** What `airlock doctor` reports: can Airlock reach an engine, a keychain, and its images. */
export interface DoctorReport {
  engine: { ok: boolean; endpoint: string; version?: string; apiVersion?: string; os?: string; message: string; fix?: string };
  keychain: { ok: boolean; backend: string; message: string; fix?: string };
  images: { ref: string; present: boolean; id?: string; created?: string; sizeBytes?: number; fix?: string }[];
  ok: boolean;
}

// ── Channels ────────────────────────────────────────────────────────────────────────────────

/** A channel with no arguments: the renderer must send none. */
const noArguments = z.tuple([]);

export const contract = {
  'app.version': { args: noArguments, result: returns<string>() },
  'doctor.run': { args: noArguments, result: returns<DoctorReport>() },
} as const satisfies Record<`${string}.${string}`, { args: z.ZodType<readonly unknown[]>; result: Returns<unknown> }>;

export type Contract = typeof contract;
export type Channel = keyof Contract;

/** Every channel name, for code that must cover the whole contract (registration, tests). */
export const channels = Object.keys(contract) as Channel[];

export type ChannelArgs<C extends Channel> = z.infer<Contract[C]['args']>;
export type ChannelResult<C extends Channel> = Contract[C]['result'] extends Returns<infer R> ? R : never;

// ── Envelope ────────────────────────────────────────────────────────────────────────────────

/**
 * An error as it crosses IPC. `code` is an AirlockError code (e.g. `engine_unavailable`) or one
 * of the IPC layer's own (`forbidden`, `bad_argument`, `internal`), so the UI can tell kinds apart.
 */
export interface IpcError {
  code: string;
  message: string;
  hint?: string;
}

/**
 * Every handler resolves to an envelope instead of throwing: Electron reduces a thrown error (over
 * ipcMain.handle and again over contextBridge) to its message, which would lose code and hint.
 */
export type ErrorEnvelope<T> = { ok: true; value: T } | { ok: false; error: IpcError };

// ── Shapes derived from the contract ────────────────────────────────────────────────────────

type Namespace<C extends string> = C extends `${infer N}.${string}` ? N : never;
type MethodsOf<N extends string, Wrap extends 'envelope' | 'value'> = {
  [C in Channel as C extends `${N}.${infer M}` ? M : never]: (
    ...args: ChannelArgs<C>
  ) => Promise<Wrap extends 'envelope' ? ErrorEnvelope<ChannelResult<C>> : ChannelResult<C>>;
};

/** `window.airlock`, as exposed by the preload: `airlock.doctor.run()` resolves to an envelope. */
export type AirlockBridge = { readonly [N in Namespace<Channel>]: MethodsOf<N, 'envelope'> };

/** The renderer's API (renderer/src/lib/api.ts): the same functions, unwrapped; errors throw. */
export type AirlockApi = { readonly [N in Namespace<Channel>]: MethodsOf<N, 'value'> };
