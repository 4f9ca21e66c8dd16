import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { approve, CLI, REPO, runCli, TEST_ENGINE_ENV, tempDir, type CliResult } from '../helpers/env.js';
import { startPretendGemini, type PretendGemini } from '../helpers/providers/gemini.js';
import { makeTestCa } from '../helpers/test-ca.js';

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

// Until the kits (KITS) and credential presets (CREDS) are merged, the same run goes through a
// hand-written manifest that mirrors the kit on a research image (see runGemini below).
const KIT_MERGED = fs.existsSync(path.join(REPO, 'assets', 'agents', 'gemini-cli', 'kit.yaml'));
const PRESETS_MERGED = fs.existsSync(path.join(REPO, 'main', 'core', 'credentials', 'presets.ts'));

let api: PretendGemini;
let gatewayEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  const ca = makeTestCa('pretend Gemini API CA');
  api = await startPretendGemini({ host: HOST, key: KEY, ca, write: WRITE, shell: LEAK });
  gatewayEnv = { AIRLOCK_GATEWAY_HOSTS: `${HOST}=127.0.0.1`, AIRLOCK_UPSTREAM_CA: ca.file };
});

afterAll(async () => {
  new Keychain().delete(`credential:${CREDENTIAL}`);
  await api?.close();
});

/** `airlock cred add gemini …` with the key on standard input, as a user types it. */
function addCredential(home: string): Promise<CliResult> {
  const hostArgs = ['--host', `${HOST}:${api.port}`];
  const args = PRESETS_MERGED ? ['--preset', 'gemini', ...hostArgs] : [...hostArgs, '--header', 'x-goog-api-key: {secret}'];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'cred', 'add', CREDENTIAL, ...args], { env: { ...process.env, NO_COLOR: '1', AIRLOCK_HOME: home } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(KEY);
  });
}

/** `airlock run gemini-cli --endpoint <the pretend API> --output <out> --json -- <args>`. */
function runGemini(home: string, out: string): Promise<CliResult> {
  const options = { env: { ...TEST_ENGINE_ENV, ...gatewayEnv, AIRLOCK_HOME: home }, timeoutMs: 150_000 };
  if (KIT_MERGED) return runCli(['run', 'gemini-cli', '--endpoint', api.url, '--output', out, '--json', '--', ...TOOL_ARGS], options);
  // Before the merge: the kit's manifest by hand, on an image made as the kit's is (gemini-cli
  // 0.61.0 installed with --ignore-scripts, /etc/gemini-cli/settings.json from the kit facts).
  const dir = path.dirname(out);
  const file = path.join(dir, 'gemini-cli.yaml');
  fs.writeFileSync(file, `name: gemini-cli-research
image: airlock-research/gemini:dev
command: ${JSON.stringify(['gemini', ...TOOL_ARGS])}
env: { GEMINI_CLI_NO_RELAUNCH: "true", GOOGLE_GEMINI_BASE_URL: "${api.url}" }
outputs: [ /workspace/out ]
resources: { memory: 1g }
timeout: 2m
network: { mode: allowlist, local: [ "${HOST}:${api.port}" ], onUnknownHost: deny }
credentials: [ { name: ${CREDENTIAL}, env: GEMINI_API_KEY } ]
`);
  approve(file, home);
  return runCli(['run', file, '--output', out, '--json'], options);
}

describe('gemini-cli, the real tool in its kit', () => {
  it('writes a file through a tool call with a lent key; the API sees only the real key, the sandbox only a placeholder; nothing refused', async () => {
    const dir = tempDir('airlock-kit-gemini-');
    const home = path.join(dir, 'home');
    const out = path.join(dir, 'out');

    const stored = await addCredential(home);
    expect(stored.stderr).toBe('');
    expect(stored.code).toBe(0);

    const run = await runGemini(home, out);
    const events = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as AirlockEvent);
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
