import { describe, expect, it } from 'vitest';
import { isRealtimeSession, recogniseModelCall } from '../../../main/core/spend/model-api.js';
import { MAX_TOKENS_PER_CALL, usageReader } from '../../../main/core/spend/usage-reader.js';

const SSE = 'text/event-stream';
const JSON_TYPE = 'application/json';

/** Feeds a body in chunks of `size` bytes (1 = byte by byte: every boundary is a split). */
function read(method: string, path: string, contentType: string, body: string | Buffer, size = 7) {
  const call = recogniseModelCall(method, path);
  if (!call) throw new Error(`${path} is not a model call`);
  const reader = usageReader(call, contentType);
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  for (let i = 0; i < bytes.length; i += size) reader.push(bytes.subarray(i, i + size));
  return reader.end();
}

const sse = (events: { event?: string; data: unknown }[]) => events.map((e) => `${e.event ? `event: ${e.event}\n` : ''}data: ${typeof e.data === 'string' ? e.data : JSON.stringify(e.data)}\n\n`).join('');

describe('recognising model calls', () => {
  it('knows each API by its path, behind a base path too, and nothing else', () => {
    expect(recogniseModelCall('POST', '/v1/messages')).toMatchObject({ provider: 'anthropic' });
    expect(recogniseModelCall('POST', '/anthropic/v1/messages')).toMatchObject({ provider: 'anthropic' });
    expect(recogniseModelCall('POST', '/v1/messages/count_tokens')).toBeUndefined();
    expect(recogniseModelCall('GET', '/v1/messages')).toBeUndefined();
    expect(recogniseModelCall('POST', '/v1/responses')).toMatchObject({ api: 'openai.responses' });
    expect(recogniseModelCall('POST', '/v1/chat/completions')).toMatchObject({ api: 'openai.chat' });
    expect(recogniseModelCall('POST', '/v1beta/models/gemini-2.5-pro:streamGenerateContent')).toEqual({ provider: 'gemini', api: 'gemini.generate', pathModel: 'gemini-2.5-pro' });
    expect(recogniseModelCall('POST', '/v1/models')).toBeUndefined();
    // Spelled as lenient servers still route it (red team 17): any case, trailing slashes, `;parameters`.
    for (const path of ['/V1/Messages', '/v1/messages/', '/v1/messages;x', '/v1/messages;x/']) expect(recogniseModelCall('POST', path)).toMatchObject({ api: 'anthropic.messages' });
    expect(recogniseModelCall('POST', '/v1/Chat/Completions/')).toMatchObject({ api: 'openai.chat' });
    expect(recogniseModelCall('POST', '/v1beta/Models/gemini-2.5-pro:StreamGenerateContent/')).toMatchObject({ api: 'gemini.generate', pathModel: 'gemini-2.5-pro' });
    expect(recogniseModelCall('POST', '/v1/messages/count_tokens/')).toBeUndefined();
    // Realtime sessions (WebSockets) are told apart, to be refused under a budget.
    for (const path of ['/v1/realtime', '/openai/Realtime/', '/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained']) expect(isRealtimeSession(path), path).toBe(true);
    expect(isRealtimeSession('/v1/realtime/sessions/x')).toBe(false);
  });
});

