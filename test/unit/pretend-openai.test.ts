import fs from 'node:fs';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startPretendOpenAi, type PretendOpenAi } from '../helpers/providers/openai.js';

// The pretend OpenAI API's own wire formats, spoken to directly (the Codex end-to-end test covers
// the Responses API over SSE through the gateway): Chat Completions as SSE, the Responses API over a
// WebSocket, and its key check. It connects to 127.0.0.1 with the `.test` name as the TLS server name.
const KEY = 'sk-test-pretend-key';
const FILE = { path: '/workspace/out/x.txt', content: 'x' };

describe('pretend OpenAI API', () => {
  let api: PretendOpenAi;
  let ca: string;
  beforeAll(async () => {
    api = await startPretendOpenAi({ key: KEY, file: FILE });
    ca = fs.readFileSync(api.caFile, 'utf8');
  });
  afterAll(() => api.close());

  const post = (path: string, body: unknown, authorization: string) => new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', servername: 'api.openai.test', port: api.port, path, method: 'POST', ca, headers: { authorization, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
  const chunks = (sse: string) => sse.split('\n').filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]').map((l) => JSON.parse(l.slice(6)) as { choices: { delta: { tool_calls?: { function: { name: string } }[]; content?: string }; finish_reason: string | null }[] });

  it('streams Chat Completions: a tool call first, the answer after the tool result', async () => {
    const tools = [{ type: 'function', function: { name: 'shell_command', parameters: {} } }];
    const first = await post('/v1/chat/completions', { stream: true, tools, messages: [{ role: 'user', content: 'go' }] }, `Bearer ${KEY}`);
    expect(first.status).toBe(200);
    expect(first.text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(chunks(first.text)[0]!.choices[0]!.delta.tool_calls![0]!.function.name).toBe('shell_command');
    const second = await post('/v1/chat/completions', { stream: true, tools, messages: [{ role: 'user', content: 'go' }, { role: 'tool', content: 'ok' }] }, `Bearer ${KEY}`);
    expect(chunks(second.text).at(-1)!.choices[0]!.finish_reason).toBe('stop');
  });

  it('answers the Responses API over a WebSocket', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${api.port}/v1/responses`, { ca, servername: 'api.openai.test', headers: { authorization: `Bearer ${KEY}` } } as WebSocket.ClientOptions); // servername goes to tls.connect
    const types: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ type: 'response.create', input: [{ type: 'message', role: 'user', content: 'go' }], tools: [{ type: 'function', name: 'exec_command' }] })));
      ws.on('message', (data: Buffer) => {
        const event = JSON.parse(data.toString()) as { type: string; item?: { name?: string } };
        types.push(event.item?.name ? `${event.type}:${event.item.name}` : event.type);
        if (event.type === 'response.completed') resolve();
      });
      ws.on('error', reject);
    });
    ws.close();
    expect(types).toEqual(['response.created', 'response.output_item.added:exec_command', 'response.output_item.done:exec_command', 'response.completed']);
  });

  it('refuses and records a request without the real key, and a placeholder', async () => {
    const placeholder = 'Bearer eyJhbGciOiJFZERTQSJ9.eyJhdWQiOiJ4In0.c2ln';
    expect((await post('/v1/responses', {}, placeholder)).status).toBe(401);
    expect((await post('/v1/responses', {}, 'Bearer sk-wrong')).status).toBe(401);
    expect(api.requests.slice(-2).map((r) => r.key)).toEqual(['a placeholder', 'another key']);
    expect(api.placeholders).toEqual([placeholder]);
  });
});
