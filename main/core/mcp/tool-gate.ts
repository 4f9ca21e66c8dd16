import type { EventBus } from '../audit/bus.js';
import type { AgentRef, Decision } from '../audit/events.js';
import type { Clock } from '../clock.js';
import type { AccessAnswer } from '../gateway/admission.js';
import { recordedArguments, type LoopWatch } from './call-record.js';
import { canonicalJson, isObject, nestsWithin, RPC, type JsonRpcResponse } from './jsonrpc.js';
import { visibleText } from '../text/visible.js';
import type { McpServerSpec, ToolRule } from './manifest.js';
import type { AskPerson } from './tool-ask.js';
import type { ToolDefinition, ToolPins } from './tool-pins.js';
import type { McpUpstream } from './upstream.js';

/** Bounds on what a server may list: pages followed, tools kept, how deeply a tool's schema nests. */
const MAX_LIST_PAGES = 10;
const MAX_TOOLS = 500;
const MAX_SCHEMA_DEPTH = 32;
const TOOL_NAME = /^[A-Za-z0-9_.\-/]{1,128}$/;
/**
 * How deeply a call's arguments, and a server's answer, may nest: deeper JSON is refused before
 * anything walks it (recording, hashing and relaying it recurse: a deep enough value would throw).
 */
export const MAX_ARGUMENT_DEPTH = 64;
export const MAX_ANSWER_DEPTH = 128;

/** A refusal the agent reads, saying how to ask (ACCESS's in-sandbox route). */
export class ToolRefused extends Error {
  readonly rule: string;

  constructor(message: string, rule: string) {
    super(message);
    this.rule = rule;
  }
}

export interface GateDeps {
  task: string;
  agent: AgentRef;
  bus: EventBus;
  clock: Clock;
  pins: ToolPins;
  ask: AskPerson;
  loops: LoopWatch;
}

/**
 * One server's tools under the manifest's rules, for one task: `tools/list` without the denied
 * tools and those whose description changed since first used; `tools/call` allowed, asked about
 * (a person sees the server, tool and arguments) or refused, each recorded as `mcp.call`.
 */
export class ToolGate {
  readonly #deps: GateDeps;
  readonly #server: McpServerSpec;
  readonly #upstream: McpUpstream;
  /** Tools a person allowed for the rest of this task ('task' or 'always'), and changed tools re-approved. */
  readonly #allowedForTask = new Set<string>();
  readonly #reapproved = new Set<string>();
  /** Tools a person allowed once, ahead of the call (an access request): the next call uses it up. */
  readonly #allowedOnce = new Set<string>();
  /** Changes already recorded (tool + digest): one `mcp.changed` per change, not per listing. */
  readonly #changesSeen = new Set<string>();

  constructor(deps: GateDeps, server: McpServerSpec, upstream: McpUpstream) {
    this.#deps = deps;
    this.#server = server;
    this.#upstream = upstream;
  }