describe('Anthropic Messages', () => {
  const json = { id: 'msg_1', type: 'message', model: 'claude-sonnet-4-5-20250929', content: [{ type: 'text', text: 'a "usage": {"input_tokens": 999999} in the text' }], usage: { input_tokens: 100, cache_read_input_tokens: 40, cache_creation_input_tokens: 10, output_tokens: 25 } };
  it('reads a JSON answer (cache reads and writes are input too), split anywhere', () => {
    for (const size of [1, 5, 4096]) {
      expect(read('POST', '/v1/messages', JSON_TYPE, JSON.stringify(json), size)).toEqual({ model: 'claude-sonnet-4-5-20250929', inputTokens: 150, outputTokens: 25, cachedTokens: 40 });
    }
  });
  it('reads a stream: message_start then the last message_delta', () => {
    const body = sse([
      { event: 'message_start', data: { type: 'message_start', message: { model: 'claude-haiku-4-5', usage: { input_tokens: 12, cache_read_input_tokens: 0, output_tokens: 1 } } } },
      { event: 'content_block_delta', data: { type: 'content_block_delta', delta: { type: 'text_delta', text: '{"usage": {"output_tokens": 5000}}' } } },
      { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 30 } } },
      { event: 'message_delta', data: { type: 'message_delta', usage: { output_tokens: 31 } } },
      { event: 'message_stop', data: { type: 'message_stop' } },
    ]);
    for (const size of [1, 3, 100_000]) expect(read('POST', '/v1/messages', SSE, body, size)).toEqual({ model: 'claude-haiku-4-5', inputTokens: 12, outputTokens: 31, cachedTokens: 0 });
  });
  it('reads CRLF streams and a usage event far past a huge text event, holding neither whole', () => {
    const huge = 'x'.repeat(3 * 1024 * 1024);
    const body = sse([
      { event: 'message_start', data: { type: 'message_start', message: { model: 'claude-opus-4-1', usage: { input_tokens: 7, output_tokens: 1 } } } },
      { data: { type: 'content_block_delta', delta: { text: huge } } },
      { event: 'message_delta', data: { type: 'message_delta', usage: { output_tokens: 9 } } },
    ]).replace(/\n/g, '\r\n');
    expect(read('POST', '/v1/messages', SSE, body, 65536)).toEqual({ model: 'claude-opus-4-1', inputTokens: 7, outputTokens: 9, cachedTokens: 0 });
  });
});

describe('OpenAI', () => {
  it('reads a Responses JSON answer and its streamed response.completed', () => {
    const response = { id: 'resp_1', model: 'gpt-5-2025-08-07', output: [], usage: { input_tokens: 200, input_tokens_details: { cached_tokens: 120 }, output_tokens: 50, output_tokens_details: { reasoning_tokens: 10 }, total_tokens: 250 } };
    expect(read('POST', '/v1/responses', 'application/json; charset=utf-8', JSON.stringify(response))).toEqual({ model: 'gpt-5-2025-08-07', inputTokens: 200, outputTokens: 50, cachedTokens: 120 });
    const body = sse([
      { event: 'response.created', data: { type: 'response.created', response: { model: 'gpt-5', usage: null } } },
      { event: 'response.output_text.delta', data: { type: 'response.output_text.delta', delta: 'hi' } },
      { event: 'response.completed', data: { type: 'response.completed', response: { ...response, output: [{ type: 'message', content: [{ text: 'y'.repeat(200_000) }] }] } } },
    ]);
    expect(read('POST', '/v1/responses', SSE, body, 1000)).toEqual({ model: 'gpt-5', inputTokens: 200, outputTokens: 50, cachedTokens: 120 });
  });
  it('reads Chat Completions JSON and the final streamed chunk; no usage chunk is no usage', () => {
    const chat = { id: 'c', object: 'chat.completion', model: 'gpt-4o-mini', choices: [], usage: { prompt_tokens: 9, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 0 } } };
    expect(read('POST', '/v1/chat/completions', JSON_TYPE, JSON.stringify(chat))).toEqual({ model: 'gpt-4o-mini', inputTokens: 9, outputTokens: 3, cachedTokens: 0 });
    const chunks = [{ model: 'gpt-4o-mini', choices: [{ delta: { content: 'a' } }], usage: null }, { model: 'gpt-4o-mini', choices: [], usage: { prompt_tokens: 9, completion_tokens: 4 } }];
    expect(read('POST', '/v1/chat/completions', SSE, `${sse(chunks.map((data) => ({ data })))}data: [DONE]\n\n`, 2)).toEqual({ model: 'gpt-4o-mini', inputTokens: 9, outputTokens: 4, cachedTokens: 0 });
    expect(read('POST', '/v1/chat/completions', SSE, `${sse([{ data: chunks[0] }])}data: [DONE]\n\n`)).toBeUndefined();
  });
});

