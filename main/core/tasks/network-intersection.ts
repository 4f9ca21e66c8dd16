import { parseLocalRule } from '../gateway/rules.js';
import { formatHostPattern, hostPatternMatches, normaliseHost, parseHostPattern, WEB_PORTS, type HostPattern } from '../host-pattern.js';
import type { NetworkSpec } from './network-spec.js';

const parsePattern = parseHostPattern;

/** Does a pattern's name part match this host (ports aside)? Wildcards match names only, never addresses. */
function nameMatches(pattern: HostPattern, host: string): boolean {
  const target = normaliseHost(host) ?? { host, kind: 'name' as const };
  return hostPatternMatches({ ...pattern, port: undefined }, { ...target, port: 443 }, [443]);
}

/** `base`'s host with the given wildcard and port, as a pattern with its canonical text. */
function patternOf(base: HostPattern, wildcard: boolean, port: number | undefined): HostPattern {
  const pattern = { host: base.host, kind: base.kind, wildcard, port };
  return { ...pattern, text: formatHostPattern(pattern) };
}

/** The ports both patterns allow: undefined (80 and 443), one port, or null when none. */
function commonPort(a: number | undefined, b: number | undefined): number | undefined | null {
  if (a === undefined) return b === undefined || WEB_PORTS.includes(b) ? b : null;
  if (b === undefined) return WEB_PORTS.includes(a) ? a : null;
  return a === b ? a : null;
}

/** What both patterns allow, as one pattern (the narrower), or undefined when they share nothing. */
function intersectPatterns(parent: HostPattern, child: HostPattern): HostPattern | undefined {
  const port = commonPort(parent.port, child.port);
  if (port === null) return undefined;
  if (!child.wildcard) return nameMatches(parent, child.host) ? patternOf(child, false, port) : undefined;
  if (!parent.wildcard) return nameMatches(child, parent.host) ? patternOf(parent, false, port) : undefined;
  // Two wildcards: one's subdomains contain the other's when its name is the other's or below it.
  if (child.host === parent.host || nameMatches(parent, child.host)) return patternOf(child, true, port);
  if (nameMatches(child, parent.host)) return patternOf(parent, true, port);
  return undefined;
}

export interface NarrowedNetwork {
  network: NetworkSpec;
  /** What the child asked for and does not get, in words, for the log. Empty when nothing was cut. */
  narrowed: string[];
}

/**
 * A child's network within its parent's: each child allowlist rule is kept only where a parent rule
 * covers it, narrowed to the parent's rule where that is narrower (`*.x` is subdomains only; no port
 * means 80 and 443); `open` under an allowlist parent becomes the parent's allowlist; under an `open`
 * parent the child keeps its own rules; `local` rules only where the parent has the same one; `ask`
 * only when the parent asks too; rate limits the lower of the two. A `none` on either side is none.
 */
export function narrowNetwork(parent: NetworkSpec, child: NetworkSpec): NarrowedNetwork {
  if (child.mode === 'none') return { network: child, narrowed: [] };
  if (parent.mode === 'none') return { network: { mode: 'none', source: child.source, widened: false }, narrowed: [`network mode ${child.mode} (the parent has no network)`] };
  const narrowed: string[] = [];

  const parentLocal = new Set(parent.local.map((text) => localKey(text)));
  const local = child.local.filter((text) => {
    const kept = parentLocal.has(localKey(text));
    if (!kept) narrowed.push(`local ${text} (the parent has no such local rule)`);
    return kept;
  });

  let mode = child.mode;
  let allow = child.allow;
  if (parent.mode === 'allowlist') {
    const parentRules = parent.allow.map(parsePattern).filter((p): p is HostPattern => p !== undefined);
    if (child.mode === 'open') {
      mode = 'allowlist';
      allow = parent.allow;
      narrowed.push('network mode open (the parent has an allowlist: the child gets the parent\'s)');
    } else {
      const kept = new Set<string>();
      for (const text of child.allow) {
        const rule = parsePattern(text);
        const within = rule ? parentRules.map((p) => intersectPatterns(p, rule)).filter((p): p is HostPattern => p !== undefined) : [];
        if (within.length === 0) narrowed.push(`allow ${text} (not within the parent's network)`);
        for (const pattern of within) {
          const formatted = pattern.text;
          if (formatted !== rule!.text) narrowed.push(`allow ${text} narrowed to ${formatted} (the parent's rule)`);
          kept.add(formatted);
        }
      }
      allow = [...kept];
    }
  }

  // Under an open parent an unknown host would be allowed anyway; under an allowlist one it is
  // asked only when the parent would ask too.
  const onUnknownHost = child.onUnknownHost === 'ask' && parent.mode === 'allowlist' && parent.onUnknownHost !== 'ask' ? 'deny' : child.onUnknownHost;
  if (onUnknownHost !== child.onUnknownHost) narrowed.push('onUnknownHost ask (the parent does not ask: deny)');
  // A child that becomes the parent's allowlist also asks exactly when the parent does.
  const effectiveAsk = child.mode === 'open' && parent.mode === 'allowlist' ? parent.onUnknownHost : onUnknownHost;

  const rate = { ...child.rate };
  for (const key of ['requestsPerMinute', 'bytes'] as const) {
    const limit = lower(parent.rate[key], child.rate[key]);
    if (limit !== undefined) rate[key] = limit;
    if (limit !== child.rate[key]) narrowed.push(`rate.${key} ${child.rate[key] ?? 'unlimited'} (the parent's is ${limit})`);
  }
  return {
    network: { mode, allow, local, onUnknownHost: effectiveAsk, askTimeoutMs: child.askTimeoutMs, rate, source: child.source, widened: false },
    narrowed,
  };
}

function localKey(text: string): string {
  const rule = parseLocalRule(text);
  return rule ? `${rule.host}:${rule.port}` : `invalid:${text}`;
}

function lower(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
