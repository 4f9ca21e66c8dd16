import type { AccessAnswer } from '../gateway/admission.js';
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { EventBus } from '../audit/bus.js';
import type { AgentRef } from '../audit/events.js';
import type { Clock } from '../clock.js';
import { LoopWatch } from './call-record.js';
import { readRequest, rpcError, rpcResult, RPC, type JsonRpcRequest, type JsonRpcResponse } from './jsonrpc.js';
import { DEFAULT_MAX_REPEATS, type McpServerSpec } from './manifest.js';
import type { AskPerson } from './tool-ask.js';
import { ToolGate, ToolRefused } from './tool-gate.js';
import type { ToolPins } from './tool-pins.js';
import { PROTOCOL_VERSION, type StartUpstream } from './upstream.js';
import { UpstreamEnded } from './stdio-channel.js';

/** The largest JSON-RPC message an agent may send to a server. */
export const MAX_MCP_BODY = 1024 * 1024;
/** Sessions one server keeps for one task (an agent opens a few at most). */
const MAX_SESSIONS = 16;
const SESSION_HEADER = 'mcp-session-id';

export interface McpCall {
  method: string;
  path: string;
  headers?: http.IncomingHttpHeaders;
  body: Buffer;
}

interface ServerState {
  spec: McpServerSpec;
  gate?: ToolGate;
  stop?: () => Promise<void>;
  /** Why it cannot be used (refused at start, ended): calls are answered with it. */
  unavailable?: string;
  sessions: Set<string>;
  serverInfo?: unknown;
}

/**
 * A task's MCP broker: `http://airlock.internal/mcp/<name>` on the in-sandbox API, MCP's
 * streamable HTTP transport (JSON answers, `Mcp-Session-Id`) relayed to the task's servers —
 * tools only (`tools/list`, `tools/call`; `ping`), each call under the manifest's per-tool rules
 * (ToolGate). A server's own requests and notifications never reach the agent.
 */
export class McpBroker {
  readonly #task: string;
  readonly #agent: AgentRef;
  readonly #bus: EventBus;
  readonly #servers = new Map<string, ServerState>();
  readonly #start: StartUpstream;
  readonly #gateDeps: { clock: Clock; pins: ToolPins; ask: AskPerson; loops: LoopWatch };

  constructor(options: { task: string; agent: AgentRef; bus: EventBus; clock: Clock; servers: McpServerSpec[]; pins: ToolPins; ask: AskPerson; start: StartUpstream; maxRepeats?: number }) {
    this.#task = options.task;
    this.#agent = options.agent;
    this.#bus = options.bus;
    this.#start = options.start;
    this.#gateDeps = { clock: options.clock, pins: options.pins, ask: options.ask, loops: new LoopWatch(options.maxRepeats ?? DEFAULT_MAX_REPEATS) };
    for (const spec of options.servers) this.#servers.set(spec.name, { spec, sessions: new Set() });
  }

  /** Starts every server and initializes it; one that fails is recorded (`mcp.server` refused) and answers calls with why. */
  async start(): Promise<void> {
    await Promise.all([...this.#servers.values()].map(async (state) => {
      const name = state.spec.name;
      try {
        const started = await this.#start(name, (reason) => this.#ended(state, reason));
        state.stop = started.stop;
        const init = await started.upstream.request('initialize', { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'airlock', version: '1' } });
        if (init.error) throw new Error(`it refused initialize (${init.error.message.slice(0, 200)})`);
        started.upstream.notify('notifications/initialized');
        state.gate = new ToolGate({ task: this.#task, agent: this.#agent, bus: this.#bus, ...this.#gateDeps }, state.spec, started.upstream);
        state.serverInfo = (init.result as { serverInfo?: unknown } | undefined)?.serverInfo;
        this.#server(name, 'started');
      } catch (error) {
        const reason = state.unavailable ?? (error as Error).message;
        state.unavailable = reason;
        this.#server(name, 'refused', reason);
        await state.stop?.().catch(() => undefined);
      }
    }));
  }

