// How a host is shown where a person decides about it (an "ask", "always allow"): whole, with its
// registrable domain first. `login.example.com.evil.test` belongs to whoever holds `evil.test`,
// and that is what must catch the eye — not the familiar name at its start, and never cut off.
// The Public Suffix List (tldts) knows where a domain's owner changes (`co.uk`, `github.io`).
// Shared by the CLI and the app (compiled into the renderer too: tsconfig.web.json).
import { parse } from 'tldts';
import { normaliseHost } from '../host-pattern.js';

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
  // Valid is what the gateway and rules accept (host-pattern.ts): one definition of a host name.
  const normalised = normaliseHost(host);
  if (!normalised) return { whole, problem: 'not a valid host name' };
  if (normalised.kind !== 'name') return { whole };
  const parsed = parse(normalised.host, { allowPrivateDomains: true, extractHostname: false, validateHostname: true });
  return parsed.domain ? { domain: parsed.domain, whole } : { whole };
}

/** One line, domain first: `evil.test  ← login.example.com.evil.test` (just the host when it is its own domain). */
export function hostLine(host: string, port?: number, emphasise: (domain: string) => string = (d) => d): string {
  const { domain, whole, problem } = hostForDecision(host, port);
  if (problem) return `${whole}  (${problem})`;
  if (!domain || whole === domain) return domain ? emphasise(whole) : whole;
  return `${emphasise(domain)}  ← ${whole}`;
}
