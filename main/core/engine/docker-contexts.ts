/**
 * Docker contexts, read from the docker CLI's own store so `docker context use X` is honoured:
 * $DOCKER_CONFIG (default ~/.docker)/config.json names the current one; a context's endpoint is in
 * contexts/meta/<sha256(name)>/meta.json and its TLS files in contexts/tls/<sha256(name)>/docker/.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { readRegularFile, readTlsFolder, type TlsMaterial } from './docker-tls.js';

export const DEFAULT_CONTEXT = 'default';
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$/;
/** A config.json or meta.json larger than this is not the docker CLI's. */
const FILE_LIMIT = 1024 * 1024;

export interface DockerContext {
  name: string;
  /** Endpoints.docker.Host; undefined for `default` (DOCKER_HOST or the usual socket). */
  host?: string;
  description?: string;
  skipTlsVerify: boolean;
  tls: TlsMaterial;
}

export function dockerConfigDir(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_CONFIG?.trim() || path.join(env.HOME?.trim() || os.homedir(), '.docker');
}

/** `currentContext` in config.json, or `default` when there is none (or no file). */
export function currentContextName(env: NodeJS.ProcessEnv): string {
  const config = readConfig(dockerConfigDir(env));
  return typeof config.currentContext === 'string' && config.currentContext ? config.currentContext : DEFAULT_CONTEXT;
}

/**
 * The context in force, with the docker CLI's precedence (cli/command/cli.go resolveContextName):
 * --context (which Airlock's CLI passes as DOCKER_CONTEXT) > DOCKER_HOST (the default context) >
 * DOCKER_CONTEXT > config.json's currentContext > default.
 */
export function resolveContextName(env: NodeJS.ProcessEnv, flag?: string): { name: string; from: '--context' | 'DOCKER_HOST' | 'DOCKER_CONTEXT' | 'config' | 'default' } {
  if (flag?.trim()) return { name: flag.trim(), from: '--context' };
  if (env.DOCKER_HOST?.trim()) return { name: DEFAULT_CONTEXT, from: 'DOCKER_HOST' };
  if (env.DOCKER_CONTEXT?.trim()) return { name: env.DOCKER_CONTEXT.trim(), from: 'DOCKER_CONTEXT' };
  const current = currentContextName(env);
  return { name: current, from: current === DEFAULT_CONTEXT ? 'default' : 'config' };
}

export function contextId(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

export function readContext(env: NodeJS.ProcessEnv, name: string): DockerContext {
  if (name === DEFAULT_CONTEXT) return { name, skipTlsVerify: false, tls: {} };
  if (!NAME.test(name)) throw new AirlockError('engine_unavailable', `${JSON.stringify(name)} is not a Docker context name`, 'list the contexts with `docker context ls`');
  const configDir = dockerConfigDir(env);
  const metaFile = path.join(configDir, 'contexts', 'meta', contextId(name), 'meta.json');
  const meta = readJson(metaFile);
  if (meta === undefined) throw new AirlockError('engine_unavailable', `the Docker context "${name}" does not exist (in ${configDir})`, 'list the contexts with `docker context ls`, or switch back with `docker context use default`');
  const docker = (meta.Endpoints as Record<string, { Host?: unknown; SkipTLSVerify?: unknown }> | undefined)?.docker;
  if (typeof docker?.Host !== 'string' || !docker.Host) throw new AirlockError('engine_unavailable', `the Docker context "${name}" has no Docker endpoint (${metaFile})`, `set one with \`docker context update ${name} --docker host=…\``);
  const description = (meta.Metadata as { Description?: unknown } | undefined)?.Description;
  return {
    name,
    host: docker.Host,
    description: typeof description === 'string' ? description : undefined,
    skipTlsVerify: docker.SkipTLSVerify === true,
    tls: readTlsFolder(path.join(configDir, 'contexts', 'tls', contextId(name), 'docker')),
  };
}

/** Every context in the store (unreadable ones skipped), `default` first, as `docker context ls`. */
export function listContexts(env: NodeJS.ProcessEnv): DockerContext[] {
  const metaDir = path.join(dockerConfigDir(env), 'contexts', 'meta');
  let ids: string[] = [];
  try {
    ids = fs.readdirSync(metaDir);
  } catch {
    // no contexts made yet
  }
  const named: DockerContext[] = [];
  for (const id of ids) {
    const name = readJson(path.join(metaDir, id, 'meta.json'))?.Name;
    if (typeof name !== 'string' || contextId(name) !== id) continue;
    try {
      named.push(readContext(env, name));
    } catch {
      // a damaged context is left out of the list; naming it says why
    }
  }
  named.sort((a, b) => a.name.localeCompare(b.name));
  return [{ name: DEFAULT_CONTEXT, skipTlsVerify: false, tls: {} }, ...named];
}

/**
 * What `docker context use <name>` does: config.json's currentContext set (removed for `default`),
 * every other setting in the file kept, written atomically.
 */
export function useContext(env: NodeJS.ProcessEnv, name: string): void {
  readContext(env, name); // refuses a context that does not exist
  const configDir = dockerConfigDir(env);
  const file = path.join(configDir, 'config.json');
  const config = readConfig(configDir);
  if (name === DEFAULT_CONTEXT) delete config.currentContext;
  else config.currentContext = name;
  fs.mkdirSync(configDir, { recursive: true, mode: 0o700 });
  const temporary = `${file}.airlock-${process.pid}`;
  fs.writeFileSync(temporary, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
  fs.renameSync(temporary, file);
}

function readConfig(configDir: string): Record<string, unknown> {
  const file = path.join(configDir, 'config.json');
  const config = readJson(file);
  return config ?? {};
}

/** A JSON object from a file; undefined when the file does not exist; refused when it is not one. */
function readJson(file: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readRegularFile(file, FILE_LIMIT, 'a Docker configuration file');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    if (error instanceof AirlockError) throw error;
    throw new AirlockError('engine_unavailable', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'make it readable by you');
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new AirlockError('engine_unavailable', `${file} is not valid JSON`, 'fix it, or move it away and run `docker context use default`');
}
