import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { CLI, REPO, runCli, tempDir, TEST_ENGINE_ENV, type CliResult } from './env.js';

/**
 * How the kits' end-to-end tests run a real tool: exactly the two commands a user types,
 * `airlock cred add <name> --preset <provider> --host <pretend host:port>` (the key on standard
 * input) and `airlock run <kit> --endpoint https://<pretend host:port> -- <the tool's arguments>`,
 * on the kit's image (`airlock/kit-<kit>:<version>`, built by `.ci/run`), in a small project folder
 * of the test's (a kit takes the folder it is run in as its project, as a user's would).
 */

/** A small project folder (a README and a source file, no git) for a kit's run to take as its project. */
export function kitProject(prefix = 'airlock-kit-project-'): string {
  const dir = tempDir(prefix);
  fs.writeFileSync(path.join(dir, 'README.md'), '# demo\n\nA project for a kit\'s test.\n');
  fs.writeFileSync(path.join(dir, 'main.py'), 'print("hello")\n');
  return dir;
}

/** `airlock cred add <name> --preset <preset> --host <host>` with the key on standard input. */
export function addPresetCredential(options: { name: string; preset: string; host: string; secret: string; env: NodeJS.ProcessEnv }): Promise<CliResult> {
  return new Promise((resolve) => {
    const args = ['cred', 'add', options.name, '--preset', options.preset, '--host', options.host];
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env: { ...process.env, NO_COLOR: '1', ...TEST_ENGINE_ENV, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.secret);
  });
}

export interface KitRunResult extends CliResult {
  /** The task's events (`--json`). */
  events: AirlockEvent[];
}

/** `airlock run <kit> --endpoint <endpoint> --output <output> --json -- <toolArgs>` in `project` (the kit's project). */
export async function runKit(kit: string, options: { endpoint: string; output: string; project: string; env: NodeJS.ProcessEnv; toolArgs: string[]; timeoutMs?: number }): Promise<KitRunResult> {
  const args = ['run', kit, '--endpoint', options.endpoint, '--output', options.output, '--json', '--', ...options.toolArgs];
  const result = await runCli(args, { env: options.env, cwd: options.project, timeoutMs: options.timeoutMs ?? 200_000 });
  const events = result.stdout.split('\n').filter((line) => line.startsWith('{"')).map((line) => JSON.parse(line) as AirlockEvent).filter((e) => e.kind !== undefined);
  return { ...result, events };
}
