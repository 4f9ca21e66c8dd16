/**
 * THE typed IPC contract between the renderer and the main process.
 *
 * Each channel declares the runtime schema of its arguments (checked in the main process before
 * any core code runs) and, as a type only, what it returns. The preload exposes exactly one
 * function per channel and main/ipc registers exactly one handler per channel. Pushes (main →
 * renderer) are declared in `pushes`, each with its payload type; the preload exposes one
 * subscription per push topic under `airlock.subscribe`.
 *
 * This file is compiled by both the Node and the web tsconfig, so it must not import anything
 * from main/ at runtime. Result types are declared in preload/wire-types.ts (re-exported here), as
 * the wire shape the renderer may see, rather than imported from main/core: that keeps Node types
 * out of the renderer program, and main/ipc checks at compile time that the core's types match them.
 *
 * No result and no push carries a secret: credentials are write-only from the renderer.
 */
import { z } from 'zod';

/** Phantom marker carrying a channel's result type; it holds no value at runtime. */
export interface Returns<T> {
  readonly __result?: T;
}

function returns<T>(): Returns<T> {
  return {};
}

// ── Wire types: preload/wire-types.ts ───────────────────────────────────────────────────────

export type * from './wire-types.js';
import type {
  AgentSummary, AppliedChange, ApprovalInfo, ArtifactContent, SavedArtifactInfo, AuditExportResult, AuditPageResult, AuditVerifyResult, ChangeView, CredentialPresetInfo, CredentialSummary, DoctorReport, EventBatch,
  ImageBuildState, PastTask, PickedFile, ScreenFrame, ScreenshotInfo, TaskInfo, TerminalFrame, EngineContexts, ForwarderStatus,
} from './wire-types.js';

// ── Argument schemas ────────────────────────────────────────────────────────────────────────

/** A channel with no arguments: the renderer must send none. */
const noArguments = z.tuple([]);
const taskId = z.string().regex(/^t_[0-9a-hjkmnp-tv-z]{26}$/, { error: 'must be a task id (t_…)' });
const agentId = z.string().max(4096).regex(/^(builtin:[a-z0-9][a-z0-9._-]*|file:\/.+)$/, { error: 'must be an agent id from agents.list' });
const hostRule = z.string().max(260).regex(/^(?:\*\.)?[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::\d{1,5})?$/i, { error: 'must be a host, *.domain or host:port' });
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, { error: 'must be a variable name' });
const credentialName = z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, { error: 'must be 1-64 characters of a-z, 0-9 and -' });

/** Arguments appended to an agent's command: at most 200, each at most 32 KiB, no NUL. */
export const argsSchema = z.array(z.string().max(32_768).refine((arg) => !arg.includes('\0') && new TextEncoder().encode(arg).length <= 32_768, { error: 'must be at most 32 KiB without NUL' })).max(200);
/** A kit's endpoint: an https:// URL (the engine checks it in full: http only to loopback, no user:password@). */
export const endpointSchema = z.string().max(2048).regex(/^https?:\/\//i, { error: 'must be an https:// URL' });

export const kitName = z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, { error: 'must be a kit name such as claude-code' });
/** An exact npm version (no range, no tag). */
export const kitVersion = z.string().regex(/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]{1,64})?$/, { error: 'must be an exact version such as 2.1.32' });

/**
 * One artifact of a task, by its path as its `fs.output` event names it — or as the window showed
 * it, hidden characters made visible (at most 6 characters each, so the bound is 6 × 4096).
 */
export const artifactRef = z.strictObject({ task: taskId, path: z.string().min(1).max(6 * 4096) });