  /** Ends every server (with the task). */
  async stop(): Promise<void> {
    await Promise.all([...this.#servers.values()].map(async (state) => {
      if (!state.stop) return;
      const endedBefore = state.unavailable !== undefined;
      state.unavailable ??= 'the task ended';
      await state.stop().catch(() => undefined);
      if (!endedBefore) this.#server(state.spec.name, 'ended', state.unavailable);
    }));
  }

  /** An access request for one of this task's tools (tasks/access-requests.ts): its server's gate decides, or a person does. */
  async askTool(server: string, tool: string, reason: string): Promise<AccessAnswer> {
    const state = this.#servers.get(server);
    if (!state) return { decision: 'deny', by: 'policy', message: `no MCP server named ${JSON.stringify(server.slice(0, 64))} in this task's manifest` };
    if (!state.gate) return { decision: 'deny', by: 'policy', message: `the MCP server ${server} is not available: ${state.unavailable ?? 'it has not started'}` };
    try {
      return await state.gate.requestAccess(tool, reason);
    } catch (error) {
      return { decision: 'deny', by: 'policy', message: `the MCP server ${server} could not be asked for its tools: ${(error as Error).message.slice(0, 300)}` };
    }
  }

  handles(path: string): boolean {
    return path.split('?')[0]!.startsWith('/mcp/');
  }

  maxBody(method: string): number {
    return method === 'POST' ? MAX_MCP_BODY : 0;
  }

  async handle(call: McpCall, res: http.ServerResponse): Promise<void> {
    const name = call.path.split('?')[0]!.slice('/mcp/'.length);
    const state = this.#servers.get(name);
    if (!state) return void json(res, 404, { error: `no MCP server named ${JSON.stringify(name.slice(0, 64))} in this task's manifest`, servers: [...this.#servers.keys()] });
    const session = header(call.headers, SESSION_HEADER);
    if (call.method === 'GET') return void json(res, 405, { error: 'this endpoint sends no server-initiated messages: POST JSON-RPC' }, { Allow: 'POST, DELETE' });
    if (call.method === 'DELETE') {
      const known = session !== undefined && state.sessions.delete(session);
      return void json(res, known ? 200 : 404, known ? { ended: true } : { error: 'no such session' });
    }
    if (call.method !== 'POST') return void json(res, 405, { error: 'POST JSON-RPC' }, { Allow: 'POST, DELETE' });
    let value: unknown;
    try {
      value = JSON.parse(call.body.toString('utf8'));
    } catch {
      return void json(res, 400, rpcError(null, RPC.parseError, 'the body is not JSON'));
    }
    const request = readRequest(value);
    if (typeof request === 'string') return void json(res, 400, rpcError(null, RPC.invalidRequest, request));
    if (request.method === 'initialize') {
      if (state.sessions.size >= MAX_SESSIONS) return void json(res, 429, rpcError(request.id ?? null, RPC.refused, `at most ${MAX_SESSIONS} sessions per server`));
      const id = randomUUID();
      state.sessions.add(id);
      const result = { protocolVersion: PROTOCOL_VERSION, capabilities: { tools: {} }, serverInfo: { name: `airlock/${name}`, version: '1' } };
      return void json(res, 200, rpcResult(request.id ?? null, result), { 'Mcp-Session-Id': id });
    }
    if (session === undefined || !state.sessions.has(session)) {
      return void json(res, session === undefined ? 400 : 404, rpcError(request.id ?? null, RPC.invalidRequest, session === undefined ? 'send initialize first, then its Mcp-Session-Id header' : 'no such session: initialize again'));
    }
    if (request.id === undefined) return void res.writeHead(202).end(); // a notification: nothing to pass on
    json(res, 200, await this.#answer(state, request));
  }

  async #answer(state: ServerState, request: JsonRpcRequest): Promise<JsonRpcResponse> {
    const id = request.id ?? null;
    if (request.method === 'ping') return rpcResult(id, {});
    if (request.method !== 'tools/list' && request.method !== 'tools/call') return rpcError(id, RPC.methodNotFound, `Airlock relays tools only (tools/list, tools/call), not ${request.method.slice(0, 64)}`);
    if (!state.gate || state.unavailable) return rpcError(id, RPC.internal, `the MCP server ${state.spec.name} is not available: ${state.unavailable ?? 'not started'}`);
    try {
      if (request.method === 'tools/list') return rpcResult(id, { tools: await state.gate.list() });
      const response = await state.gate.call(request.params ?? {});
      return response.error ? rpcError(id, response.error.code, response.error.message.slice(0, 2000)) : rpcResult(id, response.result);
    } catch (error) {
      if (error instanceof ToolRefused) return rpcError(id, RPC.refused, error.message, { rule: error.rule });
      if (error instanceof UpstreamEnded) return rpcError(id, RPC.internal, `the MCP server ${state.spec.name} was ended: ${error.message}`);
      throw error;
    }
  }

  #ended(state: ServerState, reason: string): void {
    if (state.unavailable) return;
    state.unavailable = reason;
    this.#server(state.spec.name, 'ended', reason);
  }

  #server(server: string, state: 'started' | 'ended' | 'refused', reason?: string): void {
    this.#bus.emit({
      task: this.#task, agent: this.#agent, actor: 'airlock', kind: 'mcp.server',
      ...(state === 'started' ? {} : { decision: { allow: false, rule: `mcp:${server}`, by: 'policy' as const } }),
      data: { server, state, ...(reason ? { reason } : {}) },
    });
  }
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(`${JSON.stringify(body)}\n`);
}

function header(headers: http.IncomingHttpHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  return typeof value === 'string' && value.length <= 128 ? value : undefined;
}
