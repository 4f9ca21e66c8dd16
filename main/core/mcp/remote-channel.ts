import type http from 'node:http';
import type { Clock } from '../clock.js';
import { readResponse, type JsonRpcResponse } from './jsonrpc.js';
import { DEFAULT_STDIO_BOUNDS, UpstreamEnded, type StdioBounds } from './stdio-channel.js';
import { PROTOCOL_VERSION, type McpUpstream } from './upstream.js';

/** Opens one POST to the remote server (the caller routes it through the gateway: tasks/mcp-remote-server.ts). */
export type OpenRemote = (headers: Record<string, string>) => http.ClientRequest;

const SESSION_HEADER = 'mcp-session-id';
/** A session id the channel sends back: visible ASCII, as the MCP spec requires, and short. */
const SESSION_ID = /^[\x21-\x7e]{1,256}$/;

/**
 * JSON-RPC with one remote MCP server over MCP's streamable HTTP transport: each message a POST,
 * each answer `application/json` or `text/event-stream` (the answer to this request read out of
 * the stream). The same bounds as a stdio server's: an answer larger than `maxLineBytes` (JSON,
 * or the whole stream), one later than `replyTimeoutMs` (a slow drip included), any other content
 * type, a redirect (never followed) or an HTTP error ends the server (`end(reason)`), and every
 * waiting request fails with the reason. Its `Mcp-Session-Id` is kept and sent back.
 */
export class RemoteChannel implements McpUpstream {
  readonly #open: OpenRemote;
  readonly #clock: Clock;
  readonly #bounds: StdioBounds;
  readonly #onEnd: (reason: string) => void;
  readonly #inFlight = new Set<{ request: http.ClientRequest; fail(reason: string): void }>();
  #nextId = 1;
  #session: string | undefined;
  #ended: string | undefined;

  constructor(options: { open: OpenRemote; clock: Clock; bounds?: Partial<StdioBounds>; onEnd: (reason: string) => void }) {
    this.#open = options.open;
    this.#clock = options.clock;
    this.#bounds = { ...DEFAULT_STDIO_BOUNDS, ...options.bounds };
    this.#onEnd = options.onEnd;
  }

  get ended(): string | undefined {
    return this.#ended;
  }