/** The settings of a run, as both a window and the engine take them (files are named differently by each). */
export const runSettingsSchema = z.strictObject({
  agentId,
  network: z.discriminatedUnion('mode', [
    z.strictObject({ mode: z.literal('none') }),
    z.strictObject({ mode: z.literal('open') }),
    z.strictObject({ mode: z.literal('allowlist'), allow: z.array(hostRule).max(200) }),
  ]).optional(),
  env: z.array(z.strictObject({ name: envName, value: z.string().max(32_768) })).max(100).optional(),
  /** Typed: the run dialog parses `10m` and `512m` (main/core/policy/units.ts); the core never re-parses text. */
  timeoutMs: z.number().int().positive().max(365 * 24 * 3_600_000).optional(),
  cpus: z.number().positive().max(256).optional(),
  memoryBytes: z.number().int().positive().max(2 ** 50).optional(),
  /** Credentials to lend, each for at most its maximum TTL (the service checks it against the store). */
  credentials: z.array(z.strictObject({ name: credentialName, ttlMs: z.number().int().positive().max(30 * 24 * 3_600_000) })).max(50).optional(),
  /** An interactive session of this size (columns × rows): the agent's program gets a terminal. */
  terminal: z.strictObject({ cols: z.number().int().min(1).max(1000), rows: z.number().int().min(1).max(1000) }).optional(),
  args: argsSchema.optional(),
  endpoint: endpointSchema.optional(),
  /** Package registries added to the network: npm, pypi, or npm=URL / pypi=URL (the engine checks each in full). */
  registries: z.array(z.string().min(1).max(2100)).max(8).optional(),
  /** Model spend limits for this run (`--budget`); each one given replaces the manifest's. */
  budget: z.strictObject({
    tokens: z.number().int().positive().max(1e12).optional(),
    usd: z.number().positive().max(1e6).optional(),
    requests: z.number().int().positive().max(1e9).optional(),
  }).optional(),
});

/** What run.pick* and run.drop hand a window for a host file: an opaque token (main/ipc/picked-files.ts). */
export const pickToken = z.string().regex(/^pick_[A-Za-z0-9_-]{43}$/, { error: 'must be a token from run.pickProject, run.pickInputs, run.pickOutput or run.drop' });
const pickedRef = z.strictObject({ token: pickToken });

/**
 * A window's run: the settings, and host files only as tokens of what the person chose in that
 * window (the app's main process swaps them for paths; a window never names a host file).
 */
export const runRequestSchema = runSettingsSchema.extend({
  /** The project folder the agent gets a working copy of (its manifest must take one: `project:`). */
  project: pickedRef.optional(),
  /** Files or folders copied in read-only; by default to `<workdir>/in/<name>`. */
  inputs: z.array(pickedRef.extend({ containerPath: z.string().startsWith('/').max(4096).optional() })).max(100).optional(),
  /** Where collected outputs go; by default the task's folder in AIRLOCK_HOME. */
  outputDir: pickedRef.optional(),
});
export type RunRequest = z.infer<typeof runRequestSchema>;

/** A path the preload read off a dropped File (webUtils.getPathForFile): absolute, no NUL. */
const droppedPath = z.string().min(1).max(4096).refine((p) => (p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p)) && !p.includes('\0'), { error: 'must be an absolute path without NUL' });

export const auditQuerySchema = z.strictObject({
  task: taskId.optional(),
  agent: z.string().max(64).optional(),
  kinds: z.array(z.string().regex(/^[a-z]+(\.[a-z]+|\.\*)$/)).max(40).optional(),
  decision: z.enum(['allow', 'deny']).optional(),
  since: z.iso.datetime().optional(),
  until: z.iso.datetime().optional(),
  text: z.string().max(500).optional(),
  order: z.enum(['asc', 'desc']).optional(),
  cursor: z.string().regex(/^\d{1,16}$/).optional(),
  limit: z.number().int().min(1).max(5000),
});
export type AuditQueryRequest = z.infer<typeof auditQuerySchema>;

