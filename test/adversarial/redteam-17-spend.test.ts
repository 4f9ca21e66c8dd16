import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { systemClock } from '../../main/core/clock.js';
import { CredentialStore } from '../../main/core/credentials/store.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { SpendLedger } from '../../main/core/spend/ledger.js';
import { pricesReader } from '../../main/core/spend/prices.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { harness, REPO, specFrom } from '../helpers/env.js';
import { MemorySecrets } from '../helpers/memory-secrets.js';
import { readCappedBody, startPretendHttps } from '../helpers/providers/pretend-https.js';
import { oneHostRoute } from '../helpers/providers/one-host-route.js';

// Red team, issue 17 (spend): hostile agents in real sandboxes try to spend past their budget
// through the real gateway by making their model calls unreadable to it — a path spelled the way
// a lenient server (Express's default routing: any case, a trailing slash) still serves, and a
// Chat Completions stream without usage (OpenAI sends none unless asked). Both are metered.
const KEY = `sk-RED17-${process.pid}-4d2a`;
const MODEL_HOST = 'llm.red17.test';
const PUBLIC = '34.120.0.21';
let api: Awaited<ReturnType<typeof startPretendHttps>>;
/** The model calls the pretend provider answered (path as sent). */
const served: string[] = [];

/** A company LLM gateway routed as Express routes by default: case-insensitive, a trailing slash ignored. */
function lenientProvider(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
  readCappedBody(req, 1024 * 1024, (body) => {
    const route = (req.url ?? '').split('?')[0]!.toLowerCase().replace(/\/+$/, '');
    if (req.headers['x-api-key'] !== KEY || req.method !== 'POST' || body === undefined) return void res.writeHead(401).end();
    if (route === '/v1/messages') {
      served.push(req.url!);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'text', text: 'ok' }],
        stop_reason: 'end_turn', usage: { input_tokens: 12, output_tokens: 8 },
      }));
      return;
    }
    if (route === '/v1/chat/completions') {
      // A stream without `stream_options.include_usage`: OpenAI sends no usage at all.
      served.push(req.url!);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const text = 'x'.repeat(150);
      for (let i = 0; i < 20; i++) res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'gpt-4o', choices: [{ index: 0, delta: { content: text } }] })}\n\n`);
      res.end('data: [DONE]\n\n');
      return;
    }
    res.writeHead(404).end();
  });
}

beforeAll(async () => {
  api = await startPretendHttps(lenientProvider);
  // A realtime model session (OpenAI Realtime, Gemini Live) over a WebSocket: accepted, then one frame.
  api.server.on('upgrade', (req: import('node:http').IncomingMessage, socket: import('node:stream').Duplex) => {
    served.push(req.url!);
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.end(Buffer.from([0x81, 0x02, 0x68, 0x69]));
  });
});
afterAll(async () => {
  await api.close();
});

function setup() {
  const h = harness();
  const assetsDir = path.join(REPO, 'assets');
  const store = new CredentialStore(h.home.root, new MemorySecrets());
  store.add({ name: 'model-key', secret: KEY, hosts: [MODEL_HOST], inject: { kind: 'header', template: 'x-api-key: {secret}' }, maxTtlMs: 3_600_000 });
  const gateway = new Gateway({
    bus: h.bus, clock: systemClock, upstreamCa: fs.readFileSync(api.caFile, 'utf8'),
    ...oneHostRoute(MODEL_HOST, PUBLIC, api.port),
  });
  const runner = new TaskRunner({
    engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir, credentials: store,
    spend: new SpendLedger({ bus: h.bus, prices: pricesReader(assetsDir, h.home.root) }),
  });
  const run = (name: string, script: string, budget: string) => runner.run(specFrom(h.root,
    `name: ${name}\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\nbudget: ${budget}\ntimeout: 60s\n`
    + `credentials: [{ name: model-key, env: MODEL_KEY }]\nnetwork: { mode: allowlist, allow: [${MODEL_HOST}] }\n`));
  return { ...h, run };
}

const stdout = (events: AirlockEvent[]) => events.filter((e) => e.kind === 'proc.stdout').map((e) => String(e.data.line));
/** `call PATH BODY`: prints the path and the status. */
const CALL = `call() { echo "$1 $(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: $MODEL_KEY" -H 'content-type: application/json' "https://${MODEL_HOST}$1" -d "$2")"; }`;

