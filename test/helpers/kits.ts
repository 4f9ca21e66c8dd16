import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { approve, CLI, REPO, tempDir } from './env.js';

/**
 * How a test runs a kit as a user would. Two forms, switched by whether the kit exists in this tree:
 * - the kit (`assets/agents/<kit>/kit.yaml`, issue 15's KITS part): `airlock run <kit> --endpoint URL -- <args>`,
 *   its image `airlock/kit-<kit>:<version>` built by `.ci/run`;
 * - until then, a hand-written manifest with the same facts (config, switches, allowlist, credential)
 *   on a research image built here from the npm registry (the form the facts were found with).
 * TODO(after the KITS merge): delete the second form and `researchImage`.
 */
export const hasKit = (kit: string): boolean => fs.existsSync(path.join(REPO, 'assets', 'agents', kit, 'kit.yaml'));

/** Stores a provider's key as `airlock cred add <name> --preset <preset>` does (or, before presets exist, with the same host and header spelled out). */
export function addProviderCredential(name: string, preset: { name: string; header: string }, host: string, secret: string, env: NodeJS.ProcessEnv): void {
  const help = spawnSync(process.execPath, [CLI, 'cred', 'add', '--help'], { env: { ...process.env, ...env }, encoding: 'utf8' }).stdout;
  const how = help.includes('--preset') ? ['--preset', preset.name] : ['--header', preset.header];
  const stored = spawnSync(process.execPath, [CLI, 'cred', 'add', name, ...how, '--host', host], { input: secret, env: { ...process.env, ...env }, encoding: 'utf8' });
  if (stored.status !== 0) throw new Error(`cred add ${name} failed: ${stored.stderr}`);
}

const CODEX_VERSION = '0.171.0';
const RESEARCH_IMAGE = `airlock-research/codex:${CODEX_VERSION}`;

/** The research image (pre-KITS): @openai/codex installed on the host without scripts, for linux/x64, and copied in. */
function researchImage(): string {
  const present = spawnSync('docker', ['image', 'inspect', RESEARCH_IMAGE], { stdio: 'ignore' }).status === 0;
  if (present) return RESEARCH_IMAGE;
  const dir = tempDir('airlock-codex-image-');
  execFileSync('npm', ['install', '--prefix', path.join(dir, 'pkg'), '--os=linux', '--cpu=x64', '--ignore-scripts', '--no-audit', '--no-fund', `@openai/codex@${CODEX_VERSION}`], { stdio: 'ignore' });
  fs.writeFileSync(path.join(dir, 'Dockerfile'), [
    'FROM airlock/agent-base:1',
    'COPY pkg/node_modules /opt/codex/node_modules',
    'ENV PATH=/opt/codex/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  ].join('\n'));
  execFileSync('docker', ['build', '-q', '-t', RESEARCH_IMAGE, dir], { stdio: 'ignore' });
  return RESEARCH_IMAGE;
}

/**
 * The `airlock run` arguments that run Codex against `endpoint` (an https URL of a pretend OpenAI API)
 * with `toolArgs` after `--`, lending the credential `credential`.
 */
export function codexRunArgs(options: { endpoint: string; credential: string; output: string; home: string; toolArgs: string[] }): string[] {
  const common = ['--output', options.output, '--json'];
  if (hasKit('codex')) return ['run', 'codex', '--endpoint', options.endpoint, ...common, '--', ...options.toolArgs];
  const url = new URL(options.endpoint);
  const provider = `model_providers.airlock={ name = "OpenAI", base_url = "${options.endpoint}/v1", env_key = "OPENAI_API_KEY", wire_api = "responses" }`;
  const command = ['codex', '--disable', 'plugins', '-c', 'analytics.enabled=false', '-c', 'model_provider="airlock"', '-c', provider, ...options.toolArgs];
  const dir = tempDir('airlock-codex-manifest-');
  const file = path.join(dir, 'codex.yaml');
  fs.writeFileSync(file, [
    'name: codex',
    `image: ${researchImage()}`,
    `command: ${JSON.stringify(command)}`,
    'outputs: [ /workspace/out ]',
    'resources: { cpus: 1, memory: 512m, pids: 256 }',
    'timeout: 2m',
    'network:',
    '  mode: allowlist',
    '  allow: []',
    `  local: [ "${url.host}" ]`,
    '  onUnknownHost: deny',
    'credentials:',
    `  - { name: ${options.credential}, env: OPENAI_API_KEY }`,
    '',
  ].join('\n'));
  approve(file, options.home);
  return ['run', file, ...common];
}