export const credentialInputSchema = z.strictObject({
  name: credentialName,
  secret: z.string().min(1).max(65_536),
  hosts: z.array(hostRule).min(1).max(50),
  header: z.string().max(1000).optional(),
  inject: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('header'), template: z.string().max(1000) }),
    z.strictObject({ kind: z.literal('query'), param: z.string().max(100) }),
    z.strictObject({ kind: z.literal('basic'), user: z.string().max(256).optional() }),
  ]).optional(),
  maxTtlMs: z.number().int().positive().max(30 * 24 * 3_600_000).optional(),
  description: z.string().max(1000).optional(),
});
export type CredentialInput = z.infer<typeof credentialInputSchema>;

// ── Audit forwarding (main/core/forward/types.ts) ─────────────────────────────────────────────

/** A forwarder's name: it also names its cursor file and its keychain entry. */
export const forwarderName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: 'must be 1-63 characters of a-z, 0-9 and -, starting with a letter or digit' });
/** A kind (`net.denied`, `net.*`) or an agent's name in a filter: printable ASCII, no space. */
const filterItem = z.string().min(1).max(128).regex(/^[\x21-\x7e]+$/, { error: 'must be printable ASCII without spaces' });
/** An HTTP header name (RFC 9110 token). */
const headerToken = z.string().max(128).regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]*$/, { error: 'must be an HTTP token (letters, digits, -)' });
/** Which records a forwarder sends (the others go as skipped ranges). */
export const forwarderFilterSchema = z.strictObject({
  kinds: z.array(filterItem).max(64).optional(),
  decisions: z.array(z.enum(['allow', 'deny'])).max(2).optional(),
  agents: z.array(filterItem).max(64).optional(),
});
/**
 * A forwarder as both a window and the engine take it, but for its CA file (a host file: the
 * engine takes its path, a window a token of what the person chose).
 */
export const forwarderSettingsSchema = z.strictObject({
  name: forwarderName,
  kind: z.enum(['otlp-http', 'syslog-tls', 'webhook']),
  /** https://… or tls://host:port; the engine checks it in full (plain http:// is refused there, with the fix). */
  url: z.string().min(1).max(2048).regex(/^(?:https|tls):\/\/[\x21-\x7e]+$/i, { error: 'must be an https:// or tls:// URL' }),
  encoding: z.enum(['json', 'protobuf']).optional(),
  auth: z.strictObject({ header: headerToken.min(1).optional(), scheme: headerToken.max(64).optional() }).optional(),
  filter: forwarderFilterSchema.optional(),
  /** How often the signed head is sent: 1 s to 1 day. */
  headEveryMs: z.number().int().min(1000).max(24 * 3_600_000).optional(),
});
/** The secret travels apart from the settings: it goes to the keychain and never comes back. */
export const forwarderSecretSchema = z.strictObject({ secret: z.string().min(1, { error: 'must not be empty' }).max(16_384, { error: 'must be at most 16 KiB' }).optional() });

/**
 * Input from the person who took control of a screen: the pointer in screen pixels (within the
 * largest screen a manifest may ask for; the service checks the task's own size) with the X11
 * button mask, or a key as an X11 keysym.
 */
export const screenInputSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('pointer'), x: z.number().int().min(0).max(3839), y: z.number().int().min(0).max(2159), buttons: z.number().int().min(0).max(255) }),
  z.strictObject({ type: z.literal('key'), keysym: z.number().int().min(0).max(0x1fff_ffff), down: z.boolean() }),
]);
export type ScreenInput = z.infer<typeof screenInputSchema>;

// ── Channels ────────────────────────────────────────────────────────────────────────────────

