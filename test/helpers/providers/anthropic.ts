import { randomBytes, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { readCappedBody, startPretendHttps } from './pretend-https.js';

/**
 * A pretend Anthropic API (https://docs.anthropic.com/en/api/messages) on a `.test` name, served
 * on 127.0.0.1 with a certificate from a CA the test makes. It speaks the Messages API as Claude
 * Code uses it — `POST /v1/messages`, streamed as server-sent events or not — and plays one
 * scripted conversation: the model answers the user's prompt with the script's tool calls, one a
 * turn (e.g. `Write` a file, or — a hostile model — `Bash` commands that try to leak the key), and
 * ends its turn once the last tool's result comes back. Requests the CLI makes on the side (a
 * title, a quota probe, token counts) get a short answer.
 *
 * It checks every request for the real key in `x-api-key` and records what it saw, never the key.
 */
export interface AnthropicRequest {
  method: string;
  path: string;
  /** What the request carried as its key. */
  key: 'real' | 'placeholder' | 'none' | 'wrong';
  /** Names of headers holding something that looks like an Airlock placeholder (a JWT). */
  placeholderIn: string[];
  model?: string;
  stream?: boolean;
  /** What the pretend model answered: the tool call, the closing text, a side answer, or an error status. */
  answer: 'tool_use' | 'end_turn' | 'side' | number;
  /** The tools the CLI offered the model: its own, and the MCP tools it names anywhere in the request (`mcp__<server>__<tool>`; Claude Code defers them behind ToolSearch). */
  tools?: string[];
  /** The latest tool result the CLI sent back (what its tool said, and whether it failed). */
  toolResult?: { isError: boolean; text: string };
}

/** A tool call the pretend model makes, as Claude Code's tools take them. */
export interface ToolCall { name: string; input: Record<string, unknown> }

export interface AnthropicScript {
  /** The tool calls the model makes, one a turn, in order. */
  calls: ToolCall[];
  /** The text the model ends its turn with. */
  finalText?: string;
}

/** Claude Code's `Write` tool: writes `content` to the absolute `path`. */
export const writeFile = (path: string, content: string): ToolCall => ({ name: 'Write', input: { file_path: path, content } });
/** Claude Code's `Bash` tool: runs `command` in the sandbox. */
export const bash = (command: string): ToolCall => ({ name: 'Bash', input: { command, description: 'scripted by the pretend model' } });

const JWT = /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/;
const MAX_BODY = 8 * 1024 * 1024;

interface MessagesBody {
  model?: string;
  stream?: boolean;
  tools?: { name?: string }[];
  messages?: { role?: string; content?: unknown }[];
}

/** The usage each answer reports (as the Messages API does: cache reads apart from input_tokens). */
export interface AnthropicUsage { input_tokens: number; output_tokens: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number }
const DEFAULT_USAGE: AnthropicUsage = { input_tokens: 12, output_tokens: 8, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };

export async function startAnthropicApi(options: {
  host: string; key: string; script: AnthropicScript; usage?: AnthropicUsage;
  /** Awaited before each Messages answer: a test lets answers out one at a time to watch the app between them. */
  hold?: () => Promise<void>;
}) {
  const requests: AnthropicRequest[] = [];
  const expected = Buffer.from(options.key);
  const keyOf = (given: string | undefined): AnthropicRequest['key'] => {
    if (!given) return 'none';
    const bytes = Buffer.from(given);
    if (bytes.length === expected.length && timingSafeEqual(bytes, expected)) return 'real';
    return JWT.test(given) ? 'placeholder' : 'wrong';
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    readCappedBody(req, MAX_BODY, (received) => {
      const placeholderIn = Object.entries(req.headers).filter(([, v]) => JWT.test(String(v))).map(([name]) => name);
      const seen: AnthropicRequest = { method: req.method ?? '', path: req.url ?? '', key: keyOf(headerOf(req, 'x-api-key')), placeholderIn, answer: 404 };
      requests.push(seen);
      const fail = (status: number, type: string, message: string) => {
        seen.answer = status;
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type, message } }));
      };
      if (seen.key !== 'real') return fail(401, 'authentication_error', 'invalid x-api-key');
      if (received === undefined) return fail(413, 'request_too_large', 'request too large');
      const route = (req.url ?? '').split('?')[0];
      if (req.method === 'POST' && route === '/v1/messages/count_tokens') {
        seen.answer = 'side';
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ input_tokens: 42 }));
        return;
      }
      if (req.method !== 'POST' || route !== '/v1/messages') return fail(404, 'not_found_error', `no ${req.method} ${route} here`);
      let body: MessagesBody;
      try {
        body = JSON.parse((received ?? Buffer.alloc(0)).toString('utf8')) as MessagesBody;
      } catch {
        return fail(400, 'invalid_request_error', 'the body is not JSON');
      }
      seen.model = body.model;
      seen.stream = body.stream === true;
      if (isMainLoop(body)) {
        seen.toolResult = toolResultsOf(body).at(-1);
        const named = (received ?? Buffer.alloc(0)).toString('utf8').match(/mcp__[A-Za-z0-9_-]+?__[A-Za-z0-9_.-]+/g) ?? [];
        seen.tools = [...new Set([...(body.tools ?? []).map((tool) => String(tool.name)), ...named])];
      }
      const turn = nextTurn(body, options.script);
      seen.answer = turn.stop_reason === 'tool_use' ? 'tool_use' : isMainLoop(body) ? 'end_turn' : 'side';
      const answer = () => reply(res, body, turn, options.usage ?? DEFAULT_USAGE);
      if (options.hold) void options.hold().then(() => res.destroyed || answer());
      else answer();
    });
  };
  const served = await startPretendHttps(handler);
  return { ...served, requests, url: `https://${options.host}:${served.port}` };
}

