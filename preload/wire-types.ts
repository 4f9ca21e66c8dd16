/**
 * The wire types of the IPC contract (preload/contract.ts): the shapes results and pushes have as
 * the renderer may see them. Declared here rather than imported from main/core, which keeps Node
 * types out of the renderer program; main/ipc/wire-types.ts fails the build if the core's types
 * and these drift apart. Types only: nothing here exists at runtime.
 */

/** What `airlock doctor` reports: can Airlock reach an engine, a keychain, and its images. */
export interface DoctorReport {
  engine: {
    ok: boolean; endpoint: string; version?: string; apiVersion?: string; os?: string; message: string; fix?: string;
    /** One request to the engine answered (GET /_ping, the median of three), in milliseconds. */
    latencyMs?: number;
    /** The engine created and removed a labelled container from the agent image (absent: the image is missing). */
    roundTrip?: boolean;
    /** May this user use the engine's local socket (absent for tcp://, ssh://: the remote engine decides). */
    access?: { ok: boolean; message: string; fix?: string };
  };
  keychain: { ok: boolean; backend: string; store: 'secret-service' | 'airlock-secret-service' | 'kernel-keyring' | 'macos-keychain' | 'windows-credential-manager' | 'none'; persistent: boolean; message: string; fix?: string };
  /** `optional`: only some tasks need the image (agent-desktop: tasks with `display:`); a missing one does not make `ok` false. */
  images: { ref: string; present: boolean; id?: string; created?: string; sizeBytes?: number; fix?: string; optional?: boolean; kit?: string; outdated?: boolean }[];
  ok: boolean;
}

export interface ErrorInfo {
  code: string;
  message: string;
  hint?: string;
}

export type NetworkMode = 'none' | 'allowlist' | 'open';

/** Everything an agent will get, as a person approving it sees it (main/core/service/approval-summary.ts). */
export interface ApprovalSummary {
  name: string;
  description?: string;
  file: string;
  digest: string;
  image: string;
  command: string[] | null;
  workdir: string;
  inputs: { from: string; hostPath: string; to: string; outsideManifestFolder: boolean; missing: boolean }[];
  env: { name: string; value?: string; hidden?: string }[];
  outputs: string[];
  /** The agent takes a working copy of the folder each run names, put at `to`; null: none. */
  project: { to: string } | null;
  display: { width: number; height: number; screenshotEvery: string } | null;
  network: {
    mode: 'none' | 'allowlist' | 'open';
    allow: string[];
    local: string[];
    registries: { name: string; hosts: string[] }[];
    onUnknownHost: 'deny' | 'ask';
    askTimeout: string;
    rate: { requestsPerMinute?: number; bytes?: string } | null;
  };
  credentials: { name: string; delivery: 'proxy' | 'env'; env: string; ttl: string; methods: string[] | null; pathPrefix: string | null; uses: number | null }[];
  delegation: { allow: string[]; maxDepth: number; maxTasks: number } | null;
  /** MCP servers the agent reaches through Airlock: where each is (a command run in a sandbox of its own, or a URL), its tool rules. */
  mcp: { name: string; runs: string; tools: Record<string, 'allow' | 'ask' | 'deny'>; default: 'allow' | 'ask' | 'deny' }[];
  decoys: { env: string[]; files: string[] };
  onViolation: 'log' | 'stop' | 'freeze';
  maxRefusedRequests: number;
  resources: { cpus: number; memory: string; pids: number };
  timeout: string;
  warnings: string[];
  /** The labelled lines the CLI shows too. */
  rows: { label: string; text: string }[];
}

export interface AgentSummary {
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
  envNames?: string[];
  credentials?: { name: string; ttl?: string }[];
  /** Approval pinned to the manifest's digest: only built-in or approved agents run. */
  approval?: 'built-in' | 'approved' | 'changed' | 'unapproved';
  /** Approving this manifest would replace the approval another file holds under the same name. */
  replaces?: { file: string; digest: string };
  /** Everything the agent will get: what the approval view shows. */
  review?: ApprovalSummary;
  /** Set for a kit (a built-in agent for a real tool): its image and default endpoint. */
  kit?: { name: string; image: string; endpoint: string; provider: string; credential: string };
  error?: ErrorInfo;
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
  stopping: boolean;
  startedAt: string;
  endedAt?: string;
  exitCode?: number;
  artifactsDir: string;
  artifacts: number;
  error?: ErrorInfo;
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
  /** The manifest "Allow always" adds the host to; absent when it cannot. */
  manifestFile?: string;
  /** An MCP tool call held for a person (then `host` is a key, not a host): server, tool, arguments (redacted, capped; agent-made text). */
  mcp?: { server: string; tool: string; arguments: string; changed: boolean };
  /** A credential the agent asked to be lent (then `host` is a key, not a host): its name, the hosts it works for, for how long. Answered once or for the task, never always. */
  credential?: { name: string; hosts: string[]; ttlMs: number };
}

export interface ImageBuildState {
  ref: string;
  state: 'idle' | 'building' | 'done' | 'failed';
  phase?: string;
  message?: string;
  percent?: number;
  error?: ErrorInfo;
}

/** One entry of the action log (DESIGN.md, "Events"). */
export interface WireEvent {
  v: 1;
  seq: number;
  time: string;
  task: string;
  agent: { name: string; digest: string };
  parent?: string;
  chain?: string[];
  actor: 'agent' | 'airlock' | 'user';
  kind: string;
  decision?: { allow: boolean; rule: string; by: 'policy' | 'user' | 'default' };
  identity?: { grant: string; credential: string };
  data: Record<string, unknown>;
}

/** An event as the audit trail keeps it. */
export interface WireRecord extends WireEvent {
  n: number;
  prev: string;
  hash: string;
}