export const contract = {
  'app.version': { args: noArguments, result: returns<string>() },
  'doctor.run': { args: noArguments, result: returns<DoctorReport>() },
  /** The Docker contexts (the docker CLI's store) and the one in force: answered by the app's main process. */
  'engine.contexts': { args: noArguments, result: returns<EngineContexts>() },
  /** What `docker context use <name>` does, then a fresh engine on it; refused while tasks run. */
  'engine.useContext': { args: z.tuple([z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.+-]{0,127}$/, { error: 'must be a Docker context name' })]), result: returns<EngineContexts>() },
  /** `image`: which one to build, `base` (the default) or `desktop` (agent-desktop, for tasks with `display:`). */
  /** The base or desktop image, or with `kit` a kit's image (at `version`, default the kit's pinned one). */
  'images.build': { args: z.tuple([z.strictObject({
    offline: z.boolean().optional(), image: z.enum(['base', 'desktop']).optional(),
    kit: kitName.optional(), version: kitVersion.optional(),
  })]), result: returns<ImageBuildState>() },
  'images.state': { args: noArguments, result: returns<ImageBuildState>() },
  'agents.list': { args: noArguments, result: returns<AgentSummary[]>() },
  /** Shows the OS open dialog in main; null when the user cancels. */
  'agents.open': { args: noArguments, result: returns<AgentSummary | null>() },
  'agents.forget': { args: z.tuple([agentId]), result: returns<void>() },
  /**
   * Approves the manifest as it is now (its digest); a later change asks again. `replaces`: the
   * digest of another file's approval under the same name that the person saw and agreed to
   * replace (AgentSummary.replaces); without it, or when the approval there is another by now, a
   * replacement is refused.
   */
  'agents.approve': { args: z.tuple([agentId, z.strictObject({ replaces: z.string().regex(/^sha256:[0-9a-f]{64}$/).optional() })]), result: returns<AgentSummary>() },
  'run.start': { args: z.tuple([runRequestSchema]), result: returns<{ task: string }>() },
  // The run dialog's host files, shown by the app's main process: each answers tokens, never a path.
  /** The OS folder dialog for the project; null when the person cancels. */
  'run.pickProject': { args: noArguments, result: returns<PickedFile | null>() },
  /** The OS open dialog for inputs (files, or with `folders` folders), several at once; [] when cancelled. */
  'run.pickInputs': { args: z.tuple([z.strictObject({ folders: z.boolean() })]), result: returns<PickedFile[]>() },
  /** The OS folder dialog for where outputs go; null when the person cancels. */
  'run.pickOutput': { args: noArguments, result: returns<PickedFile | null>() },
  /**
   * Files dropped on the run dialog. The page passes the dropped File objects; the PRELOAD reads
   * their paths (a File the page made up has none: refused) and sends those on this channel.
   */
  'run.drop': { args: z.tuple([z.array(droppedPath).min(1).max(100)]), result: returns<PickedFile[]>() },
  'tasks.list': { args: noArguments, result: returns<TaskInfo[]>() },
  'tasks.history': { args: z.tuple([z.strictObject({ limit: z.number().int().min(1).max(500) })]), result: returns<PastTask[]>() },
  'tasks.stop': { args: z.tuple([taskId]), result: returns<void>() },
  /** Unfreezes a task of this app that a violation froze; refused for any other task. */
  'tasks.resume': { args: z.tuple([taskId]), result: returns<void>() },
  'approvals.list': { args: noArguments, result: returns<ApprovalInfo[]>() },
  'approvals.answer': { args: z.tuple([z.strictObject({ id: z.uuid(), answer: z.enum(['once', 'task', 'always', 'deny']) })]), result: returns<void>() },
  /**
   * This caller answers asks (of every task, or of `task` and the tasks under it) for as long as it
   * is connected: an ask no connected client answers for is denied at once.
   */
  'approvals.attend': { args: z.tuple([z.strictObject({ task: taskId.optional() })]), result: returns<void>() },
  'audit.query': { args: z.tuple([auditQuerySchema]), result: returns<AuditPageResult>() },
  'audit.verify': { args: noArguments, result: returns<AuditVerifyResult>() },
  /** Shows the OS save dialog in main; null when the user cancels. */
  'audit.export': { args: z.tuple([z.strictObject({ format: z.enum(['jsonl', 'csv']), task: taskId.optional() })]), result: returns<AuditExportResult | null>() },
  'credentials.list': { args: noArguments, result: returns<CredentialSummary[]>() },
  'credentials.presets': { args: noArguments, result: returns<CredentialPresetInfo[]>() },
  'credentials.add': { args: z.tuple([credentialInputSchema]), result: returns<void>() },
  'credentials.remove': { args: z.tuple([credentialName]), result: returns<void>() },
  /**
   * Starts pushing a running task's screen (`screen` pushes) to the calling window alone, until
   * screen.unwatch, the task's end, or that window's; resolves to the screen's size.
   */
  'screen.watch': { args: z.tuple([taskId]), result: returns<{ width: number; height: number }>() },
  'screen.unwatch': { args: z.tuple([taskId]), result: returns<void>() },
  /** Takes control of the screen (the person's input reaches it) or gives it back; both are logged. */
  'screen.control': { args: z.tuple([z.strictObject({ task: taskId, take: z.boolean() })]), result: returns<void>() },
  /** Refused unless this window took control. */
  'screen.input': { args: z.tuple([z.strictObject({ task: taskId, input: screenInputSchema })]), result: returns<void>() },
  /** The task's screenshots from the audit trail (also after the task). */
  'screen.shots': { args: z.tuple([taskId]), result: returns<ScreenshotInfo[]>() },
  /**
   * One artifact of a task (its path as its `fs.output` event names it) for the Artifacts tab to show
   * inline: refused unless it is still the file the trail recorded (sha256), and at most 8 MiB.
   */
  'artifacts.read': { args: z.tuple([artifactRef]), result: returns<ArtifactContent>() },
  /** Shows the OS save dialog in main (the artifact's name as default), then copies it there; null when the user cancels. */
  'artifacts.save': { args: z.tuple([artifactRef]), result: returns<SavedArtifactInfo | null>() },
  /** Shows the artifact in the OS file manager (main asks the engine where it is, checked as a save is). */
  'artifacts.reveal': { args: z.tuple([artifactRef]), result: returns<void>() },
  /** One screenshot's PNG, refused unless it is still the file its event recorded (sha256). */
  'screen.shot': { args: z.tuple([z.strictObject({ task: taskId, index: z.number().int().min(1).max(10_000_000) })]), result: returns<Uint8Array>() },
  /**
   * Starts pushing a running task's interactive session (`terminal` pushes: its scroll-back, then
   * every byte) to the caller alone, until terminal.unwatch, the task's end, or the caller's; resolves to its size.
   */
  'terminal.watch': { args: z.tuple([taskId]), result: returns<{ cols: number; rows: number }>() },
  'terminal.unwatch': { args: z.tuple([taskId]), result: returns<void>() },
  /** Takes control of the session (this caller's keys reach the agent) or gives it back; both are logged. One holder at a time. */
  'terminal.control': { args: z.tuple([z.strictObject({ task: taskId, take: z.boolean() })]), result: returns<void>() },
  /** Keys for the agent's terminal; refused unless this caller holds control. */
  'terminal.input': { args: z.tuple([z.strictObject({ task: taskId, data: z.instanceof(Uint8Array).refine((d) => d.byteLength >= 1 && d.byteLength <= 65_536, { error: 'must be 1 to 65536 bytes' }) })]), result: returns<void>() },
  /** A new size for the agent's terminal; refused unless this caller holds control. */
  'terminal.resize': { args: z.tuple([z.strictObject({ task: taskId, cols: z.number().int().min(1).max(1000), rows: z.number().int().min(1).max(1000) })]), result: returns<void>() },
  /** Every configured forwarder of the audit trail with its lag (README "Forwarding the audit trail"). */
  'audit.forward.list': { args: noArguments, result: returns<ForwarderStatus[]>() },
  /**
   * Adds a forwarder: a window's own (main swaps its CA token for the path the person chose, then
   * calls the engine's `audit.forward.add`). The secret goes to the keychain; the answer never holds it.
   */
  'audit.forward.create': { args: z.tuple([forwarderSettingsSchema.extend({ ca: pickedRef.optional() }), forwarderSecretSchema]), result: returns<ForwarderStatus>() },
  /** Stops a forwarder and removes its config, cursor and keychain entry. */
  'audit.forward.remove': { args: z.tuple([z.strictObject({ name: forwarderName })]), result: returns<void>() },
  // A task's stored change, as a window may see it: files relative to the project and the project's
  // folder name, never a host path (main/ipc/changes.ts asks the engine and leaves host paths out).
  /** The change as stored, its patch checked against the sha256 the trail recorded. */
  'review.get': { args: z.tuple([taskId]), result: returns<ChangeView>() },
  /** Applies it to the project all or nothing (three ways with `threeWay`); refuses, naming them, when files changed since the task started. */
  'review.apply': { args: z.tuple([z.strictObject({ task: taskId, threeWay: z.boolean() })]), result: returns<AppliedChange>() },
  /** Drops the stored change unapplied. */
  'review.discard': { args: z.tuple([taskId]), result: returns<void>() },
} as const satisfies Record<`${string}.${string}`, { args: z.ZodType<readonly unknown[]>; result: Returns<unknown> }>;

