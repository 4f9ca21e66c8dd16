import type { AuditQuery } from '../audit/query.js';
/**
 * What the application service hands to a UI. preload/contract.ts declares the same shapes as the
 * wire types (so the renderer never compiles core code); main/ipc asserts at compile time that the
 * two stay identical. Nothing here ever carries a secret value.
 */
import type { AirlockEvent } from '../audit/events.js';
import type { AuditRecord } from '../audit/record.js';
import type { ApprovalSummary } from './approval-summary.js';

export type { ApprovalSummary };

export interface ErrorInfo {
  code: string;
  message: string;
  hint?: string;
}

export type NetworkMode = 'none' | 'allowlist' | 'open';

export interface AgentSummary {
  /** `builtin:<folder>` or `file:<absolute path>`: what tasks.run names. */
  id: string;
  source: 'built-in' | 'opened';
  file: string;
  name: string;
  description?: string;
  digest?: string;
  image?: string;
  network?: { mode: NetworkMode; allow: string[]; local: string[]; onUnknownHost: 'deny' | 'ask' };
  /** Agents this one may start. */
  delegates?: string[];
  timeout?: string;
  resources?: { cpus?: number; memory?: string };
  /** Names only: values stay in the manifest. */
  envNames?: string[];
  /** Credentials the manifest asks for (name, ttl), for the run dialog. */
  credentials?: { name: string; ttl?: string }[];
  /** Approval pinned to the manifest's digest: only built-in or approved agents run. */
  approval?: 'built-in' | 'approved' | 'changed' | 'unapproved';
  /** Approving this manifest would replace the approval another file holds under the same name. */
  replaces?: { file: string; digest: string };
  /** Everything the agent will get, as the approval view shows it (the CLI's summary is the same model). */
  review?: ApprovalSummary;
  /** Set for a kit (a built-in agent for a real tool): its image and default endpoint. */
  kit?: { name: string; image: string; endpoint: string; provider: string; credential: string };
  /** Set when the manifest cannot be loaded: what is wrong and how to fix it. */
  error?: ErrorInfo;
}

export type RunNetwork = { mode: 'none' } | { mode: 'open' } | { mode: 'allowlist'; allow: string[] };

/** The app's run dialog: typed (the dialog parses `10m` and `512m`; the core never re-parses text). */
export interface RunRequest {
  agentId: string;
  /** Instead of the manifest's network, for this run. */
  network?: RunNetwork;
  env?: { name: string; value: string }[];
  timeoutMs?: number;
  cpus?: number;
  memoryBytes?: number;
  /** Credentials to lend (the manifest's own are lent anyway; naming one sets its TTL). */
  credentials?: { name: string; ttlMs: number }[];
  /** An interactive session of this size (the agent's program gets a terminal). */
  terminal?: { cols: number; rows: number };
  /** Appended to the manifest's command. */
  args?: string[];
  /** Kits only: the provider endpoint instead of the default (an https:// URL). */
  endpoint?: string;
  /** Package registries added to the network: `npm`, `pypi`, or a company's `npm=<URL>` / `pypi=<URL>`. */
  registries?: string[];
  /** Host files or folders (absolute) copied in read-only (the app's main process chose them by its OS dialogs). */
  inputs?: { hostPath: string; containerPath?: string }[];
  /** The folder the agent gets a working copy of (its manifest says `project:`). */
  project?: { hostPath: string };
  /** Where collected outputs go (absolute); by default the task's folder in AIRLOCK_HOME. */
  outputDir?: string;
  /** Model spend limits for this run (`--budget`); each one given replaces the manifest's. */
  budget?: { tokens?: number; usd?: number; requests?: number };
}

/**
 * A run a client that is the user's own program asks for (the CLI's `airlock run`): it may name
 * a manifest file and host files, which the app's window never may.
 */
