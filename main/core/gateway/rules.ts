import { hostPatternMatches, parseHostPattern, WEB_PORTS, type HostPattern } from '../host-pattern.js';
import type { Target } from './target.js';

export { refusedAddressReason } from './addresses.js';

/** One allowlist entry: `api.vendor.test`, `*.erp.test` (subdomains only), either with `:port` (else 80 and 443). */
export type HostRule = HostPattern;

export function parseHostRule(text: string): HostRule | undefined {
  return parseHostPattern(text);
}

export function ruleMatches(rule: HostRule, target: Target): boolean {
  return hostPatternMatches(rule, target, WEB_PORTS);
}

/** A `local` rule: exactly one host:port that may resolve to a loopback or private address. */
export interface LocalRule {
  text: string;
  host: string;
  port: number;
}

export function parseLocalRule(text: string): LocalRule | undefined {
  const pattern = parseHostPattern(text);
  if (!pattern || pattern.wildcard || pattern.port === undefined) return undefined;
  return { text: pattern.text, host: pattern.host, port: pattern.port };
}