function headerOf(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

type Block = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };
interface Turn { content: Block[]; stop_reason: 'tool_use' | 'end_turn' }

/** The CLI's own conversation carries its tools; side requests (titles, probes) carry none. */
function isMainLoop(body: MessagesBody): boolean {
  return (body.tools ?? []).some((tool) => tool.name === 'Write');
}

interface ToolResultBlock { type?: string; is_error?: boolean; content?: unknown }

/** Every tool result in the conversation so far, oldest first. */
function toolResultsOf(body: MessagesBody): NonNullable<AnthropicRequest['toolResult']>[] {
  const results: NonNullable<AnthropicRequest['toolResult']>[] = [];
  for (const message of body.messages ?? []) {
    if (!Array.isArray(message.content)) continue;
    for (const block of message.content as ToolResultBlock[]) {
      if (block?.type !== 'tool_result') continue;
      const text = typeof block.content === 'string' ? block.content
        : Array.isArray(block.content) ? block.content.map((c: { text?: unknown }) => String(c?.text ?? '')).join('') : '';
      results.push({ isError: block.is_error === true, text });
    }
  }
  return results;
}

function nextTurn(body: MessagesBody, script: AnthropicScript): Turn {
  if (!isMainLoop(body)) return { content: [{ type: 'text', text: 'Hello' }], stop_reason: 'end_turn' };
  const call = script.calls[toolResultsOf(body).length];
  if (!call) return { content: [{ type: 'text', text: script.finalText ?? 'Done.' }], stop_reason: 'end_turn' };
  return { content: [{ type: 'tool_use', id: `toolu_${randomBytes(12).toString('hex')}`, ...call }], stop_reason: 'tool_use' };
}

function reply(res: http.ServerResponse, body: MessagesBody, turn: Turn, usage: AnthropicUsage): void {
  const message = {
    id: `msg_${randomBytes(12).toString('hex')}`, type: 'message', role: 'assistant', model: body.model ?? 'claude-test',
    stop_sequence: null, usage,
  };
  if (!body.stream) {
    res.writeHead(200, { 'content-type': 'application/json', 'request-id': message.id }).end(JSON.stringify({ ...message, content: turn.content, stop_reason: turn.stop_reason }));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': message.id });
  const send = (event: string, data: object) => res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
  send('message_start', { message: { ...message, content: [], stop_reason: null, usage: { ...message.usage, output_tokens: 1 } } });
  turn.content.forEach((block, index) => {
    if (block.type === 'text') {
      send('content_block_start', { index, content_block: { type: 'text', text: '' } });
      send('content_block_delta', { index, delta: { type: 'text_delta', text: block.text } });
    } else {
      send('content_block_start', { index, content_block: { ...block, input: {} } });
      send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
    }
    send('content_block_stop', { index });
  });
  send('message_delta', { delta: { stop_reason: turn.stop_reason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
  send('message_stop', {});
  res.end();
}