/** Push topics (main → renderer). */
export const PUSH_TOPICS = ['events', 'tasks', 'approvals', 'images', 'screen', 'terminal'] as const;
export type PushTopic = (typeof PUSH_TOPICS)[number];

/**
 * `push:<topic>`: the IPC channel of a push, never a contract channel name (those are
 * `namespace.method`). The preload spells it out itself (so it needs no zod); a test keeps them equal.
 */
export function pushChannel(topic: PushTopic): `push:${PushTopic}` {
  return `push:${topic}`;
}

/** Pushes from main to the renderer, each with its payload. Event batches carry many events each. */
export const pushes = {
  events: returns<EventBatch>(),
  tasks: returns<TaskInfo[]>(),
  approvals: returns<ApprovalInfo[]>(),
  images: returns<ImageBuildState>(),
  /** Frames of a screen this window watches (screen.watch), and only those. */
  screen: returns<ScreenFrame>(),
  /** Bytes of an interactive session this caller watches (terminal.watch), and only those. */
  terminal: returns<TerminalFrame>(),
} as const satisfies Record<PushTopic, Returns<unknown>>;

export type Contract = typeof contract;
export type Channel = keyof Contract;

/** Every channel name, for code that must cover the whole contract (registration, tests). */
export const channels = Object.keys(contract) as Channel[];
export const pushTopics: readonly PushTopic[] = PUSH_TOPICS;

