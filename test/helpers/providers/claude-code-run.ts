import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { AirlockEvent } from '../../../main/core/audit/events.js';
import { approve, CLI, REPO, runCli, TEST_ENGINE_ENV, tempDir } from '../env.js';

/**
 * How a test runs Claude Code through the CLI. The final form is what a user types:
 * `airlock cred add anthropic --preset anthropic --host <endpoint host>` and
 * `airlock run claude-code --endpoint <url> -- <args>` (the kit, assets/agents/claude-code).
 * Until the kit and the credential presets are on this branch, the same run goes through a
 * hand-written manifest of the same shape on the research image `airlock-research/claude:dev`
 * (built from the npm release as the kit's recipe does) and a credential with the preset's header.
 * Each path switches itself off when the real one exists; delete the fallbacks after the merge.
 */
export const CREDENTIAL = 'anthropic';
const KIT_READY = fs.existsSync(path.join(REPO, 'assets', 'agents', 'claude-code', 'kit.yaml'));
const PRESETS_READY = fs.existsSync(path.join(REPO, 'main', 'core', 'credentials', 'presets.ts'));
const RESEARCH_IMAGE = 'airlock-research/claude:dev';

/** The env the kit's manifest sets (see /work/briefs/I15-KIT-FACTS-claude-code.md). */
const SWITCHES = {
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL: '1',
  DISABLE_TELEMETRY: '1',
  DISABLE_ERROR_REPORTING: '1',
  DISABLE_AUTOUPDATER: '1',
};

function credAddArgs(host: string, port: number): string[] {
  const at = `${host}:${port}`;
  return PRESETS_READY
    ? ['cred', 'add', CREDENTIAL, '--preset', 'anthropic', '--host', at]
    : ['cred', 'add', CREDENTIAL, '--host', at, '--header', 'x-api-key: {secret}'];
}

async function run(options: { endpoint: string; outputs: string; env: NodeJS.ProcessEnv; args: string[] }): Promise<{ code: number | null; events: AirlockEvent[]; stderr: string }> {
  const common = ['--output', options.outputs, '--json'];
  const argv = KIT_READY
    ? ['run', 'claude-code', '--endpoint', options.endpoint, ...common, '--', ...options.args]
    : ['run', researchManifest(options.endpoint, options.args, String(options.env.AIRLOCK_HOME)), ...common];
  const result = await runCli(argv, { env: options.env, timeoutMs: 200_000 });
  const events = result.stdout.split('\n').filter((line) => line.startsWith('{"')).map((line) => JSON.parse(line) as AirlockEvent).filter((e) => e.kind !== undefined);
  return { code: result.code, events, stderr: result.stderr };
}

function researchManifest(endpoint: string, args: string[], home: string): string {
  const { hostname, port } = new URL(endpoint);
  const file = path.join(tempDir('airlock-claude-research-'), 'claude-code.yaml');
  fs.writeFileSync(file, [
    'name: claude-code-research',
    `image: ${RESEARCH_IMAGE}`,
    `command: ${JSON.stringify(['claude-start', ...args])}`,
    'outputs: [ /workspace/out ]',
    'timeout: 3m',
    `env: ${JSON.stringify({ ...SWITCHES, ANTHROPIC_BASE_URL: endpoint })}`,
    `network: { mode: allowlist, allow: [], local: [ "${hostname}:${port}" ], onUnknownHost: deny }`,
    `credentials: [ { name: ${CREDENTIAL}, env: ANTHROPIC_API_KEY } ]`,
    '',
  ].join('\n'));
  approve(file, home);
  return file;
}

export const claudeCodeRun = { credAddArgs, run, kitReady: KIT_READY };

/** Runs the CLI with text on its standard input (how a secret is given to `cred add`). */
export function withStdin(args: string[], input: string, env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env: { ...process.env, NO_COLOR: '1', ...TEST_ENGINE_ENV, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}