export interface StartRequest {
  /** A built-in or approved agent's name, or the absolute path of a manifest. */
  agent: string;
  network?: RunNetwork;
  env?: { name: string; value: string }[];
  timeoutMs?: number;
  cpus?: number;
  memoryBytes?: number;
  /** Naming one the manifest lists sets its TTL (or keeps the manifest's); another is lent in `<NAME>_TOKEN`. */
  credentials?: { name: string; ttlMs?: number }[];
  /** Host files or folders (absolute) copied in read-only; by default to `<workdir>/in/<name>`. */
  inputs?: { hostPath: string; containerPath?: string }[];
  /** The folder the agent gets a working copy of (its manifest says `project:`). */
  project?: { hostPath: string };
  /** Where collected outputs go (absolute); by default the task's folder in AIRLOCK_HOME. */
  outputDir?: string;
  /** The task is stopped (like Ctrl-C) when the client that started it goes away (`--detach` unsets it). */
  attached: boolean;
  /** An interactive session of this size (`run -it`): the agent's program gets a terminal. */
  terminal?: { cols: number; rows: number };
  /** Appended to the manifest's command (`airlock run <agent> -- <args>`). */
  args?: string[];
  /** Kits only: the provider endpoint instead of the default (an https:// URL). */
  endpoint?: string;
  /** Package registries added to the network: `npm`, `pypi`, or a company's `npm=<URL>` / `pypi=<URL>`. */
  registries?: string[];
  /** Model spend limits (`--budget`); each one given replaces the manifest's. */
  budget?: { tokens?: number; usd?: number; requests?: number };
  /** The starting client answers this run's asks (a CLI at a terminal) for as long as it is connected. */
  answersAsks?: boolean;
}

/** How a task ended (`tasks.wait`). */
export interface TaskEnd {
  task: string;
  state: Exclude<TaskState, 'starting' | 'running' | 'frozen'>;
  exitCode?: number;
  artifacts: number;
  artifactsDir: string;
  /** Set when it could not run (state `failed`): what was wrong and how to fix it. */
  error?: ErrorInfo;
}

/** An agent as a client names it (`airlock run <agent>`, `agents show`): what the approval prompt shows. */
export interface AgentInspection extends AgentSummary {
  /** The agents it may start, each with the digest it would be pinned at now (none: not approved now). */
  delegatePins: { name: string; digest?: string }[];
}

/** A task of any Airlock process on this engine, from its containers (what `airlock ps` lists). */
export interface RunningTask {
  task: string;
  agent: string;
  state: string;
  /** Seconds since the epoch its agent container was made. */
  created?: number;
  /** `<host>:<pid>` of the Airlock process running it. */
  owner?: string;
}

/** What `airlock gc` removed and left alone. */
export interface GcResult {
  reaped: { task: string; agent: string; removed: { containers: number; volumes: number; networks: number } }[];
  leftAlone: { kind: string; name: string; claimedTask: string; reason: string }[];
}

/** What `airlock audit prune` removed. */
export interface PruneSummary {
  removedSegments: number;
  removedRecords: number;
  /** Old segments kept because they hold records a forwarder's collector has not acknowledged. */
  heldSegments?: number;
  /** The forwarders they are kept for, and the last record each had acknowledged. */
  heldFor?: Array<{ forwarder: string; ackedN: number }>;
}

/** `stopped`: by policy (onViolation: stop); `cancelled`: by a person; `frozen`: paused by a violation. */
export type TaskState = 'starting' | 'running' | 'frozen' | 'exited' | 'timeout' | 'cancelled' | 'stopped' | 'failed';

/** One credential lent to a task: from `cred.granted`, until `cred.expired` or `cred.revoked`. */
export interface TaskGrant {
  grant: string;
  credential: string;
  expiresAt: string;
  state: 'active' | 'expired' | 'revoked';
}

export interface TaskInfo {
  id: string;
  agent: string;
  agentId: string;
  network: NetworkMode;
  state: TaskState;
  /** A stop was asked for and the sandbox is being torn down. */
  stopping: boolean;
  startedAt: string;
  endedAt?: string;
  exitCode?: number;
  artifactsDir: string;
  artifacts: number;
  error?: ErrorInfo;
  /** Its grants, live: a countdown to each expiry. */
  grants: TaskGrant[];
  /** Set while frozen by a violation (task.frozen), until task.resumed. */
  frozen?: { reason: string; at: string };
  /** The virtual screen of a task whose manifest has `display:` (watched live while it runs). */
  display?: { width: number; height: number };
  /** Who has taken control of its screen, while someone has (its input then reaches the screen). */
  control?: string;  /** An interactive session's size now, and which client may type into it (`cli` or `app`), while one may. */
  terminal?: { cols: number; rows: number; control?: 'cli' | 'app' };
}

