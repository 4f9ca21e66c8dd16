/**
 * The forwarders' configuration: AIRLOCK_HOME/forwarders.json, a state file (state-file.ts: read
 * validated, changed under a lock and replaced atomically, a damaged file refused by name). It never
 * holds a secret: a forwarder's secret is the keychain's `audit-forwarder:<name>`.
 */
import path from 'node:path';
import { z } from 'zod';
import { EVENT_KINDS } from '../audit/events.js';
import { AirlockError, isAirlockError } from '../errors.js';
import { checkForwarderUrl } from './forwarder-url.js';
import { StateFile } from '../state-file.js';
import { FORWARDER_KINDS, type ForwarderConfig, type ForwarderFilter, type ForwarderInput, type ForwarderKind } from './types.js';

export const FORWARDERS_FILE = 'forwarders.json';
export const DEFAULT_HEAD_EVERY_MS = 60_000;
export const MIN_HEAD_EVERY_MS = 5_000;
export const MAX_HEAD_EVERY_MS = 86_400_000;
export const DEFAULT_SYSLOG_PORT = 6514;
const NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** As manifests name agents (policy/manifest-schema.ts), plus Airlock's own records' `airlock`. */
const AGENT_NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const HEADER_RE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
const SCHEME_RE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{0,32}$/;
const MAX_URL_LENGTH = 2048;
const MAX_FILTER_ENTRIES = 64;

/** The keychain account holding a forwarder's secret (the bearer token of an otlp-http or webhook forwarder). */
export function secretAccount(name: string): string {
  return `audit-forwarder:${name}`;
}

/** What is wrong with `url` for `kind` (the transports' own check, so what is stored is what they accept), or undefined. */
export function forwarderUrlProblem(kind: ForwarderKind, url: string): string | undefined {
  if (url.length > MAX_URL_LENGTH) return `the URL is longer than ${MAX_URL_LENGTH} characters`;
  try {
    checkForwarderUrl(kind, url);
    return undefined;
  } catch (error) {
    return isAirlockError(error) ? error.message : String(error);
  }
}

/** Whether `kind` names an event kind, or a family of them (`net.*`). */
function knownKind(kind: string): boolean {
  if (kind.endsWith('.*')) {
    const family = kind.slice(0, -1);
    return family.length > 1 && EVENT_KINDS.some((known) => known.startsWith(family));
  }
  return (EVENT_KINDS as readonly string[]).includes(kind);
}

function checkFilter(filter: ForwarderFilter | undefined): ForwarderFilter | undefined {
  if (filter === undefined) return undefined;
  const bad = (message: string, hint: string) => new AirlockError('bad_argument', `filter: ${message}`, hint);
  const out: ForwarderFilter = {};
  for (const key of Object.keys(filter)) {
    if (!['kinds', 'decisions', 'agents'].includes(key)) throw bad(`${JSON.stringify(key.slice(0, 40))} is not a filter`, 'filter by kinds, decisions or agents');
  }
  const list = (value: unknown, what: string): string[] | undefined => {
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.length === 0 || value.length > MAX_FILTER_ENTRIES || !value.every((item) => typeof item === 'string')) {
      throw bad(`${what} must be a list of 1 to ${MAX_FILTER_ENTRIES} names`, `e.g. --${what === 'kinds' ? 'kind net.*' : what === 'decisions' ? 'decision deny' : 'agent my-agent'}`);
    }
    return [...new Set(value)];
  };
  const kinds = list(filter.kinds, 'kinds');
  const unknownKind = kinds?.find((kind) => !knownKind(kind));
  if (unknownKind !== undefined) throw bad(`${JSON.stringify(unknownKind.slice(0, 60))} is not an event kind`, 'name kinds as `airlock log` shows them (net.denied), or families (net.*)');
  const decisions = list(filter.decisions, 'decisions');
  if (decisions?.some((d) => d !== 'allow' && d !== 'deny')) throw bad('a decision is allow or deny', 'e.g. --decision deny');
  const agents = list(filter.agents, 'agents');
  const badAgent = agents?.find((agent) => !AGENT_NAME_RE.test(agent));
  if (badAgent !== undefined) throw bad(`${JSON.stringify(badAgent.slice(0, 60))} is not an agent name`, 'agent names are lower-case letters, digits and dashes, as in the manifest');
  if (kinds) out.kinds = kinds;
  if (decisions) out.decisions = decisions as Array<'allow' | 'deny'>;
  if (agents) out.agents = agents;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** A forwarder as given (by a user, or read from the file) made into its stored form, or a one-line error with the fix. */
