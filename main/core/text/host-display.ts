// How a host is shown where a person decides about it (an "ask", "always allow"): whole, with its
// registrable domain first. `login.example.com.evil.test` belongs to whoever holds `evil.test`,
// and that is what must catch the eye — not the familiar name at its start, and never cut off.
// The Public Suffix List (tldts) knows where a domain's owner changes (`co.uk`, `github.io`).
// Shared by the CLI and the app (compiled into the renderer too: tsconfig.web.json).
import { parse } from 'tldts';

export interface HostForDecision {
  /** Who holds the name: `evil.test` for `login.example.com.evil.test`; absent for an address or a name that is not a valid host name. */
  domain?: string;
  /** The whole host, with the port when one is given. */
  whole: string;
  /** Absent when the host is an IP address or a valid name; else why no domain could be named. */
  problem?: string;
}

export function hostForDecision(host: string, port?: number): HostForDecision {
  const whole = port === undefined ? host : `${host}:${port}`;
  const parsed = parse(host, { allowPrivateDomains: true, extractHostname: false, validateHostname: true });
  if (parsed.isIp) return { whole };
  if (!isValidHostName(host)) return { whole, problem: 'not a valid host name' };
  return parsed.domain ? { domain: parsed.domain, whole } : { whole };
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

/**
 * A host name as DNS has them: letters, digits and hyphens per label (an IDN as punycode), no
 * label over 63 or empty, 253 in all. Not a pattern: `*.x` is not a host name.
 */
export function isValidHostName(host: string): boolean {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => LABEL.test(label));
}

/** One line, domain first: `evil.test  ← login.example.com.evil.test` (just the host when it is its own domain). */
export function hostLine(host: string, port?: number, emphasise: (domain: string) => string = (d) => d): string {
  const { domain, whole, problem } = hostForDecision(host, port);
  if (problem) return `${whole}  (${problem})`;
  if (!domain || whole === domain) return domain ? emphasise(whole) : whole;
  return `${emphasise(domain)}  ← ${whole}`;
}
