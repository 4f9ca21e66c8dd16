import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { timingSafeEqual } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { startPretendHttps } from './pretend-https.js';

/**
 * A pretend OpenAI API on a `.test` name (HTTPS on 127.0.0.1, its own CA): the Responses API
 * streamed as server-sent events and over a WebSocket (as Codex tries first), and Chat Completions
 * streamed as server-sent events (as the SDKs do). Every request is recorded with whether it carried
 * the real key (`Authorization: Bearer <key>`), none, another one, or an Airlock placeholder — which
 * must never arrive here. The "model" follows one script: asked anything, it calls the agent's shell
 * tool to write `file.path` with `file.content`; given that tool's result, it ends the turn.
 */
export interface PretendOpenAiOptions {
  /** The real API key: the only one this API accepts. */
  key: string;
  /** What the scripted tool call writes (inside the sandbox). */
  file: { path: string; content: string };
}

export type KeySeen = 'the real key' | 'no key' | 'a placeholder' | 'another key';

export interface SeenRequest {
  transport: 'http' | 'websocket';
  method: string;
  path: string;
  key: KeySeen;
  status: number;
  /** The tools the client offered (names), for requests to the model. */
  tools?: string[];
}

export interface PretendOpenAi {
  port: number;
  caFile: string;
  requests: SeenRequest[];
  /** Any header value on any request that held something shaped like an Airlock placeholder (a JWT). */
  placeholders: string[];
  close(): Promise<void>;
}

const MAX_BODY = 4 * 1024 * 1024;
const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]*/;

