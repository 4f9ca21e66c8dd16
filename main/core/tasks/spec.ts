import fs from 'node:fs';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import type { AgentRef } from '../audit/events.js';
import type { LoadedManifest } from '../policy/manifest.js';
import { parseDuration, parseSize } from '../policy/units.js';
import { registryEnv, resolveNetwork, type NetworkOverride, type NetworkSpec } from './network-spec.js';

export type { NetworkOverride };
import type { GrantRequest } from './grants.js';
import type { ViolationPolicy } from './violations.js';
import { type Budget, DEFAULT_MAX_REPEATS } from '../spend/budget.js';
import { DEFAULT_DESKTOP_IMAGE, DEFAULT_IMAGE, type Manifest } from '../policy/manifest-schema.js';
import type { DisplaySpec } from '../desktop/types.js';
import type { McpServerSpec } from '../mcp/manifest.js';

/** Everything the orchestrator needs to run one task, resolved and checked. */
export interface TaskSpec {
  agent: AgentRef;
  image: string;
  command: string[] | undefined;
  workdir: string;
  env: Record<string, string>;
  inputs: { from: string; to: string }[];
  outputs: string[];
  limits: { cpus: number; memoryBytes: number; pids: number; diskBytes: number };
  timeoutMs: number;
  network: NetworkSpec;
  /** Credentials to lend the task (checked against the store when it starts). */
  credentials: GrantRequest[];
  /** What a violation (misuse, limits, too many refusals) does: log, stop or freeze. */
  violations: ViolationPolicy;
  /** Fake secrets to plant: variables and files (inside the workspace). */
  decoys: { env: string[]; files: string[] };
  /** What it (and its descendants, out of the same) may spend on model calls. */
  budget: Budget;
  /** The same model request more times than this on the chain is a violation (`loops.maxRepeats`). */
  maxRepeats: number;
  /** Which agents this one may start, how deep and how many (`delegate` in the manifest). */
  delegate: { allow: string[]; maxDepth: number; maxTasks: number };
  /** Host folder for collected outputs; default: the task's artifacts folder in AIRLOCK_HOME. */
  outputDir: string | undefined;
  /** A virtual screen with a browser (`display:`), or undefined. */
  display: DisplaySpec | undefined;
  /** An interactive session (`run -it`): the agent's program gets a terminal of this size. */
  terminal?: TerminalSize;
  /** A working copy of this host folder at `to` (inside the workspace), which is the agent's working folder. */
  project?: { from: string; to: string };
  /** MCP servers (`mcp:`), their `inputs` resolved against `manifestDir`; absent when the manifest lists none. */
  mcp?: { servers: McpServerSpec[]; manifestDir: string; maxRepeats: number | undefined };
}

/** A terminal's size in character cells. */
export interface TerminalSize {
  cols: number;
  rows: number;
}


/**
 * What a user may set on top of the manifest for one run (the CLI's flags, the app's run dialog),
 * typed: durations in milliseconds, sizes in bytes. Clients parse text at their edge
 * (policy/units.ts); the core checks values, never re-parses `15m` or `256m`.
 */
export interface RunOverrides {
  network?: NetworkOverride;
  /** Credentials to lend: naming one the manifest lists sets its TTL; another is lent in `<NAME>_TOKEN`. */
  creds?: { name: string; ttlMs?: number }[];
  /** Host files or folders copied in read-only; a relative host path resolves against `cwd`. */
  inputs?: { hostPath: string; containerPath?: string }[];
  outputDir?: string;
  timeoutMs?: number;
  cpus?: number;
  memoryBytes?: number;
  env?: { name: string; value: string }[];
  /** An interactive session of this size (`run -it`). */
  terminal?: TerminalSize;
  /** Appended to the manifest's command (`airlock run <agent> -- <args>`). */
  args?: string[];
  /** Package registries added to the network (`--registry npm|pypi|npm=URL|pypi=URL`). */
  registries?: string[];
  /** The folder the agent gets a working copy of (`--project`); the manifest must say `project:`. */
  project?: { hostPath: string };
  /** Model spend limits (`--budget`): each one given replaces the manifest's. */
  budget?: Budget;
}

/** Where a project's copy goes when the manifest's `project:` does not say. */
export const DEFAULT_PROJECT_PATH = '/workspace/project';

/** Bounds on `args`: what a client may make Airlock pass to a container. */
export const ARGS_LIMITS = { count: 200, bytes: 32 * 1024 };

