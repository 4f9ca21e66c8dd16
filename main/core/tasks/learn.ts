import type { AirlockEvent } from '../audit/events.js';
import { HTTPS_PORTS, hostPatternText, normaliseHost, WEB_PORTS } from '../policy/host-pattern.js';

/**
 * Learn mode: from a run whose network was `open`, the smallest allowlist that would have served
 * it — every host (with its port unless 80 or 443) that a request reached — and the credential
 * hosts its grants were used with.
 */
export function learnedAllowlist(events: AirlockEvent[]): { allow: string[]; credentialHosts: string[] } {
  const allow = new Set<string>();
  const credentialHosts = new Set<string>();
  for (const event of events) {
    const host = typeof event.data.host === 'string' ? normaliseHost(event.data.host) : undefined;
    const port = Number(event.data.port);
    if (!host || !Number.isInteger(port)) continue;
    // Written as host patterns are everywhere: an IPv6 address in brackets, the port unless a default one.
    if (event.kind === 'net.request' && event.decision?.allow && !String(event.decision.rule).startsWith('local:')) allow.add(hostPatternText({ ...host, port }, WEB_PORTS));
    if (event.kind === 'cred.used') credentialHosts.add(hostPatternText({ ...host, port }, HTTPS_PORTS));
  }
  return { allow: [...allow].sort(), credentialHosts: [...credentialHosts].sort() };
}

/** The manifest change that applies it, as a person would write it. */
export function learnedDiff(current: { mode: string; allow: string[]; onUnknownHost: string }, learned: string[]): string {
  const before = [`  mode: ${current.mode}`, `  allow: [${current.allow.join(', ')}]`, `  onUnknownHost: ${current.onUnknownHost}`];
  const after = ['  mode: allowlist', `  allow: [${learned.join(', ')}]`, '  onUnknownHost: deny'];
  const lines = ['--- manifest (network)', '+++ learned', ' network:'];
  for (let i = 0; i < before.length; i++) {
    if (before[i] === after[i]) lines.push(` ${before[i]}`);
    else lines.push(`-${before[i]}`, `+${after[i]}`);
  }
  return lines.join('\n');
}