export interface PastTask {
  id: string;
  agent: string;
  startedAt?: string;
  endedAt?: string;
  outcome?: 'exited' | 'timeout' | 'cancelled' | 'stopped' | 'aborted';
  exitCode?: number;
  /** Its screen, for a task with `display:` (watchable while it runs, even when the CLI runs it). */
  display?: { width: number; height: number };
}

export interface ApprovalInfo {
  id: string;
  task: string;
  agent?: string;
  host: string;
  port: number;
  expiresAt: string;
  /** The agent's reason, when it asked ahead (POST /v1/access-requests): its own text, capped, hidden characters escaped. */
  reason?: string;
  /** The manifest "always" adds the host to; absent when it cannot (a built-in agent, a task started elsewhere). */
  manifestFile?: string;
  /** An MCP tool call held for a person (then `host` is a key, not a host): server, tool, arguments (redacted, capped; agent-made text). */
  mcp?: { server: string; tool: string; arguments: string; changed: boolean };
  /** A credential the agent asked to be lent (then `host` is a key, not a host): its name, the hosts it works for, for how long. Answered once or for the task, never always. */
  credential?: { name: string; hosts: string[]; ttlMs: number };
}

/** 'always' also adds the host to the task's manifest (network.allow). */
export type ApprovalReply = 'once' | 'task' | 'always' | 'deny';

export interface ImageBuildState {
  ref: string;
  state: 'idle' | 'building' | 'done' | 'failed';
  phase?: string;
  message?: string;
  percent?: number;
  error?: ErrorInfo;
}

/** An audit query from the UI: the core's query, one page at a time. */
export type AuditQueryRequest = { [K in keyof (AuditQuery & { limit: number })]: (AuditQuery & { limit: number })[K] };

export interface AuditPageResult {
  records: AuditRecord[];
  next?: string;
}

export interface AuditVerifyResult {
  ok: boolean;
  records: number;
  headSigned: boolean;
  problem?: { record: number; segment?: string; line?: number; message: string };
  notes: string[];
  /** The fingerprint (`SHA256:…`) of the key that signs the head now. */
  key?: string;
  /** Each hand-over to a new signing key (the keychain lost the one before), oldest first. */
  keyChanges?: { record: number; time: string; from: string; to: string; reason: string }[];
}

export interface AuditExportResult {
  file: string;
  records: number;
}

/** How a credential's secret goes into a request (main/core/credentials/injection.ts). */
export type CredentialInjection =
  | { kind: 'header'; template: string }
  | { kind: 'query'; param: string }
  | { kind: 'basic'; user?: string };

export interface CredentialSummary {
  name: string;
  description?: string;
  hosts: string[];
  inject: CredentialInjection;
  maxTtlMs: number;
}

export interface CredentialPresetInfo {
  name: string;
  hosts: string[];
  inject: CredentialInjection;
  description: string;
}

export interface CredentialInput {
  name: string;
  /** Write-only: goes to the keychain, never comes back. */
  secret: string;
  hosts: string[];
  /** A header template (as before injections); or `inject`; neither: `Authorization: Bearer`. */
  header?: string;
  inject?: CredentialInjection;
  maxTtlMs?: number;
  description?: string;
}

export interface EventBatch {
  events: AirlockEvent[];
}

/** What the service pushes to a UI, batched where it can be frequent. */
export type ServicePush =
  | { topic: 'events'; payload: EventBatch }
  | { topic: 'tasks'; payload: TaskInfo[] }
  | { topic: 'approvals'; payload: ApprovalInfo[] }
  | { topic: 'images'; payload: ImageBuildState };