export const SANDBOX_DEFAULTS = { cpus: 1, memoryBytes: 512 * 1024 ** 2, pids: 256, diskBytes: 1024 ** 3, timeoutMs: 10 * 60_000 };
/** The workspace's size limits: below 16m nothing real fits; above 64g a tmpfs is no longer a sane place. */
const DISK_RANGE = { min: 16 * 1024 ** 2, max: 64 * 1024 ** 3 };
/** A screen and a browser need more: Chromium alone runs ~10 processes and ~150 threads (pids counts threads). */
export const DISPLAY_DEFAULTS = { cpus: 2, memoryBytes: 2 * 1024 ** 3, pids: 1024, diskBytes: 1024 ** 3, screenshotEveryMs: 5_000 };
/** How deep and how many descendants a manifest's `delegate` allows when it does not say. */
export const DELEGATE_DEFAULTS = { maxDepth: 1, maxTasks: 5 };
/** Environment names Airlock sets itself (proxy, CA bundle): an agent may not override them. */
// The dynamic loader's variables (LD_*) too: every program Airlock itself runs in the sandbox (the
// screen's helpers) inherits the container's environment, and must not load the agent's code.
const RESERVED_ENV = /^(HOME|PATH|HOSTNAME|(HTTPS?|NO|ALL)_PROXY|(https?|no|all)_proxy|SSL_CERT_FILE|NODE_EXTRA_CA_CERTS|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|GIT_SSL_CAINFO|AIRLOCK_.*|LD_.*)$/;
/** What a credential may be called (the store's rule). */
export const CREDENTIAL_NAME = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const SYSTEM_DIRS = ['/', '/bin', '/boot', '/dev', '/etc', '/lib', '/lib64', '/proc', '/root', '/run', '/sbin', '/sys', '/usr', '/var', '/tmp'];

function bad(field: string, problem: string, hint: string): AirlockError {
  return new AirlockError('bad_argument', `${field}: ${problem}`, hint);
}

