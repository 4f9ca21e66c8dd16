/**
 * `airlock run`'s text flags, parsed at the CLI's edge into the typed run request the engine
 * takes (durations in ms, sizes in bytes, the network as a spec). A flag that does not parse is
 * refused here, naming it, as before; the engine checks the values again (it trusts no client).
 */
import path from 'node:path';
import { AirlockError } from '../core/errors.js';
import { parseDuration, parseSize } from '../core/policy/units.js';
import type { NetworkOverride, RunOverrides } from '../core/tasks/spec.js';
import { type Budget, parseBudgetValue } from '../core/spend/budget.js';

function bad(field: string, problem: string, hint: string): AirlockError {
  return new AirlockError('bad_argument', `${field}: ${problem}`, hint);
}

/** `none`, `open` or `allow:<host>[,<host>…]`. */
export function parseNet(text: string): NetworkOverride {
  if (text === 'none' || text === 'open') return { mode: text };
  if (text.startsWith('allow:')) {
    const allow = text.slice('allow:'.length).split(',').map((h) => h.trim()).filter(Boolean);
    if (allow.length === 0) throw bad('--net', 'allow: needs at least one host', 'write e.g. --net allow:api.github.com,*.githubusercontent.com');
    return { mode: 'allowlist', allow };
  }
  throw bad('--net', `'${text}' is not none, open or allow:<host>[,<host>…]`, 'write e.g. --net none, --net open or --net allow:api.github.com');
}

/** `name` or `name:ttl`. */
export function parseCred(text: string): { name: string; ttlMs?: number } {
  const match = /^([a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)(?::(.+))?$/.exec(text);
  if (!match) throw bad('--cred', `'${text}' is not name[:ttl]`, 'write e.g. --cred vendor-api:15m');
  if (match[2] === undefined) return { name: match[1]! };
  const ttlMs = parseDuration(match[2]);
  if (ttlMs === undefined) throw bad('--cred', `'${match[2]}' in '${text}' is not a duration`, 'write e.g. --cred vendor-api:15m');
  return { name: match[1]!, ttlMs };
}

/** `./data` or `./data:/workspace/in/data` (a Windows drive letter is not a separator), made absolute against `cwd`. */
export function parseInput(text: string, cwd: string): { hostPath: string; containerPath?: string } {
  const colon = text.lastIndexOf(':/');
  if (colon > 1) return { hostPath: path.resolve(cwd, text.slice(0, colon)), containerPath: text.slice(colon + 1) };
  return { hostPath: path.resolve(cwd, text) };
}

export function parseEnv(text: string): { name: string; value: string } {
  const eq = text.indexOf('=');
  if (eq <= 0) throw bad('--env', `'${text}' is not K=V`, 'write --env NAME=value');
  return { name: text.slice(0, eq), value: text.slice(eq + 1) };
}

export function parseTimeout(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw bad('--timeout', `'${text}' is not a duration`, 'write e.g. 30s, 10m or 1h');
  return ms;
}

export function parseMemory(text: string): number {
  const bytes = parseSize(text);
  if (bytes === undefined) throw bad('--memory', `'${text}' is not a size`, 'write e.g. 512m or 1g');
  return bytes;
}

export function parseCpus(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) throw bad('--cpus', `'${text}' is not a positive number`, 'write e.g. --cpus 0.5');
  return value;
}

/** The run flags as they come from commander. */
export interface RunFlags {
  net?: string; cred?: string[]; input?: string[]; output?: string; timeout?: string;
  cpus?: string; memory?: string; env?: string[]; learn?: boolean; budget?: string[];
}

/** Every run flag parsed (paths made absolute against `cwd`); the first bad one is refused. */
export function parseRunFlags(flags: RunFlags, cwd: string): RunOverrides {
  return {
    ...(flags.net !== undefined && { network: parseNet(flags.net) }),
    ...(flags.learn && { network: { mode: 'open' as const } }),
    ...(flags.cred && { creds: flags.cred.map(parseCred) }),
    ...(flags.input && { inputs: flags.input.map((input) => parseInput(input, cwd)) }),
    ...(flags.output !== undefined && { outputDir: path.resolve(cwd, flags.output) }),
    ...(flags.timeout !== undefined && { timeoutMs: parseTimeout(flags.timeout) }),
    ...(flags.cpus !== undefined && { cpus: parseCpus(flags.cpus) }),
    ...(flags.memory !== undefined && { memoryBytes: parseMemory(flags.memory) }),
    ...(flags.env && { env: flags.env.map(parseEnv) }),
    ...(flags.budget && { budget: Object.assign({}, ...flags.budget.map(parseBudgetValue)) as Budget }),
  };
}