describe('red team 17: model calls the gateway could not read', () => {
  it('a Messages call spelled /V1/Messages, /v1/messages/ or /v1/MESSAGES/ counts against the budget and is refused once it is spent', async () => {
    const { events, engine, run } = setup();
    served.length = 0;
    const body = '{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}';
    const paths = ['/V1/Messages', '/v1/messages/', '/v1/MESSAGES/', '/V1/MESSAGES', '/v1/Messages/', '/v1/messages//'];
    const outcome = await run('casing', `${CALL}; ${paths.map((p) => `call '${p}' '${body}'`).join('; ')}`, '{ requests: 3 }');
    expect(outcome.status).toBe('exited');
    // Three calls were served and metered; the rest were refused before they left.
    expect(stdout(events)).toEqual(paths.map((p, i) => `${p} ${i < 3 ? 200 : 429}`));
    expect(served).toEqual(paths.slice(0, 3));
    expect(events.filter((e) => e.kind === 'model.usage').map((e) => e.data.inputTokens)).toEqual([12, 12, 12]);
    expect(events.filter((e) => e.kind === 'net.denied' && e.decision?.rule === 'budget.requests')).toHaveLength(3);
    expect(events.filter((e) => e.kind === 'policy.violation').map((e) => e.data.rule)).toEqual(['budget.requests']);
    expect((await listTaskObjects(engine)).filter((t) => events.some((e) => e.task === t.task))).toEqual([]);
  });

  it('a streamed Chat Completions call whose answer carries no usage is charged an estimate from its size, so a token budget still ends', async () => {
    const { events, run } = setup();
    served.length = 0;
    const body = '{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}';
    const outcome = await run('nousage', `${CALL}; for i in 1 2 3 4; do call /v1/chat/completions '${body}'; done`, '{ tokens: 500 }');
    expect(outcome.status).toBe('exited');
    // The first answer (~4 KB of stream) is estimated at more than 500 tokens: the next call is refused.
    expect(stdout(events)).toEqual(['/v1/chat/completions 200', '/v1/chat/completions 429', '/v1/chat/completions 429', '/v1/chat/completions 429']);
    expect(served).toHaveLength(1);
    const usage = events.filter((e) => e.kind === 'model.usage');
    expect(usage).toHaveLength(1);
    expect(usage[0]!.data).toMatchObject({ provider: 'openai', estimated: true, malformed: expect.stringMatching(/no usage/) });
    expect(Number(usage[0]!.data.outputTokens)).toBeGreaterThan(500);
    expect((usage[0]!.data.totals as { task: { usd: number } }).task.usd).toBeGreaterThan(0);
    expect(events.filter((e) => e.kind === 'policy.violation').map((e) => e.data.rule)).toEqual(['budget.tokens']);
  });

  it('a realtime model session over a WebSocket, whose spend Airlock cannot read, is refused under a budget', async () => {
    const { events, run } = setup();
    served.length = 0;
    const ws = (path: string) => `echo "${path} $(curl -s -o /dev/null -m 5 -w '%{http_code}' --http1.1 -H "x-api-key: $MODEL_KEY" -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' 'https://${MODEL_HOST}${path}')"`;
    const paths = ['/v1/realtime?model=gpt-realtime', '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent'];
    const outcome = await run('realtime', paths.map(ws).join('; '), '{ usd: 1 }');
    expect(outcome.status).toBe('exited');
    expect(stdout(events)).toEqual(paths.map((p) => `${p} 429`));
    expect(served).toEqual([]);
    const refused = events.filter((e) => e.kind === 'net.denied' && e.decision?.rule === 'budget.unmetered');
    expect(refused.map((e) => e.data.path)).toEqual(['/v1/realtime', '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent']);
    expect(String(refused[0]!.data.reason)).toMatch(/opens a realtime session, whose spend Airlock cannot meter, and this task has a budget/);
  });
});
