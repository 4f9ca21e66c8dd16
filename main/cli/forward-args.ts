/**
 * `airlock audit forward add|ls|flush`'s arguments and table, apart from the engine: each bad flag
 * is refused here in one line naming it, before the engine is asked anything (it checks again).
 */
import path from 'node:path';
import { AirlockError } from '../core/errors.js';
import type { ForwarderInput, ForwarderStatus } from '../core/forward/types.js';
import { formatDuration, parseDuration } from '../core/policy/units.js';
import { table } from './commands/tasks.js';

export interface ForwardAddFlags {
  otlp?: string;
  syslog?: string;
  webhook?: string;
  encoding?: string;
  ca?: string;
  secretStdin?: boolean;
  authHeader?: string;
  authScheme?: string;
  kinds?: string;
  decisions?: string;
  agents?: string;
  headEvery?: string;
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const HEADER = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
const FILTER_ITEM = /^[\x21-\x7e]{1,128}$/;
const MAX_FILTER_ITEMS = 64;
/** The longest a secret may be (the engine's bound too). */
export const MAX_SECRET_BYTES = 16_384;
const SYSLOG_TLS_PORT = 6514;

/** What `add NAME --otlp|--syslog|--webhook … [flags]` asks for; relative paths are the current directory's. */
export function forwarderFromFlags(name: string, flags: ForwardAddFlags, cwd = process.cwd()): ForwarderInput {
  if (!NAME.test(name)) throw new AirlockError('bad_argument', `'${name}' is not a forwarder name`, 'use 1-63 characters of a-z, 0-9 and -, e.g. siem');
  const targets = [flags.otlp !== undefined && '--otlp', flags.syslog !== undefined && '--syslog', flags.webhook !== undefined && '--webhook'].filter(Boolean);
  if (targets.length !== 1) throw new AirlockError('bad_argument', targets.length === 0 ? 'where to forward to is missing' : `${targets.join(' and ')}: give one`, 'give one of --otlp https://HOST:4318/v1/logs, --syslog tls://HOST:6514 or --webhook https://HOST/PATH');
  const kind = flags.otlp !== undefined ? 'otlp-http' : flags.syslog !== undefined ? 'syslog-tls' : 'webhook';
  const url = kind === 'syslog-tls' ? syslogUrl(flags.syslog!) : httpsUrl(kind === 'otlp-http' ? '--otlp' : '--webhook', (flags.otlp ?? flags.webhook)!);
  if (flags.encoding !== undefined && kind !== 'otlp-http') throw new AirlockError('bad_argument', '--encoding is for --otlp', 'leave out --encoding');
  if (flags.encoding !== undefined && flags.encoding !== 'json' && flags.encoding !== 'protobuf') throw new AirlockError('bad_argument', `--encoding: '${flags.encoding}' is not json or protobuf`, 'write --encoding json or --encoding protobuf');
  const authGiven = flags.authHeader !== undefined || flags.authScheme !== undefined;
  if (authGiven && kind === 'syslog-tls') throw new AirlockError('bad_argument', '--auth-header and --auth-scheme are for --otlp and --webhook (syslog over TLS takes no secret)', 'leave them out');
  if (authGiven && !flags.secretStdin) throw new AirlockError('bad_argument', '--auth-header and --auth-scheme say where the secret goes, but there is none', 'add --secret-stdin and pipe the secret in');
  if (flags.authHeader !== undefined && !HEADER.test(flags.authHeader)) throw new AirlockError('bad_argument', `--auth-header: '${flags.authHeader}' is not a header name`, 'write e.g. --auth-header X-Api-Key');
  if (flags.authScheme !== undefined && flags.authScheme !== '' && !HEADER.test(flags.authScheme)) throw new AirlockError('bad_argument', `--auth-scheme: '${flags.authScheme}' is not one word`, "write e.g. --auth-scheme Bearer, or --auth-scheme '' for none");
  const headEveryMs = flags.headEvery === undefined ? undefined : parseDuration(flags.headEvery);
  if (flags.headEvery !== undefined && (headEveryMs === undefined || headEveryMs < 1000 || headEveryMs > 86_400_000)) throw new AirlockError('bad_argument', `--head-every: '${flags.headEvery}' is not a duration from 1s to 24h`, 'write e.g. --head-every 60s');
  const kinds = filterList('--kinds', flags.kinds);
  const agents = filterList('--agents', flags.agents);
  const decisions = flags.decisions === undefined ? undefined : decisionList(flags.decisions);
  const filter = { ...(kinds ? { kinds } : {}), ...(decisions ? { decisions } : {}), ...(agents ? { agents } : {}) };
  return {
    name, kind, url,
    ...(flags.encoding !== undefined ? { encoding: flags.encoding as 'json' | 'protobuf' } : {}),
    ...(flags.ca !== undefined ? { caFile: path.resolve(cwd, nonEmpty('--ca', flags.ca)) } : {}),
    ...(authGiven ? { auth: { ...(flags.authHeader !== undefined ? { header: flags.authHeader } : {}), ...(flags.authScheme !== undefined ? { scheme: flags.authScheme } : {}) } } : {}),
    ...(Object.keys(filter).length > 0 ? { filter } : {}),
    ...(headEveryMs !== undefined ? { headEveryMs } : {}),
  };
}

/** The secret read from standard input: not empty, at most 16 KiB. */
export function checkSecret(secret: string): string {
  if (secret.length === 0) throw new AirlockError('bad_argument', '--secret-stdin: standard input was empty', 'pipe the secret in: printf %s "$TOKEN" | airlock audit forward add …');
  if (Buffer.byteLength(secret) > MAX_SECRET_BYTES) throw new AirlockError('bad_argument', `--secret-stdin: the secret is over ${MAX_SECRET_BYTES / 1024} KiB`, 'pipe in the token or key alone');
  return secret;
}

/** `--timeout` of flush: 0 to 10 minutes. */
export function flushTimeout(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms > 600_000) throw new AirlockError('bad_argument', `--timeout: '${text}' is not a duration up to 10m`, 'write e.g. --timeout 30s');
  return ms;
}

