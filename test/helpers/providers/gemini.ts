import { timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { readCappedBody, startPretendHttps } from './pretend-https.js';

/**
 * A pretend Gemini API (generativelanguage.googleapis.com) on a `.test` name: a real HTTPS server
 * speaking the wire format Gemini CLI uses — `POST /v1beta/models/<model>:streamGenerateContent?alt=sse`
 * (server-sent events), `:generateContent` and `:countTokens` — with the key in `x-goog-api-key`
 * (or `?key=`, which Google APIs also accept). It checks every request for the real key, records
 * every request and any Airlock placeholder it sees (it must never see one), and scripts one
 * conversation: the model answers the prompt with a `write_file` tool call (and, when asked, a
 * `run_shell_command` one too, as a hostile model would), and ends the turn with a short text once
 * the CLI sends the tools' results back.
 */

/** What the model asks the CLI to write. */
export interface ScriptedWrite {
  path: string;
  content: string;
}

export type KeyVerdict = 'real' | 'missing' | 'wrong';

export interface SeenRequest {
  method: string;
  /** The path without the query (never the key). */
  path: string;
  /** `streamGenerateContent`, `generateContent`, `countTokens`, or the path when it is none of them. */
  call: string;
  model: string | undefined;
  /** How the key arrived: the header, the `key` query parameter, or neither. */
  keyVia: 'header' | 'query' | 'none';
  key: KeyVerdict;
  status: number;
  /** What the CLI sent back for the scripted calls, when this request carries their results. */
  toolResults?: Record<string, unknown>;
}

export interface PretendGemini {
  host: string;
  port: number;
  /** The base URL the CLI is pointed at: `https://<host>:<port>`. */
  url: string;
  /** The pretend API's CA (PEM file), for AIRLOCK_UPSTREAM_CA. */
  caFile: string;
  requests: SeenRequest[];
  /** Every Airlock placeholder (a JWT) seen anywhere in a request: must stay empty. */
  placeholders: string[];
  close(): Promise<void>;
}

// Airlock's placeholder is a compact JWT; a real Gemini key (AIza…) never looks like one.
const PLACEHOLDER = /eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/g;
const MODEL_CALL = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):([A-Za-z]+)$/;
const MAX_BODY = 8 * 1024 * 1024;

interface Part {
  text?: string;
  functionCall?: { name?: string; args?: unknown };
  functionResponse?: { name?: string; response?: unknown };
}
interface GenerateRequest {
  contents?: { role?: string; parts?: Part[] }[];
  generationConfig?: { responseJsonSchema?: unknown; responseSchema?: unknown; responseMimeType?: string };
}

export interface PretendGeminiOptions {
  host: string;
  /** The real key: every request must carry exactly this. */
  key: string;
  write: ScriptedWrite;
  /** A shell command the model also asks the CLI to run in the same turn. */
  shell?: string;
}