export interface AuditPageResult {
  records: WireRecord[];
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

/** What the UI may know about a credential: never its value. */
export interface CredentialSummary {
  name: string;
  description?: string;
  hosts: string[];
  inject: CredentialInjection;
  maxTtlMs: number;
}

/** A provider's preset: the hosts and injection `cred add --preset` fills in. */
export interface CredentialPresetInfo {
  name: string;
  hosts: string[];
  inject: CredentialInjection;
  description: string;
}

export interface EventBatch {
  events: WireEvent[];
}

/** One changed region of a task's screen, PNG-encoded: the live view draws it at (x, y). */
/**
 * Bytes an interactive session's agent wrote, pushed to a watcher (terminal.watch): the first push
 * of a watch is the scroll-back. `dropped`: this watcher fell too far behind and its watch ended
 * (watch again to go on from the scroll-back); `ended`: the session is over.
 */
export interface TerminalFrame {
  task: string;
  data: Uint8Array;
  dropped?: true;
  ended?: true;
}

export interface ScreenFrame {
  task: string;
  /** Per-watch sequence number, from 1; the first frame of a watch is the whole screen. */
  seq: number;
  /** The whole screen's size. */
  width: number;
  height: number;
  x: number;
  y: number;
  w: number;
  h: number;
  png: Uint8Array;
  /** Epoch ms when the region was read from the screen. */
  at: number;
}

export type CaptureReason = 'start' | 'interval' | 'navigation' | 'control' | 'final';

/** A screenshot as its `screen.capture` event records it (the PNG comes from screen.shot). */
export interface ScreenshotInfo {
  /** Per-task screenshot number, from 1. */
  index: number;
  time: string;
  reason: CaptureReason;
  width: number;
  height: number;
  bytes: number;
  sha256: string;
  /** Path relative to the task's folder. */
  file: string;
  /** The page the browser was navigating to, for `navigation`. */
  url?: string;
}

/** One file of a task's change (main/core/service/change-files.ts ChangeFile): paths relative to the project. */
export interface ChangeFileInfo {
  path: string;
  status: 'added' | 'modified' | 'deleted' | 'renamed' | 'mode';
  oldPath?: string;
  binary: boolean;
  added: number;
  removed: number;
  oldMode?: number;
  newMode?: number;
  symlinkTarget?: string;
  sha256?: string;
}

/** A task's stored change as a window sees it: the project by its folder's name only, no host path. */
export interface ChangeView {
  task: string;
  /** The last part of the project folder's path (the app names the folder, never where it is). */
  projectName: string;
  git: boolean;
  head?: string;
  files: ChangeFileInfo[];
  added: number;
  removed: number;
  /** Unified diff text made from what the agent wrote: shown as text, never as markup. */
  patch: string;
  patchSha256: string;
  branch?: string;
  appliedAt?: string;
}

/** What applying a change did, relative to the project. */
export interface AppliedChange {
  task: string;
  files: string[];
  merged: string[];
  notices: { path: string; dropped: 'setuid/setgid/sticky' | 'executable' }[];
}

/** An artifact's bytes and how the Artifacts tab may show them (images by their magic number only; never SVG or HTML). */
export interface ArtifactContent {
  view: { kind: 'image'; mime: 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp' } | { kind: 'markdown' | 'csv' | 'json' | 'text' } | { kind: 'binary' };
  bytes: Uint8Array;
}

/** A saved copy of an artifact as the window sees it: the file's name (never its host path), its size and sha256. */
export interface SavedArtifactInfo {
  name: string;
  size: number;
  sha256: string;
}

/**
 * A host file or folder the person chose for a run (the run dialog's OS dialogs, or a drop): what
 * the window may see of it. The path stays in the app's main process; `token` names it in
 * run.start, from this window only, for 30 minutes.
 */
export interface PickedFile {
  token: string;
  /** The last part of its path. */
  name: string;
  /** `missing`: it could not be read when chosen (the run says why). */
  kind: 'file' | 'folder' | 'missing';
  /** A file's size in bytes. */
  size?: number;
}

/** A Docker context as the Status screen lists it (`docker context ls`). */
export interface DockerContextInfo {
  name: string;
  /** Its engine's address; none for `default` (DOCKER_HOST or the usual socket). */
  host?: string;
  description?: string;
  /** The one Airlock's engine uses now. */
  current: boolean;
}

/** The Docker contexts and which one is in force; `overriddenBy`: a variable decides, so switching is refused. */
export interface EngineContexts {
  current: string;
  overriddenBy?: 'DOCKER_HOST' | 'DOCKER_CONTEXT';
  contexts: DockerContextInfo[];
}

/** What `airlock audit forward status` and the Audit screen show of one forwarder (main/core/forward/types.ts): never its secret. */
export interface ForwarderStatus {
  name: string;
  kind: 'otlp-http' | 'syslog-tls' | 'webhook';
  url: string;
  encoding?: 'json' | 'protobuf';
  enabled: boolean;
  filter?: { kinds?: string[]; decisions?: Array<'allow' | 'deny'>; agents?: string[] };
  /** Whether the keychain holds a secret for it (never the secret). */
  hasSecret: boolean;
  state: 'caught-up' | 'sending' | 'retrying' | 'stopped';
  /** The last record the collector acknowledged. */
  acked?: { n: number; time: string };
  /** The trail's last record. */
  tip: { n: number; time?: string };
  /** Records not yet acknowledged, and how long the oldest of them has waited (ms). */
  lag: { records: number; ms: number };
  lastError?: { at: string; message: string };
  nextAttemptAt?: string;
  /** The last signed head the collector acknowledged. */
  headSent?: { n: number; at: string };
}