export function checkForwarder(input: ForwarderInput & { enabled?: boolean }): ForwarderConfig {
  const bad = (message: string, hint: string) => new AirlockError('bad_argument', message, hint);
  if (typeof input.name !== 'string' || !NAME_RE.test(input.name)) {
    throw bad(`${JSON.stringify(String(input.name).slice(0, 70))} is not a forwarder name`, 'use lower-case letters, digits and dashes (up to 63), starting with a letter or digit, e.g. siem');
  }
  if (!(FORWARDER_KINDS as readonly string[]).includes(input.kind)) throw bad(`${JSON.stringify(String(input.kind).slice(0, 40))} is not a forwarder kind`, `use one of ${FORWARDER_KINDS.join(', ')}`);
  const urlProblem = typeof input.url === 'string' ? forwarderUrlProblem(input.kind, input.url) : 'no URL';
  if (urlProblem) throw bad(`forwarder ${input.name}: ${urlProblem}`, input.kind === 'syslog-tls' ? 'write e.g. tls://siem.example:6514' : 'write e.g. https://collector.example:4318/v1/logs');
  if (input.encoding !== undefined && input.kind !== 'otlp-http') throw bad(`forwarder ${input.name}: an encoding is for otlp-http only`, 'leave out --encoding');
  if (input.encoding !== undefined && input.encoding !== 'json' && input.encoding !== 'protobuf') throw bad(`forwarder ${input.name}: the encoding is json or protobuf`, 'use --encoding json or --encoding protobuf');
  if (input.caFile !== undefined && (typeof input.caFile !== 'string' || !path.isAbsolute(input.caFile) || input.caFile.length > 4096)) {
    throw bad(`forwarder ${input.name}: the CA file must be an absolute path`, 'give the full path of a PEM file, e.g. /etc/ssl/siem-ca.pem');
  }
  const auth = input.auth === undefined ? undefined : { header: input.auth.header ?? 'Authorization', scheme: input.auth.scheme ?? 'Bearer' };
  if (auth && (!HEADER_RE.test(auth.header) || !SCHEME_RE.test(auth.scheme))) throw bad(`forwarder ${input.name}: the auth header or scheme is not a header token`, 'e.g. --auth-header X-Api-Key --auth-scheme ""');
  const headEveryMs = input.headEveryMs ?? DEFAULT_HEAD_EVERY_MS;
  if (!Number.isSafeInteger(headEveryMs) || headEveryMs < MIN_HEAD_EVERY_MS || headEveryMs > MAX_HEAD_EVERY_MS) {
    throw bad(`forwarder ${input.name}: the signed head is sent every 5 s to 1 day`, 'e.g. --head-every 60s');
  }
  const filter = checkFilter(input.filter);
  const url = input.kind === 'syslog-tls' && !new URL(input.url).port ? `${input.url.replace(/\/$/, '')}:${DEFAULT_SYSLOG_PORT}` : input.url;
  return {
    name: input.name, kind: input.kind, url,
    ...(input.kind === 'otlp-http' ? { encoding: input.encoding ?? 'protobuf' } : {}),
    ...(input.caFile !== undefined ? { caFile: input.caFile } : {}),
    ...(auth ? { auth } : {}),
    ...(filter ? { filter } : {}),
    headEveryMs,
    enabled: input.enabled ?? true,
  };
}

const storedForwarder = z.object({
  name: z.string(), kind: z.string(), url: z.string(),
  encoding: z.string().optional(), caFile: z.string().optional(),
  auth: z.object({ header: z.string(), scheme: z.string() }).optional(),
  filter: z.object({ kinds: z.array(z.string()).optional(), decisions: z.array(z.string()).optional(), agents: z.array(z.string()).optional() }).optional(),
  headEveryMs: z.number(), enabled: z.boolean(),
}).transform((value, context) => {
  try {
    return checkForwarder(value as ForwarderInput & { enabled: boolean });
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

const fileV1 = z.object({ v: z.literal(1), forwarders: z.array(storedForwarder).max(64) }).transform((file, context) => {
  const names = new Set<string>();
  for (const forwarder of file.forwarders) {
    if (names.has(forwarder.name)) context.addIssue({ code: 'custom', message: `the name ${forwarder.name} is used twice` });
    names.add(forwarder.name);
  }
  return file.forwarders;
});

/** AIRLOCK_HOME/forwarders.json. */
export function forwardersFile(home: string): StateFile<ForwarderConfig[]> {
  return new StateFile(path.join(home, FORWARDERS_FILE), {
    holds: 'the audit forwarders',
    recover: 'add the forwarders again with `airlock audit forward add` (their cursors in audit/forward/ are kept)',
    version: 1,
    readers: { 1: fileV1 },
    empty: () => [],
    encode: (forwarders) => ({ forwarders }),
  });
}
