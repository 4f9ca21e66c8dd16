/**
 * A task's in-sandbox API (sandbox-api.ts) as the runner opens it: its children (started through
 * `POST /v1/tasks`, ended with it), its access requests (hosts through the gateway, tools through
 * its MCP broker) and its MCP servers' endpoints.
 */
import type { EventBus } from '../audit/bus.js';
import type { Clock } from '../clock.js';
import type { Gateway } from '../gateway/gateway.js';
import type { HomeLayout } from '../home.js';
import type { McpBroker } from '../mcp/broker.js';
import type { AgentRegistry } from '../policy/registry.js';
import type { DelegationTree } from './delegation.js';
import type { TaskCredentials } from './grants.js';
import type { CredentialStore } from '../credentials/store.js';
import { lendCredential } from './credential-requests.js';
import { sandboxApi } from './sandbox-api.js';
import { spawnChild } from './spawn-child.js';
import type { TaskSpec } from './spec.js';
import type { Teardown } from './teardown.js';
import type { SandboxApiHandler } from '../gateway/task-state.js';

/** Runs a child task of this one (the runner's own run, with the parent's end as its signal). */
export type RunChild = (spec: TaskSpec, taskId: string, parentEnded: AbortSignal) => Promise<{ status: string; exitCode: number | undefined; artifactsDir: string }>;

export interface TaskApi {
  api: SandboxApiHandler;
  /** Aborted when the task is over: its children stop first, with the reason. */
  childrenEnd: AbortController;
}

export function openTaskApi(options: {
  task: string; spec: TaskSpec; bus: EventBus; clock: Clock; home: HomeLayout; teardown: Teardown;
  tree: DelegationTree | undefined; registry: AgentRegistry | undefined; gateway: Gateway | undefined; mcp: McpBroker | undefined;
  credentials: TaskCredentials | undefined; store: CredentialStore | undefined; runChild: RunChild;
}): TaskApi {
  const { task, spec, bus, clock, home, tree, gateway, mcp } = options;
  const network = spec.network;
  // Children end when this task does (whatever ends it), before its own grants are revoked.
  const children: Promise<unknown>[] = [];
  const childrenEnd = new AbortController();
  // Opened before the sandbox starts, so this is no later than the deadline the runner arms.
  const deadline = clock.now() + spec.timeoutMs;
  options.teardown.add('children', async () => {
    childrenEnd.abort('its parent task ended');
    await Promise.allSettled(children);
  });
  const api = sandboxApi({
    task, agent: spec.agent, bus, tree, ...(mcp ? { mcp } : {}),
    access: {
      ...(gateway ? { host: (target, reason) => gateway.requestAccess(task, target, reason) } : {}),
      ...(gateway && network.mode !== 'none' ? {
        credential: (name, reason) => lendCredential(name, reason, {
          task, agent: spec.agent, bus, clock, store: options.store, credentials: options.credentials, network,
          approvals: gateway.approvals, askTimeoutMs: network.askTimeoutMs, deadline,
        }),
      } : {}),
      ...(mcp ? { askTool: (server, tool, reason) => mcp.askTool(server, tool, reason) } : {}),
    },
    spawn: tree ? (request) => {
      const child = spawnChild({
        parent: { task, agent: spec.agent, credentials: options.credentials, network: spec.network }, request, registry: options.registry, tree, bus, clock, home,
        run: (childSpec, taskId) => options.runChild(childSpec, taskId, childrenEnd.signal),
      });
      children.push(child.catch(() => undefined));
      return child;
    } : undefined,
  });
  return { api, childrenEnd };
}