  ruleOf(tool: string): { rule: ToolRule; name: string } {
    const listed = Object.hasOwn(this.#server.tools, tool) ? this.#server.tools[tool] : undefined;
    return listed ? { rule: listed, name: `mcp:${this.#server.name}:${tool}` } : { rule: this.#server.default, name: `mcp:${this.#server.name}:default` };
  }

  /**
   * The agent asks ahead for a tool, with its reason (`POST /v1/access-requests {"mcp": "server/tool"}`):
   * a tool the manifest allows is answered at once; one it denies stays denied (the manifest is the
   * person's standing answer); an `ask` tool (or a changed one) goes to a person now, and "once" lets
   * its next call through without asking again.
   */
  async requestAccess(tool: string, reason: string): Promise<AccessAnswer> {
    const server = this.#server.name;
    const { rule, name } = this.ruleOf(tool);
    if (rule === 'deny') return { decision: 'deny', by: 'policy', message: `the manifest denies ${server}/${tool} (${name}); a person changes that in the manifest, not per task` };
    const { tools, changed } = await this.#current();
    if (!tools.some((t) => t.name === tool)) return { decision: 'deny', by: 'policy', message: `${server} does not list a tool named ${tool}` };
    const isChanged = changed.includes(tool) && !this.#reapproved.has(tool);
    if (!isChanged && (rule === 'allow' || this.#allowedForTask.has(tool))) return { decision: 'task', by: 'policy', message: `${server}/${tool} is already allowed for this task (${name})` };
    const answer = await this.#deps.ask({ server, tool, arguments: '(its next call)', changed: isChanged }, reason);
    if (answer.answer === 'deny') return { decision: 'deny', by: answer.by, message: `${answer.reason ?? 'a person refused it'}.` };
    if (answer.answer === 'once') this.#allowedOnce.add(tool);
    else if (isChanged) this.#reapproved.add(tool);
    else this.#allowedForTask.add(tool);
    return { decision: answer.answer, by: 'user', message: answer.answer === 'once' ? `a person allowed the next call of ${server}/${tool}` : `a person allowed ${server}/${tool} for this task` };
  }

  /** The tools the agent may see. */
  async list(): Promise<ToolDefinition[]> {
    const { tools, changed } = await this.#current();
    return tools.filter((tool) => this.ruleOf(tool.name).rule !== 'deny' && (!changed.includes(tool.name) || this.#reapproved.has(tool.name)));
  }

  /** A call, decided and (if allowed) passed on; the server's answer, or ToolRefused. */
  async call(params: Record<string, unknown>): Promise<JsonRpcResponse> {
    const { task, agent, bus, clock } = this.#deps;
    const server = this.#server.name;
    const started = clock.now();
    const malformed = this.#malformed(params);
    if (malformed) {
      bus.emit({
        task, agent, actor: 'agent', kind: 'mcp.call', decision: { allow: false, rule: malformed.rule, by: 'policy' },
        data: { server, tool: malformed.shownTool, arguments: '(not recorded)', argumentsBytes: 0, resultBytes: 0, durationMs: 0, error: malformed.reason },
      });
      throw new ToolRefused(malformed.message, malformed.rule);
    }
    const tool = params.name as string;
    const args = (params.arguments ?? {}) as Record<string, unknown>;
    const argumentsText = recordedArguments(args);
    const argumentsBytes = Buffer.byteLength(JSON.stringify(args));
    const record = (decision: Decision, extra: Record<string, unknown>) => bus.emit({
      task, agent, actor: 'agent', kind: 'mcp.call', decision,
      data: { server, tool, arguments: argumentsText, argumentsBytes, resultBytes: 0, durationMs: clock.now() - started, ...extra },
    });
    const refuse = (rule: string, reason: string, by: Decision['by'] = 'policy'): never => {
      record({ allow: false, rule, by }, { error: reason });
      throw new ToolRefused(`Airlock refused ${server}/${tool}: ${reason}. To ask for it: POST http://airlock.internal/v1/access-requests {"mcp":"${server}/${tool}","reason":"…"}`, rule);
    };
    // The same arguments in any key order are the same call.
    if (this.#deps.loops.count(server, tool, canonicalJson(args))) {
      const reason = `${server}/${tool} was called with the same arguments more times than loops.maxRepeats allows`;
      bus.emit({ task, agent, actor: 'airlock', kind: 'policy.violation', decision: { allow: false, rule: 'loop.mcp', by: 'policy' }, data: { rule: 'loop.mcp', reason, server, tool } });
    }
    const { rule, name } = this.ruleOf(tool);
    if (rule === 'deny') return refuse(name, `the manifest denies ${tool}`);
    const { tools, changed } = await this.#current();
    const definition = tools.find((t) => t.name === tool);
    if (!definition) return refuse(name, `the server does not list ${tool}`);
    let by: Decision['by'] = 'policy';
    let decided = name;
    if (this.#allowedOnce.delete(tool)) {
      by = 'user';
      decided = changed.includes(tool) && !this.#reapproved.has(tool) ? `mcp:${server}:changed` : name;
    } else if (changed.includes(tool) && !this.#reapproved.has(tool)) {
      const answer = await this.#deps.ask({ server, tool, arguments: argumentsText, changed: true });
      if (answer.answer === 'deny') return refuse(`mcp:${server}:changed`, `its description or input schema changed since it was first used, and ${answer.reason ?? 'it was not re-approved'}`, answer.by);
      if (answer.answer !== 'once') this.#reapproved.add(tool);
      if (answer.answer === 'always') this.#deps.pins.repin(agent.digest, server, definition);
      by = 'user';
      decided = `mcp:${server}:changed`;
    } else if (rule === 'ask' && !this.#allowedForTask.has(tool)) {
      const answer = await this.#deps.ask({ server, tool, arguments: argumentsText, changed: false });
      if (answer.answer === 'deny') return refuse(name, answer.reason ?? 'a person refused it', answer.by);
      if (answer.answer !== 'once') this.#allowedForTask.add(tool);
      by = 'user';
    }
    let response: JsonRpcResponse;
    try {
      response = await this.#upstream.request('tools/call', { name: tool, arguments: args });
    } catch (error) {
      // Allowed, but the server broke a bound or ended: the call is on the record with why.
      record({ allow: true, rule: decided, by }, { error: (error as Error).message.slice(0, 500) });
      throw error;
    }
    if (!nestsWithin(response, MAX_ANSWER_DEPTH)) {
      // The call happened: it is recorded, but its answer is neither measured nor passed on.
      const error = `the MCP server ${server} answered with JSON nested deeper than ${MAX_ANSWER_DEPTH} levels: not passed on`;
      record({ allow: true, rule: decided, by }, { error });
      return { jsonrpc: '2.0', id: response.id, error: { code: RPC.internal, message: error } };
    }
    const resultBytes = Buffer.byteLength(JSON.stringify(response.result ?? response.error ?? null));
    record({ allow: true, rule: decided, by }, { resultBytes, ...(response.error ? { error: response.error.message.slice(0, 500) } : {}) });
    return response;
  }

  /** Why a call cannot even be read (its name, its arguments), with the tool as the log shows it; undefined for a readable one. */
  #malformed(params: Record<string, unknown>): { rule: string; shownTool: string; reason: string; message: string } | undefined {
    const server = this.#server.name;
    const name = params.name;
    if (typeof name !== 'string' || !TOOL_NAME.test(name)) {
      const shownTool = typeof name === 'string' ? visibleText(name.slice(0, 128)) : `(a ${Array.isArray(name) ? 'list' : typeof name}, not a name)`;
      const reason = 'params.name must be a tool name (letters, digits, _ . - /; at most 128)';
      return { rule: `mcp:${server}:default`, shownTool, reason, message: reason };
    }
    const args = params.arguments ?? {};
    const reason = !isObject(args) ? 'params.arguments must be an object' : !nestsWithin(args, MAX_ARGUMENT_DEPTH) ? `its arguments nest deeper than ${MAX_ARGUMENT_DEPTH} levels` : undefined;
    return reason === undefined ? undefined : { rule: this.ruleOf(name).name, shownTool: name, reason, message: `Airlock refused ${server}/${name}: ${reason}` };
  }

  /** The server's tools now (checked, bounded), and which of them changed since pinned. */
  async #current(): Promise<{ tools: ToolDefinition[]; changed: string[] }> {
    const tools: ToolDefinition[] = [];
    let cursor: unknown;
    for (let page = 0; page < MAX_LIST_PAGES && tools.length < MAX_TOOLS; page++) {
      const response = await this.#upstream.request('tools/list', typeof cursor === 'string' ? { cursor } : undefined);
      if (response.error || !isObject(response.result) || !Array.isArray(response.result.tools)) throw new ToolRefused(`the server did not list its tools (${response.error?.message.slice(0, 200) ?? 'no tools array'})`, `mcp:${this.#server.name}:default`);
      for (const tool of response.result.tools as unknown[]) if (wellFormed(tool) && tools.length < MAX_TOOLS && !tools.some((t) => t.name === tool.name)) tools.push(tool);
      cursor = response.result.nextCursor;
      if (typeof cursor !== 'string') break;
    }
    const changed = this.#deps.pins.check(this.#deps.agent.digest, this.#server.name, tools);
    const fresh = changed.filter((name) => !this.#changesSeen.has(name));
    if (fresh.length > 0) {
      for (const name of fresh) this.#changesSeen.add(name);
      this.#deps.bus.emit({
        task: this.#deps.task, agent: this.#deps.agent, actor: 'airlock', kind: 'mcp.changed', decision: { allow: false, rule: `mcp:${this.#server.name}:changed`, by: 'policy' },
        data: { server: this.#server.name, tools: fresh, reason: 'the server changed what it says these tools do (description or input schema) since they were first used: refused until a person re-approves them' },
      });
    }
    return { tools, changed };
  }
}

/** A tool definition the broker passes on: a name it can check, a schema it can hash. */
function wellFormed(tool: unknown): tool is ToolDefinition {
  return isObject(tool) && typeof tool.name === 'string' && TOOL_NAME.test(tool.name) && nestsWithin(tool, MAX_SCHEMA_DEPTH);
}

export { RPC };
