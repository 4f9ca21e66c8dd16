// Usage read from a model API's response as it passes, never holding it whole: a JSON answer's
// last `usage`/`usageMetadata` object from its capped tail, or a streamed answer's (server-sent
// events) usage from each event that carries one, read event by event, each event capped too.
// The response comes from a remote host: hostile input. Junk is no usage; numbers that are not
// counts are read as 0 and said to be malformed; huge ones are capped (they only stop the task sooner).
import { CappedText } from './capped-text.js';
import type { ModelApi, ModelCall } from './model-api.js';

export interface Usage {
  model: string | undefined;
  /** Every input token, cached ones included. */
  inputTokens: number;
  outputTokens: number;
  /** Input tokens read from the provider's cache (cheaper). */
  cachedTokens: number;
  /** Why a count could not be believed (it was read as 0 or capped). */
  malformed?: string;
}

export interface UsageReader {
  push(chunk: Buffer): void;
  /** The usage the response carried, or undefined if it carried none that could be read. */
  end(): Usage | undefined;
}

/** More tokens than any one call can use: a larger count is capped here. */
export const MAX_TOKENS_PER_CALL = 1e9;

/** How many `usage` keys from the end are tried before a text is said to carry none. */
const MAX_TRIES = 4;
const USAGE_KEY = /"(usage|usageMetadata)"\s*:\s*\{/g;
const MODEL_KEY = /"(?:model|modelVersion)"\s*:\s*("(?:[^"\\]|\\.){1,400}")/;

export function usageReader(call: ModelCall, contentType: string | undefined): UsageReader {
  const fields = new Map<string, unknown>();
  let model: string | undefined = call.pathModel;
  let found = false;
  const read = (text: CappedText) => {
    model ??= modelIn(text.head());
    const usage = lastUsageObject(text.tail());
    if (!usage) return;
    found = true;
    for (const [key, value] of flatten(usage)) fields.set(key, value);
  };
  const finish = (): Usage | undefined => (found ? normalise(call.api, fields, model) : undefined);
  if (/^\s*text\/event-stream/i.test(contentType ?? '')) {
    const events = new EventStreamReader((data) => read(data));
    return { push: (chunk) => events.push(chunk), end: () => (events.end(), finish()) };
  }
  const body = new CappedText();
  return { push: (chunk) => body.push(chunk), end: () => (read(body), finish()) };
}

/** The first `"model": "…"` (or Gemini's `modelVersion`) in a text, its JSON escapes read. */
function modelIn(text: string): string | undefined {
  const quoted = MODEL_KEY.exec(text)?.[1];
  if (quoted === undefined) return undefined;
  try {
    const name: unknown = JSON.parse(quoted);
    return typeof name === 'string' && name !== '' ? name : undefined;
  } catch {
    return undefined;
  }
}

/** The last `"usage": {...}` (or `usageMetadata`) object in a text, parsed; undefined if none parses. */
function lastUsageObject(text: string): Record<string, unknown> | undefined {
  const starts: number[] = [];
  for (const match of text.matchAll(USAGE_KEY)) starts.push(match.index + match[0].length - 1);
  // The last few only: a text of nested `"usage":{` keys must not cost a scan to its end for each.
  for (let i = starts.length - 1; i >= Math.max(0, starts.length - MAX_TRIES); i--) {
    const end = closingBrace(text, starts[i]!);
    if (end === undefined) continue;
    try {
      const value: unknown = JSON.parse(text.slice(starts[i], end + 1));
      if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // not JSON after all: an earlier one may be
    }
  }
  return undefined;
}

/** Where the object opened at `start` closes, skipping braces inside strings. */
function closingBrace(text: string, start: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth += 1;
    else if (c === '}' && --depth === 0) return i;
  }
  return undefined;
}

/** `{a: 1, b: {c: 2}}` → a, b.c (one level down is all providers use). */
function flatten(object: Record<string, unknown>): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [key, value] of Object.entries(object)) {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [inner, innerValue] of Object.entries(value as Record<string, unknown>)) out.push([`${key}.${inner}`, innerValue]);
    } else out.push([key, value]);
  }
  return out;
}