export async function startPretendOpenAi(options: PretendOpenAiOptions): Promise<PretendOpenAi> {
  const requests: SeenRequest[] = [];
  const placeholders: string[] = [];
  const expected = Buffer.from(`Bearer ${options.key}`);

  const keyOf = (req: http.IncomingMessage): KeySeen => {
    for (const value of Object.values(req.headers).flat()) {
      if (typeof value === 'string' && JWT.test(value)) placeholders.push(value);
    }
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length === 0) return 'no key';
    if (given.length === expected.length && timingSafeEqual(given, expected)) return 'the real key';
    return JWT.test(given.toString()) ? 'a placeholder' : 'another key';
  };

  const handler: http.RequestListener = (req, res) => {
    const key = keyOf(req);
    const path = (req.url ?? '').split('?')[0]!;
    const record = (status: number, tools?: string[]) => requests.push({ transport: 'http', method: req.method ?? '', path, key, status, ...(tools ? { tools } : {}) });
    const reply = (status: number, body: unknown) => {
      record(status);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (key !== 'the real key') return reply(401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
    if (req.method === 'GET' && path.endsWith('/models')) {
      return reply(200, { object: 'list', data: [{ id: MODEL, object: 'model', created: 0, owned_by: 'pretend' }] });
    }
    const endpoint = req.method === 'POST' && path.endsWith('/responses') ? responsesTurn : req.method === 'POST' && path.endsWith('/chat/completions') ? chatTurn : undefined;
    if (!endpoint) return reply(404, { error: { message: `pretend OpenAI: no ${req.method} ${path}`, type: 'invalid_request_error' } });
    readJson(req).then((body) => {
      const events = endpoint(body, options.file);
      record(200, toolNames(body));
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      for (const event of events) res.write(endpoint === chatTurn ? `data: ${JSON.stringify(event)}\n\n` : `event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`);
      res.end(endpoint === chatTurn ? 'data: [DONE]\n\n' : undefined);
    }).catch((error: unknown) => {
      if (!res.headersSent) reply(400, { error: { message: error instanceof Error ? error.message : String(error), type: 'invalid_request_error' } });
      else res.destroy();
    });
  };

  const https = await startPretendHttps(handler);
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY });
  https.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const key = keyOf(req);
    const path = (req.url ?? '').split('?')[0]!;
    const refuse = (status: number) => {
      requests.push({ transport: 'websocket', method: 'GET', path, key, status });
      socket.end(`HTTP/1.1 ${status} Refused\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    };
    if (key !== 'the real key') return refuse(401);
    if (!path.endsWith('/responses')) return refuse(404);
    requests.push({ transport: 'websocket', method: 'GET', path, key, status: 101 });
    sockets.handleUpgrade(req, socket, head, (ws) => serveResponsesSocket(ws, options.file, requests, path));
  });

  return {
    port: https.port, caFile: https.caFile, requests, placeholders,
    close: async () => {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      await https.close();
    },
  };
}

/** The Responses API over a WebSocket: each `response.create` message is answered with the same events SSE would carry. */
function serveResponsesSocket(ws: WebSocket, file: PretendOpenAiOptions['file'], requests: SeenRequest[], path: string): void {
  ws.on('error', () => ws.terminate());
  ws.on('message', (data, isBinary) => {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(isBinary ? Buffer.from(data as Buffer).toString() : String(data)) as Record<string, unknown>;
    } catch {
      ws.close(1003, 'not JSON');
      return;
    }
    if (body.type !== 'response.create') return;
    requests.push({ transport: 'websocket', method: 'response.create', path, key: 'the real key', status: 200, tools: toolNames(body) });
    for (const event of responsesTurn(body, file)) ws.send(JSON.stringify(event));
  });
}

const MODEL = 'gpt-pretend';

type Body = Record<string, unknown>;
type Item = Record<string, unknown>;

/**
 * The names of the tools the client offered: Chat Completions' and the Responses API's `tools`, and
 * the `additional_tools` input item (with namespaces) newer Codex versions send instead.
 */
function toolNames(body: Body): string[] {
  const offered = [...(Array.isArray(body.tools) ? body.tools as Item[] : [])];
  for (const item of Array.isArray(body.input) ? body.input as Item[] : []) {
    if (item.type === 'additional_tools' && Array.isArray(item.tools)) offered.push(...item.tools as Item[]);
  }
  const names: string[] = [];
  const walk = (tools: Item[]) => {
    for (const tool of tools) {
      if (tool.type === 'namespace' && Array.isArray(tool.tools)) walk(tool.tools as Item[]);
      else names.push(String(tool.name ?? (tool.function as Item | undefined)?.name ?? tool.type));
    }
  };
  walk(offered);
  return names;
}

/** The call (a Responses API output item) that makes the agent write the file, with whichever shell tool it offered. */
function writeFileCall(tools: string[], file: PretendOpenAiOptions['file'], id: string): Item {
  const script = `mkdir -p "$(dirname '${file.path}')" && printf '%s' '${file.content}' > '${file.path}'`;
  const call = { id: `fc_${id}`, call_id: `call_${id}`, status: 'completed' };
  // Codex's "code mode": one freeform tool that runs JavaScript, which calls the other tools.
  if (tools.includes('exec')) return { ...call, type: 'custom_tool_call', name: 'exec', input: `const result = await tools.exec_command({ cmd: ${JSON.stringify(script)} });\ntext(result);` };
  if (tools.includes('exec_command')) return { ...call, type: 'function_call', name: 'exec_command', arguments: JSON.stringify({ cmd: script }) };
  if (tools.includes('shell_command')) return { ...call, type: 'function_call', name: 'shell_command', arguments: JSON.stringify({ command: script }) };
  return { ...call, type: 'function_call', name: 'shell', arguments: JSON.stringify({ command: ['bash', '-lc', script] }) };
}

/** The Responses API's stream for one turn of the script. */
function responsesTurn(body: Body, file: PretendOpenAiOptions['file']): Body[] {
  const input = Array.isArray(body.input) ? body.input as Item[] : [];
  const answered = input.some((item) => item.type === 'function_call_output' || item.type === 'custom_tool_call_output');
  const id = `resp_${Math.random().toString(36).slice(2)}`;
  const item: Item = answered
    ? { type: 'message', id: `msg_${id}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: `Wrote ${file.path}.`, annotations: [] }] }
    : writeFileCall(toolNames(body), file, id);
  const response = { id, object: 'response', created_at: Math.floor(Date.now() / 1000), model: MODEL, status: 'in_progress', output: [] as Item[] };
  const usage = { input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 15 };
  const events: Body[] = [
    { type: 'response.created', response },
    { type: 'response.output_item.added', output_index: 0, item: { ...item, status: 'in_progress' } },
  ];
  if (answered) events.push({ type: 'response.output_text.delta', item_id: item.id, output_index: 0, content_index: 0, delta: `Wrote ${file.path}.` });
  events.push(
    { type: 'response.output_item.done', output_index: 0, item },
    { type: 'response.completed', response: { ...response, status: 'completed', output: [item], usage } },
  );
  return events.map((event, sequence_number) => ({ ...event, sequence_number }));
}

/** Chat Completions' stream for one turn of the script (tool call first, then the final answer). */
function chatTurn(body: Body, file: PretendOpenAiOptions['file']): Body[] {
  const messages = Array.isArray(body.messages) ? body.messages as Item[] : [];
  const answered = messages.some((m) => m.role === 'tool');
  const id = `chatcmpl_${Math.random().toString(36).slice(2)}`;
  const chunk = (delta: Item, finish: string | null) => ({ id, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }] });
  if (answered) return [chunk({ role: 'assistant', content: `Wrote ${file.path}.` }, null), chunk({}, 'stop')];
  const call = writeFileCall(toolNames(body).filter((name) => name !== 'exec'), file, id);
  return [
    chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: call.call_id, type: 'function', function: { name: call.name, arguments: call.arguments } }] }, null),
    chunk({}, 'tool_calls'),
  ];
}

function readJson(req: http.IncomingMessage): Promise<Body> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        req.destroy();
        reject(new Error('request body too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      try {
        const body: unknown = JSON.parse(Buffer.concat(chunks).toString() || '{}');
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('the body is not a JSON object');
        resolve(body as Body);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}
