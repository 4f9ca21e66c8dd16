import { unrecordable } from '../audit/record.js';
import type http from 'node:http';
import type { EventBus } from '../audit/bus.js';
import type { AgentRef } from '../audit/events.js';
import type { SandboxApiHandler } from '../gateway/task-state.js';
import type { DelegationTree } from './delegation.js';
import type { McpBroker } from '../mcp/broker.js';
import { answerAccessRequest, type AccessPorts } from './access-requests.js';


export interface ChildResult {
  task: string;
  status: string;
  exitCode: number | undefined;
  /** The child's `result.json` output, if it wrote one. */
  result: unknown;
  /** Its last lines of standard output. */
  output: string[];
}

export type SpawnChild = (request: { agent: string; input: unknown; credentials: string[] | undefined }) => Promise<ChildResult>;

/** Body caps, in bytes: an action is a small record; a child task's input may be larger. */
export const MAX_ACTION_BODY = 64 * 1024;
const MAX_TASK_BODY = 256 * 1024;
/** How deeply an action may nest: deeper JSON is refused, not recorded (each level costs stack where it is walked). */
const MAX_ACTION_DEPTH = 16;

/**
 * The in-sandbox API, served by the gateway on the task's own proxy connection (so it is
 * authenticated as that task): `POST /v1/actions` records what the agent did (`agent.action`);
 * `POST /v1/tasks` starts a child task of an allowed agent and answers with its result;
 * `GET /v1/whoami` says which task, agent and chain the caller is; `POST /v1/access-requests` asks
 * a person for a host with a reason (access-requests.ts). Every call is an event.
 */
export function sandboxApi(options: { task: string; agent: AgentRef; bus: EventBus; tree: DelegationTree | undefined; spawn: SpawnChild | undefined; mcp?: McpBroker; access?: AccessPorts }): SandboxApiHandler {
  const { task, agent, bus, mcp } = options;
  const reply = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
  };
  const maxBody = (method: string, path: string) => (mcp?.handles(path) ? mcp.maxBody(method) : method !== 'POST' ? 0 : path.split('?')[0] === '/v1/tasks' ? MAX_TASK_BODY : MAX_ACTION_BODY);
  return { maxBody, handle: async (call, res) => {
    const { method, path } = call;
    if (mcp?.handles(path)) return mcp.handle(call, res); // MCP servers under policy: main/core/mcp/broker.ts
    let body: unknown;
    try {
      body = parseJson(call.body);
    } catch (error) {
      reply(res, 400, { error: (error as Error).message });
      return;
    }
    const route = `${method} ${path.split('?')[0]}`;
    if (route === 'GET /v1/whoami') {
      reply(res, 200, { task, agent, chain: options.tree?.chain(task) ?? [], chainAgents: options.tree?.chainAgents(task) ?? [] });
      return;
    }
    if (route === 'POST /v1/access-requests') {
      const answer = await answerAccessRequest(body, options.access ?? {});
      if ('error' in answer.body) {
        bus.emit({ task, agent, actor: 'airlock', kind: 'net.denied', decision: { allow: false, rule: 'access-request', by: 'policy' }, data: { method, host: 'airlock.internal', port: 80, path, status: answer.status, reason: answer.body.error } });
      }
      reply(res, answer.status, answer.body);
      return;
    }
    if (route === 'POST /v1/actions') {
      const action = body as Record<string, unknown> | undefined;
      if (!action || typeof action !== 'object' || Array.isArray(action) || typeof action.type !== 'string' || action.type.length > 100) {
        reply(res, 400, { error: 'send a JSON object with a "type" (at most 100 characters), e.g. {"type":"tool_call","tool":"search"}' });
        return;
      }
      if (depth(action) > MAX_ACTION_DEPTH) {
        reply(res, 400, { error: `the action nests deeper than ${MAX_ACTION_DEPTH} levels` });
        return;
      }
      bus.emit({ task, agent, actor: 'agent', kind: 'agent.action', data: action });
      reply(res, 202, { recorded: true });
      return;
    }
    if (route === 'POST /v1/tasks') {
      const request = body as { agent?: unknown; input?: unknown; credentials?: unknown } | undefined;
      if (!request || typeof request.agent !== 'string') {
        reply(res, 400, { error: 'send {"agent": "<name>", "input": {...}, "credentials": ["<name>"]}' });
        return;
      }
      const verdict = options.tree?.admit(task, request.agent) ?? { ok: false as const, rule: 'delegate.unavailable', reason: 'delegation is not available in this process' };
      if (!verdict.ok) {
        bus.emit({ task, agent, actor: 'airlock', kind: 'policy.violation', decision: { allow: false, rule: verdict.rule, by: 'policy' }, data: { rule: verdict.rule, reason: verdict.reason, requested: request.agent } });
        reply(res, 403, { error: verdict.reason, rule: verdict.rule });
        return;
      }
      bus.emit({ task, agent, actor: 'agent', kind: 'agent.action', data: { type: 'delegate', agent: request.agent } });
      try {
        const credentials = Array.isArray(request.credentials) ? request.credentials.map(String) : undefined;
        const result = await options.spawn!({ agent: request.agent, input: request.input, credentials });
        bus.emit({ task, agent, actor: 'airlock', kind: 'agent.action', data: { type: 'delegated', agent: request.agent, child: result.task, status: result.status, exitCode: result.exitCode ?? null } });
        reply(res, 200, result);
      } catch (error) {
        const code = (error as { code?: string }).code;
        bus.emit({ task, agent, actor: 'airlock', kind: 'policy.violation', decision: { allow: false, rule: 'delegate.refused', by: 'policy' }, data: { rule: 'delegate.refused', reason: (error as Error).message, requested: request.agent } });
        reply(res, code === 'policy_refused' || code === 'not_found' ? 403 : 500, { error: (error as Error).message });
      }
      return;
    }
    reply(res, 404, { error: `no such call: ${route}`, calls: ['GET /v1/whoami', 'POST /v1/actions', 'POST /v1/tasks', 'POST /v1/access-requests'] });
  } };
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Error('the body is not JSON');
  }
  const problem = unrecordable(value);
  if (problem) throw new Error(`the body holds ${problem}, which the audit trail cannot record`);
  return value;
}


/** How deeply a JSON value nests (iteratively: the value itself may be hostile). */
function depth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [item, level] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    deepest = Math.max(deepest, level);
    if (deepest > MAX_ACTION_DEPTH) return deepest;
    for (const child of Object.values(item)) stack.push([child, level + 1]);
  }
  return deepest;
}