function normalise(api: ModelApi, fields: Map<string, unknown>, model: string | undefined): Usage {
  const problems: string[] = [];
  const count = (key: string): number => {
    const value = fields.get(key);
    if (value === undefined || value === null) return 0;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      problems.push(`${key} is ${JSON.stringify(value)?.slice(0, 40)}`);
      return 0;
    }
    if (value > MAX_TOKENS_PER_CALL) {
      problems.push(`${key} is over ${MAX_TOKENS_PER_CALL}`);
      return MAX_TOKENS_PER_CALL;
    }
    return value;
  };
  let counts: { input: number; output: number; cached: number };
  switch (api) {
    case 'anthropic.messages': {
      // Anthropic counts cache reads and writes apart from input_tokens.
      const cached = count('cache_read_input_tokens');
      counts = { input: count('input_tokens') + cached + count('cache_creation_input_tokens'), output: count('output_tokens'), cached };
      break;
    }
    case 'openai.responses':
      counts = { input: count('input_tokens'), output: count('output_tokens'), cached: count('input_tokens_details.cached_tokens') };
      break;
    case 'openai.chat':
      counts = { input: count('prompt_tokens'), output: count('completion_tokens'), cached: count('prompt_tokens_details.cached_tokens') };
      break;
    case 'gemini.generate':
      counts = { input: count('promptTokenCount'), output: count('candidatesTokenCount') + count('thoughtsTokenCount'), cached: count('cachedContentTokenCount') };
      break;
  }
  return {
    model: model === undefined ? undefined : cleanModel(model),
    inputTokens: counts.input, outputTokens: counts.output, cachedTokens: Math.min(counts.cached, counts.input),
    ...(problems.length > 0 ? { malformed: problems.join('; ') } : {}),
  };
}

/** A model's name as the log shows it: printable, short (it came from a remote host). */
function cleanModel(name: string): string {
  return name.replace(/[^A-Za-z0-9._:/@-]/g, '?').slice(0, 100);
}

/**
 * Server-sent events (https://html.spec.whatwg.org/multipage/server-sent-events.html), read as bytes
 * arrive: each event's data (its `data:` lines, joined by newlines) is handed on as a capped text;
 * other fields and comments are dropped as they pass. Nothing is held but the start of a line.
 */
class EventStreamReader {
  readonly #onEvent: (data: CappedText) => void;
  /** The first bytes of the current line, until they tell what kind of line it is. */
  #start = Buffer.alloc(0);
  #kind: 'unknown' | 'data' | 'other' = 'unknown';
  #data: CappedText | undefined;

  constructor(onEvent: (data: CappedText) => void) {
    this.#onEvent = onEvent;
  }

  push(chunk: Buffer): void {
    let from = 0;
    for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, from)) {
      this.#take(chunk.subarray(from, newline));
      this.#endLine();
      from = newline + 1;
    }
    this.#take(chunk.subarray(from));
  }

  end(): void {
    this.#endLine();
    this.#dispatch();
  }

  #take(part: Buffer): void {
    if (part.length === 0) return;
    if (this.#kind === 'other') return;
    if (this.#kind === 'data') return this.#data!.push(part);
    this.#start = Buffer.concat([this.#start, part]);
    if (this.#start.length < 6) return; // "data:" and the optional space after it
    this.#decide();
  }

  #decide(): void {
    const start = this.#start;
    this.#start = Buffer.alloc(0);
    if (start.subarray(0, 5).toString('latin1') !== 'data:') {
      this.#kind = 'other';
      return;
    }
    this.#kind = 'data';
    if (this.#data) this.#data.push(Buffer.from('\n'));
    else this.#data = new CappedText();
    this.#data.push(start.subarray(start[5] === 0x20 ? 6 : 5));
  }

  #endLine(): void {
    if (this.#kind === 'unknown') {
      const line = this.#start.toString('latin1');
      if (line === '' || line === '\r') {
        this.#start = Buffer.alloc(0);
        return this.#dispatch();
      }
      this.#decide();
    }
    this.#kind = 'unknown';
  }

  #dispatch(): void {
    const data = this.#data;
    this.#data = undefined;
    if (data) this.#onEvent(data);
  }
}
