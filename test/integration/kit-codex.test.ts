import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { stopEngine } from '../helpers/engine.js';
import { tempDir } from '../helpers/env.js';
import { addPresetCredential, kitProject, runKit, type KitRunResult } from '../helpers/kits.js';
import { startPretendOpenAi, type PretendOpenAi } from '../helpers/providers/openai.js';

// The real Codex CLI (@openai/codex from the npm registry) in its Airlock image, run through the CLI
// exactly as a user does — `cred add openai --preset openai`, `run codex --endpoint … -- exec …` —
// against a pretend OpenAI API on api.openai.test (this machine only). Its scripted model answers the
// prompt with a tool call that writes a file, then ends the turn. One run serves every assertion.
const HOST = 'api.openai.test';
const FILE = { path: '/workspace/out/hello.txt', content: 'hello from codex in airlock' };

describe('codex kit, end to end against a pretend OpenAI API', () => {
  const key = `sk-proj-${randomBytes(24).toString('base64url')}`;
  let api: PretendOpenAi;
  let run: KitRunResult;
  let events: AirlockEvent[];
  let output: string;
  let home: string;

  beforeAll(async () => {
    api = await startPretendOpenAi({ key, file: FILE });
    const dir = tempDir('airlock-kit-codex-');
    home = path.join(dir, 'home');
    output = path.join(dir, 'out');
    const env = { AIRLOCK_HOME: home, AIRLOCK_GATEWAY_HOSTS: `${HOST}=127.0.0.1`, AIRLOCK_UPSTREAM_CA: api.caFile };
    const added = await addPresetCredential({ name: 'openai', preset: 'openai', host: `${HOST}:${api.port}`, secret: key, env });
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    run = await runKit('codex', {
      endpoint: `https://${HOST}:${api.port}`, output, project: kitProject(), env, timeoutMs: 150_000,
      toolArgs: ['exec', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox', `Write the file ${FILE.path}`],
    });
    events = run.events;
  }, 200_000);

  afterAll(async () => {
    new Keychain().delete('credential:openai');
    await api.close();
    await stopEngine(home);
  });

  it('exits 0 and the file written by the tool call is collected', () => {
    expect(run.code, run.stderr + run.stdout.slice(-4000)).toBe(0);
    expect(fs.readFileSync(path.join(output, 'hello.txt'), 'utf8')).toBe(FILE.content);
  });

  it('the API saw the real key on every request and never a placeholder', () => {
    const turns = api.requests.filter((r) => r.path === '/v1/responses' && r.status === 200);
    expect(turns.length).toBeGreaterThanOrEqual(2); // the tool call, then the answer to its result
    // Codex speaks the Responses API over a WebSocket first: through the gateway, with the real key, no fallback.
    expect(turns.every((r) => r.transport === 'websocket')).toBe(true);
    expect(api.requests.filter((r) => r.key !== 'the real key')).toEqual([]);
    expect(api.placeholders).toEqual([]);
  });

  it('the log has the credential used for the API host and not one refused request', () => {
    // One per connection: both turns went over the one WebSocket, whose handshake carried the key.
    const used = events.filter((e) => e.kind === 'cred.used');
    expect(used.length).toBeGreaterThanOrEqual(1);
    expect(used.every((e) => String(e.data.host).startsWith(HOST))).toBe(true);
    // The WebSocket is one request event when it ends: status 101, with its bytes both ways.
    expect(events.some((e) => e.kind === 'net.request' && e.data.ws === true && e.data.status === 101)).toBe(true);
    // Telemetry, plugin sync and update checks are off: any refusal would be a host the kit misses.
    expect(events.filter((e) => e.kind === 'net.denied' || e.kind === 'policy.violation' || e.kind === 'cred.misuse')).toEqual([]);
  });
});
