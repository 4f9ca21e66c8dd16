// The action log's event model (DESIGN.md, "Events"). Every producer emits through an EventBus.

export const EVENT_KINDS = [
  'task.created', 'task.started', 'task.exited', 'task.timeout', 'task.cancelled', 'task.aborted',
  'task.frozen', 'task.resumed', 'task.stopped', 'task.destroyed',
  'image.progress',
  'proc.stdout', 'proc.stderr', 'output.truncated',
  'fs.input', 'fs.output',
  // a project's working copy put in the workspace (tasks/project-copy.ts): what was copied, and its hash
  'task.project',
  // a large project's copy under way: files and bytes copied so far, of how many (twice a second at most)
  'project.progress',
  'net.request', 'net.denied',
  'cred.granted', 'cred.used', 'cred.denied', 'cred.misuse', 'cred.expired', 'cred.revoked',
  'approval.requested', 'approval.decided',
  // a task asked about more hosts than a person can be asked about at once: the rest were denied unasked
  'approval.burst',
  'policy.violation', 'agent.action', 'resource.sample',
  // a limit of the sandbox reached (its workspace full): the agent's own writes now fail
  'resource.limit',
  // a task's virtual screen: ready, a screenshot kept as a file, a person taking or giving back control,
  // page loads the screen did not show
  'screen.started', 'screen.capture', 'screen.control', 'screen.stalled',
  // the audit trail's own records: a torn write set aside after a crash, old segments removed,
  // files changed by someone without the signing key (what the writer could not vouch for, set aside)
  'audit.recovered', 'audit.retention', 'audit.tamper',
  // a new head-signing key continues the chain (the keychain lost the one before): handover.ts
  'audit.handover',
  // a forwarder of the trail to a collector (main/core/forward) added or removed (its kind, URL and
  // filter: hiding records from a collector is itself recorded), started or changed under a collector or filter
  // its cursor never sent under (forwarders.json edited by hand), or going from delivering to failing and back
  'audit.forward',
  // an engine object carrying Airlock's labels that Airlock did not make (left alone by the reaper)
  'engine.forged',
  // the warm pool (tasks/pool.ts): a sandbox prepared for no task yet (recorded before its objects
  // are made, naming them, so the reaper can vouch for them), taken by a task, destroyed unused
  'pool.prepared', 'pool.claimed', 'pool.discarded',
  // an interactive session (`run -it`, the app's Terminal tab): its size, who may type, how many
  // bytes went each way; never the bytes themselves (echoed keystrokes may be secrets)
  'terminal.started', 'terminal.resized', 'terminal.control', 'terminal.ended',
  // the agent's change to its project (main/core/changes): files, lines and the stored patch's sha256;
  // what was left out of it and why (a symlink out of the project, a setuid bit, .git internals, a bound)
  'task.changes', 'changes.refused',
  // a task's stored change (its project's edits) applied to the user's folder, or dropped unapplied
  'changes.applied', 'changes.discarded',
  // a task's artifact copied where the user chose (the app's Save), or a save/reveal refused because
  // the file is no longer the one the trail recorded (changed, a symlink, outside its folder)
  'artifact.saved', 'artifact.refused',
  // MCP servers under policy (main/core/mcp): a tool call with its decision; a server started, ended or refused;
  // tools whose description or schema changed since first used (refused until re-approved)
  'mcp.call', 'mcp.server', 'mcp.changed',
  // a model API response the gateway relayed (main/core/spend): provider, model, tokens, cost, totals of the task and its chain
  'model.usage',
] as const;

export type EventKind = (typeof EVENT_KINDS)[number];
export type Actor = 'agent' | 'airlock' | 'user';

export interface Decision {
  allow: boolean;
  rule: string;
  by: 'policy' | 'user' | 'default';
}

export interface Identity {
  grant: string;
  credential: string;
}

export interface AgentRef {
  name: string;
  /** sha256 of the manifest as loaded (`sha256:<hex>`), so a record names the exact agent. */
  digest: string;
}

export interface AirlockEvent {
  v: 1;
  /** Per-task sequence number, starting at 1. */
  seq: number;
  /** ISO 8601 with milliseconds, UTC. */
  time: string;
  task: string;
  agent: AgentRef;
  parent?: string;
  chain?: string[];
  actor: Actor;
  kind: EventKind;
  decision?: Decision;
  identity?: Identity;
  data: Record<string, unknown>;
}

/** What a producer supplies; the bus fills in v, seq and time. */
export type EventInput = Omit<AirlockEvent, 'v' | 'seq' | 'time'>;
