import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { tempDir } from '../helpers/env.js';
import { stopEngine } from '../helpers/engine.js';
import { startAnthropicApi, writeFile } from '../helpers/providers/anthropic.js';
import { addPresetCredential, kitProject, runKit, type KitRunResult } from '../helpers/kits.js';

/**
 * The real Claude Code (the pinned npm release, in the kit's image) run as a user runs it:
 * `airlock cred add anthropic --preset anthropic`, then `airlock run claude-code --endpoint … -- -p …`,
 * against a pretend Anthropic API on a `.test` name. The pretend model answers with a `Write` tool
 * call; the file it makes must come out of the sandbox, and the API must have seen the real key on
 * every request — never Airlock's placeholder. No real provider is contacted: the gateway resolves
 * only `api.anthropic.test` (to 127.0.0.1) and the kit's allowlist is replaced by that endpoint.
 */
const HOST = 'api.anthropic.test';
const CREDENTIAL = 'anthropic';
const KEY = `sk-ant-api03-KIT_SENTINEL_${process.pid}_d41f`;
const HELLO = { path: '/workspace/out/hello.txt', content: 'hello from claude code in airlock\n' };

describe('airlock run claude-code (the real CLI against a pretend Anthropic API)', () => {
  const home = path.join(tempDir('airlock-kit-claude-'), 'home');
  const outputs = path.join(tempDir('airlock-kit-claude-out-'), 'out');
  let api: Awaited<ReturnType<typeof startAnthropicApi>>;
  let env: NodeJS.ProcessEnv;
  let run: KitRunResult;

  beforeAll(async () => {
    api = await startAnthropicApi({ host: HOST, key: KEY, script: { calls: [writeFile(HELLO.path, HELLO.content)], finalText: 'Wrote hello.txt.' } });
    env = { AIRLOCK_HOME: home, AIRLOCK_GATEWAY_HOSTS: `${HOST}=127.0.0.1`, AIRLOCK_UPSTREAM_CA: api.caFile };
    const added = await addPresetCredential({ name: CREDENTIAL, preset: 'anthropic', host: `${HOST}:${api.port}`, secret: KEY, env });
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    run = await runKit('claude-code', { endpoint: api.url, output: outputs, project: kitProject(), env, toolArgs: ['-p', 'Write hello.txt into /workspace/out.'] });
  }, 240_000);

  afterAll(async () => {
    new Keychain().delete(`credential:${CREDENTIAL}`);
    await api?.close();
    await stopEngine(home);
  });

  it('exits 0 and the file its tool call wrote is collected with the content the model asked for', () => {
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    expect(fs.readFileSync(path.join(outputs, 'hello.txt'), 'utf8')).toBe(HELLO.content);
    expect(run.events.find((e) => e.kind === 'fs.output' && String(e.data.path).endsWith('/hello.txt'))).toBeTruthy();
  });

  it('the pretend API saw the real key in x-api-key on every request, never a placeholder', () => {
    expect(api.requests.map((r) => r.answer)).toEqual(expect.arrayContaining(['tool_use', 'end_turn']));
    for (const request of api.requests) {
      expect(request).toMatchObject({ key: 'real', placeholderIn: [] });
      expect(request.path).toMatch(/^\/v1\/messages(\?|$)/);
    }
    // The CLI's Write tool did run (the sandbox is the boundary: no permission prompt stands in its way).
    expect(api.requests.find((r) => r.toolResult)?.toolResult).toMatchObject({ isError: false });
  });

  it('the log has the key lent and used, and no refused request (its background traffic is switched off)', () => {
    const used = run.events.filter((e) => e.kind === 'cred.used');
    expect(used.length).toBe(api.requests.length);
    expect(run.events.filter((e) => e.kind === 'net.denied' || e.kind === 'cred.misuse' || e.kind === 'cred.denied')).toEqual([]);
    expect(run.events.filter((e) => e.kind === 'net.request').map((e) => e.data.host)).toEqual(expect.arrayContaining([HOST]));
    expect(run.events.filter((e) => e.kind === 'net.request' && e.data.host !== HOST)).toEqual([]);
    // The secret itself is in no event (the pretend API echoes none, and Claude Code never sees it).
    expect(JSON.stringify(run.events)).not.toContain(KEY);
  });
});
