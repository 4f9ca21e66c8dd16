import type http from 'node:http';
import type { EventBus } from '../audit/bus.js';
import type { AgentRef } from '../audit/events.js';
import type { DelegationTree } from './delegation.js';

/** The reserved name agents call Airlock by, through their proxy. Never resolved, never forwarded. */
export const SANDBOX_API_HOST = 'airlock.internal';

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

const MAX_BODY = 1024 * 1024;

/**
 * The in-sandbox API, served by the gateway on the task's own proxy connection (so it is
 * authenticated as that task): `POST /v1/actions` records what the agent did (`agent.action`);
 * `POST /v1/tasks` starts a child task of an allowed agent and answers with its result;
 * `GET /v1/whoami` says which task, agent and chain the caller is. Every call is an event.
 */
export function sandboxApi(options: { task: string; agent: AgentRef; bus: EventBus; tree: DelegationTree | undefined; spawn: SpawnChild | undefined }) {
  const { task, agent, bus } = options;
  const reply = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
  };
  return async (req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> => {
    let body: unknown;
    try {
      body = await readJson(req);
    } catch (error) {
      reply(res, 400, { error: (error as Error).message });
      return;
    }
    const route = `${req.method} ${path.split('?')[0]}`;
    if (route === 'GET /v1/whoami') {
      reply(res, 200, { task, agent, chain: options.tree?.chain(task) ?? [], chainAgents: options.tree?.chainAgents(task) ?? [] });
      return;
    }
    if (route === 'POST /v1/actions') {
      const action = body as Record<string, unknown> | undefined;
      if (!action || typeof action.type !== 'string') {
        reply(res, 400, { error: 'send a JSON object with a "type", e.g. {"type":"tool_call","tool":"search"}' });
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
    reply(res, 404, { error: `no such call: ${route}`, calls: ['GET /v1/whoami', 'POST /v1/actions', 'POST /v1/tasks'] });
  };
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('the request body is over 1 MB');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new Error('the body is not JSON');
  }
}
