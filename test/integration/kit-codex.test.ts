import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { runCli, tempDir, type CliResult } from '../helpers/env.js';
import { addProviderCredential, codexRunArgs } from '../helpers/kits.js';
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
  let run: CliResult;
  let events: AirlockEvent[];
  let output: string;

  beforeAll(async () => {
    api = await startPretendOpenAi({ key, file: FILE });
    const home = tempDir('airlock-kit-codex-');
    output = path.join(home, 'out');
    const env = { AIRLOCK_HOME: home, AIRLOCK_GATEWAY_HOSTS: `${HOST}=127.0.0.1`, AIRLOCK_UPSTREAM_CA: api.caFile };
    addProviderCredential('openai', { name: 'openai', header: 'Authorization: Bearer {secret}' }, `${HOST}:${api.port}`, key, env);
    const args = codexRunArgs({
      endpoint: `https://${HOST}:${api.port}`, credential: 'openai', output, home,
      toolArgs: ['exec', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox', `Write the file ${FILE.path}`],
    });
    run = await runCli(args, { env, timeoutMs: 150_000 });
    events = run.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as AirlockEvent);
  }, 600_000);

  afterAll(async () => {
    await api.close();
  });

  it('exits 0 and the file written by the tool call is collected', () => {
    expect(run.code, run.stderr + run.stdout.slice(-4000)).toBe(0);
    expect(fs.readFileSync(path.join(output, 'hello.txt'), 'utf8')).toBe(FILE.content);
  });

  it('the API saw the real key on every request and never a placeholder', () => {
    const turns = api.requests.filter((r) => r.path === '/v1/responses' && r.status === 200);
    expect(turns.length).toBeGreaterThanOrEqual(2); // the tool call, then the answer to its result
    expect(api.requests.filter((r) => r.key !== 'the real key')).toEqual([]);
    expect(api.placeholders).toEqual([]);
  });

  it('the log has the credential used for the API host and not one refused request', () => {
    const used = events.filter((e) => e.kind === 'cred.used');
    expect(used.length).toBeGreaterThanOrEqual(2);
    expect(used.every((e) => String(e.data.host).startsWith(HOST))).toBe(true);
    // Telemetry, plugin sync and update checks are off: any refusal would be a host the kit misses.
    expect(events.filter((e) => e.kind === 'net.denied' || e.kind === 'policy.violation' || e.kind === 'cred.misuse')).toEqual([]);
  });
});