export async function startPretendGemini(options: PretendGeminiOptions): Promise<PretendGemini> {
  const requests: SeenRequest[] = [];
  const placeholders: string[] = [];
  const expected = Buffer.from(options.key);
  const verdict = (given: string | undefined): KeyVerdict => {
    if (given === undefined || given === '') return 'missing';
    const bytes = Buffer.from(given);
    return bytes.length === expected.length && timingSafeEqual(bytes, expected) ? 'real' : 'wrong';
  };

  const handler: http.RequestListener = (req, res) => {
    readCappedBody(req, MAX_BODY, (received) => {
      const body = (received ?? Buffer.alloc(0)).toString('utf8');
      const url = new URL(req.url ?? '/', `https://${options.host}`);
      for (const text of [req.url ?? '', JSON.stringify(req.headers), body]) placeholders.push(...(text.match(PLACEHOLDER) ?? []));
      const headerKey = firstHeader(req.headers['x-goog-api-key']);
      const queryKey = url.searchParams.get('key') ?? undefined;
      const keyVia = headerKey !== undefined ? 'header' : queryKey !== undefined ? 'query' : 'none';
      const match = MODEL_CALL.exec(url.pathname);
      const seen: SeenRequest = { method: req.method ?? '', path: url.pathname, call: match?.[2] ?? url.pathname, model: match?.[1], keyVia, key: verdict(headerKey ?? queryKey), status: 0 };
      requests.push(seen);
      const reply = (status: number, json: unknown) => {
        seen.status = status;
        res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(json));
      };
      if (received === undefined) return reply(413, apiError(413, 'request too large', 'INVALID_ARGUMENT'));
      if (seen.key !== 'real') return reply(seen.key === 'missing' ? 401 : 400, apiError(400, 'API key not valid. Please pass a valid API key.', 'INVALID_ARGUMENT'));
      if (req.method !== 'POST' || !match) return reply(404, apiError(404, `no such method: ${req.method} ${url.pathname}`, 'NOT_FOUND'));
      let request: GenerateRequest;
      try {
        request = JSON.parse(body) as GenerateRequest;
      } catch {
        return reply(400, apiError(400, 'Invalid JSON payload received.', 'INVALID_ARGUMENT'));
      }
      if (seen.call === 'countTokens') return reply(200, { totalTokens: 42 });
      const results = toolResultsIn(request);
      if (results !== undefined) seen.toolResults = results;
      if (seen.call === 'generateContent') return reply(200, utilityAnswer(request));
      if (seen.call !== 'streamGenerateContent') return reply(404, apiError(404, `no such method: ${seen.call}`, 'NOT_FOUND'));
      seen.status = 200;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const calls: Part[] = [{ functionCall: { name: 'write_file', args: { file_path: options.write.path, content: options.write.content } } }];
      if (options.shell !== undefined) calls.push({ functionCall: { name: 'run_shell_command', args: { command: options.shell, description: 'Look around.' } } });
      const parts: Part[] = results === undefined ? calls : [{ text: `I wrote ${options.write.path}.` }];
      // Two events, as the real API streams: the answer, then the end of the turn with the usage.
      res.write(sse({ candidates: [{ content: { role: 'model', parts }, index: 0 }], modelVersion: seen.model }));
      res.end(sse({ candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, finishReason: 'STOP', index: 0 }], usageMetadata: USAGE, modelVersion: seen.model }));
    });
  };
  const { port, caFile, close } = await startPretendHttps(handler);
  return { host: options.host, port, url: `https://${options.host}:${port}`, caFile, requests, placeholders, close };
}

const USAGE = { promptTokenCount: 12, candidatesTokenCount: 8, totalTokenCount: 20 };

function sse(json: unknown): string {
  return `data: ${JSON.stringify(json)}\r\n\r\n`;
}

function apiError(code: number, message: string, status: string) {
  return { error: { code, message, status } };
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The tool results the CLI sent back in this request's history (by tool name), if any. */
function toolResultsIn(request: GenerateRequest): Record<string, unknown> | undefined {
  const results: Record<string, unknown> = {};
  for (const turn of request.contents ?? []) {
    for (const part of turn.parts ?? []) {
      if (part.functionResponse?.name) results[part.functionResponse.name] = part.functionResponse.response ?? null;
    }
  }
  return Object.keys(results).length > 0 ? results : undefined;
}

/**
 * Gemini CLI's side calls (non-streaming `generateContent` with a JSON schema: whose turn is next,
 * which model to route to, loop checks) get a plain answer that ends the conversation: the user
 * speaks next, the task is simple, nothing loops.
 */
function utilityAnswer(request: GenerateRequest): unknown {
  const schema = JSON.stringify(request.generationConfig?.responseJsonSchema ?? request.generationConfig?.responseSchema ?? {});
  const answer: Record<string, unknown> = {};
  if (schema.includes('next_speaker')) Object.assign(answer, { reasoning: 'The model finished its turn.', next_speaker: 'user' });
  if (schema.includes('model_choice')) Object.assign(answer, { reasoning: 'A simple task.', model_choice: 'flash' });
  if (schema.includes('complexity_score')) Object.assign(answer, { complexity_reasoning: 'A simple task.', complexity_score: 1 });
  if (schema.includes('unproductive_state_confidence')) Object.assign(answer, { unproductive_state_analysis: 'No loop.', unproductive_state_confidence: 0 });
  const text = Object.keys(answer).length > 0 ? JSON.stringify(answer) : 'OK';
  return { candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }], usageMetadata: USAGE };
}