export function resolveTaskSpec(loaded: LoadedManifest, overrides: RunOverrides = {}, cwd = process.cwd()): TaskSpec {
  const { manifest } = loaded;
  const source = path.basename(loaded.file);
  const manifestDir = path.dirname(loaded.file);

  const network = resolveNetwork(manifest, source, overrides.network, overrides.registries);
  const credentials = resolveCredentials(manifest, source, overrides.creds ?? []);
  const terminal = overrides.terminal ? checkTerminal(overrides.terminal, credentials, manifest.display !== undefined) : undefined;

  const workdir = manifest.workdir;
  if (SYSTEM_DIRS.includes(workdir)) {
    throw new AirlockError('bad_manifest', `${source}: workdir: ${workdir} is a system folder`, 'use a folder of its own, such as /workspace');
  }

  const inputs = manifest.inputs.map((input, i) => ({ from: path.resolve(manifestDir, input.from), to: input.to, field: `${source}: inputs[${i}]` }));
  for (const [i, input] of (overrides.inputs ?? []).entries()) {
    const from = path.resolve(cwd, input.hostPath);
    const to = input.containerPath === undefined ? path.posix.join(workdir, 'in', path.basename(from)) : path.posix.normalize(input.containerPath);
    inputs.push({ from, to, field: `--input #${i + 1} (${input.hostPath})` });
  }
  for (const input of inputs) checkInput(input, workdir);
  const project = resolveProject(manifest, source, overrides.project, inputs, workdir, cwd);

  const outputs = [...new Set(manifest.outputs)];
  outputs.forEach((output, i) => {
    const field = `${source}: outputs[${i}]`;
    if (!isInside(output, workdir)) throw new AirlockError('bad_manifest', `${field}: ${output} is not inside the workspace ${workdir}`, `collect from a folder under ${workdir}, such as ${workdir}/out`);
    const clash = inputs.find((input) => isInside(output, input.to) || isInside(input.to, output) || output === input.to);
    if (clash) throw new AirlockError('bad_manifest', `${field}: ${output} overlaps the read-only input ${clash.to}`, 'give outputs a folder of their own, such as /workspace/out');
    if (project && overlaps(output, project.to)) throw new AirlockError('bad_manifest', `${field}: ${output} overlaps the project's copy at ${project.to}`, 'give outputs a folder of their own, such as /workspace/out');
  });

  for (const [i, file] of (manifest.decoys?.files ?? []).entries()) {
    if (!isInside(file, workdir)) throw new AirlockError('bad_manifest', `${source}: decoys.files[${i}]: ${file} is not inside the workspace ${workdir}`, `plant decoys under ${workdir}, e.g. ${workdir}/.aws/credentials`);
    if (outputs.some((o) => isInside(file, o) || o === file)) throw new AirlockError('bad_manifest', `${source}: decoys.files[${i}]: ${file} is inside an output folder`, 'plant decoys where outputs are not collected');
  }
  for (const name of manifest.decoys?.env ?? []) {
    if (name in manifest.env || RESERVED_ENV.test(name)) throw new AirlockError('bad_manifest', `${source}: decoys.env: ${name} is already set`, 'choose a variable the agent does not otherwise get');
  }
  const env = { ...manifest.env };
  for (const { name, value } of overrides.env ?? []) env[name] = value;
  for (const name of Object.keys(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw bad(`env ${name}`, 'is not a variable name', 'use letters, digits and _');
    if (RESERVED_ENV.test(name)) throw new AirlockError('policy_refused', `env ${name}: is set by Airlock and cannot be overridden`, `remove ${name} from env`);
  }
  if (network.mode !== 'none') {
    for (const [name, value] of Object.entries(registryEnv(manifest, overrides.registries))) {
      if (name in env && env[name] !== value) throw bad(`env ${name}`, 'is set by the company registry named in network.registries or --registry', `remove ${name} from env`);
      env[name] = value;
    }
  }

  const display = resolveDisplay(manifest, source);
  const defaults = display ? DISPLAY_DEFAULTS : SANDBOX_DEFAULTS;
  const limits = {
    cpus: overrides.cpus !== undefined ? positive(overrides.cpus, '--cpus', 'write e.g. --cpus 0.5') : manifest.resources.cpus ?? defaults.cpus,
    memoryBytes: overrides.memoryBytes !== undefined ? positive(overrides.memoryBytes, '--memory', 'write e.g. 512m or 1g') : manifest.resources.memory !== undefined ? parseSize(manifest.resources.memory)! : defaults.memoryBytes,
    pids: manifest.resources.pids ?? defaults.pids,
    diskBytes: manifest.resources.disk !== undefined ? parseSize(manifest.resources.disk)! : defaults.diskBytes,
  };
  if (limits.memoryBytes < 8 * 1024 ** 2) throw bad(overrides.memoryBytes !== undefined ? '--memory' : `${source}: resources.memory`, 'must be at least 8m', 'give the agent at least 8m of memory');
  if (limits.diskBytes < DISK_RANGE.min || limits.diskBytes > DISK_RANGE.max) throw bad(`${source}: resources.disk`, 'must be between 16m and 64g', 'e.g. disk: 2g');

  const timeoutMs = overrides.timeoutMs !== undefined ? positive(overrides.timeoutMs, '--timeout', 'write e.g. 30s, 10m or 1h')
    : manifest.timeout === undefined ? SANDBOX_DEFAULTS.timeoutMs : parseDuration(manifest.timeout);
  if (timeoutMs === undefined) throw bad(`${source}: timeout`, `'${manifest.timeout}' is not a duration`, 'write e.g. 30s, 10m or 1h');

  return {
    agent: { name: manifest.name, digest: loaded.digest },
    image: manifest.image ?? (display ? DEFAULT_DESKTOP_IMAGE : DEFAULT_IMAGE),
    command: withArgs(manifest.command, overrides.args, source),
    workdir,
    env,
    inputs: inputs.map(({ from, to }) => ({ from, to })),
    outputs,
    limits,
    timeoutMs,
    network,
    credentials,
    violations: { action: manifest.onViolation, maxRefusedRequests: manifest.maxRefusedRequests },
    decoys: { env: manifest.decoys?.env ?? [], files: manifest.decoys?.files ?? [] },
    budget: { ...manifest.budget, ...overrides.budget },
    maxRepeats: manifest.loops?.maxRepeats ?? DEFAULT_MAX_REPEATS,
    delegate: { allow: manifest.delegate?.allow ?? [], maxDepth: manifest.delegate?.maxDepth ?? DELEGATE_DEFAULTS.maxDepth, maxTasks: manifest.delegate?.maxTasks ?? DELEGATE_DEFAULTS.maxTasks },
    outputDir: overrides.outputDir ? path.resolve(cwd, overrides.outputDir) : undefined,
    display,
    ...(terminal ? { terminal } : {}),
    ...(project ? { project } : {}),
    ...(manifest.mcp.length > 0 ? { mcp: resolveMcp(manifest, source, network.mode, manifestDir) } : {}),
  };
}

/**
 * The manifest's MCP servers: the agent reaches them at airlock.internal, through its proxy, so its
 * network must not be `none` (an empty allowlist is enough); a stdio server's inputs go under /srv.
 */
function resolveMcp(manifest: Manifest, source: string, mode: NetworkSpec['mode'], manifestDir: string): NonNullable<TaskSpec['mcp']> {
  if (mode === 'none') {
    throw new AirlockError('bad_manifest', `${source}: mcp: needs network mode allowlist or open (the agent reaches its servers at http://airlock.internal/mcp/<name>, through its proxy)`,
      'set network: { mode: allowlist, allow: [...] } with the hosts the agent needs');
  }
  for (const server of manifest.mcp) {
    for (const [i, input] of server.inputs.entries()) {
      if (!isInside(input.to, '/srv')) throw bad(`${source}: mcp ${server.name}: inputs[${i}]`, `${input.to} is not inside the server's folder /srv`, 'copy it to a folder under /srv, such as /srv/server');
    }
  }
  return { servers: manifest.mcp, manifestDir, maxRepeats: manifest.loops?.maxRepeats ?? DEFAULT_MAX_REPEATS };
}

/**
 * The run's project folder, at the manifest's `project.to`: only for an agent whose manifest takes
 * one, an existing folder, its copy inside the workspace and clear of every input.
 */
function resolveProject(manifest: Manifest, source: string, given: { hostPath: string } | undefined, inputs: { to: string }[], workdir: string, cwd: string): { from: string; to: string } | undefined {
  if (given === undefined) return undefined;
  if (!manifest.project) throw new AirlockError('bad_argument', `--project: ${manifest.name} does not take a project (its manifest has no project:)`, 'add `project: {}` to the manifest, or run it without --project');
  const to = path.posix.normalize(manifest.project.to ?? DEFAULT_PROJECT_PATH);
  if (!isInside(to, workdir)) throw new AirlockError('bad_manifest', `${source}: project.to: ${to} is not inside the workspace ${workdir}`, `copy the project to a folder under ${workdir}, such as ${workdir}/project`);
  const from = path.resolve(cwd, given.hostPath);
  if (from.includes('\0')) throw bad('--project', 'contains NUL', 'name the project\'s folder');
  let stat: fs.Stats;
  try {
    stat = fs.statSync(from);
  } catch {
    throw bad('--project', `${from} does not exist`, 'name the project\'s folder, e.g. --project .');
  }
  if (!stat.isDirectory()) throw bad('--project', `${from} is not a folder`, 'name the project\'s folder, e.g. --project .');
  const clash = inputs.find((input) => overlaps(input.to, to));
  if (clash) throw new AirlockError('bad_manifest', `${source}: project.to: ${to} overlaps the input at ${clash.to}`, 'copy inputs to a folder of their own, such as /workspace/in');
  return { from, to };
}

function overlaps(a: string, b: string): boolean {
  return a === b || isInside(a, b) || isInside(b, a);
}

/** The most cells either way a terminal may have (what the contract allows too). */
export const MAX_TERMINAL_CELLS = 1000;

/**
 * An interactive session's size, checked; refused with env delivery (those secrets reach the
 * command on its stdin, which a terminal gives the person) and with a display (one live view a task).
 */
function checkTerminal(size: TerminalSize, credentials: GrantRequest[], hasDisplay: boolean): TerminalSize {
  const inRange = (n: number) => Number.isInteger(n) && n >= 1 && n <= MAX_TERMINAL_CELLS;
  if (!inRange(size.cols) || !inRange(size.rows)) throw bad('terminal', `${size.cols}×${size.rows} is not a terminal size`, `columns and rows from 1 to ${MAX_TERMINAL_CELLS}`);
  const env = credentials.find((c) => c.delivery === 'env');
  if (env) {
    throw new AirlockError('policy_refused', `credential ${env.credential}: env delivery cannot be used in an interactive session (-it): its secret would go in on the terminal`,
      'give the credential delivery: proxy in the manifest, or run without -it');
  }
  if (hasDisplay) throw new AirlockError('bad_argument', 'an agent with display: has a screen, not a terminal', 'run it without -it (its screen is in the app)');
  return { cols: size.cols, rows: size.rows };
}

/** The manifest's command with the run's arguments after it; checked, as they come from a client. */
function withArgs(command: string[] | undefined, args: string[] | undefined, source: string): string[] | undefined {
  if (args === undefined || args.length === 0) return command;
  if (args.length > ARGS_LIMITS.count) throw bad('arguments', `${args.length} given, at most ${ARGS_LIMITS.count}`, 'pass fewer arguments (a long prompt fits in one)');
  for (const [i, arg] of args.entries()) {
    if (typeof arg !== 'string') throw bad('arguments', `#${i + 1} is not text`, 'pass text arguments');
    if (arg.includes('\0')) throw bad('arguments', `#${i + 1} contains NUL`, 'NUL cannot be passed to a program');
    if (Buffer.byteLength(arg) > ARGS_LIMITS.bytes) throw bad('arguments', `#${i + 1} is longer than ${ARGS_LIMITS.bytes / 1024} KiB`, 'put long text in a file and pass it with --input');
  }
  if (command === undefined) throw new AirlockError('bad_argument', `${source}: arguments after -- need the manifest's command`, 'give the manifest a command: the arguments are appended to it');
  return [...command, ...args];
}

function resolveDisplay(manifest: Manifest, source: string): DisplaySpec | undefined {
  if (!manifest.display) return undefined;
  const { width, height, screenshotEvery } = manifest.display;
  const every = screenshotEvery === undefined ? DISPLAY_DEFAULTS.screenshotEveryMs : screenshotEvery === 'off' || screenshotEvery === '0s' ? 0 : parseDuration(screenshotEvery);
  if (every === undefined) throw bad(`${source}: display.screenshotEvery`, `'${screenshotEvery}' is not a duration`, 'write e.g. 5s, or off for page loads only');
  if (every > 0 && every < 1000) throw bad(`${source}: display.screenshotEvery`, 'must be at least 1s (or off)', 'screenshots are kept as files: one a second is plenty for a replay');
  return { width, height, screenshotEveryMs: every };
}

function checkInput(input: { from: string; to: string; field: string }, workdir: string): void {
  if (!input.to.startsWith('/') || !isInside(input.to, workdir)) {
    throw new AirlockError('bad_manifest', `${input.field}: to: ${input.to} is not inside the workspace ${workdir}`, `copy inputs to a folder under ${workdir}, such as ${workdir}/in`);
  }
  let stat: fs.Stats;
  try {
    stat = fs.statSync(input.from);
  } catch {
    throw new AirlockError('bad_argument', `${input.field}: from: ${input.from} does not exist`, 'check the path; relative paths in a manifest resolve against the manifest\'s folder');
  }
  if (!stat.isDirectory() && !stat.isFile()) {
    throw new AirlockError('policy_refused', `${input.field}: from: ${input.from} is not a file or folder (sockets such as the Docker socket and devices are never passed in)`, 'name a file or a folder');
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = path.posix.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.posix.isAbsolute(rel);
}

/** A typed override still comes from someone: a number that is not finite and positive is refused. */
function positive(value: number, field: string, hint: string): number {
  if (!Number.isFinite(value) || value <= 0) throw bad(field, `${value} is not a positive number`, hint);
  return value;
}

/**
 * The manifest's credentials, with `--cred name[:ttl]` on top: naming one the manifest lists sets
 * its TTL for this run; naming another lends it with proxy delivery in `<NAME>_TOKEN`.
 */
function resolveCredentials(manifest: Manifest, source: string, creds: { name: string; ttlMs?: number }[]): GrantRequest[] {
  const requests: GrantRequest[] = manifest.credentials.map((c, i) => {
    const ttlMs = c.ttl === undefined ? undefined : parseDuration(c.ttl);
    if (c.ttl !== undefined && ttlMs === undefined) throw bad(`${source}: credentials[${i}].ttl`, `'${c.ttl}' is not a duration`, 'write e.g. 15m');
    return {
      credential: c.name, ttlMs, delivery: c.delivery, env: c.env,
      ...(c.methods ? { methods: c.methods } : {}), ...(c.pathPrefix ? { pathPrefix: c.pathPrefix } : {}), ...(c.uses ? { uses: c.uses } : {}),
    };
  });
  for (const { name, ttlMs } of creds) {
    if (!CREDENTIAL_NAME.test(name)) throw bad('--cred', `'${name}' is not a credential name`, 'write e.g. --cred vendor-api:15m');
    if (ttlMs !== undefined) positive(ttlMs, `--cred ${name}`, 'write e.g. --cred vendor-api:15m');
    const listed = requests.find((r) => r.credential === name);
    if (listed) listed.ttlMs = ttlMs ?? listed.ttlMs;
    else requests.push({ credential: name, ttlMs, delivery: 'proxy', env: `${name.toUpperCase().replaceAll('-', '_')}_TOKEN` });
  }
  const envs = new Set<string>();
  for (const request of requests) {
    if (envs.has(request.env)) throw bad(`${source}: credentials`, `two credentials use the variable ${request.env}`, 'give each its own env name');
    if (RESERVED_ENV.test(request.env)) throw new AirlockError('policy_refused', `${source}: credentials (${request.credential}): env ${request.env} is set by Airlock`, 'choose another variable name');
    if (request.env in manifest.env) throw bad(`${source}: credentials (${request.credential})`, `env ${request.env} is also set in env`, 'remove it from env: the credential fills it');
    envs.add(request.env);
  }
  return requests;
}
