import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { stopEngine } from '../helpers/engine.js';
import { tempDir } from '../helpers/env.js';
import { addPresetCredential, kitProject, runKit } from '../helpers/kits.js';
import { startPretendGemini, type PretendGemini } from '../helpers/providers/gemini.js';

/**
 * The real Gemini CLI (@google/gemini-cli from the npm registry, in the gemini-cli kit's image) run
 * headless through the `airlock` CLI exactly as a user does, against a pretend Gemini API on
 * api.gemini.test (this machine): two commands, `cred add gemini --preset gemini` and
 * `run gemini-cli --endpoint … -- -p … --yolo`. The pretend model answers with a tool call that
 * makes the CLI write a file, and, as a hostile model would, a shell command that copies the key
 * the CLI holds into an output. No real provider is ever contacted.
 */

const HOST = 'api.gemini.test';
const CREDENTIAL = 'gemini';
const KEY = `AIzaSy${randomBytes(18).toString('base64url')}`;
const WRITE = { path: '/workspace/out/hello.txt', content: 'hello from gemini-cli in Airlock\n' };
const LEAK = 'printenv GEMINI_API_KEY > /workspace/out/key-seen.txt';
const TOOL_ARGS = ['-p', 'Write a friendly hello to out/hello.txt', '--yolo'];

let api: PretendGemini;
const dir = tempDir('airlock-kit-gemini-');
const home = path.join(dir, 'home');

beforeAll(async () => {
  api = await startPretendGemini({ host: HOST, key: KEY, write: WRITE, shell: LEAK });
});

afterAll(async () => {
  new Keychain().delete(`credential:${CREDENTIAL}`);
  await api?.close();
  await stopEngine(home);
});

describe('gemini-cli, the real tool in its kit', () => {
  it('writes a file through a tool call with a lent key; the API sees only the real key, the sandbox only a placeholder; nothing refused', async () => {
    const out = path.join(dir, 'out');

    const env = { AIRLOCK_HOME: home, AIRLOCK_GATEWAY_HOSTS: `${HOST}=127.0.0.1`, AIRLOCK_UPSTREAM_CA: api.caFile };
    const stored = await addPresetCredential({ name: CREDENTIAL, preset: 'gemini', host: `${HOST}:${api.port}`, secret: KEY, env });
    expect(stored.stderr).toBe('');
    expect(stored.code).toBe(0);

    const run = await runKit('gemini-cli', { endpoint: api.url, output: out, project: kitProject(), env, toolArgs: TOOL_ARGS, timeoutMs: 150_000 });
    const events = run.events;
    const kinds = (kind: string) => events.filter((e) => e.kind === kind);
    expect(run.code, run.stderr + run.stdout.slice(-4000)).toBe(0);

    // The tool call's file is collected, as the model asked.
    expect(fs.readFileSync(path.join(out, 'hello.txt'), 'utf8')).toBe(WRITE.content);
    // The hostile shell command ran in the sandbox and found a placeholder, not the key.
    const seen = fs.readFileSync(path.join(out, 'key-seen.txt'), 'utf8').trim();
    expect(seen).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(seen).not.toContain(KEY);

    // The pretend API: every request carried the real key in x-goog-api-key, none a placeholder;
    // the conversation went prompt → tool calls → their results → end of turn.
    expect(api.placeholders).toEqual([]);
    expect(api.requests.length).toBeGreaterThanOrEqual(2);
    expect(api.requests.filter((r) => r.key !== 'real' || r.keyVia !== 'header')).toEqual([]);
    const streamed = api.requests.filter((r) => r.call === 'streamGenerateContent');
    expect(streamed.map((r) => r.status)).toEqual([200, 200]);
    expect(Object.keys(streamed[1]!.toolResults ?? {}).sort()).toEqual(['run_shell_command', 'write_file']);

    // The log: one cred.used per request the API answered, no refusal of any kind (telemetry and
    // update checks are off, so a refusal would mean something), and never the key itself.
    expect(kinds('cred.used')).toHaveLength(api.requests.length);
    expect(kinds('net.denied')).toEqual([]);
    expect(kinds('cred.misuse')).toEqual([]);
    expect(kinds('net.request').filter((e) => e.decision?.allow !== true || Number(e.data.status) >= 400)).toEqual([]);
    expect(run.stdout + run.stderr).not.toContain(KEY);
  }, 180_000);
});
