import { AirlockError } from '../errors.js';
import type { Manifest } from '../policy/manifest-schema.js';
import { parseDuration, parseSize } from '../policy/units.js';
import { parseHostRule } from '../gateway/rules.js';
import { parseRegistries, type Registry } from '../policy/registries.js';

/** A network for one run instead of the manifest's (parsed: the core never reads `--net` text). */
export type NetworkOverride = { mode: 'none' } | { mode: 'open' } | { mode: 'allowlist'; allow: string[] };

export type NetworkSpec =
  | { mode: 'none'; source: 'manifest' | '--net'; widened: boolean }
  | {
    mode: 'allowlist' | 'open';
    allow: string[];
    local: string[];
    onUnknownHost: 'deny' | 'ask';
    askTimeoutMs: number;
    rate: { requestsPerMinute?: number; bytes?: number };
    source: 'manifest' | '--net';
    /** True when --net or --registry gave the task more than its manifest does: shown as such in the log. */
    widened: boolean;
    /** The package registries whose hosts are in `allow`/`local` (`network.registries`, `--registry`), by name. */
    registries?: string[];
  };

const RANK = { none: 0, allowlist: 1, open: 2 } as const;
/** How long "ask" waits for a person when the manifest does not say (network.askTimeout). */
export const DEFAULT_ASK_TIMEOUT_MS = 60_000;

/**
 * The manifest's network, or a network for one run in its place (`--net`, the run dialog), with the
 * package registries of the manifest and of the run (`--registry`) added to it.
 */
export function resolveNetwork(manifest: Manifest, source: string, net: NetworkOverride | undefined, registries: readonly string[] = []): NetworkSpec {
  return withRegistries(baseNetwork(manifest, source, net), manifest, source, registries);
}

/** The registries a task's sandbox is told about (a company registry's URL), by variable. */
export function registryEnv(manifest: Manifest, registries: readonly string[] = []): Record<string, string> {
  return Object.assign({}, ...parseRegistries([...manifest.network.registries, ...registries]).map((r) => r.env)) as Record<string, string>;
}

function withRegistries(network: NetworkSpec, manifest: Manifest, source: string, fromRun: readonly string[]): NetworkSpec {
  const declared = manifest.network.registries;
  if (declared.length > 0 && manifest.network.mode === 'none') {
    throw new AirlockError('bad_manifest', `${source}: network.registries: the network is none, so no registry can be reached`, 'use mode: allowlist (the registries\' hosts are added to it)');
  }
  if (fromRun.length > 0 && network.mode === 'none') {
    throw new AirlockError('bad_argument', '--registry: the task\'s network is none, so no registry can be reached', 'give the task a network: --net allow:<host> (the registries\' hosts are added to it)');
  }
  // --net none: no network at all, as asked; the manifest's registries with it.
  if (network.mode === 'none') return network;
  const expanded = parseRegistries([...declared, ...fromRun]);
  if (expanded.length === 0) return network;
  const added = (list: string[], more: (r: Registry) => string[]) => [...new Set([...list, ...expanded.flatMap(more)])];
  const fromManifest = new Set(parseRegistries(declared).map((r) => r.name));
  return {
    ...network,
    allow: added(network.allow, (r) => r.allow),
    local: added(network.local, (r) => r.local),
    registries: expanded.map((r) => r.name),
    widened: network.widened || expanded.some((r) => !fromManifest.has(r.name)),
  };
}

function baseNetwork(manifest: Manifest, source: string, net: NetworkOverride | undefined): NetworkSpec {
  const declared = manifest.network;
  const rate = {
    ...(declared.rate?.requestsPerMinute !== undefined ? { requestsPerMinute: declared.rate.requestsPerMinute } : {}),
    ...(declared.rate?.bytes !== undefined ? { bytes: parseSize(declared.rate.bytes)! } : {}),
  };
  if (declared.mode === 'allowlist' && declared.allow.length === 0 && declared.local.length === 0 && declared.registries.length === 0 && declared.onUnknownHost === 'deny' && !manifest.delegate?.allow.length && net === undefined) {
    throw new AirlockError('bad_manifest', `${source}: network.allow: is empty, so mode allowlist would reach nothing`, 'list the hosts the agent needs, use onUnknownHost: ask, or use mode: none');
  }
  const askTimeoutMs = declared.askTimeout ? parseDuration(declared.askTimeout)! : DEFAULT_ASK_TIMEOUT_MS;
  if (net === undefined) {
    return declared.mode === 'none'
      ? { mode: 'none', source: 'manifest', widened: false }
      : { mode: declared.mode, allow: declared.allow, local: declared.local, onUnknownHost: declared.onUnknownHost, askTimeoutMs, rate, source: 'manifest', widened: false };
  }
  const base = { local: declared.local, onUnknownHost: declared.onUnknownHost, askTimeoutMs, rate, source: '--net' as const };
  if (net.mode === 'none') return { mode: 'none', source: '--net', widened: false };
  if (net.mode === 'open') return { mode: 'open', allow: [], ...base, widened: RANK.open > RANK[declared.mode] };
  const allow = [...net.allow];
  if (allow.length === 0) throw new AirlockError('bad_argument', '--net: allow: needs at least one host', 'write e.g. --net allow:api.github.com,*.githubusercontent.com');
  for (const host of allow) {
    if (!parseHostRule(host)) throw new AirlockError('bad_argument', `--net: '${host}' is not a host, *.domain or host:port`, 'write e.g. --net allow:api.github.com,*.githubusercontent.com');
  }
  const widened = declared.mode === 'none'
    || (declared.mode === 'allowlist' && allow.some((host) => !declared.allow.includes(host)));
  return { mode: 'allowlist', allow, ...base, widened };
}