describe('Gemini', () => {
  it('reads generateContent JSON, a streamed JSON array and SSE (the last usageMetadata counts)', () => {
    const part = (prompt: number, out: number) => ({ candidates: [{ content: { parts: [{ text: 'hi' }] } }], usageMetadata: { promptTokenCount: prompt, candidatesTokenCount: out, thoughtsTokenCount: 2, cachedContentTokenCount: 4 }, modelVersion: 'gemini-2.5-flash' });
    const path = '/v1beta/models/gemini-2.5-flash:generateContent';
    const stream = '/v1beta/models/gemini-2.5-flash:streamGenerateContent';
    expect(read('POST', path, JSON_TYPE, JSON.stringify(part(10, 5)))).toEqual({ model: 'gemini-2.5-flash', inputTokens: 10, outputTokens: 7, cachedTokens: 4 });
    expect(read('POST', stream, JSON_TYPE, JSON.stringify([part(10, 1), part(10, 8)]), 3)).toEqual({ model: 'gemini-2.5-flash', inputTokens: 10, outputTokens: 10, cachedTokens: 4 });
    expect(read('POST', stream, SSE, sse([{ data: part(10, 1) }, { data: part(10, 6) }]), 1)).toEqual({ model: 'gemini-2.5-flash', inputTokens: 10, outputTokens: 8, cachedTokens: 4 });
  });
});

describe('hostile answers', () => {
  const chat = (usage: unknown, model: unknown = 'gpt-4o') => JSON.stringify({ model, usage });
  it('reads negative, fractional, text and missing counts as 0, and says so', () => {
    expect(read('POST', '/v1/chat/completions', JSON_TYPE, chat({ prompt_tokens: -5, completion_tokens: 1.5 }))).toEqual({ model: 'gpt-4o', inputTokens: 0, outputTokens: 0, cachedTokens: 0, malformed: 'prompt_tokens is -5; completion_tokens is 1.5' });
    expect(read('POST', '/v1/chat/completions', JSON_TYPE, chat({ prompt_tokens: '9' }))).toMatchObject({ inputTokens: 0, malformed: 'prompt_tokens is "9"' });
    expect(read('POST', '/v1/chat/completions', JSON_TYPE, chat({}))).toEqual({ model: 'gpt-4o', inputTokens: 0, outputTokens: 0, cachedTokens: 0 });
  });
  it('caps huge counts (they can only stop the task sooner) and never reports more cached than input', () => {
    const usage = read('POST', '/v1/chat/completions', JSON_TYPE, chat({ prompt_tokens: 1e300, completion_tokens: 2 ** 70, prompt_tokens_details: { cached_tokens: 5e20 } }));
    expect(usage).toMatchObject({ inputTokens: MAX_TOKENS_PER_CALL, outputTokens: MAX_TOKENS_PER_CALL, cachedTokens: MAX_TOKENS_PER_CALL });
  });
  it('finds no usage in junk, a truncated object or a body of only braces', () => {
    expect(read('POST', '/v1/messages', JSON_TYPE, 'not json at all')).toBeUndefined();
    expect(read('POST', '/v1/messages', JSON_TYPE, '{"usage": {"input_tokens": 5')).toBeUndefined();
    expect(read('POST', '/v1/messages', JSON_TYPE, Buffer.alloc(5 * 1024 * 1024, '{'), 65536)).toBeUndefined();
    // Events full of unclosed usage keys: a few tried from the end, not each scanned to the end
    // (that would be seconds of CPU for each 64 KiB an upstream sends).
    const started = performance.now();
    const event = `data: ${'"usage":{'.repeat(8000)}\n\n`;
    expect(read('POST', '/v1/messages', SSE, event.repeat(20), 65536)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(read('POST', '/v1/messages', SSE, 'data: {"usage": [1,2]}\n\n:comment\nretry: 5\n\n')).toBeUndefined();
  });
  it('shows a model name with control characters or markup inert and short', () => {
    const usage = read('POST', '/v1/chat/completions', JSON_TYPE, chat({ prompt_tokens: 1 }, `evil\u001b[31m<b>${'m'.repeat(300)}`));
    expect(usage?.model).toBe('evil??31m?b?'.padEnd(100, 'm'));
  });
});