/** NAME KIND STATE ACKED LAG TIME-LAG LAST-ERROR: the collector's error is its text, made inert by table(). */
export function forwarderTable(forwarders: readonly ForwarderStatus[]): string {
  return table(['NAME', 'KIND', 'STATE', 'ACKED', 'LAG', 'TIME-LAG', 'LAST-ERROR'], forwarders.map((f) => [
    f.name, f.kind, f.state, f.acked ? String(f.acked.n) : '-', String(f.lag.records), f.lag.ms > 0 ? formatDuration(f.lag.ms) : '0s', f.lastError?.message ?? '',
  ]));
}

/** Every enabled forwarder has nothing left to send. */
export function allCaughtUp(forwarders: readonly ForwarderStatus[]): boolean {
  return forwarders.every((f) => !f.enabled || (f.state === 'caught-up' && f.lag.records === 0));
}

function httpsUrl(flag: string, text: string): string {
  const url = parsedUrl(flag, text, 'https://HOST/PATH');
  if (url.protocol === 'http:') throw new AirlockError('bad_argument', `${flag}: plain http:// would send the audit trail in clear`, `use https:// (${flag} https://${url.host}${url.pathname})`);
  if (url.protocol !== 'https:') throw new AirlockError('bad_argument', `${flag}: '${text}' is not an https:// URL`, `write e.g. ${flag} https://collector.example:4318/v1/logs`);
  return text;
}

function syslogUrl(text: string): string {
  const url = parsedUrl('--syslog', text, 'tls://HOST:6514');
  if (url.protocol !== 'tls:' || url.pathname.replace(/^\/$/, '') !== '' || url.search || url.hash) throw new AirlockError('bad_argument', `--syslog: '${text}' is not tls://HOST:PORT`, 'write e.g. --syslog tls://syslog.example:6514 (syslog goes over TLS only)');
  return `tls://${url.hostname}:${url.port || SYSLOG_TLS_PORT}`;
}

function parsedUrl(flag: string, text: string, example: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AirlockError('bad_argument', `${flag}: '${text}' is not a URL`, `write e.g. ${flag} ${example}`);
  }
  if (text.length > 2048) throw new AirlockError('bad_argument', `${flag}: the URL is over 2048 characters`, 'use a shorter URL');
  if (!url.hostname) throw new AirlockError('bad_argument', `${flag}: '${text}' names no host`, `write e.g. ${flag} ${example}`);
  if (url.username || url.password) throw new AirlockError('bad_argument', `${flag}: a user or password in the URL would be stored in the config file`, 'leave it out of the URL and pipe the secret in with --secret-stdin');
  return url;
}

function filterList(flag: string, text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const items = text.split(',').map((item) => item.trim()).filter(Boolean);
  if (items.length === 0) throw new AirlockError('bad_argument', `${flag}: the list is empty`, `write e.g. ${flag} net.denied,cred.*`);
  if (items.length > MAX_FILTER_ITEMS) throw new AirlockError('bad_argument', `${flag}: more than ${MAX_FILTER_ITEMS} items`, 'name families instead (net.*)');
  const bad = items.find((item) => !FILTER_ITEM.test(item));
  if (bad !== undefined) throw new AirlockError('bad_argument', `${flag}: '${bad}' is not a name (printable, no spaces, at most 128 characters)`, `write e.g. ${flag} net.denied,cred.*`);
  return items;
}

function decisionList(text: string): Array<'allow' | 'deny'> {
  const items = text.split(',').map((item) => item.trim());
  const bad = items.find((item) => item !== 'allow' && item !== 'deny');
  if (bad !== undefined) throw new AirlockError('bad_argument', `--decisions: '${bad}' is not allow or deny`, 'write --decisions deny (or allow, or allow,deny)');
  return [...new Set(items)] as Array<'allow' | 'deny'>;
}

function nonEmpty(flag: string, text: string): string {
  if (!text.trim()) throw new AirlockError('bad_argument', `${flag} needs a file`, `write e.g. ${flag} ./collector-ca.pem`);
  return text;
}
