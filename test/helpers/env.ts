import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventBus } from '../../main/core/audit/bus.js';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { systemClock } from '../../main/core/clock.js';
import { Engine } from '../../main/core/engine/engine.js';
import { homeLayout } from '../../main/core/home.js';
import { loadManifestFile, manifestDigest, parseManifest } from '../../main/core/policy/manifest.js';
import { AgentRegistry } from '../../main/core/policy/registry.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { resolveTaskSpec, type RunOverrides } from '../../main/core/tasks/spec.js';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(REPO, 'bin', 'airlock.cjs');

const created: string[] = [];

/** A fresh folder for one test, removed after the test file (see test/setup.ts). */
export function tempDir(prefix = 'airlock-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** A real engine, a fresh AIRLOCK_HOME and a recording bus: what one test needs to run tasks. */
export function harness() {
  const root = tempDir();
  const home = homeLayout(path.join(root, 'home'));
  const bus = new EventBus(systemClock);
  const events: AirlockEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const engine = Engine.connect();
  const runner = new TaskRunner({ engine, bus, clock: systemClock, home });
  return { root, home, bus, events, engine, runner };
}

/** Write a manifest (YAML text) into a folder and resolve it to a TaskSpec. */
export function specFrom(dir: string, yaml: string, overrides: RunOverrides = {}) {
  const file = path.join(dir, 'agent.yaml');
  fs.writeFileSync(file, yaml);
  return resolveTaskSpec({ manifest: parseManifest(yaml, 'agent.yaml'), digest: manifestDigest(yaml), file }, overrides, dir);
}

export function lines(events: AirlockEvent[], kind: 'proc.stdout' | 'proc.stderr' = 'proc.stdout'): string[] {
  return events.filter((e) => e.kind === kind).map((e) => String(e.data.line));
}

/**
 * An engine a test's CLI starts leaves soon after its last client (the global teardown fails the
 * run if one is still alive at the end).
 */
// No warm pool unless a test asks for one: a test's engine would otherwise keep a prepared sandbox
// (two containers) for its whole life. The pool's own tests turn it on.
export const TEST_ENGINE_ENV = { AIRLOCK_ENGINE_IDLE: '5s', AIRLOCK_POOL_SIZE: '0' };

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `airlock` CLI as a user would. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; program?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.program ?? CLI, ...args], { cwd: options.cwd ?? REPO, env: { ...process.env, NO_COLOR: '1', ...TEST_ENGINE_ENV, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs `docker exec` in a task's container, bounded: Docker 20.10 can leave an exec hanging for
 * good when the container exits while it runs, and a synchronous hang would block the whole test
 * file (no test timeout can fire). A test that needs the container alive holds its agent open.
 */
export function dockerExecSync(container: string, command: string[], timeoutMs = 20_000): string {
  return execFileSync('docker', ['exec', container, ...command], { encoding: 'utf8', timeout: timeoutMs });
}

/** Waits until `probe` returns a value, polling; fails the test after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Approves a manifest in a test's AIRLOCK_HOME, as `airlock agents approve` would. */
export function approve(file: string, home: string): void {
  new AgentRegistry(home, path.join(REPO, 'assets')).approve(loadManifestFile(file), 'test');
}

/**
 * Starts `airlock run --json` on a manifest in the background and waits until the agent has
 * printed `up`: returns the child, its task id and the stdout seen so far (kept up to date).
 */
export async function startCliRun(dir: string, yaml: string, home: string, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcessWithoutNullStreams; task: string; output: () => string; errors: () => string; exited: Promise<number | null> }> {
  fs.writeFileSync(path.join(dir, 'agent.yaml'), yaml);
  approve(path.join(dir, 'agent.yaml'), home);
  const child = spawn(process.execPath, [CLI, 'run', path.join(dir, 'agent.yaml'), '--json'], { env: { ...process.env, ...TEST_ENGINE_ENV, ...env, AIRLOCK_HOME: home } });
  let out = '';
  let errors = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (errors += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await waitFor(async () => (out.includes('"line":"up"') ? true : undefined), 'the agent to start');
  return { child, task: JSON.parse(out.split('\n')[0]!).task as string, output: () => out, errors: () => errors, exited };
}

/** What a spawned command printed and how it ended. */
export function childResult(child: ChildProcessWithoutNullStreams): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