  request(method: string, params: Record<string, unknown> | undefined): Promise<JsonRpcResponse> {
    if (this.#ended !== undefined) return Promise.reject(new UpstreamEnded(this.#ended));
    if (this.#inFlight.size >= this.#bounds.maxPending) return Promise.reject(new UpstreamEnded(`${this.#inFlight.size} calls already wait for this server`));
    const id = this.#nextId++;
    return this.#post({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) }, method, id);
  }

  notify(method: string, params?: Record<string, unknown>): void {
    if (this.#ended !== undefined || this.#inFlight.size >= this.#bounds.maxPending) return;
    this.#post({ jsonrpc: '2.0', method, ...(params ? { params } : {}) }, method, undefined).catch(() => undefined);
  }

  /** Ends the channel (once): requests in flight are cut and fail with the reason. */
  end(reason: string): void {
    if (this.#ended !== undefined) return;
    this.#ended = reason;
    for (const call of [...this.#inFlight]) call.fail(reason);
    this.#onEnd(reason);
  }

  #post(message: Record<string, unknown>, method: string, id: number | undefined): Promise<JsonRpcResponse> {
    return new Promise((resolve, reject) => {
      const body = JSON.stringify(message);
      let settled = false;
      const call = {
        request: undefined as unknown as http.ClientRequest,
        // A broken bound ends the server; the call fails with why.
        fail: (reason: string) => {
          if (settled) return;
          settle();
          reject(new UpstreamEnded(reason));
          this.end(reason);
        },
      };
      const settle = () => {
        settled = true;
        timer.cancel();
        this.#inFlight.delete(call);
        call.request.destroy();
      };
      const timer = this.#clock.setTimeout(() => call.fail(`it did not answer ${method} within ${this.#bounds.replyTimeoutMs / 1000} s`), this.#bounds.replyTimeoutMs);
      call.request = this.#open({
        'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'Content-Length': String(Buffer.byteLength(body)),
        'MCP-Protocol-Version': PROTOCOL_VERSION, ...(this.#session ? { 'Mcp-Session-Id': this.#session } : {}),
      });
      this.#inFlight.add(call);
      call.request.on('error', (error) => call.fail(`it could not be reached (${error.message.slice(0, 200)})`));
      call.request.on('response', (res) => {
        res.on('error', (error) => call.fail(`its answer broke off (${error.message.slice(0, 200)})`));
        if (id === undefined && (res.statusCode === 200 || res.statusCode === 202)) {
          // A notification's answer carries nothing to read (202 Accepted).
          settle();
          return void resolve({ jsonrpc: '2.0', id: null, result: {} });
        }
        const problem = this.#problemWith(res, method);
        if (problem) return void readSnippet(res, (text) => call.fail(text ? `${problem}: ${text}` : problem));
        const session = res.headers[SESSION_HEADER];
        if (method === 'initialize' && typeof session === 'string' && SESSION_ID.test(session)) this.#session = session;
        if (id === undefined) return; // (answered above; tsc: id is a number below)
        const answered = (response: JsonRpcResponse) => {
          if (settled) return;
          settle();
          resolve(response);
        };
        const stream = contentType(res) === 'text/event-stream';
        const reader = stream ? new SseAnswer(id, answered) : undefined;
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > this.#bounds.maxLineBytes) return call.fail(`its answer to ${method} was larger than ${this.#bounds.maxLineBytes} bytes`);
          if (reader) reader.push(chunk);
          else chunks.push(chunk);
        });
        res.on('end', () => {
          if (settled) return;
          if (reader) return call.fail(`its event stream ended without the answer to ${method}`);
          const response = parseAnswer(Buffer.concat(chunks).toString('utf8'), id);
          if (response) answered(response);
          else call.fail(`its answer to ${method} is not a JSON-RPC response to it`);
        });
      });
      call.request.end(body);
    });
  }

  /** Why an answer's status or type is refused before its body is read; undefined when it is an answer. */
  #problemWith(res: http.IncomingMessage, method: string): string | undefined {
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400) return `it answered ${method} with a redirect (HTTP ${status}), which Airlock does not follow`;
    if (status !== 200) return `it answered ${method} with HTTP ${status}`;
    const type = contentType(res);
    if (type !== 'application/json' && type !== 'text/event-stream') return `it answered ${method} with Content-Type ${JSON.stringify(type.slice(0, 64))}, not application/json or text/event-stream`;
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.#bounds.maxLineBytes) return `its answer to ${method} was larger than ${this.#bounds.maxLineBytes} bytes`;
    return undefined;
  }
}

function contentType(res: http.IncomingMessage): string {
  return String(res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

function parseAnswer(text: string, id: number): JsonRpcResponse | undefined {
  try {
    const response = readResponse(JSON.parse(text));
    return response?.id === id ? response : undefined;
  } catch {
    return undefined;
  }
}

/** The first 200 characters of an error answer, control characters escaped: for the reason. */
function readSnippet(res: http.IncomingMessage, done: (text: string) => void): void {
  let text = '';
  res.on('data', (chunk: Buffer) => {
    if (text.length < 200) text += chunk.toString('utf8');
  });
  const finish = () => done(JSON.stringify(text.slice(0, 200)).slice(1, -1));
  res.once('end', finish);
  res.once('close', finish);
}

/**
 * Server-sent events (the caller bounds their total size): each event's `data:` lines joined, read
 * as JSON; the response to `id` is the answer. Other messages (the server's notifications and its
 * own requests) are dropped: a server asks the agent nothing.
 */
class SseAnswer {
  readonly #id: number;
  readonly #answered: (response: JsonRpcResponse) => void;
  #buffer = '';

  constructor(id: number, answered: (response: JsonRpcResponse) => void) {
    this.#id = id;
    this.#answered = answered;
  }

  push(chunk: Buffer): void {
    this.#buffer += chunk.toString('latin1');
    let end: RegExpExecArray | null;
    while ((end = /\r?\n\r?\n|\r\r/.exec(this.#buffer)) !== null) {
      const event = this.#buffer.slice(0, end.index);
      this.#buffer = this.#buffer.slice(end.index + end[0].length);
      const data = event.split(/\r?\n|\r/).filter((line) => line.startsWith('data:')).map((line) => line.slice(line.startsWith('data: ') ? 6 : 5)).join('\n');
      if (data === '') continue;
      const response = parseAnswer(Buffer.from(data, 'latin1').toString('utf8'), this.#id);
      if (response) return this.#answered(response);
    }
  }
}
