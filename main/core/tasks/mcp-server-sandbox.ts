import { DEFAULT_MAX_REPEATS } from '../spend/budget.js';
import path from 'node:path';
import type { EventBus } from '../audit/bus.js';
import type { AgentRef } from '../audit/events.js';
import type { Clock } from '../clock.js';
import type { Engine } from '../engine/engine.js';
import { DockerFrameParser } from '../engine/docker-frames.js';
import { sandboxLabels } from '../engine/hardening.js';
import { taskObjectNames } from '../engine/leftovers.js';
import { packWorkspace } from '../engine/workspace-archive.js';
import type { Gateway } from '../gateway/gateway.js';
import { DEFAULT_IMAGE } from '../policy/manifest-schema.js';
import { newTaskId } from './ids.js';
import { sidecarReporter } from './sidecar-events.js';
import type { TaskSpec } from './spec.js';
import { openTaskNetwork } from './task-network.js';
import { openTaskSandbox } from './task-sandbox.js';
import { Teardown } from './teardown.js';
import { DEFAULT_ASK_TIMEOUT_MS } from './network-spec.js';
import type { McpServerSpec } from '../mcp/manifest.js';
import { StdioChannel, type StdioBounds } from '../mcp/stdio-channel.js';

/** Where a stdio server's `inputs:` go, and where it starts: its own small workspace. */
export const SERVER_WORKDIR = '/srv';
/** A server's limits: it is a helper, not an agent. */
const SERVER_LIMITS = { cpus: 1, memoryBytes: 512 * 1024 * 1024, pids: 128, diskBytes: 64 * 1024 * 1024 };

export interface ServerSandboxDeps {
  engine: Engine;
  bus: EventBus;
  clock: Clock;
  gateway: Gateway | undefined;
  assetsDir: string;
  owner: string;
}

export interface RunningServer {
  /** The server's own task id (its containers, network and events are recorded under it). */
  task: string;
  channel: StdioChannel;
  /** Ends the server (kills and removes its containers and volumes). Runs once. */
  stop(): Promise<void>;
}

/**
 * Starts a stdio MCP server for a task in a sandbox of its own, made as any task's is (its own
 * sidecar holding its life and deadline, a hardened container: no capabilities, read-only root, no
 * new privileges, its own network per its `network:`, default none), recorded as a task of its
 * own (so the reaper can vouch for what it made) whose `task.created` names the task it serves.
 * Its stdin and stdout carry newline-delimited JSON-RPC (StdioChannel, every line bounded).
 */
export async function startServerSandbox(deps: ServerSandboxDeps, options: {
  parent: { task: string; agent: AgentRef; timeoutMs: number };
  server: McpServerSpec;
  manifestDir: string;
  bounds?: Partial<StdioBounds>;
  sidecarGraceMs: number;
  onEnd: (reason: string) => void;
}): Promise<RunningServer> {
  const { engine, bus, clock } = deps;
  const { server, parent } = options;
  const task = newTaskId();
  const agent: AgentRef = { name: `mcp-${server.name}`, digest: parent.agent.digest };
  const emit = (kind: 'task.created' | 'task.started' | 'task.destroyed' | 'fs.input', data: Record<string, unknown>) => bus.emit({ task, agent, actor: 'airlock', kind, data });
  const names = taskObjectNames(task);
  const inputs = server.inputs.map((input) => ({ from: path.resolve(options.manifestDir, input.from), to: input.to }));
  const network = server.network.mode === 'none'
    ? { mode: 'none' as const, source: 'manifest' as const, widened: false }
    : { mode: 'allowlist' as const, allow: server.network.allow, local: [], onUnknownHost: 'deny' as const, askTimeoutMs: DEFAULT_ASK_TIMEOUT_MS, rate: {}, source: 'manifest' as const, widened: false };
  const spec = {
    agent, image: server.image ?? DEFAULT_IMAGE, command: server.command, workdir: SERVER_WORKDIR, env: {}, inputs, outputs: [],
    limits: SERVER_LIMITS, timeoutMs: parent.timeoutMs, network, credentials: [], violations: { action: 'log', maxRefusedRequests: 20 },
    decoys: { env: [], files: [] }, delegate: { allow: [], maxDepth: 0, maxTasks: 0 }, outputDir: undefined, display: undefined,
    // A server makes no model calls of its own through a lent key (it holds none): no budget, the default loop bound.
    budget: {}, maxRepeats: DEFAULT_MAX_REPEATS,
  } satisfies TaskSpec;
  emit('task.created', {
    image: spec.image, command: spec.command ?? null, workdir: spec.workdir, network: network.mode, networkPolicy: network, limits: spec.limits, timeoutMs: spec.timeoutMs,
    inputs, outputs: [], display: null, owner: deps.owner, objects: { containers: [names.container, names.sidecar], volumes: [names.workspace, names.certs] },
    mcp: { server: server.name, for: parent.task },
  });
  const teardown = new Teardown();
  const made = { containers: 0, volumes: 0, engineObjects: false };
  let channel: StdioChannel | undefined;
  let stopping: Promise<void> | undefined;
  // Once, whoever asks first (the task's teardown, or the channel ending on a broken bound, which asks again).
  const stop = () => (stopping ??= Promise.resolve().then(async () => {
    channel?.end('the task it served ended');
    const failed = await teardown.run();
    emit('task.destroyed', { removed: { containers: made.containers, volumes: made.volumes }, ...(failed.length > 0 ? { failed: failed.map((f) => `${f.name}: ${(f.error as Error).message}`) } : {}) });
    bus.release(task);
  }));
  try {
    const taskNetwork = openTaskNetwork({ gateway: deps.gateway, task, agent, spec: network });
    teardown.add('network', () => taskNetwork.close());
    const report = sidecarReporter({ bus, task, agent, diskBytes: spec.limits.diskBytes });
    const { sidecar, sandbox } = await openTaskSandbox({
      engine, spec, names, labels: sandboxLabels(task, agent, deps.owner), assetsDir: deps.assetsDir, network: taskNetwork, report, env: taskNetwork.env,
      certsVolume: false, secretsOnStdin: true, teardown, made,
    });
    if (inputs.length > 0) await sandbox.seed(SERVER_WORKDIR, packWorkspace(SERVER_WORKDIR, inputs, [], (file) => emit('fs.input', { path: file.path, from: file.from, size: file.size, sha256: file.sha256 })));
    // stdin is the wrapper's first (an empty list of variables), then the server's JSON-RPC.
    const attached = await sandbox.attach(true);
    teardown.add('stdio', () => (attached as unknown as { destroy(): void }).destroy());
    const ended = (reason: string) => {
      options.onEnd(reason);
      void stop();
    };
    const stdio = new StdioChannel({ write: (line) => attached.write(line), clock, ...(options.bounds ? { bounds: options.bounds } : {}), onEnd: ended });
    channel = stdio;
    const frames = new DockerFrameParser((stream, piece) => {
      if (stream === 'stdout') stdio.push(piece);
    });
    attached.on('data', (chunk: Buffer) => frames.push(chunk));
    attached.on('end', () => stdio.end('it exited'));
    attached.on('error', () => stdio.end('its stdio broke'));
    await sandbox.start();
    await sidecar.arm((parent.timeoutMs + options.sidecarGraceMs) / 1000);
    attached.write('\n');
    emit('task.started', { container: sandbox.container.id.slice(0, 12), timeoutMs: spec.timeoutMs, containers: [sandbox.container.id, sidecar.container.id] });
    return { task, channel: stdio, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
