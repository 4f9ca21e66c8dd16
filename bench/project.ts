// `npm run bench -- project`: what `--project` costs on a generated git repository of 100,000
// files (1,000 folders of 100 files of 1 KiB, one commit), beside `git archive` of the same tree
// on this machine. The copy's cost is the time to the agent's first instruction with `--project`
// minus the same run with `--no-project` (same engine, same manifest); `git archive HEAD | tar -x`
// into a fresh folder is the baseline. Prints medians; never gates CI.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadManifestFile } from '../main/core/policy/manifest.js';
import { AgentRegistry } from '../main/core/policy/registry.js';
import { percentile } from './stats.js';

const RUNS = Math.max(3, Number(process.env.BENCH_RUNS ?? 3));
const FOLDERS = 1000;
const FILES_PER_FOLDER = 100;
const CLI = path.join(import.meta.dirname, '..', 'bin', 'airlock.cjs');
const AGENT = ['sh', '-c', 'echo "first $(date +%s%3N)"; ls | wc -l'];

function git(repo: string, args: string[]): void {
  const result = spawnSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@airlock.test', '-C', repo, ...args], { stdio: 'pipe', maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr.toString()}`);
}

/** A repository of FOLDERS × FILES_PER_FOLDER small text files, committed. */
function generateRepository(repo: string): void {
  fs.mkdirSync(repo, { recursive: true });
  for (let folder = 0; folder < FOLDERS; folder++) {
    const dir = path.join(repo, `src${folder}`);
    fs.mkdirSync(dir);
    for (let file = 0; file < FILES_PER_FOLDER; file++) {
      fs.writeFileSync(path.join(dir, `m${file}.ts`), `export const v${folder}_${file} = ${folder * FILES_PER_FOLDER + file};\n`.padEnd(1024, '/'));
    }
  }
  git(repo, ['init', '-q']);
  git(repo, ['add', '-A']);
  git(repo, ['commit', '-qm', 'generated']);
}

function timed(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; shell?: boolean } = {}): Promise<{ t0: number; end: number; out: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { env: options.env ?? process.env, cwd: options.cwd, shell: options.shell ?? false });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ t0, end: Date.now(), out, code }));
  });
}

/** ms from `airlock run` to the agent's first instruction. */
async function airlockRun(manifest: string, project: string | undefined, env: NodeJS.ProcessEnv): Promise<number> {
  const args = [CLI, 'run', manifest, '--json', ...(project ? ['--project', project] : ['--no-project'])];
  const r = await timed(process.execPath, args, { env });
  if (r.code !== 0) throw new Error(`airlock run failed: ${r.out.slice(-2000)}`);
  const match = /first (\d{13})/.exec(r.out);
  if (!match) throw new Error(`no timestamp in output:\n${r.out.slice(-2000)}`);
  return Number(match[1]) - r.t0;
}

async function gitArchive(repo: string, into: string): Promise<number> {
  fs.rmSync(into, { recursive: true, force: true });
  fs.mkdirSync(into);
  const r = await timed('sh', ['-c', `git -C '${repo}' archive HEAD | tar -x -C '${into}'`]);
  if (r.code !== 0) throw new Error(`git archive failed: ${r.out}`);
  return r.end - r.t0;
}

export async function benchProject(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-project-'));
  const repo = path.join(dir, 'repo');
  const manifest = path.join(dir, 'bench.yaml');
  fs.writeFileSync(manifest, `name: bench-project\ncommand: ${JSON.stringify(AGENT)}\nproject: {}\nresources: { disk: 2g }\n`);
  const home = path.join(dir, 'home');
  const env = { ...process.env, AIRLOCK_HOME: home, AIRLOCK_POOL_SIZE: '0', AIRLOCK_ENGINE_IDLE: '10m', AIRLOCK_ENGINE: '' };
  new AgentRegistry(home, path.join(import.meta.dirname, '..', 'assets')).approve(loadManifestFile(manifest), 'bench');
  try {
    const generating = Date.now();
    generateRepository(repo);
    process.stderr.write(`generated ${FOLDERS * FILES_PER_FOLDER} files in ${Date.now() - generating} ms\n`);
    // Warm up caches (page cache, image layers, the engine) once for each.
    await gitArchive(repo, path.join(dir, 'archive'));
    await airlockRun(manifest, undefined, env);
    await airlockRun(manifest, repo, env);

    const samples = { archive: [] as number[], without: [] as number[], with: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      samples.archive.push(await gitArchive(repo, path.join(dir, 'archive')));
      samples.without.push(await airlockRun(manifest, undefined, env));
      samples.with.push(await airlockRun(manifest, repo, env));
      process.stderr.write(`\rproject runs ${i + 1}/${RUNS}`);
    }
    process.stderr.write('\n');
    const median = (list: number[]) => percentile(list, 50);
    const copy = median(samples.with) - median(samples.without);
    console.log(`\nProject copy-in: a git repository of ${FOLDERS * FILES_PER_FOLDER} files of 1 KiB, ${RUNS} runs each, medians`);
    console.log(`git archive HEAD | tar -x (baseline)          ${median(samples.archive).toFixed(0).padStart(7)} ms`);
    console.log(`airlock run --no-project, to first instruction ${median(samples.without).toFixed(0).padStart(7)} ms`);
    console.log(`airlock run --project, to first instruction    ${median(samples.with).toFixed(0).padStart(7)} ms`);
    const beside = copy - median(samples.archive);
    console.log(`--project's cost (the difference)              ${copy.toFixed(0).padStart(7)} ms (${beside >= 0 ? '+' : ''}${beside.toFixed(0)} ms beside git archive)`);
  } finally {
    await timed(process.execPath, [CLI, 'engine', 'stop'], { env }).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