export type ChannelArgs<C extends Channel> = z.infer<Contract[C]['args']>;
export type ChannelResult<C extends Channel> = Contract[C]['result'] extends Returns<infer R> ? R : never;
export type PushPayload<T extends PushTopic> = (typeof pushes)[T] extends Returns<infer R> ? R : never;

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
/** What the page passes: the channel's arguments, except run.drop, whose paths the preload reads off real dropped Files. */
export type PageArgs<C extends Channel> = C extends 'run.drop' ? [files: readonly File[]] : ChannelArgs<C>;
type MethodsOf<N extends string, Wrap extends 'envelope' | 'value'> = {
  [C in Channel as C extends `${N}.${infer M}` ? M : never]: (
    ...args: PageArgs<C>
  ) => Promise<Wrap extends 'envelope' ? ErrorEnvelope<ChannelResult<C>> : ChannelResult<C>>;
};

/** One subscription per push topic: the listener gets the payload only; call the result to stop. */
export type Subscriptions = { readonly [T in PushTopic]: (listener: (payload: PushPayload<T>) => void) => () => void };

/** `window.airlock`, as exposed by the preload: `airlock.doctor.run()` resolves to an envelope. */
export type AirlockBridge = { readonly [N in Namespace<Channel>]: MethodsOf<N, 'envelope'> } & { readonly subscribe: Subscriptions };

/** The renderer's API (renderer/src/lib/api.ts): the same functions, unwrapped; errors throw. */
export type AirlockApi = { readonly [N in Namespace<Channel>]: MethodsOf<N, 'value'> } & { readonly subscribe: Subscriptions };
